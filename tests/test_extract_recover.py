"""Recovering article text trafilatura dropped, and dropping promotions it kept."""

from __future__ import annotations

import asyncio
import json

import pytest
from lxml import etree, html
from trafilatura.utils import load_html

from monitor.extract import Extractor, Job, Result, extract_sync, overlap
from monitor.extract.blocks import headlines, image_labels, key, lines
from monitor.extract.promotions import RULES, captions, rule_for, strip
from monitor.extract.recover import implausible, missed
from tests.conftest import DATA

URL = "https://news.example.com/bridge"
BEFORE = [
    "The city council voted on Tuesday to close the old harbour bridge to cars from next "
    "spring, after engineers found cracks in two of its piers.",
    "The mayor said the decision had not been easy, but that the safety of the people who "
    "cross the bridge every day had to come first.",
    "Work on a replacement is expected to start in 2027 and to take at least three years, "
    "according to the council's own estimate.",
]
AFTER = [
    "Shop owners on the north bank said they feared losing customers while the bridge is "
    "closed, and asked for a free shuttle bus.",
    "The council will discuss the shuttle at its next meeting, on the first Monday of March, "
    "and residents may send written comments until then.",
]
PAGE = f"""<html><head><title>Council closes harbour bridge to cars</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Council closes harbour bridge to cars</h1><div class="body">
{"".join(f"<p>{p}</p>" for p in BEFORE)}
<div class="newsletter-box"><h3>Don't miss a story</h3>
<p>Sign up for our morning newsletter and get the news in your inbox.</p>
<form><input name="email"><button>Subscribe</button></form></div>
<div class="ad-slot"><span>Advertisement</span><iframe src="https://ads.example/1"></iframe></div>
<div>{AFTER[0]}<br><br>{AFTER[1]}</div>
</div></article>
<aside class="related"><h3>Related</h3><ul><li><a href="/a">Bridge repairs to cost millions</a></li>
<li><a href="/b">Ferry service returns after ten years</a></li></ul></aside>
<footer>&copy; 2026 Example Gazette</footer></body></html>"""


def test_text_after_a_newsletter_box_and_an_ad_is_kept_in_its_place() -> None:
    """The paragraphs after an in-article newsletter box and ad slot come back, in order,
    and the box, the ad label and the related rail stay out."""
    text = extract_sync(PAGE, URL)["text"] or ""

    assert text.split("\n\n") == BEFORE + AFTER


def test_article_in_many_small_divs_is_retried_with_the_fallbacks() -> None:
    """A first pass that finds only the lead paragraph (over min_chars, but a fraction of the
    page's prose) is retried with trafilatura's fallbacks, which find the rest."""
    rest = [
        "Farmers reported flooded fields along the river valley.",
        "The weather service expects more rain on Wednesday afternoon.",
        "Volunteers filled sandbags in the old town all night long.",
        "The mayor thanked the fire brigade for its work during the storm.",
        "Roads to the north were closed by fallen trees on Monday.",
        "Power should be back by Tuesday evening, the utility said.",
        "Insurers have opened a hotline for claims from residents.",
        "The army sent two hundred soldiers to help with the clean-up.",
    ]
    items = "".join(
        f"<div class='item'><a href='/tag/{i}'>Update</a> {line}</div>"
        for i, line in enumerate(rest)
    )
    page = f"""<html><head><title>Storm</title></head><body><div class="menu"><a href="/">Home</a>
    </div><div class="story"><p>{" ".join(BEFORE)}</p><div>{items}</div></div></body></html>"""

    text = extract_sync(page, URL)["text"] or ""

    assert [p.removeprefix("Update ") for p in text.split("\n\n")[1:]] == rest


def test_missed_puts_a_skipped_line_back_between_its_neighbours() -> None:
    """A prose line of the article's container that the text lacks goes back where it was
    (the newsletter box's own sentence too, until the promotion rules drop it)."""
    page = lines(load_html(PAGE))
    partial = "\n\n".join([BEFORE[0], BEFORE[2], *AFTER])

    assert strip(missed(partial, page), page).split("\n\n") == BEFORE + AFTER


def _row(page: str) -> dict[str, str]:
    rows = (DATA / "articles" / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    return next(row for row in map(json.loads, rows) if row["id"] == page)


def _corpus_page(page: str) -> tuple[bytes, str]:
    """A development-split corpus page copied into tests/data/articles, and its URL."""
    return (DATA / "articles" / f"{page}.html").read_bytes(), _row(page)["url"]


def _truth(page: str) -> str:
    """The annotated true body of a page of tests/data/articles."""
    return _row(page)["text"]


def test_missed_puts_back_an_embedded_post_that_does_not_read_as_prose() -> None:
    """An embedded post (a tweet in a `<blockquote>` of the article's body, on a real page)
    comes back whole when the text lacks it: its sentence ends in a link, its attribution in
    a date, neither reads as prose, but a quotation in the article is the article's."""
    body, url = _corpus_page("055")  # 9to5mac.com: a deals round-up quoting a tweet
    text = extract_sync(body, url)["text"] or ""
    paragraphs = text.split("\n\n")
    post = [i for i, p in enumerate(paragraphs) if "BundleHunt" in p or "(@9to5mac)" in p]
    without = [p for i, p in enumerate(paragraphs) if i not in post]

    assert len(post) == 2
    assert missed("\n\n".join(without), lines(load_html(body))) == text


def test_captions_that_repeat_an_image_alt_text_are_dropped() -> None:
    """On a real review whose photos are captioned in plain `<span>`s under each `<img>`, the
    captions (each the image's alt text again) are not in the text; the article still is."""
    body, url = _corpus_page("032")  # appleinsider.com: photos with captions in spans
    page = load_html(body)
    labels = image_labels(page)
    shown = {line.text for line in lines(page) if line.word_count >= 3 and line.key in labels}
    text = extract_sync(body, url)["text"] or ""

    assert len(shown) >= 8 and "Typing on the new MacBook Pro Magic Keyboard" in shown
    assert not shown & set(text.split("\n\n"))
    assert overlap(_truth("032"), text)[1] > 0.98


def test_the_headline_repeated_in_the_text_is_dropped() -> None:
    """A real review whose text came out headed by its own headline (the `<h1>`) gives the
    text without it: digests show the title apart."""
    body, url = _corpus_page("032")
    headline = (
        "16-inch MacBook Pro review: The keyboard is probably enough to convince those waiting"
    )
    page = load_html(body)
    text = extract_sync(body, url)["text"] or ""

    assert key(headline) in headlines(page)
    assert headline not in text.split("\n\n")
    assert strip(f"{headline}\n\n{text}", lines(page), headlines(page)) == text


def test_only_the_first_h1_is_the_headline() -> None:
    """A page that heads each section with an `<h1>` keeps those headings in its text."""
    page = load_html(
        "<html><head><meta property='og:title' content='Bridge to close'></head><body>"
        "<h1>Bridge to close</h1><section><h1>What the engineers found</h1></section>"
        "</body></html>"
    )

    assert headlines(page) == {key("Bridge to close")}


def test_a_short_or_long_paragraph_is_not_taken_for_a_caption() -> None:
    """A paragraph of under CAPTION_MIN_WORDS words, or over MAX_WORDS, stays even when an
    image has it as alt text: a word is not a caption, and a lead reused as alt text is
    still the lead."""
    lead = " ".join(BEFORE)
    labels = frozenset({key("Updated"), key("The bridge at dawn"), key(lead)})

    assert captions(["Updated", "The bridge at dawn", lead], labels) == ["Updated", lead]


def test_missed_leaves_captions_and_other_articles_out() -> None:
    """Prose outside the article's container, or in a caption inside it, is not put back."""
    page = f"""<html><body><article><div class="body">{"".join(f"<p>{p}</p>" for p in BEFORE)}
    <figure><figcaption>Engineers inspect one of the cracked piers of the bridge on a cold
    morning last week.</figcaption></figure></div></article>
    <section><p>A different story about the new ferry timetable that starts running in
    the summer holidays.</p></section></body></html>"""
    text = "\n\n".join(BEFORE)

    assert missed(text, lines(load_html(page))) == text


def test_missed_needs_one_element_that_holds_the_article() -> None:
    """When the text's lines are spread over the whole page, nothing is put back: any prose
    of the page (a comment, another story's teaser) would qualify."""
    page = f"""<html><body><section><p>{BEFORE[0]}</p></section>
    <section><p>{BEFORE[1]}</p></section><section><p>{BEFORE[2]}</p></section>
    <section><p>A reader wrote in the comments that the bridge should have been closed years
    ago.</p></section></body></html>"""
    text = "\n\n".join(BEFORE)

    assert missed(text, lines(load_html(page))) == text


@pytest.mark.parametrize(
    ("text", "summary", "expected"),
    [
        ("x" * 150, None, True),  # under min_chars
        ("x" * 400, "y" * 600, True),  # shorter than the feed's summary
        ("x" * 400, "y" * 300, False),
    ],
)
def test_implausible_first_passes(text: str, summary: str | None, expected: bool) -> None:
    """A first pass shorter than min_chars or than the feed's summary is retried."""
    assert implausible(text, [], summary=summary, min_chars=200) is expected


def test_implausible_when_the_page_shows_far_more_prose() -> None:
    """A text holding under half of the prose the page shows is retried."""
    page = lines(load_html(PAGE))

    assert implausible(BEFORE[0], page, summary=None, min_chars=50)
    assert not implausible("\n\n".join(BEFORE + AFTER), page, summary=None, min_chars=50)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Advertisement", "label"),
        ("Don't miss: the best photos of the week", "see more"),
        ("Most read in World News", "see more"),
        ("Sign up for our daily newsletter to get the headlines first.", "newsletter"),
        ("Let our news meet your inbox.", "newsletter"),
        ("Like this story? Share it with a friend!", "share your story"),
        ("Share your story with us: email tips@example.com", "share your story"),
        ("Listen to our weekly politics podcast wherever you get podcasts.", "podcast or app"),
        ("Download the Example News app for breaking news alerts.", "podcast or app"),
        ("Get 12 issues for £11.99, click here for more information", "offer"),
        ("[button link=”/review/” type=”big”]Send us your review[/button]", "shortcode"),
    ],
)
def test_promotions_are_named_by_their_rule(line: str, rule: str) -> None:
    """Each promotion class is recognised, by the rule the benchmark measures it as."""
    assert rule in RULES
    assert rule_for(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "Voters who subscribe to the county's e-mail alerts were told of the change on Monday.",
        "The band said fans would see more shows in Europe next year.",
        "She said the company would share its story with investors before the vote.",
        "The app was downloaded two million times in its first week, the company said.",
    ],
)
def test_story_sentences_are_not_promotions(line: str) -> None:
    """Sentences of a story that share words with promotions are kept."""
    assert rule_for(line) is None


def test_rails_of_linked_headlines_are_dropped() -> None:
    """A paragraph that is, on the page, a line of link text (a related story) is dropped."""
    page = lines(load_html(PAGE))
    text = "\n\n".join([*BEFORE, "Bridge repairs to cost millions"])

    assert strip(text, page).split("\n\n") == BEFORE


def test_tree_deeper_than_the_recursion_limit_is_still_read() -> None:
    """The line walk is iterative: a tree nested deeper than Python's recursion limit is read
    (libxml2 stops at 255 levels when parsing; other builders do not)."""
    root = html.Element("html")
    node = etree.SubElement(root, "body")
    for _ in range(5000):
        node = etree.SubElement(node, "div")
    node.text = "deep text"

    assert [line.text for line in lines(root)] == ["deep text"]


def echo_summary(job: Job) -> Result:
    """A worker that answers with the summary it was given (top level: it is pickled)."""
    return {"text": f"summary: {job.summary}"}


@pytest.mark.slow
def test_feed_summary_reaches_the_worker() -> None:
    """The entry's summary crosses to the worker with the page, for the plausibility test."""
    with Extractor(workers=1, timeout=10, worker=echo_summary) as extractor:
        article = asyncio.run(
            extractor.extract(PAGE.encode(), url=URL, summary="Council closes the bridge.")
        )

    assert article.text == "summary: Council closes the bridge."
