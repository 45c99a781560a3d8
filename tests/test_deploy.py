"""Deployment files: the systemd unit passes systemd's own checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).parents[1] / "deploy"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing wrong with deploy/news-monitor.service."""
    unit = (DEPLOY / "news-monitor.service").read_text(encoding="utf-8")
    # the real path exists only after installing; point it at an executable that exists here
    unit = unit.replace("/opt/news-monitor/.venv/bin/news-monitor", sys.executable)
    copy = tmp_path / "news-monitor.service"
    copy.write_text(unit, encoding="utf-8")

    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "news-monitor.service" not in result.stderr, result.stderr


def test_unit_is_sandboxed() -> None:
    """The unit runs unprivileged with a read-only system and only its state folder writable."""
    unit = (DEPLOY / "news-monitor.service").read_text(encoding="utf-8")

    for option in (
        "ProtectSystem=strict",
        "NoNewPrivileges=true",
        "ReadWritePaths=/var/lib/news-monitor",
        "User=news-monitor",
    ):
        assert option in unit
