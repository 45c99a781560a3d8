"""Coverage health: when every feed fails for hours, the reader is told, once per outage."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import jsonschema

from monitor.config import load_settings
from monitor.service.runtime import once
from tests.scenario import serve_seed, write_config
from tests.servers import LoopbackHTTPServer, Reply

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_long_outage_sends_one_alert(tmp_path: Path, http_server: LoopbackHTTPServer) -> None:
    """After 6 h with no feed readable, one coverage alert goes out; not again for that outage."""
    feed_url = serve_seed(http_server)
    settings = load_settings(write_config(tmp_path, feeds=[feed_url]))
    digests = tmp_path / "data" / "digests"

    def cycle(at: datetime) -> list[str]:
        return asyncio.run(once(settings, clock=lambda: at)).digests

    cycle(T0)  # the feed works: the seed story is sent
    http_server.route("/world.rss", Reply(b"down", status=503))
    assert cycle(T0 + timedelta(hours=1)) == []  # failing, but not for long
    alert = cycle(T0 + timedelta(hours=7))
    again = cycle(T0 + timedelta(hours=8))

    assert len(alert) == 1 and alert[0].startswith("nm-coverage-") and again == []
    [document] = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in digests.glob("*.json")
        if "coverage" in p.name
    ]
    assert document["coverage"]["topics"] == ["us-russia-summit"]
    assert "503" in document["coverage"]["failing_feeds"][0]["error"]
    schema = json.loads(
        resources.files("monitor").joinpath("schemas/digest-v1.schema.json").read_text()
    )
    jsonschema.validate(document, schema)


def test_one_working_feed_means_no_alert(tmp_path: Path, http_server: LoopbackHTTPServer) -> None:
    """While any feed still works, there is no coverage alert."""
    good = serve_seed(http_server)
    bad = http_server.route("/broken.rss", Reply(b"", status=500))
    settings = load_settings(write_config(tmp_path, feeds=[good, bad]))

    asyncio.run(once(settings, clock=lambda: T0))
    later = asyncio.run(once(settings, clock=lambda: T0 + timedelta(hours=12)))

    assert not [key for key in later.digests if key.startswith("nm-coverage-")]
