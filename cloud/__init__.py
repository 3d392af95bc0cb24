"""The cloud hub: ingest of station streams, the hub's database, stock, catalog and commands.

From ``edge`` the hub imports only the wire protocol (``edge.protocol``, ``edge.wire``).
"""
