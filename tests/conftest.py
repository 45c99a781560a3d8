"""Fixtures: real servers on loopback, started once per session and reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import LoopbackHTTPServer, SMTPRecorder, free_port

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def _http_server() -> Iterator[LoopbackHTTPServer]:
    server = LoopbackHTTPServer()
    yield server
    server.close()


@pytest.fixture
def http_server(_http_server: LoopbackHTTPServer) -> Iterator[LoopbackHTTPServer]:
    """A real HTTP server on 127.0.0.1; set answers with `http_server.route(path, Reply(...))`."""
    _http_server.reset()
    yield _http_server
    _http_server.reset()


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[SMTPRecorder]:
    server = SMTPRecorder()
    yield server
    server.close()


@pytest.fixture
def smtp_server(_smtp_server: SMTPRecorder) -> Iterator[SMTPRecorder]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it accepts."""
    _smtp_server.reset()
    yield _smtp_server
    _smtp_server.reset()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (a server that is down)."""
    return free_port()
