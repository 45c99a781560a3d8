"""The HTML digest as a reader's mail client shows it: rendered by headless Chromium.

Chromium comes from Debian's `chromium` package (`.ci/run` installs it); where
it is missing these tests are skipped with that reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.delivery.compose import render
from tests.test_digest import digest_of, match

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOCS = Path(__file__).parents[1] / "docs"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def sample_html() -> str:
    """A digest with long words, a long URL and an overflow list: what breaks layouts."""
    long_title = "Kremlin says Trump invited Putin to White House " + "x" * 120
    items = [
        replace(match(long_title, "https://e.org/" + "a" * 200), text="Word " * 400),
        *[match(f"Story {n}", f"https://e.org/{n}") for n in range(4)],
    ]
    return render(digest_of(*items, max_items=2)).html


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_html_digest_loads_nothing_from_outside() -> None:
    """The HTML part has no images, scripts, stylesheets or fonts to fetch: CSS is inline."""
    html = sample_html()

    assert not re.search(r"<(img|script|link|iframe|object|embed)\b", html, re.I)
    assert "url(" not in html and "@import" not in html
    assert re.findall(r"\bsrc\s*=", html) == []


@needs_chromium
def test_no_horizontal_scroll_on_a_phone(tmp_path: Path) -> None:
    """In a phone-sized window the digest fits: nothing is wider than the window."""
    probe = sample_html().replace(
        "</body>",
        "<script>document.title = 'scroll=' + document.documentElement.scrollWidth"
        " + ' window=' + window.innerWidth;</script>"
        "</body>",
    )
    page = tmp_path / "digest.html"
    page.write_text(probe, encoding="utf-8")

    result = chromium(tmp_path, "--window-size=375,800", "--dump-dom", page.as_uri())

    found = re.search(r"<title>scroll=(\d+) window=(\d+)</title>", result.stdout)
    assert found, result.stderr[-2000:]
    scroll, window = int(found.group(1)), int(found.group(2))
    assert window <= 500  # headless Chromium's narrowest window, whatever is asked
    assert scroll <= window


@needs_chromium
def test_screenshot_for_the_docs(tmp_path: Path) -> None:
    """Chromium renders the digest to a PNG (kept in docs/ as the sample screenshot)."""
    page = tmp_path / "digest.html"
    page.write_text(sample_html(), encoding="utf-8")
    shot = tmp_path / "digest.png"

    result = chromium(tmp_path, "--window-size=375,1400", f"--screenshot={shot}", page.as_uri())

    assert shot.is_file() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
