"""Station-supplied text made safe for the database.

PostgreSQL refuses NUL in text (even as a query parameter), so a single ``\\x00`` from a
station would fail its batch on every redelivery and block the stream. Identifiers must
be printable tokens; free text loses its NULs and is cut to a bounded length.
"""

from __future__ import annotations

from typing import Any, TypeGuard

MAX_TOKEN = 200
MAX_TEXT = 2000
MAX_SEQ = 2**62


def is_token(value: Any) -> TypeGuard[str]:
    """A usable identifier: a non-empty printable string of at most 200 characters."""
    return isinstance(value, str) and 0 < len(value) <= MAX_TOKEN and value.isprintable()


def clean(value: Any, limit: int = MAX_TEXT) -> str:
    """Free text for a column: the value as a string, NULs dropped, at most ``limit``."""
    return str(value).replace("\x00", "")[:limit]


def is_seq(value: Any) -> TypeGuard[int]:
    """A stream seq that fits a BIGINT column."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SEQ
