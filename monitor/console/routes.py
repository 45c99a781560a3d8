"""The console's wiring: its routes on the listener, the login gate and the CSRF check."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from monitor.config import Settings
from monitor.console.auth import (
    COOKIE,
    LOGIN_COOKIE,
    LoginLimiter,
    Session,
    Sessions,
    check_password,
    same_token,
)
from monitor.console.format import register_filters
from monitor.console.recent import RecentEntries
from monitor.errors import MonitorError
from monitor.service.listener import Liveness
from monitor.service.runtime import Runtime
from monitor.store.interfaces import ConsoleRecords

HERE = Path(__file__).parent
PREFIX = "/console"
BACKTEST_WINDOW = timedelta(days=7)
OPEN_PATHS = (f"{PREFIX}/login", f"{PREFIX}/static/")
# pages send no referrer, are never framed (but by themselves, for the email preview),
# and run no script but our own file
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
    "form-action 'self'; img-src 'self' data:",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

SESSION = web.RequestKey("session", Session)
LOGIN_CSRF = web.RequestKey("login_csrf", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ConsoleRefused(MonitorError):
    hint = "run `news-monitor web set-password` first, or keep listener.address on loopback"


@dataclass
class Console:
    """What every page handler reaches: the running service and the console's own state."""

    runtime: Runtime
    liveness: Liveness
    config_file: Path
    sessions: Sessions
    limiter: LoginLimiter
    templates: jinja2.Environment = field(init=False)
    recent: RecentEntries = field(default_factory=lambda: RecentEntries(BACKTEST_WINDOW))
    _warming: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,  # feed and page text is always shown as text
            undefined=jinja2.StrictUndefined,
        )
        register_filters(self.templates, self.runtime.clock)

    async def warm_up(self, _: web.Application) -> None:
        """Read the backtest window's entries once, in a thread, while the service starts."""
        feeds = self.runtime.settings.feeds
        self._warming = asyncio.create_task(
            asyncio.to_thread(self.recent.warm, self.records, self.now(), feeds)
        )

    async def warmed(self) -> None:
        """Wait until the warm-up read is done (for benchmarks and tests)."""
        if self._warming is not None:
            await self._warming

    def now(self) -> datetime:
        return self.runtime.clock()

    @property
    def records(self) -> ConsoleRecords:
        """The store as the pages use it; they call it through `asyncio.to_thread`."""
        return self.runtime.store

    def password_hash(self) -> str | None:
        return self.runtime.settings.admin_password_hash()

    def flash(self, request: web.Request, message: str) -> None:
        request[SESSION].flashes.append(message)

    def render(
        self, request: web.Request, name: str, code: int = 200, **values: Any
    ) -> web.Response:
        session: Session | None = request.get(SESSION)
        messages: list[str] = []
        if session is not None:
            messages, session.flashes = session.flashes, []
        html = self.templates.get_template(name).render(
            csrf=session.csrf if session is not None else request.get(LOGIN_CSRF, ""),
            path=request.path,
            messages=messages,
            prefix=PREFIX,
            logged_in=session is not None,
            **values,
        )
        return web.Response(text=html, status=code, content_type="text/html", charset="utf-8")


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to serve the console beyond loopback while no password is set."""
    where = settings.listener.host_port()
    if where and not loopback(where[0]) and settings.admin_password_hash() is None:
        raise ConsoleRefused(
            f"the web console will not listen on {settings.listener.address} without a password"
        )


def add_console(
    app: web.Application, runtime: Runtime, liveness: Liveness, config_file: Path
) -> Console:
    """Serve the console under /console on `app`; refuse a public address without a password."""
    settings = runtime.settings
    check_exposure(settings)
    console = Console(
        runtime,
        liveness,
        config_file,
        Sessions(settings.web.session_lifetime, runtime.clock),
        LoginLimiter(lambda: runtime.settings.web.login_attempts, runtime.clock),
    )
    from monitor.console import pages  # the handlers need `Console`, defined above

    app.middlewares.append(_gate(console))
    app.router.add_get("/", _to_console)
    app.router.add_static(f"{PREFIX}/static/", HERE / "static")
    app.router.add_route("*", f"{PREFIX}/login", _login(console))
    app.router.add_post(f"{PREFIX}/logout", _logout(console))
    pages.add_routes(app, console)
    app.on_startup.append(console.warm_up)
    return console


async def _to_console(_: web.Request) -> web.StreamResponse:
    return see_other(f"{PREFIX}/")


def see_other(location: str) -> web.Response:
    """A 303 redirect, returned (aiohttp wants HTTP exceptions raised, not returned)."""
    return web.Response(status=303, headers={"Location": location})


def _gate(console: Console) -> Any:
    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(PREFIX) and request.path != "/":
            return await handler(request)  # health, metrics, Atom: the listener's own
        try:
            response = await _guarded(console, request, handler)
        except web.HTTPException as exc:
            _harden(exc.headers)
            raise
        _harden(response.headers)
        return response

    return gate


def _harden(headers: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)


async def _guarded(console: Console, request: web.Request, handler: Handler) -> web.StreamResponse:
    """The page, if a session allows it; else the set-up page or the login."""
    hashed = console.password_hash()
    session = console.sessions.get(request.cookies.get(COOKIE), hashed)
    if hashed is None and not request.path.startswith(f"{PREFIX}/static/"):
        return console.render(request, "setup.html", code=403)
    if session is None and not request.path.startswith(OPEN_PATHS):
        target = quote(request.path_qs if request.method == "GET" else f"{PREFIX}/")
        return see_other(f"{PREFIX}/login?next={target}")
    if session is not None:
        request[SESSION] = session
        if request.method == "POST":
            form = await request.post()
            if not same_token(session.csrf, _text(form, "csrf")):
                raise web.HTTPForbidden(text="the form is stale: reload the page and try again\n")
    return await handler(request)


def _cookie_options(request: web.Request, console: Console) -> dict[str, Any]:
    secure = request.secure or console.runtime.settings.web.secure_cookie
    return {"httponly": True, "samesite": "Strict", "secure": secure, "path": PREFIX}


def _login(console: Console) -> Handler:
    async def login(request: web.Request) -> web.StreamResponse:
        hashed = console.password_hash()
        assert hashed is not None  # the gate shows the set-up page otherwise
        target = request.query.get("next", f"{PREFIX}/")
        if not target.startswith(f"{PREFIX}/") or target.startswith("//"):
            target = f"{PREFIX}/"  # never send the browser elsewhere after login
        address = request.remote or "unknown"
        error = None
        if request.method == "POST":
            form = await request.post()
            if not same_token(request.cookies.get(LOGIN_COOKIE, ""), _text(form, "csrf")):
                error = "The form expired; please try again."
            elif (wait := console.limiter.blocked(address)) is not None:
                minutes = max(int(wait.total_seconds() // 60) + 1, 1)
                error = f"Too many failed logins; try again in {minutes} min."
                request[LOGIN_CSRF] = request.cookies.get(LOGIN_COOKIE, "")
                return console.render(request, "login.html", code=429, error=error)
            elif check_password(hashed, _text(form, "password") or ""):
                console.limiter.succeeded(address)
                console.sessions.close(request.cookies.get(COOKIE))
                token, _ = console.sessions.open()
                onward = see_other(target)
                onward.set_cookie(COOKIE, token, **_cookie_options(request, console))
                onward.del_cookie(LOGIN_COOKIE, path=PREFIX)
                return onward
            else:
                console.limiter.failed(address)
                error = "Wrong password."
        token = request.cookies.get(LOGIN_COOKIE) or _new_token()
        request[LOGIN_CSRF] = token
        response = console.render(
            request, "login.html", code=401 if error else 200, error=error, target=target
        )
        response.set_cookie(LOGIN_COOKIE, token, **_cookie_options(request, console))
        return response

    return login


def _logout(console: Console) -> Handler:
    async def logout(request: web.Request) -> web.StreamResponse:
        console.sessions.close(request.cookies.get(COOKIE))
        response = see_other(f"{PREFIX}/login")
        response.del_cookie(COOKIE, path=PREFIX)
        return response

    return logout


def _new_token() -> str:
    import secrets

    return secrets.token_urlsafe(32)


def _text(form: Any, key: str) -> str | None:
    value = form.get(key)
    return value if isinstance(value, str) else None
