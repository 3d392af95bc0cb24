"""The station's sync agent: the journal goes ``up`` to the hub, the hub's events come ``dn``."""
