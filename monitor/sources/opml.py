"""OPML 2.0 in and out: the feed lists other readers import and export (pure, no I/O).

Outlines may nest (folders); every outline with an `xmlUrl` is a feed. A DOCTYPE
is refused outright: an OPML file never needs one, and entity tricks live there.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from monitor.errors import ConfigError


@dataclass(frozen=True, slots=True)
class OutlineFeed:
    url: str
    title: str | None
    folder: str | None  # the enclosing outline's title, if any


def read_opml(data: bytes, *, source: str = "OPML") -> list[OutlineFeed]:
    """The feeds of an OPML document, in document order, without duplicates."""
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise ConfigError([f"{source}: DOCTYPE and ENTITY declarations are not accepted in OPML"])
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ConfigError([f"{source}: not well-formed XML ({exc})"]) from None
    if root.tag != "opml" or root.find("body") is None:
        raise ConfigError([f"{source}: not an OPML document (no <opml><body>)"])
    found: dict[str, OutlineFeed] = {}

    def walk(element: ElementTree.Element, folder: str | None) -> None:
        for outline in element.findall("outline"):
            title = outline.get("title") or outline.get("text")
            url = (outline.get("xmlUrl") or "").strip()
            if url:
                found.setdefault(url, OutlineFeed(url, title, folder))
            walk(outline, title if not url else folder)

    walk(root.find("body"), None)  # type: ignore[arg-type]
    return list(found.values())


def write_opml(
    feeds: Sequence[tuple[str, str | None]],
    *,
    title: str = "news-monitor feeds",
    now: datetime | None = None,
) -> bytes:
    """An OPML 2.0 document listing (url, name) feeds."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC))
    body = ElementTree.SubElement(root, "body")
    for url, name in feeds:
        label = name or url
        ElementTree.SubElement(body, "outline", type="rss", text=label, title=label, xmlUrl=url)
    ElementTree.indent(root)
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
