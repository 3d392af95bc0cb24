"""HTTP JSON control interface of a running emulator (standard library only).

``GET /status`` · ``GET /jobs`` · ``POST /paper {"state": "ok"|"low"|"out"}`` ·
``POST /online {"online": true|false}``. Errors use the project's JSON error shape
``{"error": {"code": "...", "message": "..."}}``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from edge.emulator.errors import ServerError, StateError

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
ROUTES = frozenset({"/status", "/jobs", "/paper", "/online"})


class Controllable(Protocol):
    def status(self) -> dict[str, Any]: ...

    def jobs(self) -> list[dict[str, Any]]: ...

    def set_paper(self, state: str) -> None: ...

    def set_online(self, online: bool) -> None: ...


class RequestError(ServerError):
    """A control request that cannot be served; becomes a JSON error reply."""

    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _handler(target: Controllable) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "printer-emulator"

        def do_GET(self) -> None:
            self._serve({"/status": target.status, "/jobs": target.jobs}, None)

        def do_POST(self) -> None:
            self._serve(None, {"/paper": self._paper, "/online": self._online})

        def _serve(
            self,
            getters: dict[str, Callable[[], Any]] | None,
            posters: dict[str, Callable[[dict[str, Any]], Any]] | None,
        ) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            try:
                if getters is not None and path in getters:
                    payload = getters[path]()
                elif posters is not None and path in posters:
                    payload = posters[path](self._body())
                elif path in ROUTES:
                    raise RequestError(
                        HTTPStatus.METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                        f"{self.command} is not allowed on {path}",
                    )
                else:
                    raise RequestError(HTTPStatus.NOT_FOUND, "not_found", f"no route {path}")
                self._send(HTTPStatus.OK, payload)
            except RequestError as err:
                self._send(err.status, {"error": {"code": err.code, "message": err.message}})
            except Exception:
                log.exception("control request %s %s failed", self.command, self.path)
                error = {"code": "internal", "message": "internal error; see the emulator log"}
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": error})

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise RequestError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    "too_large",
                    f"body larger than {MAX_BODY} bytes",
                )
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise RequestError(
                    HTTPStatus.BAD_REQUEST, "bad_json", f"invalid JSON: {err}"
                ) from err
            if not isinstance(body, dict):
                raise RequestError(HTTPStatus.BAD_REQUEST, "bad_json", "body must be a JSON object")
            return body

        def _paper(self, body: dict[str, Any]) -> dict[str, Any]:
            try:
                target.set_paper(str(body.get("state")))
            except StateError as err:
                raise RequestError(HTTPStatus.BAD_REQUEST, "bad_state", str(err)) from err
            return target.status()

        def _online(self, body: dict[str, Any]) -> dict[str, Any]:
            online = body.get("online")
            if not isinstance(online, bool):
                raise RequestError(
                    HTTPStatus.BAD_REQUEST, "bad_state", '"online" must be true or false'
                )
            target.set_online(online)
            return target.status()

        def _send(self, status: HTTPStatus, payload: Any) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("control: " + format, *args)

    return Handler


class ControlServer:
    """Serves the control interface for ``target`` on ``host:port`` (0 picks a free port)."""

    def __init__(self, target: Controllable, host: str = "127.0.0.1", port: int = 0) -> None:
        self._target, self._host, self._requested_port = target, host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise ServerError("control server not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        try:
            self._server = ThreadingHTTPServer(
                (self._host, self._requested_port), _handler(self._target)
            )
        except OSError as err:
            raise ServerError(
                f"cannot listen for control on {self._host}:{self._requested_port}: {err}"
            ) from err
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="printer-emulator-control",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
