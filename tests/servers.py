"""Real servers on 127.0.0.1 for the tests: HTTP (feeds, pages, webhooks) and SMTP.

Each runs in its own thread, is started once per test session (see conftest.py)
and is reset between tests.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Called with the request; may return another Reply (dynamic answers).
    dynamic: Callable[[Request], Reply] | None = None
    hang: bool = False  # never answer (until the server is reset): a timeout case


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackHTTPServer:
    """A threaded HTTP server whose answers each test sets: `server.route(path, Reply(...))`."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.requests: list[Request] = []
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                outer.requests.append(request)
                reply = outer.routes.get(self.path) or outer.routes.get(self.path.split("?")[0])
                if reply is None:
                    reply = Reply(b"not found", 404)
                if reply.dynamic is not None:
                    reply = reply.dynamic(request)
                if reply.hang:
                    outer._release.wait(30)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_HEAD = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def route(self, path: str, reply: Reply) -> str:
        self.routes[path] = reply
        return self.base + path

    def url(self, path: str) -> str:
        return self.base + path

    def reset(self) -> None:
        self._release.set()  # let hanging handlers finish
        self.routes.clear()
        self.requests.clear()
        self._release = threading.Event()

    def close(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class SMTPRecorder:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_with: str | None = None  # e.g. "451 try later" to refuse DATA
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if outer.refuse_with:
                    return outer.refuse_with
                outer.messages.append(bytes(envelope.original_content or envelope.content))
                outer.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def reset(self) -> None:
        self.messages.clear()
        self.envelopes.clear()
        self.refuse_with = None

    def close(self) -> None:
        self.controller.stop()


def free_port() -> int:
    """A loopback port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[str]:
    """A bare asyncio server on 127.0.0.1 for answers http.server cannot give (trickles)."""
    tasks: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            await handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up, as it should when it gives up
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


@functools.cache
def gzip_bomb() -> bytes:
    """50 MB of zeros gzipped (about 50 kB), built without holding the 50 MB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1_000_000)
    return b"".join(packer.compress(zeros) for _ in range(50)) + packer.flush()
