"""``--long``: the long chaos campaign (4 stations, 15 minutes of faults) instead of the
short one CI runs."""

from __future__ import annotations

import pytest

from tests.cloud import conftest as cloud_fixtures

# The hub database: a fresh SQLite file, and a fresh PostgreSQL schema when configured.
db_url = cloud_fixtures.db_url


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the long chaos campaign (4 stations, 15 minutes of faults)",
    )
