"""Config mistakes as lines a user can act on: "key: what is wrong (got VALUE); how to fix".

pydantic reports every invalid key at once; this module words them: the dotted key, the
bad value (shortened; hidden for secrets; URLs redacted by ConfigError) and a fix. A
list-valued environment variable that is not JSON stops pydantic-settings before any
validation (`SettingsError`); `env_problems` finds which variable it was.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

_TAGS = frozenset({"email", "webhook", "apprise", "files"})  # discriminator tags in locations
_SECRET_KEYS = ("password", "secret", "urls", "token")
_FIXES = {
    "string_type": "write it in quotes",
    "int_type": "write a whole number, without quotes",
    "int_parsing": "write a whole number, without quotes",
    "int_from_float": "write a whole number",
    "float_type": "write a number",
    "float_parsing": "write a number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "list_type": 'write a list, e.g. ["a", "b"]',
    "model_type": "write it as a table: [section] or [[section]] with keys under it",
    "model_attributes_type": "write it as a table: [section] or [[section]] with keys under it",
    "dict_type": "write it as a table",
    "extra_forbidden": "check the spelling against `news-monitor init`'s example",
    "missing": "add it",
}


def dotted(loc: tuple[int | str, ...]) -> str:
    """("feeds", 0, "url") -> "feeds[0].url"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _TAGS:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _shown(key: str, value: Any) -> str:
    if any(word in key.lower() for word in _SECRET_KEYS):
        return "(hidden)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problem_lines(error: ValidationError) -> list[str]:
    """One line per problem pydantic found, each with its key, the value and a fix."""
    lines = []
    for item in error.errors():
        key = dotted(tuple(item["loc"]))
        kind = item["type"]
        message = item["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "required key is missing"
        line = f"{key}: {message}"
        value = item["input"]
        shown = _shown(key, value)
        if kind not in ("missing", "extra_forbidden") and shown not in message:
            line += f" (got {shown})"
        fix = _FIXES.get(kind)
        if fix:
            line += f"; {fix}"
        lines.append(line)
    return lines


def env_problems(
    model: type[BaseModel], environ: Mapping[str, str], prefix: str = "MONITOR_"
) -> list[str]:
    """The environment variables holding a list or table that is not valid JSON."""
    problems = []
    for name, value in sorted(environ.items()):
        if not name.upper().startswith(prefix):
            continue
        path = name[len(prefix) :].lower().split("__")
        if not _is_structured(model, path):
            continue
        try:
            json.loads(value)
        except ValueError as exc:
            problems.append(
                f"{name}: not valid JSON ({exc}); lists and tables in the environment are "
                f"written as JSON, e.g. {name}='[\"127.0.0.1\"]'"
            )
    return problems


def _is_structured(model: type[BaseModel], path: list[str]) -> bool:
    """Whether the setting at `path` is a list, table or section (read as JSON from env)."""
    annotation: Any = model
    for part in path:
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return False
        field = annotation.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
    origin = typing.get_origin(annotation)
    if origin in (list, dict, tuple, set):
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
