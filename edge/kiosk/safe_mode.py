"""Safe mode: with a broken config the kiosk serves a "needs configuration" page instead of
dying, so the station's screen tells staff what to fix rather than showing a browser error."""

from __future__ import annotations

import html
import json
import logging
import threading
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from waitress.server import create_server

from edge.config import ConfigError

log = logging.getLogger(__name__)

DEFAULT_BIND, DEFAULT_PORT = "127.0.0.1", 8080

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>需要配置 · Needs configuration</title>
<style>body{{font-family:system-ui,sans-serif;max-width:720px;margin:3rem auto;padding:0 1rem;
color:#1d2330}}h1{{font-size:1.6rem}}code{{background:#f1f3f6;padding:.1rem .3rem}}
li{{margin:.4rem 0}}</style></head><body>
<h1>此工作站需要配置 · This station needs configuration</h1>
<p>配置文件有错误，服务未启动。 The configuration file has errors; the station services are
not running. Fix <code>{source}</code>, check it with
<code>printstation check-config {source}</code>, then restart the station.</p>
<ul>{items}</ul></body></html>"""


def listen_address(source: str) -> tuple[str, int]:
    """Where the kiosk would listen, read leniently from a config that does not validate."""
    try:
        raw = tomllib.loads(Path(source).read_text(encoding="utf-8"))
        http = raw.get("http", {})
        bind = http.get("bind", DEFAULT_BIND)
        port = http.get("port", DEFAULT_PORT)
        if isinstance(bind, str) and isinstance(port, int) and 0 < port < 65536:
            return bind, port
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        pass
    return DEFAULT_BIND, DEFAULT_PORT


def app(err: ConfigError) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: the page for browsers, the shared JSON error shape for everything else."""
    items = "".join(
        f"<li><code>{html.escape(path)}</code>: {html.escape(message)}</li>"
        for path, message in err.problems
    )
    page = PAGE.format(source=html.escape(err.source), items=items).encode("utf-8")
    body = json.dumps(
        {"error": {"code": "needs_configuration", "message": str(err)}}, ensure_ascii=False
    ).encode("utf-8")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/api/") or path == "/healthz":
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [body]
        start_response("503 Service Unavailable", [("Content-Type", "text/html; charset=utf-8")])
        return [page]

    return wsgi


class SafeModeService:
    """Serves the page until stopped (the process then exits 78)."""

    def __init__(self, err: ConfigError):
        host, port = listen_address(err.source)
        self.server: Any = create_server(app(err), host=host, port=port, threads=2)
        self._thread = threading.Thread(target=self.server.run, name="safe-mode", daemon=True)
        log.warning("serving the 'needs configuration' page on http://%s:%s", host, port)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self.server.close()
        self._thread.join(timeout=5)
