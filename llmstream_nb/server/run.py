"""Running the server: in the foreground (`llmstream-nb serve`) or in a background thread (tests, notebooks).

We bind the listening socket ourselves and hand it to uvicorn: a background server on port 0 knows its
port before it starts (no race between picking a free port and binding it), and a port already in use is
reported as one line instead of a uvicorn traceback. Importing this module does not import starlette or
uvicorn, so the CLI can describe `serve` even when the `server` extra is missing.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._deps import ServerDependencyError, require_server_dependencies
from .settings import API_KEY_ENV, ServerSettings

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

    from .state import ServerState

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def is_loopback(host: str) -> bool:
    """True for hosts only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 picks a free one). Raises OSError if it cannot bind."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _uvicorn_server(app: Starlette, log_level: str, graceful_seconds: int) -> uvicorn.Server:
    import uvicorn

    from .header_deadline import HeaderDeadlineProtocol

    config = uvicorn.Config(
        app,
        http=HeaderDeadlineProtocol,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=graceful_seconds,
    )
    return uvicorn.Server(config)


def _app_and_state(settings: ServerSettings) -> tuple[Starlette, ServerState]:
    from .app import app_state, create_app

    app = create_app(settings)
    return app, app_state(app)


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    ttft: float | None = None,
    tps: float | None = None,
    jitter: float | None = None,
    fast: bool = False,
    api_key: str | None = None,
    log_level: str = "warning",
    settings: ServerSettings | None = None,
    echo: Callable[[str], Any] = print,
    model: str | None = None,
) -> None:
    """Serve the demo model (or `model`, e.g. "llamacpp:smollm2") in the foreground until Ctrl-C.
    Raises OSError if host:port cannot be bound, ConfigurationError if the model cannot be made.

    The default latency is the demo model's realistic profile; `fast=True` answers with no delay.
    """
    require_server_dependencies()
    settings = settings or ServerSettings.build(
        ttft=ttft, tps=tps, jitter=jitter, fast=fast, api_key=api_key, model=model
    )
    sock = bind_socket(host, port)
    app, state = _app_and_state(settings)
    state.warm_up()
    if not is_loopback(host):
        print(
            f"warning: listening on {host}, so the server is reachable from the network"
            + ("" if settings.api_key else "; pass --api-key to require a key"),
            file=sys.stderr,
        )
    served = "the demo model" if settings.serves_demo else f"model {settings.served_model!r}"
    echo(f"llmstream-nb serving {served} at {_url(sock)}/v1 (OpenAI-compatible; Ctrl-C to stop)")
    server = _uvicorn_server(app, log_level, graceful_seconds=5)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled once it has shut down
        pass
    finally:
        sock.close()


class BackgroundServer:
    """The server on a free loopback port in a daemon thread: for tests, notebooks and benchmarks.

    ```
    with BackgroundServer(fast=True) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused")
    ```
    `url` is the root (`http://127.0.0.1:PORT`), `base_url` the OpenAI base (`.../v1`); `requests()` is
    the request log. Logs are quiet (warnings only, no access log).
    """

    def __init__(
        self,
        *,
        ttft: float | None = None,
        tps: float | None = None,
        jitter: float | None = None,
        fast: bool = False,
        api_key: str | None = None,
        port: int = 0,
        settings: ServerSettings | None = None,
        log_level: str = "warning",
        startup_timeout: float = 30.0,
        model: str | None = None,
    ) -> None:
        require_server_dependencies()
        self.settings = settings or ServerSettings.build(
            ttft=ttft, tps=tps, jitter=jitter, fast=fast, api_key=api_key, model=model
        )
        self.app, self.state = _app_and_state(self.settings)
        self._port = port
        self._log_level = log_level
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.url = ""
        self.base_url = ""

    def start(self) -> BackgroundServer:
        """Bind, start uvicorn in a thread and wait until it accepts connections."""
        if self._thread is not None:
            return self
        self.state.warm_up()
        self._socket = bind_socket(DEFAULT_HOST, self._port)
        self.url = _url(self._socket)
        self.base_url = f"{self.url}/v1"
        self._server = _uvicorn_server(self.app, self._log_level, graceful_seconds=1)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="llmstream-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the llmstream-nb server did not start (see the log above)")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; streams still open are cut after a second's grace."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._thread = self._server = self._socket = None

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first (see `RequestRecord`)."""
        return self.state.log.snapshot()

    def request(self, request_id: str) -> dict[str, Any] | None:
        """One record by the `x-request-id` header of its response."""
        return self.state.log.get(request_id)

    def reset(self) -> None:
        """Clear the request log and the `times=` fault counters."""
        self.state.reset()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<BackgroundServer {self.url or 'not started'}>"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The `serve` options, for `llmstream-nb serve` and `python -m llmstream_nb.server`."""
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}, this machine only)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "-m",
        "--model",
        help="serve this model instead of the demo, e.g. llamacpp:smollm2 or llamacpp:PATH.gguf (the local extra)",
    )
    parser.add_argument(
        "--ttft", type=float, metavar="SECONDS", help="time to first token (default: a realistic profile)"
    )
    parser.add_argument("--tps", type=float, metavar="TOKENS_PER_SECOND", help="token rate (0: no delay)")
    parser.add_argument("--jitter", type=float, metavar="FRACTION", help="relative spread of every delay, e.g. 0.25")
    parser.add_argument("--fast", action="store_true", help="zero latency, for tests and benchmarks")
    parser.add_argument(
        "--api-key", metavar="KEY", help=f"require 'Authorization: Bearer KEY' (default: ${API_KEY_ENV}; unset: no key)"
    )
    parser.add_argument(
        "--log-level", default="warning", choices=LOG_LEVELS, help="uvicorn's log level (default warning)"
    )


def run_serve(args: argparse.Namespace) -> int:
    """Run `serve` from parsed arguments; every failure is one line on stderr and a non-zero exit code."""
    try:
        require_server_dependencies()
    except ServerDependencyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name in ("ttft", "tps", "jitter"):
        value = getattr(args, name, None)
        if value is not None and value < 0:
            print(f"error: --{name} must be >= 0, got {value}", file=sys.stderr)
            return 2
    api_key = getattr(args, "api_key", None) or os.environ.get(API_KEY_ENV) or None
    try:
        serve(
            args.host,
            args.port,
            ttft=args.ttft,
            tps=args.tps,
            jitter=args.jitter,
            fast=args.fast,
            api_key=api_key,
            log_level=getattr(args, "log_level", "warning"),
            model=getattr(args, "model", None),
        )
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"error: cannot listen on {args.host}:{args.port}: {reason} (try another --port)", file=sys.stderr)
        return 1
    return 0
