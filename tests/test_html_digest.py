"""The HTML digest as a reader's mail client shows it: rendered by headless Chromium.

Chromium comes from Debian's `chromium` package (`.ci/run` installs it); where
it is missing these tests are skipped with that reason.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.delivery.compose import render
from tests.factories import digest_of, match

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


# For every element holding text: its colour over the background it is drawn on (ancestors'
# opacity included), as WCAG 2 contrast; the worst ones go into the title.
CONTRAST_PROBE = """<script>
function rgba(text) {
  const v = text.match(/[\\d.]+/g).map(Number);
  return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
}
function over(top, under) {
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
}
function background(el) {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  let base = dark ? [18, 18, 18, 1] : [255, 255, 255, 1];
  for (const c of layers.reverse()) base = over(c, base);
  return base;
}
function luminance(c) {
  const l = c.slice(0, 3).map(v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
}
const found = [];
for (const el of document.body.querySelectorAll('*')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own) continue;
  let opacity = 1;
  for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
  const bg = background(el);
  const fg = rgba(getComputedStyle(el).color);
  const seen = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
  const [a, b] = [luminance(seen), luminance(bg)].sort((x, y) => y - x);
  const ratio = Math.round((a + 0.05) / (b + 0.05) * 100) / 100;
  found.push([ratio, el.tagName.toLowerCase(), el.textContent.trim().slice(0, 20)]);
}
found.sort((x, y) => x[0] - y[0]);
const links = document.querySelectorAll('a').length;
document.title = 'contrast=' + JSON.stringify(found.slice(0, 3)) + ' links=' + links;
</script>"""


def full_sample_html() -> str:
    """Every kind of text a digest shows: update label, what is new, also reported, more."""
    development = replace(
        match("Putin accepts", "https://e.org/dev"),
        story_kind="development",
        new_sentences=("Putin accepted the invitation.",),
        also=(("Other Wire", "https://other.example/a"),),
        author="A. Writer",
    )
    items = [development, *[match(f"Story {n}", f"https://e.org/{n}") for n in range(3)]]
    return render(digest_of(*items, max_items=2)).html


@needs_chromium
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_and_links_contrast_at_least_4_5(scheme: str, tmp_path: Path) -> None:
    """WCAG AA: every text and link of the digest contrasts 4.5:1 with its background,
    in the reader's light and dark colour schemes."""
    page = tmp_path / "digest.html"
    page.write_text(full_sample_html().replace("</body>", CONTRAST_PROBE + "</body>"), "utf-8")
    flags = ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"]

    result = chromium(tmp_path, *(flags if scheme == "dark" else []), "--dump-dom", page.as_uri())

    found = re.search(r"<title>contrast=(.*) links=(\d+)</title>", result.stdout)
    assert found, result.stderr[-2000:]
    worst = json.loads(html.unescape(found.group(1)))
    assert int(found.group(2)) >= 5  # the links were measured too
    assert worst[0][0] >= 4.5, worst
