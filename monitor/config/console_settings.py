"""The `[web]` section: the web console served on `listener.address`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr

from monitor.config.sections import _Section
from monitor.config.values import Duration


class WebSettings(_Section):
    console: bool = Field(
        True, description="serve the web console at / on listener.address (it asks a password)"
    )
    password_hash: SecretStr | None = Field(
        None, description="argon2 hash of the admin password; set by `web set-password`"
    )
    password_file: Path | None = Field(
        None, description="a file holding that hash instead (`web set-password` writes it)"
    )
    session_lifetime: Duration = Field(
        timedelta(hours=12), description="how long a login lasts without being used"
    )
    login_attempts: int = Field(
        5, ge=1, description="failed logins allowed per address per 15 minutes"
    )
    secure_cookie: bool = Field(
        False,
        description="mark the session cookie Secure: set it when a TLS proxy serves the "
        "console (requests that arrive over TLS get it anyway)",
    )
