"""What the code assumes of its dependencies beyond their public API, checked so that an
upgrade that breaks an assumption fails here with a message saying what to do."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest

from monitor.store import MIGRATIONS

# monitor/feeds/fastpath.py reuses feedparser's own date parser, sanitizer and URL helpers
# so that both parsing paths give the same entries; these are private to feedparser 6.
FEEDPARSER_PRIVATE = {
    "feedparser.datetimes": ["_parse_date"],
    "feedparser.encodings": ["convert_to_utf8"],
    "feedparser.exceptions": ["ThingsNobodyCaresAboutButMe"],
    "feedparser.mixin": ["_cp1252", "_FeedParserMixin"],
    "feedparser.sanitizer": ["_HTMLSanitizer", "replace_doctype"],
    "feedparser.urls": ["_urljoin", "make_safe_absolute_uri"],
}


def test_feedparser_is_the_major_version_fastpath_was_written_for() -> None:
    """pyproject pins feedparser below 7; a newer major needs fastpath.py checked first."""
    major = int(version("feedparser").split(".")[0])
    assert major == 6, (
        f"feedparser {version('feedparser')} is installed; monitor/feeds/fastpath.py uses "
        "feedparser 6's private modules. Check them (this test lists them), then move the pin."
    )


@pytest.mark.parametrize("module", sorted(FEEDPARSER_PRIVATE))
def test_feedparser_private_names_fastpath_uses_exist(module: str) -> None:
    """Each private name fastpath.py imports is still there."""
    loaded = importlib.import_module(module)
    missing = [name for name in FEEDPARSER_PRIVATE[module] if not hasattr(loaded, name)]
    assert not missing, (
        f"{module} no longer has {missing}: monitor/feeds/fastpath.py imports them. "
        "Pin feedparser to the last version that has them, or port fastpath.py."
    )


def test_migrations_are_listed_in_the_order_of_their_names() -> None:
    """Migrations run in list order; their numbers must say the same order."""
    names = [name for name, _ in MIGRATIONS]
    assert names == sorted(names)
    assert len(set(names)) == len(names)
