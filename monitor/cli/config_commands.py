"""`check` (every problem of a config in one pass) and `init` (the commented example)."""

from __future__ import annotations

import argparse
import sys

from monitor.admin.query_check import query_problems
from monitor.cli.exit_codes import CONFIG_ERROR, OK
from monitor.config import config_path, cross_check, example_config, read_settings
from monitor.config.locate import in_file_order, key_of
from monitor.config_audit import audit
from monitor.errors import ConfigError, MonitorError


def cmd_check(args: argparse.Namespace) -> int:
    """Every problem known without the network, one line each: file:line: key: what. fix."""
    file, _ = config_path(args.config)
    try:
        text = file.read_text(encoding="utf-8") if file.is_file() else ""
    except (OSError, UnicodeDecodeError):
        text = ""  # read_settings says why
    where = str(file) if file.is_file() else "(defaults and environment)"
    warnings: list[str] = []
    try:
        settings = read_settings(args.config)
    except ConfigError as exc:
        errors = in_file_order(where, text, exc.problems)
    else:
        findings = audit(settings)
        found = {f.key for f in findings}
        errors = [p for p in cross_check(settings) if key_of(p) not in found]
        errors += query_problems(settings)
        errors += [str(f) for f in findings if not f.warning]
        warnings = [str(f) for f in findings if f.warning]
        errors, warnings = (
            in_file_order(where, text, errors),
            in_file_order(where, text, warnings),
        )
    for problem in errors + warnings:  # each kind in the order of the file
        print(problem)
    if errors:
        counted = "1 problem" if len(errors) == 1 else f"{len(errors)} problems"
        print(f"{counted}: fix them and run `news-monitor check` again", file=sys.stderr)
        return CONFIG_ERROR
    if not args.quiet:
        print(
            f"{where}: OK ({len(settings.feeds)} feeds, {len(settings.topics)} topics, "
            f"{len(settings.channels)} channels"
            + (f", {len(warnings)} warnings)" if warnings else ")")
        )
    return OK


def cmd_init(args: argparse.Namespace) -> int:
    file, _ = config_path(args.config)
    if file.exists():
        raise MonitorError(
            f"{file} exists already", hint="edit it, or give another path with --config"
        )
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(example_config(), encoding="utf-8")
    except OSError as exc:
        raise MonitorError(f"cannot write {file}: {exc.strerror}") from None
    print(f"wrote {file}: add your feeds, topics and channels, then run `news-monitor check`")
    return 0
