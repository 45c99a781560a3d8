"""The console's gate without a browser: set-up page, login limit, CSRF, cookies, loopback rule."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from monitor.config import load_settings
from monitor.console import add_console
from monitor.console.routes import ConsoleRefused
from monitor.service.listener import Liveness
from monitor.service.runtime import Runtime
from tests.console_session import PASSWORD, console_config, login_token, run_console


def test_without_a_password_only_the_set_up_is_shown(tmp_path: Path) -> None:
    """Before a password is set, every console page explains `web set-password`, nothing else."""

    async def scenario(client: ClientSession, base: str) -> None:
        for path in ("/console/", "/console/feeds", "/console/login"):
            async with client.get(base + path, allow_redirects=False) as response:
                assert response.status == 403
                body = await response.text()
                assert "news-monitor web set-password" in body and "<nav" not in body
        async with client.get(base + "/healthz") as response:
            assert response.status in (200, 503)  # the listener's own pages are untouched

    run_console(console_config(tmp_path, password=False), scenario)


def test_public_address_without_password_is_refused(tmp_path: Path) -> None:
    """The console will not listen beyond loopback until a password is set."""
    config = console_config(tmp_path, password=False, address="0.0.0.0:8080")

    async def main() -> None:
        async with Runtime(load_settings(config)) as runtime:
            app = web.Application()
            with pytest.raises(ConsoleRefused, match="without a password"):
                add_console(app, runtime, Liveness(tick=runtime.settings.service.tick), config)

    asyncio.run(main())


def test_login_is_limited_and_forms_need_their_token(tmp_path: Path) -> None:
    """Three wrong passwords block the address; a form posted without its token is refused."""

    async def scenario(client: ClientSession, base: str) -> None:
        async with client.get(f"{base}/console/topics", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith("/console/login?next=")
        token = await login_token(client, base)
        for _ in range(3):
            form = {"csrf": token, "password": "not it at all"}
            async with client.post(f"{base}/console/login", data=form) as response:
                assert response.status == 401
        form = {"csrf": token, "password": PASSWORD}
        async with client.post(f"{base}/console/login", data=form) as response:
            assert response.status == 429  # even the right password waits now
            assert "Too many failed logins" in await response.text()

    run_console(console_config(tmp_path, password=True), scenario)


def test_session_cookie_and_csrf(tmp_path: Path) -> None:
    """The session cookie is HttpOnly and SameSite=Strict; a POST without the CSRF token fails."""

    async def scenario(client: ClientSession, base: str) -> None:
        token = await login_token(client, base)
        form = {"csrf": token, "password": PASSWORD}
        async with client.post(
            f"{base}/console/login", data=form, allow_redirects=False
        ) as response:
            assert response.status == 303
            cookie = next(
                v for k, v in response.headers.items() if k == "Set-Cookie" and "session" in v
            )
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert "Secure" not in cookie  # plain HTTP on loopback
        async with client.get(f"{base}/console/") as response:
            assert response.status == 200
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        async with client.post(f"{base}/console/topics/delete", data={"name": "x"}) as response:
            assert response.status == 403
        async with client.post(
            f"{base}/console/topics/delete", data={"name": "x", "csrf": "forged"}
        ) as response:
            assert response.status == 403

    run_console(console_config(tmp_path, password=True), scenario)


def test_run_refuses_a_public_console_without_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`news-monitor run` stops at once, saying why, when the console would be exposed."""
    from monitor.cli import main

    config = console_config(tmp_path, password=False, address="0.0.0.0:8080")
    assert main(["--config", str(config), "run"]) == 1
    err = capsys.readouterr().err
    assert "will not listen on 0.0.0.0:8080 without a password" in err
    assert "web set-password" in err
