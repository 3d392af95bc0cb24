"""Broker fixtures: a real mosquitto per test on a free loopback port, always stopped.

Other test packages get them with ``from tests.broker.conftest import broker_factory,
mosquitto`` in their own conftest.py, or use :class:`tests.broker.mosquitto.Mosquitto`
directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.broker.mosquitto import Mosquitto


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """``broker_factory(**options) -> Mosquitto``, started; every broker is stopped after
    the test. Options are those of :class:`Mosquitto`, plus ``production=True`` for
    :meth:`Mosquitto.production` (then ``users``/``password_file``/``client_certificates``).
    """
    brokers: list[Mosquitto] = []

    def make(*, production: bool = False, **options: object) -> Mosquitto:
        where = tmp_path / f"mosquitto-{len(brokers)}"
        maker = Mosquitto.production if production else Mosquitto
        broker = maker(where, **options)  # type: ignore[operator]
        brokers.append(broker)
        return broker.start()

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def mosquitto(broker_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """A started broker that lets anonymous clients do anything (for simple tests)."""
    return broker_factory()
