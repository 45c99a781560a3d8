"""The HTTP listener: health that notices a stuck scheduler, Prometheus metrics, Atom feeds."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import load_settings
from monitor.metrics import Metrics
from monitor.service.listener import Liveness, build_app, start
from monitor.service.scheduling import serve
from monitor.store import Store
from tests.scenario import serve_seed, write_config
from tests.servers import LoopbackHTTPServer, free_port

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError:  # not listening (yet)
        return 0, ""


@pytest.mark.parametrize(
    ("last_tick", "healthy"),
    [(NOW - timedelta(seconds=30), True), (NOW - timedelta(minutes=10), False), (None, False)],
)
def test_healthz_fails_when_ticks_stop(
    tmp_path: Path, last_tick: datetime | None, healthy: bool
) -> None:
    """/healthz answers 503 once no tick has finished for three tick periods (min 90 s)."""
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    store.migrate()
    liveness = Liveness(tick=timedelta(seconds=30), started=True, last_tick=last_tick)
    app = build_app(
        store=store, metrics=Metrics(), liveness=liveness, atom_dir=tmp_path, clock=lambda: NOW
    )
    port = free_port()

    async def check() -> tuple[int, str]:
        runner = await start(app, "127.0.0.1", port)
        try:
            return await asyncio.to_thread(get, f"http://127.0.0.1:{port}/healthz")
        finally:
            await runner.cleanup()

    status, body = asyncio.run(check())

    assert (status == 200) is healthy, body
    if not healthy:
        assert "tick" in body


@pytest.mark.slow
def test_running_service_serves_metrics_health_and_atom(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """A running service answers /healthz, /readyz, /metrics (valid Prometheus) and topic feeds."""
    port = free_port()
    feed_url = serve_seed(http_server)
    config = write_config(
        tmp_path,
        feeds=[feed_url],
        extra=f'tick = "0.2s"\n\n[listener]\naddress = "127.0.0.1:{port}"',
    )
    settings = load_settings(config)
    base = f"http://127.0.0.1:{port}"

    async def scenario() -> dict[str, tuple[int, str]]:
        stop = asyncio.Event()
        service = asyncio.create_task(serve(settings, stop))
        async with asyncio.timeout(30):
            while True:  # until the first tick has polled the feed and counted it
                status, body = await asyncio.to_thread(get, f"{base}/metrics")
                if status == 200 and "news_monitor_matches_total 1" in body:
                    break
                await asyncio.sleep(0.05)
        pages = {
            path: await asyncio.to_thread(get, base + path)
            for path in (
                "/healthz",
                "/readyz",
                "/metrics",
                "/topics/us-russia-summit.xml",
                "/topics/..%2Fmonitor.db",
            )
        }
        stop.set()
        await asyncio.wait_for(service, 30)
        return pages

    pages = asyncio.run(scenario())

    assert pages["/healthz"][0] == 200 and pages["/readyz"][0] == 200
    families = {f.name: f for f in text_string_to_metric_families(pages["/metrics"][1])}
    assert families["news_monitor_matches"].samples[0].value == 1
    polls = {s.labels["outcome"]: s.value for s in families["news_monitor_polls"].samples}
    assert polls["ok"] >= 1
    assert "news_monitor_outbox_depth" in families
    last_tick = families["news_monitor_last_tick_timestamp_seconds"].samples[0].value
    assert last_tick == int(last_tick) and abs(last_tick - time.time()) < 600  # not 1.79e+09
    assert pages["/topics/us-russia-summit.xml"][0] == 200
    assert "Kremlin says Trump invited Putin" in pages["/topics/us-russia-summit.xml"][1]
    assert pages["/topics/..%2Fmonitor.db"][0] == 404
