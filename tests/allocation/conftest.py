"""Fixtures for allocation tests: the hub database (SQLite and PostgreSQL) and a station
kiosk runtime with the sample data."""

from tests.cloud.conftest import db_url, engine  # noqa: F401
from tests.kiosk.conftest import api, app, client, runtime, staff_client, token  # noqa: F401
