"""A console served by a real Runtime on 127.0.0.1 and a logged-out browser session against it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from monitor.admin.web_password import hash_password
from monitor.config import load_settings
from monitor.console import add_console
from monitor.service.listener import Liveness, build_app
from monitor.service.runtime import Runtime

PASSWORD = "a long console passphrase"
Scenario = Callable[[ClientSession, str], Awaitable[None]]


def console_config(tmp_path: Path, *, password: bool, address: str = "127.0.0.1:8080") -> Path:
    path = tmp_path / "monitor.toml"
    text = (
        f'[store]\nurl = "sqlite:///{tmp_path}/monitor.db"\n\n[listener]\naddress = "{address}"\n'
    )
    if password:
        text += f'\n[web]\npassword_hash = "{hash_password(PASSWORD)}"\nlogin_attempts = 3\n'
    path.write_text(text, encoding="utf-8")
    return path


def run_console(config: Path, scenario: Scenario) -> None:
    async def main() -> None:
        async with Runtime(load_settings(config)) as runtime:
            app = build_app(
                store=runtime.store,
                metrics=runtime.metrics,
                liveness=Liveness(tick=runtime.settings.service.tick),
                atom_dir=config.parent / "atom",
                clock=runtime.clock,
            )
            add_console(app, runtime, Liveness(tick=runtime.settings.service.tick), config)
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            try:
                async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as client:
                    await scenario(client, str(server.make_url("")).rstrip("/"))
            finally:
                await server.close()

    asyncio.run(main())


async def login_token(client: ClientSession, base: str) -> str:
    async with client.get(f"{base}/console/login") as response:
        found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
    assert found is not None
    return found.group(1)
