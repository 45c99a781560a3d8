"""Fixtures: real servers on loopback, started once per session and reset per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from monitor.store import Store
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


# The PostgreSQL server the backend tests use: the one on loopback on development
# machines (trust auth), or the one `.ci/run` starts (it sets this variable).
POSTGRES = os.environ.get(
    "NEWS_MONITOR_TEST_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The test PostgreSQL URL, or a skip that says why there is none."""
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any reason at all: the tests say it and skip
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        pytest.skip(
            f"no PostgreSQL server at {POSTGRES} ({reason}); start one, or set "
            "NEWS_MONITOR_TEST_POSTGRES (.ci/run installs and starts Debian's postgresql)"
        )
    finally:
        engine.dispose()
    return POSTGRES


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A store URL on the test server, in a schema of its own, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"nm_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in postgres_server else "?"
    yield f"{postgres_server}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs on both backends: a SQLite file and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on each backend, closed after the test."""
    store = Store(store_url)
    store.migrate()
    yield store
    store.close()


@pytest.fixture(scope="module")
def refused_server() -> Iterator[LoopbackHTTPServer]:
    """A second real server on 127.0.0.1 that tests refuse to reach: its requests must stay []."""
    server = LoopbackHTTPServer()
    yield server
    server.close()
