"""The end-to-end benchmark runs: a few feeds of the farm, three cycles of the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port

pytestmark = pytest.mark.slow


def test_endtoend_bench_reports_every_cycle(tmp_path: Path) -> None:
    """Three cycles, each with its pages, matches and digests; the first has backlog; the
    floor of a cycle of 304s."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.endtoend", "--feeds", "6", "--hosts", "2"),
            *("--port", str(free_port()), "--baseline", "none", "--keep", str(tmp_path)),
        ],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split("|") for line in done.stdout.splitlines() if "| news-monitor |" in line]
    assert [row[1].strip() for row in rows] == ["first", "steady", "nothing"]
    first_backlog = int(rows[0][9])
    assert first_backlog > 0  # the farm's entries older than a day
    assert int(rows[2][7]) == 0  # nothing changed: no page fetched
    confirmed, alerts = rows[0][8].replace("(", " ").replace(")", " ").split()
    assert int(confirmed) >= int(alerts)  # an alert is a confirmed match not yet told
    assert "pages fetched / confirmed matches" in done.stdout
    assert "the farm's own answer time" in done.stdout
