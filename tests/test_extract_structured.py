"""The article body a page declares in its JSON-LD, taken when the page shows too little."""

from __future__ import annotations

import json

from lxml import html
from trafilatura.utils import load_html

from monitor.extract import extract_sync, overlap
from monitor.extract.structured import article_body, instead_of
from tests.conftest import DATA

URL = "https://appleinsider.com/articles/19/11/18/16-inch-macbook-pro-review"
BODY = (
    "The city council voted on Tuesday to close the old harbour bridge to cars from next "
    "spring, after engineers found cracks in two of its piers.\n"
    "The mayor said the decision had not been easy, but that the safety of the people who "
    "cross the bridge every day had to come first.\n"
    "Work on a replacement is expected to start in 2027 and to take at least three years, "
    "according to the council's own estimate."
)


def _review() -> tuple[bytes, str]:
    """A real review (appleinsider.com, development split; tests/data/articles/032.html)
    whose JSON-LD holds the whole body as escaped HTML, and its annotated true text."""
    rows = (DATA / "articles" / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    truth = next(row for row in map(json.loads, rows) if row["id"] == "032")["text"]
    return (DATA / "articles" / "032.html").read_bytes(), truth


def _shell(page: bytes, noscript: str = "Please enable JavaScript to read this article.") -> str:
    """`page` as a script-rendered site serves it: its head (JSON-LD included), an empty
    body for the scripts to fill, and a <noscript> note."""
    tree = html.fromstring(page.decode("utf-8"))  # bytes would be read as Latin-1
    head = html.tostring(tree.find("head"), encoding="unicode")
    return f'<html>{head}<body><div id="app"></div><noscript>{noscript}</noscript></body></html>'


def _page(*bodies: str, free: bool = True) -> str:
    blocks = "".join(
        "<script type='application/ld+json'>"
        + json.dumps({"@type": "NewsArticle", "articleBody": body, "isAccessibleForFree": free})
        + "</script>"
        for body in bodies
    )
    return f"<html><head><title>Bridge</title>{blocks}</head><body><div id='app'></div></body>"


def test_a_script_rendered_page_gives_the_body_its_json_ld_declares() -> None:
    """A real review served as an empty shell for its scripts gives its whole text from its
    JSON-LD (escaped HTML read paragraph by paragraph, photo captions left out) instead of
    "javascript required"."""
    page, truth = _review()

    result = extract_sync(_shell(page), URL)

    assert "error" not in result
    precision, recall, _ = overlap(truth, result["text"] or "")
    assert precision > 0.98 and recall > 0.98
    assert "Typing on the new MacBook Pro Magic Keyboard" not in (result["text"] or "")
    assert result["title"] and result["title"].startswith("16-inch MacBook Pro review")


def test_a_page_whose_markup_holds_the_article_keeps_its_extraction() -> None:
    """The declared body is not used when the page's own text is plausible: the review as
    served gives the same text with or without its JSON-LD."""
    page, _ = _review()
    tree = html.fromstring(page.decode("utf-8"))  # bytes would be read as Latin-1
    for script in tree.xpath("//script[@type='application/ld+json']"):
        script.getparent().remove(script)

    without = html.tostring(tree, encoding="unicode")
    assert extract_sync(page, URL)["text"] == extract_sync(without, URL)["text"]


def test_plain_text_body_is_split_into_its_paragraphs() -> None:
    """A body of plain text gives one paragraph per line."""
    assert article_body(load_html(_page(BODY))).split("\n\n") == BODY.split("\n")


def test_entities_escaped_once_too_often_are_decoded() -> None:
    """A body whose quotes come escaped two or three times ("&amp;amp;quot;", as a real
    development page's does) reads with plain quotes; raw line breaks inside the JSON
    string are accepted."""
    body = "&lt;p&gt;&amp;amp;quot;We remain sceptical,&amp;quot; he said.&lt;/p&gt;"
    page = _page("").replace('"articleBody": ""', f'"articleBody": "{body}\nSecond line."')

    assert article_body(load_html(page)) == '"We remain sceptical," he said.\n\nSecond line.'


def test_a_page_declaring_several_bodies_declares_none() -> None:
    """Several declared bodies are a list of articles: none is taken."""
    other = BODY.replace("bridge", "tunnel")

    assert article_body(load_html(_page(BODY, other))) == ""
    assert article_body(load_html(_page(BODY, BODY))) != ""  # the same body twice is one


def test_a_paywalled_page_stays_a_paywall() -> None:
    """A page marked not free is not read from its declared body (that is for search
    engines): it is reported as before."""
    page = _page(BODY, free=False).replace(
        "<div id='app'></div>", "<p>Subscribe to continue reading. Already a subscriber?</p>"
    )

    assert extract_sync(page, URL)["error"] == "paywall"


def test_the_declared_body_must_be_longer_and_hold_the_text() -> None:
    """A declared body is taken only when it is at least min_chars long, not much shorter
    than the extraction, and holds half of the extraction's 4-grams (a teaser or another
    text of the page is not)."""
    text = BODY.split("\n")[0]
    body = "\n\n".join(BODY.split("\n"))
    other = "A completely different story about a football match that ended in a draw. " * 5

    assert instead_of(text, body, min_chars=100)
    assert instead_of("", body, min_chars=100)
    assert not instead_of(body, text, min_chars=100)  # shorter: a teaser
    assert not instead_of(text, body, min_chars=1000)
    assert not instead_of(text, other, min_chars=100)


def test_malformed_or_hostile_json_ld_is_ignored() -> None:
    """Broken JSON and absurdly nested JSON give no body and no error."""
    nested = "[" * 5000 + '{"articleBody": "x"}' + "]" * 5000
    page = (
        "<html><head><script type='application/ld+json'>{not json</script>"
        f"<script type='application/ld+json'>{nested}</script></head><body></body></html>"
    )

    assert article_body(load_html(page)) == ""
