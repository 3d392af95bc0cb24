"""``printstation hub``: the hub's processes by role.

``ingest``: one ingest worker on the shared subscription (run as many as needed).
``web``: the HTTP API and the dn dispatcher (one per hub). ``all``: both in one process.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from cloud.config import EX_CONFIG, HubConfig, HubConfigError, load_hub_config
from cloud.db import make_engine, migrate
from cloud.dispatch import Dispatcher
from cloud.ingest_worker import IngestWorker
from cloud.systemd import notify, watchdog_period
from cloud.web.app import create_app

log = logging.getLogger(__name__)
ROLES = ("ingest", "web", "all")


class Hub:
    def __init__(self, config: HubConfig, role: str):
        self.config, self.role = config, role
        self.engine = make_engine(config.hub.database)
        migrate(self.engine)
        self.parts: list[Any] = []
        if role in ("ingest", "all"):
            self.parts.append(IngestWorker(config, self.engine))
        self.server: Any = None
        if role in ("web", "all"):
            self.parts.append(Dispatcher(config, self.engine))
            app = create_app(config, self.engine)
            self.server = create_server(
                app,
                host=config.http.bind,
                port=config.http.port,
                threads=config.http.threads,
                ident="printstation-hub",
            )
            self._http = threading.Thread(target=self.server.run, name="http", daemon=True)

    def start(self) -> None:
        for part in self.parts:
            part.start()
        if self.server is not None:
            self._http.start()
            log.info("hub web on http://%s:%s", self.config.http.bind, self.server.effective_port)

    def is_alive(self) -> bool:
        alive = all(p.is_alive() for p in self.parts)
        return alive and (self.server is None or self._http.is_alive())

    def stop(self) -> None:
        if self.server is not None:
            server = self.server
            # Close every socket from the server's own loop thread: closing them from here
            # while that thread sits in select() makes it fail with EBADF.
            if self._http.is_alive():
                server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
                self._http.join(10)
            else:  # never started
                wasyncore.close_all(server._map)
            server.task_dispatcher.shutdown(timeout=5)
        for part in reversed(self.parts):
            part.stop()
        self.engine.dispose()


def run(config_path: str, role: str) -> int:
    logging.basicConfig(
        level=os.environ.get("PRINTSTATION_LOG", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,  # python-escpos calls basicConfig() when it is imported
    )
    try:
        config = load_hub_config(config_path)
    except HubConfigError as err:
        for path, message in err.problems:
            log.error("config %s: %s: %s", err.source, path, message)
        return EX_CONFIG
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    hub = Hub(config, role)
    hub.start()
    notify("READY=1")
    log.info("hub ready (role %s, database %s)", role, hub.engine.dialect.name)
    try:
        while not stop.wait(watchdog_period()):
            if not hub.is_alive():
                log.error("a hub worker died; exiting so systemd restarts it")
                return 1
            notify("WATCHDOG=1")
    finally:
        hub.stop()
    return 0
