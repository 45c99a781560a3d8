"""The story stage: wire copies folded, events grouped and kept apart, what is new."""

from __future__ import annotations

import json
import os
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import StoriesSettings
from monitor.stories import Decision, StoryArticle, StoryBook, split_sentences
from monitor.stories.book import BOOK_SAVE_GROWTH
from monitor.stories.novelty import Told, analyse
from monitor.stories.records import MAX_NAMES, Story
from monitor.stories.text import sentence_tokens, terms, tokens, word_ids
from tests.story_texts import (
    BRIDGE,
    FAMILIES,
    MINE,
    OTHER_NEWS,
    RUSSIA_LAWSUIT,
    RUSSIA_QUESTIONS,
    T0,
    WIRE,
    article,
)

DATA = Path(__file__).parent / "data" / "clusters" / "stories-newswcl50.jsonl"
DENIAL = (
    "President Donald Trump will meet North Korean leader Kim Jong Un in Singapore on June "
    "12, officials said. The White House denied on Friday that the summit plan included any "
    "withdrawal of American troops from South Korea. Press secretary Sarah Sanders called "
    "the report false and said no concession had been offered."
)


def replay(book: StoryBook, articles: list[StoryArticle]) -> list[str]:
    return [book.add(a, now=a.published).kind for a in articles]


def stories(book: StoryBook) -> dict[str, dict[str, Any]]:
    """The book's stories as its records give them, by id."""
    return {r["id"]: r for r in book.to_records() if r["type"] == "story"}


def members(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The articles' records among these, in publication order."""
    return [r for r in records if r["type"] == "member"]


def story_of(book: StoryBook, key: str) -> str | None:
    """The story an article is in, by the records."""
    found = [m["story"] for m in members(book.to_records()) if m["id"] == key]
    assert not found or found[0] in stories(book)
    return found[0] if found else None


def outlets(book: StoryBook, story_id: str) -> list[str]:
    wanted = book.resolve(story_id)
    return [m["source"] for m in members(book.to_records()) if m["story"] == wanted]


def test_wire_story_from_three_outlets_is_one_story_with_three_outlets() -> None:
    """The same wire copy carried by three outlets is one story; the two later copies fold."""
    book = StoryBook(StoriesSettings())
    first = book.add(article("ap", WIRE, source="AP"), now=T0)
    second = book.add(article("star", WIRE, source="Star Tribune", hours=1), now=T0)
    third = book.add(
        article("post", WIRE + " Read more at our site.", source="Post", hours=2), now=T0
    )
    assert first.kind == "new_story"
    assert {second.kind, third.kind} <= {"duplicate", "joined"}
    assert second.story_id == third.story_id == first.story_id
    assert second.duplicate_of == "ap"
    assert outlets(book, first.story_id) == ["AP", "Star Tribune", "Post"]


def test_later_article_adding_a_fact_is_a_development_naming_it() -> None:
    """An article that adds the White House denial is a development whose new part names it."""
    book = StoryBook(StoriesSettings())
    first = book.add(article("ap", WIRE), now=T0)
    book.mark_delivered(first.story_id, "korea", split_sentences(WIRE))
    later = article("reuters", DENIAL, source="Reuters", hours=20)
    decision = book.add(later, now=later.published)
    assert decision.kind == "joined"
    assert decision.story_id == first.story_id
    new = book.novelty(first.story_id, "korea", later)
    assert any("White House denied" in s for s in new)
    assert "Singapore" not in " ".join(new)  # the paraphrased opening was already sent


def test_nothing_new_on_a_topic_after_delivery() -> None:
    """Once an article's sentences were delivered on a topic, it has nothing new there."""
    book = StoryBook(StoriesSettings())
    wire = article("ap", WIRE)
    decision = book.add(wire, now=T0)
    new = book.novelty(decision.story_id, "korea", wire)
    assert len(new) == len(split_sentences(WIRE))  # a new story: all its sentences
    book.mark_delivered(decision.story_id, "korea", new)
    assert book.novelty(decision.story_id, "korea", wire) == ()
    assert book.novelty(decision.story_id, "other-topic", wire) != ()


def test_retitled_repost_is_a_duplicate() -> None:
    """A re-post of the same text under a new headline and URL is a duplicate, nothing new."""
    book = StoryBook(StoriesSettings())
    first = book.add(article("a1", WIRE, title="Trump and Kim to meet in Singapore"), now=T0)
    again = article("a1-v2", WIRE, title="UPDATE 2-Summit date set: Singapore, June 12", hours=3)
    decision = book.add(again, now=again.published)
    assert decision.kind == "duplicate"
    assert decision.duplicate_of == "a1"
    assert decision.story_id == first.story_id
    assert book.add(again, now=again.published).kind == "duplicate"  # re-polled: same key


def test_stories_sharing_actors_stay_apart() -> None:
    """Two Trump-Russia stories in the same week share actors but stay two stories."""
    book = StoryBook(StoriesSettings())
    lawsuit = book.add(article("dnc", RUSSIA_LAWSUIT), now=T0)
    questions = article("mueller", RUSSIA_QUESTIONS, source="NYT", hours=30)
    decision = book.add(questions, now=questions.published)
    assert decision.kind == "new_story"
    assert decision.story_id != lawsuit.story_id


def test_stories_expire_after_the_window() -> None:
    """A story with no article within the window is forgotten: the same text starts anew."""
    book = StoryBook(StoriesSettings(window=timedelta(days=3)))
    first = book.add(article("ap", WIRE), now=T0)
    late = article("ap-late", WIRE, hours=24 * 4)
    decision = book.add(late, now=late.published)
    assert decision.kind == "new_story"
    assert decision.story_id != first.story_id
    assert first.story_id not in stories(book)
    assert story_of(book, "ap") is None
    assert len(book) == 1


def test_records_round_trip_gives_the_same_decisions() -> None:
    """A book rebuilt from its JSON records decides the next articles as the original does."""
    settings = StoriesSettings()
    items = _newswcl50()
    head, tail = items[:12], items[12:]
    book = StoryBook(settings)
    replay(book, [a for a, _ in head])
    book.mark_delivered(story_of(book, head[0][0].key) or "", "t", ["Pompeo met Kim in secret."])
    records = json.loads(json.dumps(book.to_records()))
    copy = StoryBook.from_records(settings, records)
    assert copy.to_records() == records
    assert [copy.add(a, now=a.published) for a, _ in tail] == [
        book.add(a, now=a.published) for a, _ in tail
    ]


def _newswcl50() -> list[tuple[StoryArticle, str]]:
    items = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        when = datetime.fromisoformat(row["time"]).replace(hour=12, tzinfo=UTC)
        items.append(
            (
                StoryArticle(
                    row["id"], row["url"], row["source"], row["title"] or "", row["text"], when
                ),
                row["cluster_id"],
            )
        )
    items.sort(key=lambda item: (item[0].published, item[0].key))
    return items


@pytest.mark.parametrize("window", ["3d", "7d"])
def test_newswcl50_events_group(window: str) -> None:
    """Five outlets' articles on each of five real events form five stories, none mixed."""
    book = StoryBook(StoriesSettings.model_validate({"window": window}))
    by_story: dict[str, set[str]] = defaultdict(set)
    by_event: dict[str, set[str]] = defaultdict(set)
    for item, event in _newswcl50():
        story_id = book.add(item, now=item.published).story_id
        by_story[story_id].add(event)
        by_event[event].add(story_id)
    assert all(len(events) == 1 for events in by_story.values())  # no two events merged
    assert sum(len(stories) for stories in by_event.values()) <= 6  # at most one split
    assert sum(len(stories) == 1 for stories in by_event.values()) >= 4


HEADLINES = (
    "Mt. Gox files for US bankruptcy protection",
    "Bitcoin exchange Mt. Gox seeks US court shield during Japan bankruptcy",
    "Hackers claim Mt. Gox boss still holds stolen bitcoins",
    "McDonald's February sales fall as snow keeps diners home",
    "Hackers accuse Mt. Gox of pocketing users' bitcoins",
    "EBay rejects Icahn board nominees",
)


def test_headline_variants_fold_into_their_story() -> None:
    """Headline-only items on one event join its story on shared rare terms; others stay apart."""
    book = StoryBook(StoriesSettings())
    decisions = []
    for i, headline in enumerate(HEADLINES):
        when = T0 + timedelta(minutes=i)
        item = StoryArticle(f"h{i}", f"https://o{i}.example/{i}", f"o{i}", headline, "", when)
        decisions.append(book.add(item, now=when))
    gox = {decisions[i].story_id for i in (0, 1, 2, 4)}
    assert len(gox) == 1
    assert decisions[3].story_id not in gox and decisions[5].story_id not in gox
    assert decisions[3].story_id != decisions[5].story_id
    reason = decisions[4].reason  # joined by a headline rule: owned terms or shared weight
    assert "holds most articles on" in reason or "headline terms in the story" in reason


OWNED = (
    "Bitcoin exchange Mt. Gox files for US bankruptcy protection",
    "Hackers claim Mt. Gox boss still holds stolen bitcoins",
    "Mt. Gox seeks US court shield as bitcoin losses mount",
    "McDonald's February sales fall as snow keeps diners home",
    "Bitcoin holders fear Mt. Gox losses are permanent",
    "Mt. Gox bitcoin customers file class action in Chicago",
    "Bitcoin traders count Mt. Gox losses",
    "Japan says bitcoin is not a currency but can be taxed",
    "EBay rejects Icahn board nominees",
)


def headlines(book: StoryBook, lines: tuple[str, ...]) -> list[Decision]:
    """Add headline-only items a minute apart."""
    out = []
    for i, headline in enumerate(lines):
        when = T0 + timedelta(minutes=i)
        item = StoryArticle(f"h{i}", f"https://o{i}.example/{i}", f"o{i}", headline, "", when)
        out.append(book.add(item, now=when))
    return out


def test_headline_joins_the_story_that_owns_its_term() -> None:
    """A headline sharing only 'bitcoin' joins the story holding every bitcoin article."""
    decisions = headlines(StoryBook(StoriesSettings()), OWNED)
    stories = [d.story_id for d in decisions]
    assert stories[7] == stories[0]
    assert stories[3] != stories[0] and stories[8] != stories[0]
    assert "holds most articles on bitcoin" in decisions[7].reason


def test_a_term_spread_over_stories_is_owned_by_none() -> None:
    """Ownership needs most of the term's articles: 'stocks' in two stories takes nothing."""
    wall = "Wall Street stocks edge lower after record close"
    tokyo = "Tokyo stocks slump as yen climbs against dollar"
    lines = (wall, tokyo) * 4 + ("Stocks rally in quiet trade",)
    stories = [d.story_id for d in headlines(StoryBook(StoriesSettings()), lines)]
    assert len(set(stories[0:8:2])) == len(set(stories[1:8:2])) == 1
    assert stories[0] != stories[1]
    assert stories[8] not in stories[:8]


def test_a_word_in_a_small_story_is_not_owned() -> None:
    """Two articles carrying a word do not own it: the smoothing asks for more."""
    lines = (
        "Wall Street stocks edge lower after record close",
        "Stocks edge lower after record close on Wall Street",
        "Tokyo stocks slump as yen climbs against dollar",
    )
    stories = [d.story_id for d in headlines(StoryBook(StoriesSettings()), lines)]
    assert stories[0] == stories[1] != stories[2]


def test_a_name_run_together_meets_its_spaced_form() -> None:
    """'MtGox' and 'Mt.Gox' give the terms of 'Mt. Gox'; 'McDonald' and 'eBay' stay whole."""
    assert terms("MtGox Mt.Gox Mt. Gox") == ["mt", "gox"] * 3
    assert terms("PayPal McDonald eBay YouTube") == ["pay", "pal", "mcdonald", "ebay", "youtube"]


def test_run_together_name_joins_the_story_of_its_spaced_form() -> None:
    lines = (*OWNED[:3], "MtGox faced 150,000 attacks a second, says report")
    stories = [d.story_id for d in headlines(StoryBook(StoriesSettings()), lines)]
    assert stories[3] == stories[0]


def test_a_long_headline_is_found_under_its_common_term() -> None:
    """A headline of many rare words still reaches the story owning its one common term."""
    line = "The UK's first Bitcoin digital cash machine goes live in an East London cafe"
    decisions = headlines(StoryBook(StoriesSettings()), (*OWNED[:7], line))
    assert decisions[7].story_id == decisions[0].story_id
    assert "bitcoin" in decisions[7].reason


def test_signatures_are_the_same_in_every_process() -> None:
    """Signatures are persisted: a process with another string-hash seed computes the same."""
    import subprocess
    import sys

    from monitor.stories import fingerprint

    line = "Officials said the summit would be the first meeting"
    code = (
        "from monitor.stories import fingerprint, text;"
        f"print(fingerprint.to_hex(fingerprint.signature(text.word_ids(text.tokens({line!r})), 4)))"
    )
    for seed in ("1", "2"):
        other = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert other == fingerprint.to_hex(fingerprint.signature(word_ids(tokens(line)), 4))


def test_short_texts_sharing_one_shingle_are_not_near_identical() -> None:
    """Two headlines sharing one of their shingles: the estimate stays near the true 1/9."""
    from monitor.stories import fingerprint

    a = fingerprint.signature(word_ids(tokens("Stocks slip on weak China data")), 4)
    b = fingerprint.signature(word_ids(tokens("Stocks slip on weak Asian news")), 4)
    assert fingerprint.similarity(a, a) == 1.0
    assert fingerprint.similarity(a, b) < 0.3


def test_sentence_tokens_are_the_tokens_of_the_whole_text() -> None:
    """The copy check hashes the sentences' tokens: they must be the whole text's tokens."""
    texts = [json.loads(line)["text"] for line in DATA.read_text(encoding="utf-8").splitlines()]
    texts.append('He said "no." Then U.S. officials left.\n\nA new line\u2019s end? Yes!')
    for text in texts:
        pieces = sentence_tokens(text)
        assert [t for _, found in pieces for t in found] == tokens(text)


def test_band_index_forgets_removed_keys() -> None:
    """A key removed from the LSH index is no longer a candidate; the others still are."""
    from monitor.stories import fingerprint

    sig = fingerprint.signature(["a", "b", "c", "d", "e", "f"], 4)
    index = fingerprint.BandIndex()
    index.add("one", sig)
    index.add("two", sig)
    index.remove("one")
    assert index.candidates(sig) == {"two"}
    index.remove("two")
    assert index.candidates(sig) == set() and len(index) == 0


def test_text_caches_stay_bounded() -> None:
    """The token caches are emptied when full, so a vocabulary that never stops growing fits."""
    from monitor.stories import text

    for i in range(text.CACHE_SIZE + 10):
        text.terms(f"word{i}")
        text.word_ids([f"word{i}"])
    assert len(text._terms) <= text.CACHE_SIZE and len(text._words) <= text.CACHE_SIZE
    assert len(text._ids) <= text.CACHE_SIZE


def _by_id(records: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {record["id"]: record for record in records}


def _roundtrip(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return list(json.loads(json.dumps(records)))


def test_changed_records_reports_each_change_once() -> None:
    """Changes since the last call: the stories touched and the book row; then nothing."""
    settings = StoriesSettings()
    items = [a for a, _ in _newswcl50()]
    book = StoryBook.from_records(settings, _roundtrip(StoryBook(settings).to_records()))
    assert book.changed_records() == ([], [])
    decision = book.add(items[0], now=items[0].published)
    records, removed = book.changed_records()
    assert set(_by_id(records)) == {"book", decision.story_id, items[0].key} and removed == []
    for changed in (decision.story_id, items[0].key):
        assert _by_id(records)[changed] == _by_id(book.to_records())[changed]
    assert book.changed_records() == ([], [])
    book.mark_delivered(decision.story_id, "t", ["Pompeo met Kim in secret."])
    assert [r["id"] for r in book.changed_records()[0]] == [f"{decision.story_id}:t"]


def test_changed_records_names_expired_stories() -> None:
    """A story that leaves the window is reported as removed, with the book row."""
    book = StoryBook(StoriesSettings(window=timedelta(days=3)))
    first = book.add(article("ap", WIRE), now=T0)
    book.changed_records()
    late = T0 + timedelta(days=4)
    assert book.expire(late) == [first.story_id]
    records, removed = book.changed_records()
    assert [r["id"] for r in records] == ["book"] and removed == [first.story_id]


def test_nothing_is_changed_after_from_records() -> None:
    """A book rebuilt from records has nothing to write back."""
    settings = StoriesSettings()
    book = StoryBook(settings)
    replay(book, [a for a, _ in _newswcl50()[:10]])
    copy = StoryBook.from_records(settings, _roundtrip(book.to_records()))
    assert copy.changed_records() == ([], [])


def test_judging_what_is_new_leaves_what_was_told_as_it_was() -> None:
    """`Told.fresh` finds what `new_sentences` finds, without telling it: for stories told
    a little and told up to MAX_KNOWN sentences."""
    texts = [a.text for a, _ in _newswcl50()]
    for told_texts in (texts[:2], texts * 20):
        told = Told()
        for text in told_texts:
            told.tell(analyse(text))
        before = told.to_record()
        for text in texts:
            sentences = analyse(text) * 2  # its own repeats are told by then
            found = told.fresh(sentences, 0.8)
            assert told.to_record() == before
            reference = Told.from_record(before)
            assert found == reference.new_sentences(sentences, 0.8)


def test_the_book_record_is_saved_as_its_counts_grow_and_at_a_flush() -> None:
    """One more article in a book of many leaves the document frequencies unsaved until
    they grew by BOOK_SAVE_GROWTH, or until the end of the cycle flushes them."""
    rng = random.Random(3)
    words = [f"word{i}" for i in range(300)]

    def report(i: int) -> StoryArticle:  # no two alike: each is counted as a document
        return article(f"r{i}", " ".join(rng.choice(words) for _ in range(60)) + ".")

    book = StoryBook(StoriesSettings())
    for i in range(100):
        book.add(report(i), now=T0)
    assert "book" in _by_id(book.changed_records()[0])

    book.add(report(100), now=T0)

    assert "book" not in _by_id(book.changed_records()[0])
    for i in range(101, 101 + int(BOOK_SAVE_GROWTH * 100)):
        book.add(report(i), now=T0)
    assert "book" in _by_id(book.changed_records()[0])
    book.add(report(200), now=T0)
    assert _by_id(book.changed_records(flush=True)[0])["book"] == _by_id(book.to_records())["book"]


def test_a_story_keeps_its_commonest_names() -> None:
    """However many names its articles bring, a story keeps at most twice MAX_NAMES, the
    commonest."""
    story = Story("st-a", {"a"}, T0, T0, {}, Counter({"Kim": 1}), {})
    for i in range(5 * MAX_NAMES):
        story.add_names({"Kim", f"Name{i}"})
    assert len(story.names) <= 2 * MAX_NAMES and story.names["Kim"] == 1 + 5 * MAX_NAMES


def test_absorb_brings_a_replica_up_to_date() -> None:
    """What one process changed, absorbed by another, gives it the same state and decisions."""
    settings = StoriesSettings(window=timedelta(days=3))
    items = [a for a, _ in _newswcl50()]
    one = StoryBook(settings)
    replay(one, items[:10])
    start = _roundtrip(one.to_records())
    one.changed_records()
    two = StoryBook.from_records(settings, start)
    replay(one, items[10:30])  # crosses days: some stories expire
    records, removed = one.changed_records()
    assert removed  # the early stories left the window
    two.absorb(_roundtrip(records), removed)
    assert _by_id(two.to_records()) == _by_id(one.to_records())
    assert two.changed_records() == ([], [])
    rest = items[30:]
    assert [two.add(a, now=a.published) for a in rest] == [
        one.add(a, now=a.published) for a in rest
    ]


def test_absorb_takes_articles_from_the_story_they_had_here() -> None:
    """Articles both processes placed go to the absorbed story; an emptied one is removed."""
    settings = StoriesSettings()
    one, two = StoryBook(settings), StoryBook(settings)
    here = two.add(article("local", WIRE), now=T0)
    two.add(article("ap", WIRE, hours=1), now=T0)
    two.changed_records()
    there = one.add(article("ap", WIRE, hours=1), now=T0)
    one.add(article("local", WIRE), now=T0)
    assert here.story_id != there.story_id
    two.absorb(_roundtrip(one.changed_records()[0]), [])
    assert story_of(two, "ap") == story_of(two, "local") == there.story_id
    assert here.story_id not in stories(two)
    assert two.changed_records() == ([], [here.story_id])  # the store still holds it


# -- merging: two stories found to tell one event -----------------------------------


def _mine_book(*, deliver: bool = False) -> tuple[StoryBook, list[Decision]]:
    """Three unrelated stories, then the mine rescue and the families' vigil (two stories
    that share no term), then the report that tells both. With `deliver`, the vigil is
    delivered on topic "mines" before the bridging report arrives."""
    book = StoryBook(StoriesSettings())
    replay(book, [article(f"n{i}", t, hours=i) for i, t in enumerate(OTHER_NEWS)])
    decisions = [book.add(article("mine", MINE, source="AP", hours=4), now=T0)]
    decisions.append(book.add(article("families", FAMILIES, source="BBC", hours=5), now=T0))
    if deliver:
        book.mark_delivered(decisions[1].story_id, "mines", split_sentences(FAMILIES))
    decisions.append(book.add(article("bridge", BRIDGE, source="DW", hours=6), now=T0))
    return book, decisions


def test_two_stories_of_one_event_merge_when_one_grows_to_match() -> None:
    """A report telling both halves of an event merges the two stories; the old id resolves."""
    book, (mine, families, bridge) = _mine_book()
    assert mine.kind == families.kind == "new_story" and mine.story_id != families.story_id
    assert bridge.story_id == mine.story_id  # the larger story keeps its id
    assert f"{families.story_id} merged into {mine.story_id}" in bridge.reason
    assert book.resolve(families.story_id) == mine.story_id
    assert book.resolve(mine.story_id) == mine.story_id
    assert book.resolve("st-unknown") == "st-unknown"
    assert stories(book)[mine.story_id]["merged"] == [families.story_id]
    assert story_of(book, "families") == story_of(book, "mine") == mine.story_id
    assert outlets(book, families.story_id) == ["AP", "BBC", "DW"]
    assert len(book) == len(OTHER_NEWS) + 1


def test_what_was_delivered_on_a_merged_story_stays_told() -> None:
    """Sentences sent under the merged-away id are not new again under the surviving one."""
    book, (mine, families, _) = _mine_book(deliver=True)
    vigil = article("families", FAMILIES, source="BBC", hours=5)
    assert book.novelty(mine.story_id, "mines", vigil) == ()
    assert book.novelty(families.story_id, "mines", vigil) == ()
    book.mark_delivered(families.story_id, "mines", split_sentences(MINE))
    assert book.novelty(mine.story_id, "mines", article("mine", MINE, hours=4)) == ()


def test_a_merge_reaches_other_processes_and_the_store() -> None:
    """The merged-away story is reported removed; the survivor's record carries its id."""
    settings = StoriesSettings()
    book = StoryBook(settings)
    replay(book, [article(f"n{i}", t, hours=i) for i, t in enumerate(OTHER_NEWS)])
    book.add(article("mine", MINE, source="AP", hours=4), now=T0)
    families = book.add(article("families", FAMILIES, source="BBC", hours=5), now=T0)
    other = StoryBook.from_records(settings, _roundtrip(book.to_records()))
    book.changed_records()
    bridge = book.add(article("bridge", BRIDGE, source="DW", hours=6), now=T0)
    records, removed = book.changed_records()
    assert removed == [families.story_id]
    assert _by_id(records)[bridge.story_id]["merged"] == [families.story_id]
    other.absorb(_roundtrip(records), removed)
    assert other.resolve(families.story_id) == bridge.story_id
    assert story_of(other, "families") == bridge.story_id
    assert _by_id(other.to_records()) == _by_id(book.to_records())
    again = StoryBook.from_records(settings, _roundtrip(book.to_records()))
    assert again.resolve(families.story_id) == bridge.story_id
    assert stories(again)[bridge.story_id]["merged"] == [families.story_id]


def test_a_record_listing_a_merge_replaces_the_story_held_here() -> None:
    """A process that still holds the merged-away story drops it when the survivor arrives."""
    settings = StoriesSettings()
    book, (_, families, bridge) = _mine_book()
    other = StoryBook(settings)
    replay(other, [article("families", FAMILIES, source="BBC", hours=5)])
    other.changed_records()
    survivor = [r for r in book.to_records() if bridge.story_id in (r["id"], r.get("story"))]
    other.absorb(_roundtrip(survivor), [])  # the story's record and its articles' records
    assert other.resolve(families.story_id) == bridge.story_id
    assert story_of(other, "families") == bridge.story_id and len(other) == 1
    assert other.changed_records() == ([], [families.story_id])


def test_aliases_expire_with_their_story() -> None:
    """Once the surviving story leaves the window, the merged-away id is unknown again."""
    book, (_, families, bridge) = _mine_book()
    book.expire(T0 + timedelta(days=5))
    assert bridge.story_id not in stories(book)
    assert book.resolve(families.story_id) == families.story_id
