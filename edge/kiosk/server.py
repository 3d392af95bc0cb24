"""The kiosk service: the Flask app on waitress (the server the systemd unit uses) plus the
journal tail that feeds live screens."""

from __future__ import annotations

import logging
import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from edge.config import StationConfig
from edge.kiosk.app import create_app
from edge.kiosk.live import JournalTail
from edge.kiosk.runtime import Runtime
from edge.store import Store

log = logging.getLogger(__name__)


class KioskService:
    def __init__(self, config: StationConfig):
        self.config = config
        self.store = Store(config.db_path)
        self.runtime = Runtime(config=config, store=self.store)
        self.app = create_app(self.runtime)
        self.tail = JournalTail(self.store, self.runtime.live, config.runtime_dir)
        self.server: Any = create_server(
            self.app,
            host=config.http.bind,
            port=config.http.port,
            threads=config.http.threads,
            ident="printstation",
            channel_timeout=300,
            clear_untrusted_proxy_headers=True,
        )
        self._thread = threading.Thread(target=self.server.run, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def start(self) -> None:
        self.tail.start()
        self._thread.start()
        log.info("kiosk listening on http://%s:%s", self.config.http.bind, self.port)

    def is_alive(self) -> bool:
        return self._thread.is_alive() and self.tail.is_alive()

    def stop(self) -> None:
        self.runtime.live.close()
        self.runtime.logins.close()
        self.server.task_dispatcher.shutdown(timeout=5)
        # Close the sockets from the server's own loop thread: closing them from here while
        # it sits in select() makes it fail with EBADF (the hub's web server does the same).
        server = self.server
        if self._thread.is_alive():
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            self._thread.join(timeout=5)
        else:
            wasyncore.close_all(server._map)
        self.tail.stop()
        self.tail.join(timeout=5)
        self.runtime.writes.close()
        self.store.close()


def build(config: StationConfig) -> KioskService:
    return KioskService(config)
