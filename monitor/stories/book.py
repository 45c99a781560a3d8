"""StoryBook: the recent stories and which article joins which (pure state).

Identity in layers, after the entry id and canonical URL checked upstream:

1. the same key again is a duplicate of itself;
2. near-identical text (monitor/stories/copies.py) is a duplicate of the earlier article
   and joins its story;
3. otherwise the article joins the best of the stories the index finds for it
   (monitor/stories/retrieval.py) by the join policy (monitor/stories/joining.py);
4. otherwise it starts a story;
5. a story that grew may merge with another that tells the same event, the smaller into
   the larger (monitor/stories/merging.py); the merged-away id resolves to the survivor.

What each topic was sent of each story, and so what is new to it, is kept with the
story (monitor/stories/delivery.py); what changed since the last save is journaled for
replicas sharing one store (monitor/stories/journal.py).

Time only ever comes in as `now` and the articles' `published`. Stories with no article
within `window` of `now` are forgotten, with their copies and index entries.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from hashlib import blake2b
from itertools import chain
from typing import Any

from monitor.config import StoriesSettings
from monitor.stories import delivery, fingerprint, joining, merging
from monitor.stories.copies import CopyFinder
from monitor.stories.journal import Journal
from monitor.stories.model import Decision, StoryArticle
from monitor.stories.novelty import Told, analyse_all
from monitor.stories.records import (
    READABLE_VERSIONS,
    RECORD_VERSION,
    Member,
    Story,
    inline_members,
    member_from,
    member_record,
    story_from,
    story_record,
    told_record,
)
from monitor.stories.retrieval import VECTOR_TERMS, StoryIndex
from monitor.stories.text import clean_title, names, sentence_tokens, word_ids
from monitor.stories.vectors import truncate

LEAD_SENTENCES = 5  # names are taken from the title and the lead
# The "book" record (document frequencies, up to retrieval.MAX_PERSISTED_DF terms) is
# rewritten when the documents counted grew by this share since it was last saved, or
# when the sweep time moved, or on `changed_records(flush=True)` (the end of a cycle):
# rewriting it for every placed article cost more than the placement. Frequencies a few
# percent behind after a crash weigh terms all but the same.
BOOK_SAVE_GROWTH = 0.02


def _story_id(key: str) -> str:
    return "st-" + blake2b(key.encode(), digest_size=8).hexdigest()


class StoryBook:
    """Recent stories and their articles; `add` each article once, in time order.

    Call `add(article, now=...)` for every article that matched a topic; for each topic
    that will show it, `novelty(story_id, topic, article)` gives what that topic has not
    yet been sent, and after delivery `mark_delivered(story_id, topic, sentences)` records
    it. `to_records()` / `from_records()` persist the whole state as JSON-ready dicts:
    a "book" record, one per story, one per story and topic told ("told"), one per
    article ("member"); `changed_records()` gives only what changed since the last call.
    """

    def __init__(self, settings: StoriesSettings) -> None:
        self.settings = settings
        self._members: dict[str, Member] = {}
        self._stories: dict[str, Story] = {}
        self._copies = CopyFinder(settings.duplicate_similarity)
        self._index = StoryIndex()
        self._swept: datetime | None = None
        self._aliases: dict[str, str] = {}  # merged-away story id -> the surviving story's id
        self._journal = Journal()
        # what the stored "book" record holds: its documents counted and sweep time
        self._saved: tuple[int, datetime | None] = (0, None)

    # -- the public surface -------------------------------------------------------

    def add(self, article: StoryArticle, *, now: datetime) -> Decision:
        """Place one article: a duplicate, a new story, or joined to a story."""
        self.expire(now)
        if article.key in self._members:
            earlier = self._members[article.key]
            return Decision("duplicate", earlier.story_id, article.key, "this article was seen")
        body = article.text if article.text.strip() else article.title
        pieces = sentence_tokens(body)  # tokenized once: for the copy check and the terms
        ids = word_ids(list(chain.from_iterable(tokens for _, tokens in pieces)))
        sig = fingerprint.signature(ids, fingerprint.SHINGLE_WORDS)
        copy = self._copies.original(sig, lambda key: self._members[key].sig)
        if copy is not None:
            original = self._members[copy[0]]
            story = self._stories[original.story_id]
            self._remember(article, story, sig, duplicate_of=original.key)
            reason = (
                f"near-identical text to {original.key} ({original.source}), "
                f"shingle similarity {copy[1]:.2f}"
            )
            return Decision("duplicate", story.id, original.key, reason)

        sentences, counts = analyse_all(pieces)
        if not article.text.strip():
            counts = Counter()
        vector = self._index.vector(article.title, counts)
        self._journal.book_changed = True
        found_names = names(clean_title(article.title)).union(
            *(s.names for s in sentences[:LEAD_SENTENCES])
        )
        candidates = [
            self._stories[i] for i in self._index.candidates(vector, short=joining.is_short(vector))
        ]
        best, reason = joining.best_story(
            article, vector, found_names, candidates, self._index.spread, self.settings
        )
        if best is None:
            story = self._new_story(article, vector, found_names)
            self._remember(article, story, sig, duplicate_of=None)
            return Decision("new_story", story.id, None, reason)
        self._join(best, article, vector, found_names)
        self._remember(article, best, sig, duplicate_of=None)
        best, merged = self._merge_grown(best)
        return Decision("joined", best.id, None, f"{reason}; {merged}" if merged else reason)

    def novelty(self, story_id: str, topic: str, article: StoryArticle) -> tuple[str, ...]:
        """The sentences of `article` not yet sent for this story on this topic (a short
        article's title counts as its sentence)."""
        story = self._stories.get(self.resolve(story_id))
        if story is None:
            return tuple(s.text for s in delivery.sentences_of(article))
        return tuple(delivery.novelty(story, topic, article, self.settings.paraphrase_overlap))

    def was_told(self, story_id: str, topic: str) -> bool:
        """Whether anything of this story was already sent on this topic."""
        story = self._stories.get(self.resolve(story_id))
        return story is not None and delivery.was_told(story, topic)

    def mark_delivered(self, story_id: str, topic: str, sentences: Sequence[str]) -> None:
        """Record that `sentences` went out on `topic`."""
        story = self._stories.get(self.resolve(story_id))
        if story is None:
            return
        delivery.tell(story, topic, sentences)
        self._journal.tell(story.id, topic)

    def resolve(self, story_id: str) -> str:
        """The id a story goes by now: a story merged into another resolves to that one.

        Ids not known here (expired, or never seen) are returned as they are.
        """
        if story_id in self._stories:
            return story_id
        return self._aliases.get(story_id, story_id)

    def __len__(self) -> int:
        return len(self._stories)

    def expire(self, now: datetime) -> list[str]:
        """Forget stories with no article within the window; return their ids."""
        window = self.settings.window
        if self._swept is not None and now - self._swept < window / 48:
            return []
        self._swept = now
        self._journal.book_changed = True
        cutoff = now - window
        gone = [s.id for s in self._stories.values() if s.last < cutoff]
        for story_id in gone:
            self._drop(story_id)
            self._journal.remove(story_id)
        return gone

    # -- persistence ------------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """The whole state as JSON-ready dicts: one "book" record, one per story, one per
        story and topic it was told on, then one per article (in publication order).

        Every record has an "id" ("book", the story id, "story id:topic", the article
        key) and a "type" ("book", "story", "told", "member"); a story record also has
        "last" (ISO time of its latest article), after which plus the window it may be
        deleted from the store; "told" and "member" records name their "story".
        """
        stories = [story_record(s) for s in self._stories.values()]
        told = [
            told_record(s.id, t, told)
            for s in self._stories.values()
            for t, told in s.delivered.items()
        ]
        members = sorted(self._members.values(), key=lambda m: (m.published, m.key))
        return [self._book_record(), *stories, *told, *(member_record(m) for m in members)]

    @classmethod
    def from_records(
        cls, settings: StoriesSettings, records: Sequence[dict[str, Any]]
    ) -> StoryBook:
        """A book with the state `to_records` gave (records of other versions are skipped)."""
        book = cls(settings)
        book.absorb(records, ())
        return book

    def changed_records(self, *, flush: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
        """What changed since the last call: records to upsert by "id", story ids to delete.

        The records are those of `to_records` for the stories added to, joined or created
        since then, for the topics that were told more of a story, for the articles
        placed or moved to another story, and the "book" record when it is due
        (`BOOK_SAVE_GROWTH`; with `flush`, whenever it moved); the ids are the stories
        forgotten since then (expired, merged away, or taken from another process by
        `absorb`): their articles and what they told go with them. The call starts the
        tracking afresh.
        """
        taken = self._journal.take()
        records = []
        if taken.book_changed and (flush or self._book_due()):
            records.append(self._book_record())
            self._saved = (self._index.documents, self._swept)
        elif taken.book_changed:  # not due yet: kept for a later save
            self._journal.book_changed = True
        stories, members = self._stories, self._members
        records += [story_record(stories[i]) for i in sorted(taken.changed) if i in stories]
        records += [
            told_record(i, topic, stories[i].delivered[topic])
            for i, topic in sorted(taken.told)
            if i in stories and topic in stories[i].delivered
        ]
        records += [member_record(members[k]) for k in sorted(taken.members) if k in members]
        return records, sorted(taken.removed - stories.keys())

    def _book_due(self) -> bool:
        documents, swept = self._saved
        grown = abs(self._index.documents - documents)
        return swept != self._swept or grown >= max(1.0, BOOK_SAVE_GROWTH * documents)

    def absorb(self, records: Sequence[dict[str, Any]], removed_ids: Sequence[str]) -> None:
        """Take in what another process wrote: newer story versions, stories it removed.

        A story record replaces this book's version of the story (last writer wins), its
        index entries with it; its articles stay, and an article's record puts it in its
        story, taking it from the story this book had placed it in. Stories removed go
        with their articles. The "book" record's document frequencies replace this
        book's own. What is absorbed is not reported by `changed_records`, since the
        store already holds it.
        """
        for story_id in removed_ids:
            if story_id in self._stories:
                self._drop(story_id)
            self._journal.forget(story_id)
        members, told = [], []
        for record in records:
            kind = record.get("type")
            if kind == "member":
                members.append(record)
            elif kind == "told":
                told.append(record)
            elif record.get("version", RECORD_VERSION) not in READABLE_VERSIONS:
                continue
            elif kind == "book":
                self._load_book(record)
            elif kind == "story":
                self._insert(record)
                members += inline_members(record)
        for record in told:  # after their stories, which they name
            story = self._stories.get(record["story"])
            if story is not None:
                story.delivered[record["topic"]] = Told.from_record(record)
        for record in members:
            self._place(member_from(record))

    def _load_book(self, record: dict[str, Any]) -> None:
        self._index.load(record)
        swept = record.get("swept")
        theirs = datetime.fromisoformat(swept) if swept else None
        if theirs is not None and (self._swept is None or theirs > self._swept):
            self._swept = theirs
        self._saved = (self._index.documents, self._swept)
        self._journal.book_changed = False

    def _book_record(self) -> dict[str, Any]:
        return {
            "id": "book",
            "type": "book",
            "version": RECORD_VERSION,
            **self._index.record(),
            "swept": self._swept.isoformat() if self._swept else None,
        }

    def _insert(self, record: dict[str, Any]) -> None:
        """Put a story record in the book, replacing the story's version here (its
        articles stay: they are records of their own)."""
        story = story_from(record)
        held = self._stories.get(story.id)
        if held is not None:
            story.members = held.members
            if "delivered" not in record:  # version 2: what was told is a record of its own
                story.delivered = held.delivered
            self._unlist(held)
        self._aliases.pop(story.id, None)
        for old in story.merged:  # merged there: this book forgets them too
            if old in self._stories:
                self._drop(old)
                self._journal.remove(old)
            self._aliases[old] = story.id
        self._stories[story.id] = story
        self._index.add(story)
        self._index.spread_add(story.tally, 1)
        self._journal.forget(story.id)
        if record.get("version") == 1:  # written again: its articles, what was told apart
            self._journal.change(story.id)
            for item in record["members"]:
                self._journal.place(item["key"])
            for topic in story.delivered:
                self._journal.tell(story.id, topic)

    def _place(self, member: Member) -> None:
        """Put an article another process placed in its story here, taking it from the
        story it had here; an article of a story this book no longer has is left out."""
        story = self._stories.get(member.story_id)
        if story is None:
            return
        earlier = self._members.get(member.key)
        if earlier is not None and earlier.story_id != member.story_id:
            self._detach(earlier)
            earlier = None
        self._members[member.key] = member
        if earlier is None:
            self._copies.add(member.key, member.sig)
        story.members.add(member.key)

    def _detach(self, member: Member) -> None:
        """Take an article out of its story here; a story left empty is forgotten."""
        story = self._stories.get(member.story_id)
        self._members.pop(member.key, None)
        self._copies.remove(member.key)
        if story is None:
            return
        story.members.discard(member.key)
        self._journal.change(story.id)
        if not story.members:
            self._drop(story.id)
            self._journal.remove(story.id)

    def _drop(self, story_id: str) -> None:
        """Forget one story with its members, copies and index entries."""
        story = self._stories.pop(story_id)
        self._unlist(story)
        for key in story.members:
            if self._members.get(key) is not None and self._members[key].story_id == story_id:
                del self._members[key]
                self._copies.remove(key)

    def _unlist(self, story: Story) -> None:
        """Take a story out of the index, the term spread and the aliases."""
        for old in story.merged:
            self._aliases.pop(old, None)
        self._index.remove(story)
        self._index.spread_add(story.tally, -1)

    # -- merging ----------------------------------------------------------------------

    def _merge_grown(self, story: Story) -> tuple[Story, str]:
        """Merge a story that just grew with the one that tells the same event, if any.

        Candidates are the stories listed under the grown story's central terms; the
        closest one that passes the merge policy is merged, the smaller into the larger.
        Returns the surviving story and why.
        """
        if not merging.due(len(story.members)):
            return story, ""
        central = merging.central_terms(story, merging.CENTRAL_SHARE)
        ranked = self._index.neighbours(central, story.id)
        # a partner shares MERGE_CENTRAL_TERMS central terms: it is listed under as many
        near = [self._stories[i] for i, n in ranked if n >= merging.MERGE_CENTRAL_TERMS]
        found = merging.partner(story, near, self.settings)
        if found is None:
            return story, ""
        other, cosine, shared = found
        into, gone = merging.survivor(story, other)
        self._merge(into, gone)
        why = f"{gone.id} merged into {into.id}: cosine {cosine:.2f}, both about "
        return into, why + ", ".join(shared[:5])

    def _merge(self, into: Story, gone: Story) -> None:
        """Merge story `gone` into `into`; `gone`'s id (and those merged into it) resolve
        to `into` from now on, and it is reported removed."""
        for story in (into, gone):
            self._index.remove(story)
            self._index.spread_add(story.tally, -1)
        del self._stories[gone.id]
        members = self._members
        merging.combine(into, gone, size=VECTOR_TERMS)
        for key in gone.members:  # each article moves: its record is written again
            members[key].story_id = into.id
            self._journal.place(key)
        for topic in gone.delivered:  # what it told is told of the survivor too
            self._journal.tell(into.id, topic)
        for old in (gone.id, *gone.merged):
            self._aliases[old] = into.id
        self._index.spread_add(into.tally, 1)
        self._index.add(into)
        self._journal.change(into.id)
        self._journal.forget(gone.id)
        self._journal.remove(gone.id)

    # -- state changes --------------------------------------------------------------

    def _new_story(self, article: StoryArticle, vector: dict[str, float], found: set[str]) -> Story:
        story = Story(
            id=_story_id(article.key),
            members=set(),
            first=article.published,
            last=article.published,
            centroid={},
            names=Counter(found),
            delivered={},
        )
        story.set_centroid(dict(vector))
        self._index.tally(story, vector)
        self._stories[story.id] = story
        self._index.add(story)
        return story

    def _join(
        self, story: Story, article: StoryArticle, vector: dict[str, float], found: set[str]
    ) -> None:
        centroid = dict(story.centroid)
        for term, weight in vector.items():
            centroid[term] = centroid.get(term, 0.0) + weight
        story.set_centroid(truncate(centroid, VECTOR_TERMS))
        self._index.tally(story, vector)
        story.add_names(found)
        story.first = min(story.first, article.published)
        self._index.remove(story)
        self._index.add(story)

    def _remember(
        self, article: StoryArticle, story: Story, sig: array[int], *, duplicate_of: str | None
    ) -> None:
        member = Member(
            key=article.key,
            url=article.url,
            source=article.source,
            title=article.title,
            published=article.published,
            story_id=story.id,
            duplicate_of=duplicate_of,
            sig=sig,
        )
        self._members[article.key] = member
        self._copies.add(article.key, sig)
        story.members.add(article.key)
        story.last = max(story.last, article.published)
        self._journal.change(story.id)
        self._journal.place(article.key)
