"""The console's one admin password: hashed with argon2 (argon2-cffi), never stored itself."""

from __future__ import annotations

import os
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from monitor.admin.config_file import ConfigFile
from monitor.config import Settings
from monitor.errors import MonitorError

MIN_LENGTH = 10
_HASHER = PasswordHasher()  # argon2id with the library's current recommended costs


class WeakPassword(MonitorError):
    hint = f"use at least {MIN_LENGTH} characters; a passphrase of a few words is good"


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password has {len(password)} characters")
    return _HASHER.hash(password)


def verify(hashed: str, password: str) -> bool:
    """Whether `password` matches; a malformed hash matches nothing."""
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def store_hash(config_path: Path, settings: Settings, hashed: str) -> str:
    """Keep the hash where the config says (password_file, else the config file); say where."""
    target = settings.web.password_file
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(hashed + "\n")
        return str(target)
    config = ConfigFile(config_path)
    config.set_key("web", "password_hash", hashed)
    config.save()
    return f"{config_path} (web.password_hash)"
