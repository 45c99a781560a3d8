"""The outbox: stored before sent, marked sent only after, retried, never dropped."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import DigestSettings
from monitor.delivery.outbox import DrainReport, queue_due_digests, retry_delay
from monitor.models import DeliveryStatus
from monitor.store import Store
from tests.factories import match, queue, run_drain, topic
from tests.servers import LoopbackHTTPServer, Reply

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_failure_is_retried_later_then_sent_once(
    http_server: LoopbackHTTPServer, store: Store, status: int
) -> None:
    """A 429/5xx keeps the delivery pending past its Retry-After; then it is sent once, same id."""
    key = queue(store, ["hook"])
    http_server.route("/hook", Reply(b"busy", status=status, headers={"Retry-After": "300"}))

    first = run_drain(http_server, store, {"hook": "/hook"}, NOW)

    assert first == DrainReport(retrying=1)
    [pending] = store.deliveries()
    assert pending.status == DeliveryStatus.PENDING and pending.attempts == 1
    assert pending.next_attempt is not None
    assert pending.next_attempt >= NOW + timedelta(seconds=300)  # Retry-After honoured

    http_server.route("/hook", Reply(b"ok"))
    too_early = run_drain(http_server, store, {"hook": "/hook"}, NOW + timedelta(seconds=60))
    on_time = run_drain(http_server, store, {"hook": "/hook"}, pending.next_attempt)
    after = run_drain(http_server, store, {"hook": "/hook"}, pending.next_attempt)

    assert too_early == DrainReport() and on_time == DrainReport(sent=1) and after == DrainReport()
    hooks = [r for r in http_server.requests if r.path == "/hook"]
    assert len(hooks) == 2 and {r.headers["webhook-id"] for r in hooks} == {key}


def test_quiet_hours_hold_non_urgent_topics(store: Store) -> None:
    """During quiet hours a normal topic waits, an urgent one is sent."""
    quiet = DigestSettings(quiet_hours="09:00-10:00")  # NOW is 9:30
    calm, urgent = topic(), topic().model_copy(update={"name": "alarm", "urgent": True})
    store.record_entries([], [match()], NOW, {"summit": ["inbox"]})
    store.record_entries([], [replace(match(), topic="alarm")], NOW, {"alarm": ["inbox"]})

    keys = queue_due_digests(store, [calm, urgent], channels=["inbox"], now=NOW, settings=quiet)
    later = queue_due_digests(
        store, [calm, urgent], channels=["inbox"], now=NOW + timedelta(hours=1), settings=quiet
    )

    assert len(keys) == 1 and len(later) == 1
    assert '"name": "alarm"' in store.rendered_digest(keys[0]).json
    assert '"name": "summit"' in store.rendered_digest(later[0]).json


def test_permanent_failure_is_kept_as_failed(http_server: LoopbackHTTPServer, store: Store) -> None:
    """A 400 marks the delivery failed with its reason; it is not retried automatically."""
    queue(store, ["hook"])
    http_server.route("/hook", Reply(b"bad request", status=400))

    report = run_drain(http_server, store, {"hook": "/hook"}, NOW)
    again = run_drain(http_server, store, {"hook": "/hook"}, NOW + timedelta(days=1), True)

    assert report == DrainReport(failed=1) and again == DrainReport()
    [failed] = store.deliveries(DeliveryStatus.FAILED)
    assert failed.last_error is not None and "400" in failed.last_error
    assert store.outbox_counts().failed == 1


def test_one_failing_channel_does_not_stop_another(
    http_server: LoopbackHTTPServer, store: Store
) -> None:
    """When one channel fails, the digest still goes out on the other."""
    queue(store, ["down", "up"])
    http_server.route("/down", Reply(b"", status=500))
    http_server.route("/up", Reply(b"ok"))

    report = run_drain(http_server, store, {"down": "/down", "up": "/up"}, NOW)

    assert report == DrainReport(sent=1, retrying=1)
    status = {d.channel: d.status for d in store.deliveries()}
    assert status == {"down": DeliveryStatus.PENDING, "up": DeliveryStatus.SENT}


def test_backoff_grows_and_is_capped() -> None:
    """Retry delays double from one minute, with jitter, up to six hours."""
    rng = random.Random(7)
    delays = [retry_delay(n, None, rng) for n in (1, 2, 3, 20)]

    assert timedelta(seconds=48) <= delays[0] <= timedelta(seconds=72)
    assert timedelta(seconds=96) <= delays[1] <= timedelta(seconds=144)
    assert delays[0] < delays[2]
    assert delays[3] <= timedelta(hours=6) * 1.2


def test_sqlite_is_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    """SQLite runs in WAL mode, synchronous=NORMAL: crash-safe commits, synced before sending."""
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    store.migrate()
    with store.engine.connect() as conn:
        synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    with sqlite3.connect(tmp_path / "monitor.db") as raw:
        journal = raw.execute("PRAGMA journal_mode").fetchone()[0]

    assert journal == "wal"
    assert synchronous == 1  # NORMAL; make_durable() checkpoints (and syncs) before a send
    store.make_durable()


def test_migrations_run_once(store: Store) -> None:
    """Migrating an up-to-date store applies nothing."""
    assert store.migrate() == []
