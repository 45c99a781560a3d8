"""Delivery guarantees: dead letters that replay, stopped channels, repeats with the same id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.channels.webhook import sign
from monitor.cli import main
from monitor.delivery.outbox import DrainReport
from monitor.models import DeliveryStatus
from monitor.store import Store
from tests.factories import NOW, queue, run_drain
from tests.servers import LoopbackHTTPServer, Reply, Request


def test_webhook_signature_matches_the_standard_webhooks_vector() -> None:
    """The signature equals the Standard Webhooks specification's published test vector."""
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_gone_stops_the_channel_until_an_operator_resumes_it(
    http_server: LoopbackHTTPServer, store: Store
) -> None:
    """A 410 dead-letters the digest and holds later ones; `retry` resumes and sends both."""
    first = queue(store, ["hook"])
    http_server.route("/hook", Reply(b"gone", status=410))

    assert run_drain(http_server, store, {"hook": "/hook"}, NOW) == DrainReport(failed=1)
    assert "hook" in store.stopped()

    second = queue(store, ["hook"], url="https://e.org/second")
    held = run_drain(http_server, store, {"hook": "/hook"}, NOW + timedelta(hours=1))
    assert held == DrainReport()  # nothing sent to a stopped channel
    assert len([r for r in http_server.requests if r.path == "/hook"]) == 1

    http_server.route("/hook", Reply(b"ok"))
    assert store.retry_failed(NOW, channel="hook") == 1
    resumed = run_drain(http_server, store, {"hook": "/hook"}, NOW + timedelta(hours=1))

    assert resumed == DrainReport(sent=2) and store.stopped() == {}
    ids = [r.headers["webhook-id"] for r in http_server.requests if r.path == "/hook"]
    assert sorted(ids[1:]) == sorted([first, second])


def test_dead_letter_is_replayed_by_the_cli(
    http_server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    """`news-monitor outbox retry` re-queues a dead-lettered delivery, sent once with its id."""
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    store.migrate()
    key = queue(store, ["hook"])
    http_server.route("/hook", Reply(b"no", status=400))
    assert run_drain(http_server, store, {"hook": "/hook"}, NOW) == DrainReport(failed=1)
    config = tmp_path / "monitor.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/monitor.db"\n', encoding="utf-8")

    assert main(["--config", str(config), "outbox", "retry"]) == 0

    http_server.route("/hook", Reply(b"ok"))
    after_retry = datetime.now(UTC) + timedelta(minutes=1)  # the CLI re-queues at the real now
    assert run_drain(http_server, store, {"hook": "/hook"}, after_retry) == DrainReport(sent=1)
    [delivery] = store.deliveries()
    assert delivery.status == DeliveryStatus.SENT
    hooks = [r for r in http_server.requests if r.path == "/hook"]
    assert [r.headers["webhook-id"] for r in hooks] == [key, key]


def test_receiver_that_times_out_after_accepting_gets_one_repeat_with_the_same_id(
    http_server: LoopbackHTTPServer, store: Store
) -> None:
    """A receiver that accepts but answers too late sees the digest again, with the same id."""
    key = queue(store, ["hook"])
    seen: list[Request] = []

    def accept_then_stall(request: Request) -> Reply:
        seen.append(request)
        return Reply(hang=True) if len(seen) == 1 else Reply(b"ok")

    http_server.route("/hook", Reply(dynamic=accept_then_stall))

    first = run_drain(http_server, store, {"hook": "/hook"}, NOW, timeout="0.5s")
    second = run_drain(http_server, store, {"hook": "/hook"}, NOW + timedelta(hours=1))
    third = run_drain(http_server, store, {"hook": "/hook"}, NOW + timedelta(hours=2))

    assert first == DrainReport(retrying=1)
    assert second == DrainReport(sent=1) and third == DrainReport()
    assert [r.headers["webhook-id"] for r in seen] == [key, key]
