"""One admin, sessions in memory, CSRF tokens, and a limit on failed logins.

Sessions live in the service's memory: a restart asks for the password again,
and a changed password (config reload) ends every session. The session cookie is
HttpOnly and SameSite=Strict, and Secure over TLS or with `web.secure_cookie`.
"""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.admin.web_password import verify

COOKIE = "news_monitor_session"
LOGIN_COOKIE = "news_monitor_login"  # carries the login form's CSRF token before a session
WINDOW = timedelta(minutes=15)


@dataclass
class Session:
    csrf: str
    expires: datetime
    flashes: list[str] = field(default_factory=list)  # said once, on the next page


@dataclass
class Sessions:
    """Logged-in browsers, by the random token in their cookie."""

    lifetime: timedelta
    clock: Callable[[], datetime]
    _by_token: dict[str, Session] = field(default_factory=dict)
    _for_hash: str | None = None

    def open(self) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(secrets.token_urlsafe(32), self.clock() + self.lifetime)
        self._by_token[token] = session
        return token, session

    def get(self, token: str | None, password_hash: str | None) -> Session | None:
        """The live session of `token`, extended; None when unknown or expired."""
        if password_hash != self._for_hash:  # the password changed: everyone logs in again
            self._by_token.clear()
            self._for_hash = password_hash
        if not token:
            return None
        session = self._by_token.get(token)
        now = self.clock()
        if session is None or session.expires <= now:
            self._by_token.pop(token, None)
            return None
        session.expires = now + self.lifetime
        return session

    def close(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)


@dataclass
class LoginLimiter:
    """At most `attempts` failed logins per address in 15 minutes."""

    attempts: Callable[[], int]
    clock: Callable[[], datetime]
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def blocked(self, address: str) -> timedelta | None:
        """How long `address` must wait before trying again, or None."""
        recent = self._recent(address)
        if len(recent) < self.attempts():
            return None
        return recent[0] + WINDOW - self.clock()

    def failed(self, address: str) -> None:
        self._recent(address).append(self.clock())

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def _recent(self, address: str) -> deque[datetime]:
        recent = self._failures.setdefault(address, deque())
        while recent and recent[0] + WINDOW <= self.clock():
            recent.popleft()
        return recent


def check_password(password_hash: str, password: str) -> bool:
    return verify(password_hash, password)


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
