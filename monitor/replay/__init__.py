"""Replays: what the topics would have sent over an archive of articles (`archive_replay.py`),
and the alert contract every replay's output is checked against (`alert_contract.py`).
"""

from monitor.replay.alert_contract import contract_problems
from monitor.replay.archive_replay import Alert, ArchivedArticle, parse_time, read_archive, replay

__all__ = [
    "Alert",
    "ArchivedArticle",
    "contract_problems",
    "parse_time",
    "read_archive",
    "replay",
]
