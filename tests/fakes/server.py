"""The life cycle every wire-level fake shares: a ThreadingHTTPServer on 127.0.0.1 (port 0) served from a
daemon thread, `start()`/`stop()` and `with Fake() as fake:`. A fake says how it answers by `_handle(request,
method)` (every GET, POST and PUT), or by its own request handler class (`handler_class`)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class FakeServer:
    name = "fake"                 # the serving thread's name
    poll_interval = 0.01          # how soon `stop()` is noticed

    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:        # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self) -> None:       # noqa: N802
                fake._handle(self, "POST")

            def do_PUT(self) -> None:        # noqa: N802
                fake._handle(self, "PUT")

            def log_message(self, *args: Any) -> None:   # keep test output quiet
                pass

        return Handler

    def start(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": self.poll_interval}, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT of the running server."""
        assert self._server is not None, f"start() the {self.name} first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"
