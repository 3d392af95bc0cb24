"""The station's SQLite store: the source of truth on the station.

One module per aggregate; services call these functions and never build SQL themselves.
"""

from edge.store.db import Conflict, NotFound, Store, StoreError, connect, transaction

__all__ = ["Conflict", "NotFound", "Store", "StoreError", "connect", "transaction"]
