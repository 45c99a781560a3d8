"""monitor.feeds: feed bytes to plain entries, on the seed feed and real corpus feeds."""

from __future__ import annotations

import json
import pickle
import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ParseError
from monitor.feeds import MAX_AUTHOR, cut_long_authors, entry_key, parse_feed
from monitor.models import ErrorClass

DATA = Path(__file__).parent / "data"
FEEDS = DATA / "feeds"
FEED_URL = "https://news.example.com/world/feed.xml"
TAG = re.compile(r"<[a-zA-Z/!][^>]*>")


def _index() -> dict[str, dict[str, Any]]:
    rows = (json.loads(line) for line in (FEEDS / "index.jsonl").read_text().splitlines())
    return {row["file"]: row for row in rows}


INDEX = _index()


def _parse(name: str) -> Any:
    return parse_feed((FEEDS / name).read_bytes(), url=f"https://example.org/feeds/{name}")


def test_seed_feed_gives_both_stories() -> None:
    """The seed feed gives its two items with titles, links, GUID keys and UTC dates."""
    feed = parse_feed((DATA / "seed" / "feed.xml").read_bytes(), url=FEED_URL)
    assert feed.title == "Example News - World"
    assert feed.warning is None
    kremlin, storm = feed.entries
    assert kremlin.title == "Kremlin says Trump invited Putin to White House"
    assert kremlin.link == (
        "https://news.example.com/news/kremlin-says-trump-invited-putin-to-white-house/"
        "?utm_source=rss&utm_medium=feed"
    )
    assert kremlin.key == "guid:example-news-20180402-kremlin-trump-putin"
    assert kremlin.published == datetime(2018, 4, 2, 14, 5, tzinfo=UTC)
    assert kremlin.feed_url == FEED_URL
    assert kremlin.summary.startswith("President Trump floated hosting")
    assert '"discuss the arms race,"' in kremlin.summary
    assert storm.title == "Storm batters coastal towns as thousands lose power"
    assert storm.key == "guid:example-news-20180402-storm"
    assert storm.published == datetime(2018, 4, 2, 12, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "newsboat-rss20_2.xml",  # RSS 2.0
        "newsboat-atom10_1.xml",  # Atom 1.0
        "newsboat-rss10_1.xml",  # RDF / RSS 1.0
        "feedparser-json-example.json",  # JSON Feed 1
        "trafilatura-feed.json",  # JSON Feed 1, real (NPR)
        "reader-full.json",  # JSON Feed 1.1
        "reader-invalid.json",  # JSON Feed 1.1 with wrongly typed fields
        "reader-10.json",  # JSON Feed with no items
        "huginn-iso-8859-1.rss",  # ISO-8859-1
        "huginn-cdata_rss.atom",  # CDATA-heavy, real
        "newsboat-items_without_titles.xml",
    ],
)
def test_corpus_feed_gives_expected_entry_count(name: str) -> None:
    """Each corpus feed gives as many entries as its index says, every one well-formed."""
    feed = _parse(name)
    assert len(feed.entries) == INDEX[name]["expected_entries"]
    for entry in feed.entries:
        assert entry.key.startswith(("guid:", "link:", "hash:"))
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        assert entry.published is None or entry.published.tzinfo is not None
        assert not TAG.search(entry.title + entry.summary + (entry.content or ""))


def test_iso_8859_1_feed_is_decoded() -> None:
    """A feed declared ISO-8859-1 gives correctly decoded accented titles."""
    (entry,) = _parse("huginn-iso-8859-1.rss").entries
    assert entry.title == "Mëkanïk Zaïn"


def test_cdata_content_becomes_plain_text_paragraphs() -> None:
    """CDATA HTML content comes out as plain text, with paragraphs kept apart in `content`."""
    entry = _parse("huginn-cdata_rss.atom").entries[0]
    assert entry.content is not None and "\n\n" in entry.content
    assert "<" not in entry.summary and "\n" not in entry.summary
    assert entry.author == "supergergo"


def test_items_without_titles_get_empty_titles_and_guid_keys() -> None:
    """Untitled items keep an empty title (as the feed told it) and are keyed by their ids."""
    entries = _parse("newsboat-items_without_titles.xml").entries
    assert {e.title for e in entries} == {""}
    # The fixture reuses one <id> for its last three entries, as some real feeds do.
    assert [e.key.rsplit("/", 1)[1] for e in entries] == [
        "atom_testing",
        "atom_testing1",
        "atom_testing2",
        "atom_testing2",
        "atom_testing2",
    ]


def test_json_feed_fields() -> None:
    """JSON Feed 1.1 items give plain content, authors, links and UTC dates."""
    first, second = _parse("reader-full.json").entries
    assert first.key == "guid:2"
    assert first.title == "Title"
    assert first.summary == "A summary"
    assert first.content == "Content with link"
    assert first.link == "https://example.org/second-item"
    assert first.published == datetime(2020, 1, 2, 21, 0, tzinfo=UTC)
    assert second.author == "Jane"
    assert second.summary == "Hello, world!"


@pytest.mark.parametrize(
    ("name", "looked_like"),
    [
        ("newsboat-empty.xml", "empty body"),
        ("feedparser-illformed-rss_empty_document.xml", "XML without a root element"),
    ],
)
def test_corpus_non_feeds_are_not_a_feed(name: str, looked_like: str) -> None:
    """A zero-byte file and a rootless XML document are refused as not a feed."""
    with pytest.raises(ParseError, match=looked_like) as caught:
        _parse(name)
    assert caught.value.error_class is ErrorClass.NOT_A_FEED


@pytest.mark.parametrize(
    ("body", "headers", "looked_like"),
    [
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
            {"Content-Type": "text/html"},
            "an HTML page",
        ),
        (b'<?xml version="1.0"?><sitemap><loc>x</loc></sitemap>', {}, "root <sitemap>"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', {}, "invalid JSON"),
        (b'{"name": "not a feed"}', {"content-type": "application/json"}, "not a JSON Feed"),
        (b"   \n", {}, "empty body"),
    ],
)
def test_documents_that_are_not_feeds(
    body: bytes, headers: dict[str, str], looked_like: str
) -> None:
    """HTML, other XML, invalid JSON, non-feed JSON and blank bodies are not a feed."""
    with pytest.raises(ParseError, match=looked_like) as caught:
        parse_feed(body, url=FEED_URL, headers=headers)
    assert caught.value.error_class is ErrorClass.NOT_A_FEED


def test_bozo_feed_with_entries_is_accepted_with_warning() -> None:
    """A malformed feed that still gives entries is accepted, with a warning."""
    feed = _parse("feedparser-illformed-rss_incomplete_cdata.xml")
    assert len(feed.entries) == 1
    assert feed.warning is not None and "malformed" in feed.warning


def test_bozo_feed_without_entries_is_a_parse_error() -> None:
    """A malformed feed with no entries is a ParseError (not 'not a feed')."""
    with pytest.raises(ParseError) as caught:
        _parse("feedparser-illformed-aaa_illformed.xml")
    assert caught.value.error_class is ErrorClass.PARSE


def test_empty_valid_feed_is_not_an_error() -> None:
    """A valid feed with no items gives no entries and no warning."""
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed(body, url=FEED_URL, headers={"Content-Type": "application/rss+xml"})
    assert feed == type(feed)(title="Quiet", entries=(), ttl=None, warning=None)


def test_ttl_and_relative_links() -> None:
    """RSS <ttl> is read in minutes and relative links resolve against the feed URL."""
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>45</ttl>'
        b"<item><title>A</title><link>/news/a?utm_source=x</link></item>"
        b"<item><title>B</title><link>javascript:alert(1)</link></item></channel></rss>"
    )
    feed = parse_feed(body, url=FEED_URL, headers={"Content-Encoding": "gzip"})
    assert feed.ttl == 45
    first, second = feed.entries
    assert first.link == "https://news.example.com/news/a?utm_source=x"
    assert first.key == "link:https://news.example.com/news/a"
    assert second.link is None


def test_billion_laughs_is_not_expanded() -> None:
    """Internal entity declarations are stripped, so nested entities are never expanded."""
    entities = '<!ENTITY lol0 "lollollollollollollollollollol">\n' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10)
    )
    flat = '<!ENTITY big "' + "A" * 100_000 + '">\n'
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{entities}{flat}]>\n'
        '<rss version="2.0"><channel><title>Laughs</title>'
        "<item><title>&lol9;</title><link>https://example.org/a</link>"
        f"<description>x &lol9; {'&big;' * 50} y</description></item></channel></rss>"
    ).encode()
    started = time.perf_counter()
    feed = parse_feed(body, url=FEED_URL)
    assert time.perf_counter() - started < 2.0
    (entry,) = feed.entries
    assert len(entry.title) < 20
    assert len(entry.summary) < 1_000
    assert "lollollol" not in entry.title + entry.summary


def test_field_lengths_are_capped() -> None:
    """A hostile feed cannot store a huge title or summary."""
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>{'t' * 50_000}</title><description>{'s ' * 100_000}</description>"
        f"<guid>g</guid></item></channel></rss>"
    ).encode()
    (entry,) = parse_feed(body, url=FEED_URL).entries
    assert len(entry.title) == 1_000
    assert len(entry.summary) <= 20_000


def _rss(items: list[tuple[str, str]]) -> bytes:
    xml = "".join(
        f"<item><title>{title}</title><link>{link}</link><description>{title}</description></item>"
        for title, link in items
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    return f"{head}{xml}</channel></rss>".encode()


def test_keys_stable_under_reordering_and_tracking_parameters() -> None:
    """Reordering items or changing utm_* parameters on links keeps every entry's key."""
    before = parse_feed(
        _rss([("One", "https://ex.org/1?utm_source=rss"), ("Two", "https://ex.org/2?id=7")]),
        url=FEED_URL,
    )
    after = parse_feed(
        _rss(
            [
                ("Two", "https://ex.org/2?utm_medium=feed&amp;id=7"),
                ("One", "https://EX.org/1?utm_source=mail&amp;utm_campaign=x"),
            ]
        ),
        url=FEED_URL,
    )
    assert {e.title: e.key for e in before.entries} == {e.title: e.key for e in after.entries}
    assert {e.key for e in before.entries} == {
        "link:https://ex.org/1",
        "link:https://ex.org/2?id=7",
    }


def test_entry_key_prefers_guid_then_link_then_hash() -> None:
    """entry_key uses the GUID, else the canonical link, else a short content hash."""
    assert entry_key(" abc ", "https://ex.org/a", "t", "s") == "guid:abc"
    assert entry_key(None, "https://ex.org/a?utm_source=x#top", "t", "s") == "link:https://ex.org/a"
    hashed = entry_key(None, None, "t", "s")
    assert re.fullmatch(r"hash:[0-9a-f]{32}", hashed)
    assert hashed == entry_key("", "", "t", "s") != entry_key(None, None, "t", "other")


@pytest.mark.parametrize(
    "name",
    [
        "feedparser-wellformed-sanitize-entry_content_script.xml",
        "feedparser-wellformed-sanitize-item_description_script.xml",
        "feedparser-wellformed-sanitize-entry_content_onclick.xml",
    ],
)
def test_hostile_markup_is_stripped(name: str) -> None:
    """Script injections in a hostile feed leave no markup or script text behind."""
    (entry,) = _parse(name).entries
    for text in (entry.title, entry.summary, entry.content or ""):
        assert "<" not in text and "location.href" not in text and "onclick" not in text
    assert entry.summary in ("safe description", "")  # the onclick case is a lone <img>


def test_html_in_titles_and_summaries_becomes_plain_text() -> None:
    """HTML tags are dropped, entities decoded and whitespace collapsed in titles and summaries."""
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
        b"<title>&lt;b&gt;Bold&lt;/b&gt; &amp;amp; news</title>"
        b"<description><![CDATA[<p>First&nbsp;para.</p>\n\n<script>alert(1)</script>"
        b"<p>Second <a href='x' onclick='evil()'>link</a></p>]]></description>"
        b"<guid>g1</guid></item></channel></rss>"
    )
    (entry,) = parse_feed(body, url=FEED_URL).entries
    assert entry.title == "Bold & news"
    assert entry.summary == "First para. Second link"


def test_megabyte_author_is_cut_before_feedparser() -> None:
    """A 1 MB <author> (which would send feedparser's e-mail regex quadratic) comes back cut."""
    long_author = "a" * 1_000_000  # letters only: the worst case for the e-mail regex
    body = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>T</title><item><title>One</title><author>{long_author}</author>"
        f"<guid>g1</guid></item><item><title>Two</title><dc:creator><![CDATA[{long_author}]]>"
        "</dc:creator><guid>g2</guid></item></channel></rss>"
    ).encode()
    cut = cut_long_authors(body)
    assert len(cut) < 5_000
    one, two = parse_feed(body, url=FEED_URL).entries
    assert one.author == "a" * MAX_AUTHOR and two.author == "a" * MAX_AUTHOR
    assert (one.title, two.title) == ("One", "Two")


def test_atom_author_name_is_cut_and_short_authors_untouched() -> None:
    """Atom <name> is cut like RSS <author>; documents without long authors are not copied."""
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        f"<entry><title>A</title><id>urn:a</id><author><name>{'é' * 100_000}</name>"
        "</author></entry></feed>"
    ).encode()
    (entry,) = parse_feed(atom, url=FEED_URL).entries
    assert entry.author is not None and set(entry.author) == {"é"}
    assert len(entry.author) <= MAX_AUTHOR
    normal = (DATA / "seed" / "feed.xml").read_bytes()
    assert cut_long_authors(normal) is normal


def test_entries_capped_newest_first() -> None:
    """Past max_entries, the newest entries by date are kept, in document order."""
    items = "".join(
        f"<item><title>E{n}</title><guid>e{n}</guid>"
        f"<pubDate>{format_datetime(datetime(2025, 1, 1 + n, tzinfo=UTC))}</pubDate></item>"
        for n in (3, 9, 1, 7, 5)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()
    feed = parse_feed(body, url=FEED_URL, max_entries=3)
    assert [e.title for e in feed.entries] == ["E9", "E7", "E5"]
    assert len(parse_feed(body, url=FEED_URL).entries) == 5


def test_json_feed_entries_capped_newest_first() -> None:
    """JSON Feed items are capped the same way; undated items rank last."""
    items = [
        {"id": str(n), "title": f"J{n}", "date_published": f"2025-01-0{n}T00:00:00Z"}
        for n in (2, 5, 1)
    ]
    items.append({"id": "x", "title": "undated"})
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": items}
    feed = parse_feed(json.dumps(doc).encode(), url=FEED_URL, max_entries=2)
    assert [e.title for e in feed.entries] == ["J2", "J5"]


def test_parsed_feed_pickles() -> None:
    """ParsedFeed and its entries cross process boundaries unchanged (the parse pool)."""
    feed = parse_feed((DATA / "seed" / "feed.xml").read_bytes(), url=FEED_URL)
    assert pickle.loads(pickle.dumps(feed)) == feed
