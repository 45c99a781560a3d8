"""The web console in a real Chromium: log in, tune a topic live, follow a story, retry a delivery.

A real service (`serve`, on its own thread and event loop) with a real SQLite store,
a real feed server and a webhook receiver on loopback; Playwright drives Debian's
chromium. Skipped when chromium or Playwright is missing.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.admin.web_password import hash_password
from monitor.config import load_settings
from monitor.console import add_console
from monitor.service.listener import Liveness
from monitor.service.runtime import Runtime
from monitor.service.scheduling import serve
from tests.scenario import NEW_FACT, WIRE, publish, write_config
from tests.servers import LoopbackHTTPServer, Reply, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]

PASSWORD = "a long console passphrase"
HEADLINE = "Kremlin says Trump invited Putin to White House summit"
HOSTILE = '<img src=x onerror="window.hacked=1"> Putin <script>window.hacked=2</script> summit'
COMMENT = "# the topics I follow (this comment must survive edits)\n"
PAGES = {
    "overview": "/console/",
    "topics": "/console/topics",
    "topic-edit": "/console/topics/edit?original=us-russia-summit",
    "stories": "/console/stories?topic=us-russia-summit",
    "feeds": "/console/feeds",
    "deliveries": "/console/deliveries",
}


@dataclass
class Service:
    base: str
    config: Path
    server: LoopbackHTTPServer
    hook: list[int]  # the status the webhook receiver answers


def _hostile_feed(server: LoopbackHTTPServer) -> str:
    title = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Odd</title>'
        f"<item><title>{title}</title><link>{server.base}/odd/1</link><guid>odd-1</guid>"
        "<description>Trump and Putin plan a summit, the Kremlin said.</description></item>"
        "</channel></rss>"
    )
    server.route("/odd/1", Reply(b"<html><body><p>short</p></body></html>"))
    return server.route("/odd/feed.xml", Reply(xml.encode()))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("console")
    server = LoopbackHTTPServer()
    hook = [400]
    server.route("/hook", Reply(dynamic=lambda _: Reply(b"no", status=hook[0])))
    wire = publish(server, "wire-a", [("summit", HEADLINE, WIRE)])
    odd = _hostile_feed(server)
    port = free_port()
    config = write_config(
        tmp, feeds=[wire, odd], hook_url=f"{server.base}/hook", extra='tick = "0.3s"'
    )
    text = config.read_text(encoding="utf-8")
    text = text.replace('name = "Example News"', 'name = "Wire A"', 1)
    text = text.replace('name = "Example News"', 'name = "<b>Odd</b> News"', 1)
    text = text.replace("[[topics]]", COMMENT + "[[topics]]", 1)
    text += f'\n[listener]\naddress = "127.0.0.1:{port}"\n'
    text += f'\n[web]\npassword_hash = "{hash_password(PASSWORD)}"\n'
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def extend(app: Any, runtime: Runtime, liveness: Liveness) -> None:
        add_console(app, runtime, liveness, config)

    def run() -> None:
        loop.run_until_complete(serve(settings, stop, extend_listener=extend))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _wait_until_listening(port, thread)
    yield Service(f"http://127.0.0.1:{port}", config, server, hook)
    loop.call_soon_threadsafe(stop.set)
    thread.join(60)
    loop.close()
    server.close()


def _wait_until_listening(port: int, thread: threading.Thread) -> None:
    """Return once the service accepts connections (it starts on its own thread)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and thread.is_alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # waiting for a thread to bind, not timing the code under test
    raise AssertionError("the service did not start listening")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, service: Service) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(service.base + "/console/")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    yield page
    context.close()


def _wait_for_text(page: Any, url: str, text: str, tries: int = 60) -> None:
    """Reload `url` until `text` shows (the service works on its own ticks)."""
    for _ in range(tries):
        page.goto(url)
        if text in page.inner_text("main"):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"{text!r} never showed on {url}")


def test_login_is_required_and_cookies_are_strict(browser: Any, service: Service) -> None:
    """Every console page sends a stranger to the login; a wrong password is refused."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(service.base + "/console/feeds")
    assert "/console/login" in page.url
    page.fill("#password", "wrong password here")
    page.click("button[type=submit]")
    assert "Wrong password." in page.inner_text("main")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/feeds")
    session = next(c for c in context.cookies() if c["name"] == "news_monitor_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    context.close()


def test_topic_backtest_follows_the_query_and_saving_keeps_comments(
    page: Any, service: Service
) -> None:
    """The backtest changes as the query is typed, names the error position, and Save writes
    the config file with its comments, applied without restart."""
    _wait_for_text(page, service.base + "/console/stories?topic=us-russia-summit", HEADLINE)
    page.goto(service.base + "/console/topics/edit")
    page.fill("#name", "kremlin")
    page.locator("#query").press_sequentially("Kremlin AND (", delay=20)
    page.wait_for_selector("#backtest .error")
    assert "position" in page.inner_text("#backtest")
    page.locator("#query").press_sequentially("summit)", delay=20)
    page.wait_for_selector("#backtest .count")
    assert "stories" in page.inner_text("#backtest .count")
    assert HEADLINE in page.inner_text("#backtest")
    page.fill("#query", "Kremlin AND nothingmatchesthis")
    playwright_api.expect(page.locator("#backtest .count")).to_have_text(re.compile(r"^0 entries"))
    page.fill("#query", "Kremlin AND summit")
    page.click("text=Save")
    page.wait_for_url("**/console/topics")
    assert "Topic kremlin saved" in page.inner_text("main")

    text = service.config.read_text(encoding="utf-8")
    assert COMMENT in text
    assert 'name = "kremlin"\nquery = "Kremlin AND summit"' in text
    assert [t.name for t in load_settings(service.config).topics] == [
        "us-russia-summit",
        "kremlin",
    ]


def test_story_from_first_report_to_development(page: Any, service: Service) -> None:
    """A story's timeline shows its first report, then the development found by "Poll now"."""
    stories = service.base + "/console/stories?topic=us-russia-summit"
    _wait_for_text(page, stories, HEADLINE)
    publish(
        service.server,
        "wire-a",
        [
            ("summit", HEADLINE, WIRE),
            ("denial", "White House denies Trump-Putin summit plan", [*WIRE[:2], NEW_FACT]),
        ],
    )
    page.goto(service.base + "/console/feeds")
    page.locator(".card", has_text="Wire A").locator("button[value=poll]").click()
    assert "1 new entries" in page.inner_text(".flash")
    page.goto(stories)
    story = page.locator("article.story", has_text=HEADLINE)
    kinds = story.locator(".timeline .kind").all_inner_texts()
    assert kinds[0] == "new" and kinds[-1] == "development", kinds
    assert "White House denies Trump-Putin summit plan" in story.inner_text()
    story.locator("summary").click()
    assert "denied that any summit plan existed" in story.inner_text()


def test_failed_delivery_is_retried(page: Any, service: Service) -> None:
    """A delivery the webhook refused shows its answer; Retry sends it once the receiver is back."""
    failed = service.base + "/console/deliveries?status=failed"
    _wait_for_text(page, failed, "HTTP 400")
    service.hook[0] = 200
    card = page.locator(".card.status-failed").first
    subject = card.locator("h2").inner_text()
    card.locator("text=Retry").click()
    assert "queued again" in page.inner_text(".flash")
    _wait_for_text(page, service.base + "/console/deliveries?status=sent", subject)
    page.get_by_role("link", name=subject).first.click()
    frame = page.frame_locator("iframe")
    assert "Sent by news-monitor" in frame.locator("body").inner_text()  # as its email shows


def test_hostile_titles_show_as_text(page: Any, service: Service) -> None:
    """Markup in a feed's name or an entry's title is shown as text, never run."""
    page.goto(service.base + "/console/feeds")
    assert "<b>Odd</b> News" in page.inner_text("main")
    page.goto(service.base + "/console/topics/edit?original=us-russia-summit")
    page.wait_for_selector("#backtest .count")
    assert HOSTILE in page.inner_text("#backtest")
    assert page.evaluate("window.hacked") is None
    assert page.locator("main img").count() == 0


def test_pages_are_accessible_and_fit_a_phone(page: Any, service: Service, tmp_path: Path) -> None:
    """No serious axe-core violation on any page; a 375 px screenshot of each."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    shots = Path(os.environ.get("CONSOLE_SCREENSHOTS", tmp_path))
    problems = []
    for name, path in PAGES.items():
        page.goto(service.base + path)
        results = axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                problems.append(f"{name}: {violation['id']}: {violation['help']}")
        assert "$argon2" not in page.content()  # no secret on any page
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{name} is {width}px wide on a 375px screen"
        page.screenshot(path=str(shots / f"console-{name}.png"), full_page=True)
        assert (shots / f"console-{name}.png").stat().st_size > 5_000
    page.emulate_media(color_scheme="dark")
    for name, path in PAGES.items():
        page.goto(service.base + path)
        for violation in axe.run(page).response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                nodes = [n["target"] for n in violation["nodes"]][:3]
                problems.append(f"{name} (dark): {violation['id']}: {violation['help']} {nodes}")
    assert not problems, "\n".join(problems)
