"""The lxml fast path gives exactly what feedparser gives, or steps aside.

Each document is parsed twice, through monitor.feeds.rss.parse_xml_feed with and without
the fast path, and the two ParsedFeeds must be equal field by field: over every feed we
keep, and over a few hundred generated documents that vary the things feedparser treats
specially (HTML or text, entities, GUIDs as links, authors, content copied to summaries,
dates, repairs of mojibake and cp1252 codes, relative URLs, comments, element order).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.feeds import rss
from monitor.feeds.common import NotReadable, ParsedFeed
from monitor.feeds.fastpath import Unsure, parse_plain_feed

FEEDS = [Path(__file__).parent / "data" / "feeds", Path("/work/shared/corpus/feeds")]
URL = "https://news.example.com/world/feed.xml"


def _both(body: bytes, url: str = URL, headers: dict[str, str] | None = None) -> bool:
    """Asserts both paths agree; returns whether the fast path took the document."""
    given = dict(headers or {})
    try:
        slow: ParsedFeed | str = rss.parse_xml_feed(
            body, url=url, headers=given, max_entries=30, fast=False
        )
    except NotReadable as exc:
        slow = f"not readable: {exc.message}"
    try:
        fast: ParsedFeed | str = rss.parse_xml_feed(body, url=url, headers=given, max_entries=30)
    except NotReadable as exc:
        fast = f"not readable: {exc.message}"
    if isinstance(slow, ParsedFeed) and isinstance(fast, ParsedFeed):
        assert (fast.title, fast.ttl, fast.warning) == (slow.title, slow.ttl, slow.warning)
        assert len(fast.entries) == len(slow.entries)
        for mine, theirs in zip(fast.entries, slow.entries, strict=True):
            assert mine == theirs, (mine, theirs)
    assert fast == slow
    safe = rss.cut_long_authors(rss.strip_entity_declarations(body))
    plain_headers = {k: v for k, v in given.items() if k != "content-encoding"}
    plain_headers["content-location"] = url
    try:
        parse_plain_feed(safe, url=url, headers=plain_headers, max_entries=30)
    except Unsure:
        return False
    return True


def _kept_feeds() -> list[Path]:
    found = [p for folder in FEEDS if folder.is_dir() for p in sorted(folder.iterdir())]
    return [p for p in found if p.suffix in (".xml", ".rss", ".atom")]


@pytest.mark.parametrize("path", _kept_feeds(), ids=lambda p: p.name)
def test_kept_feeds_read_the_same(path: Path) -> None:
    """Every corpus feed gives the same ParsedFeed with and without the fast path."""
    _both(path.read_bytes(), url=f"https://example.org/feeds/{path.name}")


# --- generated documents ---------------------------------------------------------------

_WORDS = ["storm", "Café", "talks", "\x93quoted\x94", "  ", "ünïcode"]
_ODD_WORDS = ["Ã©lan", "a < b", "x > y", "AT&T"]
_TAGS = ["p", "b", "i", "a", "br", "div", "span", "em", "li", "ul", "h2", "blockquote"]
_ODD_TAGS = ["script", "noscript", "figure", "svg", "iframe", "main", "blink", "style"]
_ENTITIES = ["&amp;", "&#233;", "&lt;p&gt;", "&amp;nbsp;", "&amp;amp;", "&#8217;", "&gt;"]
_DATES = [
    "Mon, 06 Jan 2025 10:00:00 GMT",
    "Tue, 7 Jan 2025 10:00:00 +0200",
    "2025-01-08T09:30:00Z",
    "2025-01-08T09:30:00+05:30",
    "2025-01-09",
    "yesterday",
    "",
]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Rng(random.Random):
    """A seeded generator that also knows how often to use things the fast path refuses."""

    def __init__(self, seed: int, odd: float) -> None:
        super().__init__(seed)
        self.odd = odd


def _html(rng: _Rng) -> str:
    """An HTML fragment: mostly plain formatting tags, sometimes odd ones or entities."""
    parts: list[str] = []
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        word = rng.choice(_ODD_WORDS if rng.random() < rng.odd else _WORDS)
        if roll < rng.odd:
            parts.append(
                rng.choice(
                    [
                        f"<{rng.choice(_ODD_TAGS)}>{word}</{rng.choice(_ODD_TAGS)}>",
                        rng.choice(_ENTITIES) + word,
                        f"<!-- note -->{word}",
                    ]
                )
            )
        elif roll < 0.7:
            tag = rng.choice(_TAGS)
            attrs = rng.choice(["", ' class="x"', " href='/rel/link'", ' title="t" id="i"'])
            if tag == "br":
                parts.append(rng.choice(["<br>", "<br/>", "<br />", "</br>"]) + word)
            elif rng.random() < 0.2:
                parts.append(f"<{tag}{attrs}>{word}")  # left open
            elif rng.random() < 0.1:
                parts.append(f"<{tag}{attrs}/>{word}")
            else:
                parts.append(f"<{tag}{attrs}>{word}</{tag}>")
        else:
            parts.append(word.replace("&", "and").replace("<", "").replace(">", ""))
    return " ".join(parts)


def _text_element(rng: _Rng, name: str, value: str, attrs: str = "") -> str:
    """`value` as element text: CDATA, escaped, or (rarely) raw entity-laden."""
    roll = rng.random()
    if roll < 0.45 and "]]>" not in value:
        return f"<{name}{attrs}><![CDATA[{value}]]></{name}>"
    if roll < 1 - rng.odd / 2:
        return f"<{name}{attrs}>{_escape(value)}</{name}>"
    return f"<{name}{attrs}>  {rng.choice(_ENTITIES)} {_escape(value)}\n</{name}>"


def _link(rng: _Rng, n: int) -> str:
    return rng.choice(
        [
            f"https://news.example.com/a/{n}",
            f"/relative/{n}?utm_source=x&a=1",
            f"https://news.example.com/a/{n}?b=2&amp;c=3",
            f"story-{n}.html",
            "",
        ]
    )


def _rss_item(rng: _Rng, n: int) -> str:
    parts: list[str] = []
    if rng.random() < 0.9:
        title = rng.choice([_html(rng), " ".join(rng.choices(_WORDS, k=4)), ""])
        parts.append(_text_element(rng, "title", title))
    if rng.random() < 0.8:
        parts.append(f"<link>{_escape(_link(rng, n))}</link>")
    if rng.random() < 0.8:
        attrs = rng.choice(
            ["", ' isPermaLink="false"', ' isPermaLink="true"', ' isPermaLink="True"']
        )
        guid = rng.choice([f"https://news.example.com/g/{n}", f"tag:example,{n}", f"id-{n}"])
        parts.append(f"<guid{attrs}>{guid}</guid>")
    if rng.random() < 0.8:
        parts.append(f"<pubDate>{rng.choice(_DATES)}</pubDate>")
    if rng.random() < 0.8:
        parts.append(_text_element(rng, "description", _html(rng)))
    if rng.random() < 0.3:
        parts.append(_text_element(rng, "content:encoded", _html(rng)))
    if rng.random() < 0.5:
        author = rng.choice(["desk@example.org (Desk)", "Jane Doe", "x@y.example", "Ã©crivain"])
        parts.append(f"<{rng.choice(['author', 'dc:creator'])}>{_escape(author)}</{'author'}>")
    if rng.random() < 0.3:
        parts.append('<category domain="d">World</category><comments>/c</comments>')
    if rng.random() < 0.2:
        parts.append('<enclosure url="https://cdn.example/a.mp3" type="audio/mpeg" length="1"/>')
    if rng.random() < 0.05:
        parts.append(
            rng.choice(["<source url='https://o.example/'>O</source>", "<title>2</title>"])
        )
    rng.shuffle(parts)
    return "<item>" + "".join(parts) + "</item>"


def _fix_author_tags(doc: str) -> str:
    # _rss_item closes dc:creator with </author> for brevity: make it well-formed again
    out, _, rest = doc.partition("<dc:creator>")
    while _:
        text, _, tail = rest.partition("</author>")
        out += f"<dc:creator>{text}</dc:creator>"
        before, _, rest = tail.partition("<dc:creator>")
        out += before
    return out


def _rss(rng: _Rng) -> str:
    items = "".join(_rss_item(rng, n) for n in range(rng.randint(0, 8)))
    head = _text_element(rng, "title", rng.choice(["Site news", _html(rng), ""]))
    extras = rng.choice(
        [
            "",
            "<ttl>30</ttl>",
            "<ttl unit='m'>5</ttl>",
            "<image><url>/i.png</url><title>I</title></image>",
        ]
    )
    extras += rng.choice(["", "<!-- generated -->", "<language>en</language>"])
    namespaces = ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    namespaces += ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    namespaces += rng.choice(["", ' xmlns:atom="http://www.w3.org/2005/Atom"'])
    doc = f'<rss version="2.0"{namespaces}><channel>{head}{extras}{items}</channel></rss>'
    return _fix_author_tags(doc)


def _atom_entry(rng: _Rng, n: int) -> str:
    parts: list[str] = []

    def kind() -> str:
        if rng.random() < rng.odd:
            return rng.choice([' type="xhtml"', ' type="text/xml"', ' mode="base64"'])
        return rng.choice(["", ' type="text"', ' type="html"', ' type="text/html"'])

    if rng.random() < 0.9:
        parts.append(_text_element(rng, "title", rng.choice([_html(rng), "Plain title"]), kind()))
    for _ in range(rng.choice([0, 1, 1, 2])):
        rel = rng.choice(
            ["", ' rel="alternate"', ' rel="self"', ' rel="enclosure"', ' rel="ALTERNATE"']
        )
        kind_attr = rng.choice(
            ["", ' type="text/html"', ' type="application/pdf"', ' type="xhtml"']
        )
        parts.append(f'<link{rel}{kind_attr} href="{_escape(_link(rng, n))}"/>')
    if rng.random() < 0.85:
        ident = rng.choice([f"urn:uuid:{n}", f"https://news.example.com/e/{n}", f"e{n}"])
        parts.append(f"<id>{ident}</id>")
    for name in ("updated", "published"):
        if rng.random() < 0.6:
            parts.append(f"<{name}>{rng.choice(_DATES)}</{name}>")
    if rng.random() < 0.7:
        parts.append(_text_element(rng, "summary", _html(rng), kind()))
    if rng.random() < 0.5:
        parts.append(_text_element(rng, "content", _html(rng), kind()))
    if rng.random() < 0.6:
        people = ["<name>Jane</name>", "<email>j@example.org</email>", "<uri>/j</uri>", ""]
        inner = "".join(rng.sample(people, rng.randint(0, 3)))
        parts.append(f"<author>{inner}</author>")
    if rng.random() < 0.2:
        parts.append('<category term="world"/>')
    rng.shuffle(parts)
    return "<entry>" + "".join(parts) + "</entry>"


def _atom(rng: _Rng) -> str:
    entries = "".join(_atom_entry(rng, n) for n in range(rng.randint(0, 8)))
    head = _text_element(
        rng, "title", rng.choice(["Site", _html(rng)]), rng.choice(["", ' type="html"'])
    )
    head += "<id>urn:feed</id><updated>2025-01-01T00:00:00Z</updated>"
    head += rng.choice(["", "<author><name>Feed author</name></author>", '<link href="/"/>'])
    return f'<feed xmlns="http://www.w3.org/2005/Atom">{head}{entries}</feed>'


def _documents(count: int, odd: float) -> Iterator[tuple[bytes, dict[str, str]]]:
    rng = _Rng(6, odd)
    for _ in range(count):
        text = _rss(rng) if rng.random() < 0.5 else _atom(rng)
        prolog = rng.choice(
            ['<?xml version="1.0" encoding="utf-8"?>', "", "<?xml version='1.0'?>\n"]
        )
        headers = rng.choice(
            [{}, {"content-type": "application/rss+xml"}, {"content-type": "text/xml"}]
        )
        yield (prolog + text).encode("utf-8"), headers


@pytest.mark.parametrize("odd", [0.002, 0.25])
def test_generated_documents_read_the_same(odd: float) -> None:
    """Generated RSS and Atom documents give the same ParsedFeed on both paths."""
    taken = sum(_both(body, headers=headers) for body, headers in _documents(500, odd))
    assert taken > (200 if odd < 0.1 else 20)  # the fast path is not vacuous


def test_plain_feed_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain RSS 2.0 document never reaches feedparser."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("feedparser was called")

    monkeypatch.setattr(rss.feedparser, "parse", refuse)
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>One</title><link>https://a.example/1</link>"
        b"<description><![CDATA[<p>Hello</p><p>world</p>]]></description>"
        b"<pubDate>Mon, 06 Jan 2025 10:00:00 GMT</pubDate></item></channel></rss>"
    )
    parsed = rss.parse_xml_feed(body, url=URL, headers={}, max_entries=10)
    assert [(e.title, e.summary, e.link) for e in parsed.entries] == [
        ("One", "Hello world", "https://a.example/1")
    ]


@pytest.mark.parametrize(
    "body",
    [
        b'<rss version="2.0"><channel><item><title>&undefined;</title></item></channel></rss>',
        b'<!DOCTYPE rss [<!ELEMENT rss ANY>]><rss version="2.0"><channel/></rss>',
        b'<rss version="2.0"><channel><item><title>x</title></item></channel>',
        b'<rss version="2.0" xml:base="http://evil.example/"><channel/></rss>',
    ],
    ids=["undefined entity", "internal DTD", "not well-formed", "xml:base"],
)
def test_hostile_or_unusual_documents_go_to_feedparser(body: bytes) -> None:
    """Undefined entities, DTDs, malformed XML and xml:base are left to feedparser."""
    with pytest.raises(Unsure):
        parse_plain_feed(body, url=URL, headers={"content-location": URL}, max_entries=10)
    _both(body)


def test_external_dtd_is_dropped_not_fetched() -> None:
    """An external DOCTYPE is removed (as feedparser removes it) and never fetched."""
    body = b'<!DOCTYPE rss SYSTEM "http://127.0.0.1:1/x.dtd"><rss version="2.0"><channel>'
    body += b"<item><title>x</title></item></channel></rss>"
    assert _both(body)  # took the fast path, and no connection was attempted (port 1)
