"""Every topic query of a config checked: what `check`, `once`, `run` and an edit refuse.

Apart from `config_file` so that a command that only reads its config does not import
the TOML editor (tomlkit) to check it.
"""

from __future__ import annotations

from monitor.config import Settings
from monitor.errors import QueryError
from monitor.query import compile_query


def query_problems(settings: Settings, *, pointer: bool = True) -> list[str]:
    """One problem per topic query that does not parse, with the position (and, with
    `pointer`, the query with a caret under it, for a terminal)."""
    problems = []
    for i, topic in enumerate(settings.topics):
        try:
            compile_query(topic.query)
        except QueryError as exc:
            problem = f"topics[{i}].query: {exc}"
            if pointer:
                problem += "\n    " + exc.pointer().replace("\n", "\n    ")
            problems.append(problem)
    return problems
