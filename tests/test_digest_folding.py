"""Digests worth reading: one item per story, copies folded, text capped, size bounded."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import feedparser

from monitor.delivery.atom_files import write_atom_feeds
from monitor.delivery.compose import build_digest, fold_stories, render, to_document
from monitor.models import Match
from monitor.store import Store
from tests.factories import NOW, match, topic

LEAD = "The Kremlin said Trump invited Putin to a summit at the White House."
UPDATE = "On Tuesday the White House denied that any summit plan existed."


def story_item(url: str, source: str, kind: str, **changes: object) -> Match:
    return replace(match(url=url), source=source, story_id="st-1", story_kind=kind, **changes)  # type: ignore[arg-type]


def test_a_story_s_items_fold_into_one_naming_each_other_outlet_once() -> None:
    """A new story and its update, waiting together, are one item; outlets named once."""
    lead = story_item(
        "https://a.org/1", "Outlet A", "new_story", also=(("Wire B", "https://b.org/1"),)
    )
    update = story_item(
        "https://c.org/2",
        "Outlet C",
        "development",
        new_sentences=(UPDATE,),
        also=(("Wire B", "https://b.org/2"), ("Outlet A", "https://a.org/3")),
    )
    other = replace(match(url="https://d.org/9"), story_id="st-2", story_kind="new_story")

    folded = fold_stories([lead, update, other])

    assert [item.url for item in folded] == ["https://a.org/1", "https://d.org/9"]
    assert folded[0].new_sentences == (UPDATE,)
    assert [source for source, _ in folded[0].also] == ["Outlet C", "Wire B"]
    assert folded[0].folded == (("Outlet C", "https://c.org/2"),)
    digest = build_digest("inbox", [(topic(), [lead, update, other])], NOW)
    assert digest.stories == 2
    (section,) = to_document(digest)["sections"]
    assert [a["url"] for a in section["items"][0]["story"]["articles"]] == [
        "https://a.org/1",
        "https://c.org/2",
    ]


def test_updates_alone_fold_into_the_latest_marked_as_an_update() -> None:
    first = story_item("https://a.org/2", "Outlet A", "development", new_sentences=("One.",))
    second = story_item("https://c.org/3", "Outlet C", "development", new_sentences=(UPDATE,))

    (item,) = fold_stories([first, second])

    assert item.url == "https://c.org/3" and item.story_kind == "development"
    assert item.new_sentences == ("One.", UPDATE)


def test_an_all_new_update_shows_its_text_once() -> None:
    """When all of an update is new, its text is not repeated under "What is new"."""
    item = story_item(
        "https://c.org/2",
        "Outlet C",
        "development",
        text=f"{UPDATE}\n\n{LEAD}",
        new_sentences=(UPDATE, LEAD),
    )
    partly = replace(item, url="https://c.org/5", story_id="st-5", new_sentences=(UPDATE,))

    rendered = render(build_digest("inbox", [(topic(), [item, partly])], NOW))

    assert rendered.text.count(LEAD) == 2  # once for each item: no "What is new" repeat
    assert rendered.text.count("What is new:") == 1  # only the partly new update has one
    assert rendered.text.count("Update: ") == 2


def test_item_text_is_capped_with_a_read_more_link() -> None:
    words = [f"word{i}" for i in range(300)]
    item = replace(match(), text=" ".join(words[:150]) + "\n\n" + " ".join(words[150:]))

    rendered = render(build_digest("inbox", [(topic(), [item])], NOW), item_words=120)

    assert "word119" in rendered.text and "word120" not in rendered.text
    assert "Read more: https://e.org/a" in rendered.text
    assert ">Read more</a>" in rendered.html
    uncapped = render(build_digest("inbox", [(topic(), [item])], NOW), item_words=0)
    assert "word299" in uncapped.text and "Read more" not in uncapped.text


def test_a_first_cycle_of_462_long_stories_is_one_mail_under_a_megabyte() -> None:
    """20 stories in full, capped; the other 442 as linked headlines."""
    text = "\n\n".join(" ".join(["Paragraph text of a long article."] * 60) for _ in range(12))
    items = [
        replace(match(url=f"https://e.org/{i}"), text=text, story_id=f"st-{i}") for i in range(462)
    ]

    rendered = render(build_digest("inbox", [(topic(), items)], NOW, max_items=20))

    assert len(rendered.text.encode()) + len(rendered.html.encode()) < 1_000_000
    assert "And 442 more:" in rendered.text
    assert "https://e.org/461" in rendered.html


def test_the_atom_feed_has_one_entry_per_story(tmp_path: Path) -> None:
    """Copies and updates of a story are one Atom entry, named after the story."""
    store = Store(f"sqlite:///{tmp_path}/m.db")
    store.migrate()
    found = [
        story_item("https://a.org/1", "Outlet A", "new_story"),
        story_item("https://b.org/1", "Wire B", "duplicate"),
        story_item("https://c.org/2", "Outlet C", "development", new_sentences=(UPDATE,)),
        replace(match(url="https://d.org/9"), story_id="st-2", story_kind="new_story"),
    ]
    for i, item in enumerate(found):
        store.record_entries([], [item], NOW + timedelta(minutes=i), {})

    (path,) = write_atom_feeds(store, [topic()], ["summit"], tmp_path, NOW)
    store.close()

    entries = feedparser.parse(path.read_bytes()).entries
    assert [e.id for e in entries] == [
        "urn:news-monitor:story:summit-st-2",
        "urn:news-monitor:story:summit-st-1",
    ]
    assert entries[1].link == "https://a.org/1"


def test_a_story_carried_by_hundreds_of_outlets_lists_ten_and_counts_the_rest() -> None:
    """Every outlet once would make megabytes per digest: ten are named, the rest counted."""
    reports = tuple((f"Outlet {n:03}", f"https://o{n}.org/1") for n in range(300))
    lead = story_item("https://a.org/1", "Outlet A", "new_story", also=reports)
    copies = [story_item(f"https://c{n}.org/1", f"Copy {n}", "also_reported") for n in range(40)]

    digest = build_digest("inbox", [(topic(), [lead, *copies])], NOW)
    rendered = render(digest)

    (section,) = to_document(digest)["sections"]
    story = section["items"][0]["story"]
    assert len(story["also_reported_by"]) == 10 and story["also_reported_more"] == 330
    assert len(story["articles"]) == 21 and story["articles_more"] == 20
    assert "and 330 more" in rendered.text and "and 330 more" in rendered.html
    assert "Outlet 299" not in rendered.html
