"""monitor.extract in process: charsets, non-HTML bodies, walls, metadata (no pool)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from monitor.extract import extract_sync, truncate
from monitor.extract.charset import decode, sniff
from monitor.extract.detect import CONSENT_WALL, JAVASCRIPT_REQUIRED, PAYWALL, classify

DATA = Path(__file__).parent / "data"
PAGES = DATA / "pages"
RU_URL = "https://gorod.example.ru/novosti/123"
LANGUAGES = ("en", "de", "fr", "es")
SEED_URL = "https://news.example.com/news/kremlin-says-trump-invited-putin-to-white-house/"

STORY = "<p>" + "The council approved the new transport plan on Monday evening. " * 12 + "</p>"


def _page(body: str, head: str = "<title>News</title>") -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>".encode()


CONSENT_EN = _page(
    """<div class="consent"><h2>Before you continue</h2>
    <p>We and our partners use cookies to deliver our services and to show you relevant ads.
    Select Accept all to consent to this use, or Manage settings to make your choices.</p>
    <button>Accept all</button><button>Reject all</button></div>"""
)
CONSENT_DE = _page(
    """<div id="cmp"><p>Wir verwenden Cookies und ähnliche Technologien. Mit Klick auf
    „Alle akzeptieren“ erteilen Sie Ihre Einwilligung. Datenschutzeinstellungen</p>
    <button>Alle akzeptieren</button></div>"""
)
CONSENT_FR = _page(
    """<div><p>Nous utilisons des cookies pour améliorer votre expérience. Nos partenaires
    et nous traitons vos données avec votre consentement.</p><button>Tout accepter</button>
    <button>Tout refuser</button></div>"""
)
CONSENT_ES = _page(
    """<div><p>Utilizamos cookies propias y de terceros. Puede aceptar todas o configurar su
    consentimiento.</p><button>Aceptar todas</button><a>Política de cookies</a></div>"""
)
PAYWALL_EN = _page(
    """<article><h1>Council votes on budget</h1>
    <p>The city council met on Tuesday to debate a budget that has divided the city.</p>
    <div class="paywall"><p>Subscribe to continue reading. Already a subscriber? Log in.</p>
    </div></article>""",
    head='<title>Budget</title><script type="application/ld+json">'
    '{"@type": "NewsArticle", "isAccessibleForFree": false}</script>',
)
PAYWALL_DE = _page(
    """<article><p>Der Stadtrat hat am Dienstag über den Haushalt beraten.</p>
    <p>Dieser Artikel ist nur für Abonnenten. Jetzt abonnieren und weiterlesen.</p></article>"""
)
PAYWALL_FR = _page(
    """<article><p>Le conseil municipal a débattu du budget mardi soir.</p>
    <p>La suite est réservée aux abonnés. Déjà abonné ? Connectez-vous.</p></article>"""
)
PAYWALL_ES = _page(
    """<article><p>El ayuntamiento debatió el presupuesto el martes.</p>
    <p>Contenido exclusivo para suscriptores. ¿Ya eres suscriptor? Inicia sesión.</p></article>"""
)
JS_EN = _page(
    '<div id="root"></div><noscript>You need to enable JavaScript to run this app.</noscript>'
    '<script src="/static/js/main.js"></script>'
)
JS_DE = _page("<noscript>Bitte aktivieren Sie JavaScript in Ihrem Browser.</noscript>")
JS_FR = _page("<noscript>Veuillez activer JavaScript pour afficher ce site.</noscript>")
JS_ES = _page("<noscript>Por favor, habilita JavaScript para ver esta página.</noscript>")


def test_windows_1251_with_meta_charset_and_no_header() -> None:
    """A windows-1251 page declared only by <meta charset> decodes to the right Cyrillic text."""
    expected = json.loads((PAGES / "cp1251-expected.json").read_text(encoding="utf-8"))
    result = extract_sync((PAGES / "cp1251-meta.html").read_bytes(), RU_URL)
    assert result.get("error") is None
    assert result["title"] == expected["title"]
    assert (result["text"] or "").split("\n\n") == expected["paragraphs"]


def test_windows_1251_without_any_declaration_is_detected() -> None:
    """A windows-1251 page with neither header nor meta is decoded by detection."""
    body = (PAGES / "cp1251-no-declaration.html").read_bytes()
    text, charset = decode(body)
    assert charset == "cp1251"
    expected = json.loads((PAGES / "cp1251-expected.json").read_text(encoding="utf-8"))
    result = extract_sync(body, RU_URL)
    assert (result["text"] or "").split("\n\n") == expected["paragraphs"]
    assert expected["paragraphs"][0] in text


def test_header_charset_wins_over_meta() -> None:
    """The HTTP header's charset is used before a (wrong) <meta charset>."""
    body = (
        (PAGES / "cp1251-no-declaration.html")
        .read_bytes()
        .replace(b"<head>", b'<head><meta charset="iso-8859-2">')
    )
    _, charset = decode(body, "text/html; charset=windows-1251")
    assert charset == "cp1251"


def test_byte_order_mark_wins() -> None:
    """A UTF-16 byte order mark decides the charset, whatever the header says."""
    body = codecs.BOM_UTF16_LE + "<html><body><p>Grüße</p></body></html>".encode("utf-16-le")
    text, charset = decode(body, "text/html; charset=iso-8859-1")
    assert charset == "utf-16-le" and "Grüße" in text
    assert sniff(body).kind == "html"


def test_wrong_utf8_declaration_falls_through_to_detection() -> None:
    """A page that says UTF-8 but is windows-1252 is decoded as windows-1252, not mangled."""
    body = (
        '<meta charset="utf-8"><p>Le café crème de la façade était servi à la fenêtre, près '
        "du théâtre où l'élève naïve attendait son père. Après la pièce, tout le monde est "
        "allé à la brasserie.</p>"
    ).encode("cp1252")
    text, charset = decode(body)
    assert "Le café crème de la façade" in text and charset == "cp1252"


@pytest.mark.parametrize(
    ("body", "content_type", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf", "PDF"),
        (b"%PDF-1.4\n...", "text/html", "PDF"),  # mislabelled: the bytes decide
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, "PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", "JPEG image"),
        (b'{"title": "x", "items": [1, 2, 3]}', "application/json", "JSON"),
        (b'[{"id": 1}]', None, "JSON"),
        (b"\x00\x01\x02\x03binary", "application/octet-stream", "binary"),
        (b"Forbidden.", "text/plain", "plain text"),
    ],
)
def test_non_html_bodies_are_refused_with_what_they_are(
    body: bytes, content_type: str | None, what: str
) -> None:
    """PDFs, images, JSON, binary data and short plain text give "not html" naming the type."""
    result = extract_sync(body, "https://example.com/file", content_type)
    assert result["error"] == "not html"
    assert what in (result["detail"] or "")


def test_long_plain_text_is_accepted_as_text() -> None:
    """A text/plain body long enough to be an article is returned as its paragraphs."""
    body = ("First paragraph of a plain article. " * 8 + "\n\n" + "Second one. " * 10).encode()
    result = extract_sync(body, "https://example.com/a.txt", "text/plain; charset=utf-8")
    assert result.get("error") is None
    assert len((result["text"] or "").split("\n\n")) == 2


def test_html_sent_as_text_plain_is_still_html() -> None:
    """A page whose bytes are HTML is treated as HTML even when labelled text/plain."""
    html = (DATA / "seed" / "kremlin-says-trump-invited-putin.html").read_bytes()
    assert sniff(html, "text/plain").kind == "html"


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (CONSENT_EN, CONSENT_WALL),
        (CONSENT_DE, CONSENT_WALL),
        (CONSENT_FR, CONSENT_WALL),
        (CONSENT_ES, CONSENT_WALL),
        (PAYWALL_EN, PAYWALL),
        (PAYWALL_DE, PAYWALL),
        (PAYWALL_FR, PAYWALL),
        (PAYWALL_ES, PAYWALL),
        (JS_EN, JAVASCRIPT_REQUIRED),
        (JS_DE, JAVASCRIPT_REQUIRED),
        (JS_FR, JAVASCRIPT_REQUIRED),
        (JS_ES, JAVASCRIPT_REQUIRED),
    ],
    ids=[f"{kind}-{lang}" for kind in ("consent", "paywall", "js") for lang in LANGUAGES],
)
def test_walls_are_recognised_in_four_languages(page: bytes, reason: str) -> None:
    """Consent walls, paywall stubs and enable-JavaScript pages give their reason, no article."""
    result = extract_sync(page, "https://example.com/story")
    assert result["error"] == reason


def test_paywall_teaser_over_min_chars_is_still_a_paywall() -> None:
    """A teaser longer than min_chars, marked not free and ending in a pitch, is a paywall."""
    teaser = "<p>" + "The council met to debate a budget that divided the city. " * 5 + "</p>"
    page = PAYWALL_EN.replace(b"<div class=", teaser.encode() + b"<div class=")
    result = extract_sync(page, "https://example.com/story")
    assert result["error"] == PAYWALL


def test_article_with_cookie_banner_is_not_a_wall() -> None:
    """A full article is kept although the page also carries a cookie banner."""
    html = (DATA / "seed" / "kremlin-says-trump-invited-putin.html").read_bytes()
    result = extract_sync(html, SEED_URL)
    assert result.get("error") is None


def test_story_mentioning_subscriptions_is_not_a_paywall() -> None:
    """One subscription pitch inside an article's text does not make it a wall."""
    long_story = STORY + "<p>Readers can subscribe to read more of our coverage.</p>"
    assert classify("x" * 2_000, long_story, min_chars=200) is None
    result = extract_sync(_page(f"<article>{long_story}</article>"), "https://example.com/s")
    assert result.get("error") is None


def test_metadata_canonical_image_and_language() -> None:
    """Relative canonical and protocol-relative og:image are made absolute; <html lang> gives ru."""
    result = extract_sync((PAGES / "cp1251-meta.html").read_bytes(), RU_URL)
    assert result["canonical_url"] == "https://gorod.example.ru/novosti/transport-plan"
    assert result["image"] == "https://static.example.ru/img/tram.jpg"
    assert result["language"] == "ru"
    assert result["site_name"] == "gorod.example.ru"


def test_metadata_from_a_corpus_page() -> None:
    """A real page gives its title, date, language, canonical URL and og:image."""
    truth = json.loads((DATA / "articles" / "truth.jsonl").read_text().splitlines()[0])
    result = extract_sync((DATA / "articles" / f"{truth['id']}.html").read_bytes(), truth["url"])
    assert result["title"] and result["date"]
    assert result["language"] == "en"
    assert (result["canonical_url"] or "").startswith("https://")
    assert (result["image"] or "").startswith(("https://", "http://"))


def test_image_must_be_http() -> None:
    """A data: or javascript: og:image is dropped rather than passed to the digest."""
    head = (
        '<meta property="og:image" content="data:image/png;base64,AAAA">'
        '<link rel="canonical" href="javascript:alert(1)">'
    )
    result = extract_sync(_page(f"<article>{STORY}</article>", head), "https://example.com/s")
    assert result["image"] is None and result["canonical_url"] is None


def test_xml_declared_xhtml_page_is_parsed() -> None:
    """An XHTML page starting with an XML declaration naming its encoding still extracts."""
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + _page(f"<article>{STORY}</article>")
    result = extract_sync(body, "https://example.com/x")
    assert result.get("error") is None


def test_truncate_cuts_before_a_tag() -> None:
    """A page over the cap is cut at the last '<' before the cap, never inside a tag."""
    body = b"<p>" + b"a" * 100 + b"</p><div class='x'>" + b"b" * 100
    cut = truncate(body, 110)
    assert cut == b"<p>" + b"a" * 100 + b"</p>"
    assert truncate(body, 10_000) is body


_BUDGET = " ".join(["The council voted on the new budget for the harbour district."] * 8)


def test_a_dated_entry_takes_the_page_date_from_the_markup_only() -> None:
    """Without a text search the date in the page's meta tags is still read; one that is only
    in its prose is read when the feed gave none (the search costs half a page's time)."""
    prose = _page(
        f"<article><p>Published 3 March 2024.</p><p>{_BUDGET}</p><p>{_BUDGET}</p></article>"
    )
    meta = _page(
        f"<article><p>{_BUDGET}</p><p>{_BUDGET}</p></article>",
        '<meta property="article:published_time" content="2024-03-05T10:00:00Z">'
        "<title>News</title>",
    )
    url = "https://example.com/budget"
    assert extract_sync(prose, url)["date"] == "2024-03-03"
    assert extract_sync(prose, url, date_search=False)["date"] is None
    assert extract_sync(meta, url, date_search=False)["date"] == "2024-03-05"
