"""StoryBook: the recent stories, which article joins which, and what is new (pure state).

Identity in layers, after the entry id and canonical URL checked upstream:

1. the same key again is a duplicate of itself;
2. near-identical text (MinHash over word shingles, LSH bands) is a duplicate of the
   earlier article and joins its story;
3. otherwise the article joins the best story among those sharing its most significant
   terms (an inverted index, never a scan) when the TF-IDF cosine to the story's centroid
   reaches `join_similarity` and they share `min_event_terms` significant terms besides
   the names of actors; a headline-only item (few terms) may also join the story that
   *owns* one of its terms (most recent articles carrying the term are in that story, and
   it is central to the story: `headline_owner_share`, `headline_owner_central`), or the
   story holding `headline_cover` of its TF-IDF weight, names included (a headline is
   mostly names; monitor/stories/headlines.py);
4. otherwise it starts a story;
5. a story that grew (at 2, 3, 4, 6, 8, 12, ... articles) and another story within the
   window whose centroid reaches `merge_similarity` and that share `merge_central_terms`
   central terms are merged, the smaller into the larger (monitor/stories/merging.py);
   the merged-away id resolves to the survivor from then on (`resolve`).

Time only ever comes in as `now` and the articles' `published`. Stories with no article
within `window` of `now` are forgotten, with their copies and index entries.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from hashlib import blake2b
from itertools import chain
from typing import Any

from monitor.config import StoriesSettings
from monitor.stories import fingerprint, headlines, merging
from monitor.stories.model import Decision, StoryArticle, StoryInfo
from monitor.stories.novelty import Sentence, Told, analyse, analyse_all, as_sentence
from monitor.stories.records import (
    RECORD_VERSION,
    Member,
    Story,
    member_from,
    story_from,
    story_record,
)
from monitor.stories.text import (
    clean_title,
    names,
    sentence_tokens,
    stem,
    terms,
    word_ids,
)
from monitor.stories.vectors import heaviest as _heaviest
from monitor.stories.vectors import most_hits as _most_hits
from monitor.stories.vectors import norm as _norm
from monitor.stories.vectors import tf_idf as _tf_idf
from monitor.stories.vectors import truncate as _truncate

TITLE_WEIGHT = 3  # a headline term counts as three mentions in the text
VECTOR_TERMS = 60  # terms kept per article vector and per story centroid
QUERY_TERMS = 10  # an article's most significant terms, looked up in the index
INDEX_TERMS = 12  # a story's most significant terms, under which the index lists it
MAX_POSTING = 2000  # a term listed for more stories than this is no use to find one
HEADLINE_CANDIDATES = 30  # a headline has few terms: more stories are compared with it
TEXT_CANDIDATES = 5  # a text's story is among the five listed under most of its query terms
MERGE_CANDIDATES = 5  # stories compared with one that grew: listed under most of its central terms
SHORT_TERMS = 20  # fewer distinct terms: a headline or a one-line summary
LEAD_SENTENCES = 5  # names are taken from the title and the lead
MAX_DF_TERMS = 300_000  # beyond this the document frequencies are halved and thinned
MAX_PERSISTED_DF = 50_000
# Similarity starts to decay a day after the story's latest article: an event's reports
# come over a day or more (and many feeds date to the day), so a next-day report of an
# event is compared undamped. Chosen on the dev corpus: with it every NewsWCL50 event
# spanning two days stays one story (4 of 5 without), with no event merged into another.
DECAY_GRACE = timedelta(days=1)


_NO_TIME = timedelta(0)


def _sentences_of(article: StoryArticle) -> list[Sentence]:
    """What is compared to tell what is new: the sentences of the text, else its title
    (or its one line of text) as one sentence."""
    body = article.text if article.text.strip() else article.title
    sentences = analyse(body)
    if sentences:
        return sentences
    line = " ".join((clean_title(article.title) or body).split())
    return [as_sentence(line)] if line else []


def _story_id(key: str) -> str:
    return "st-" + blake2b(key.encode(), digest_size=8).hexdigest()


class StoryBook:
    """Recent stories and their articles; `add` each article once, in time order.

    Call `add(article, now=...)` for every article that matched a topic; for each topic
    that will show it, `novelty(story_id, topic, article)` gives what that topic has not
    yet been sent, and after delivery `mark_delivered(story_id, topic, sentences)` records
    it. `to_records()` / `from_records()` persist the whole state as JSON-ready dicts.
    """

    def __init__(self, settings: StoriesSettings) -> None:
        self.settings = settings
        self._members: dict[str, Member] = {}
        self._stories: dict[str, Story] = {}
        self._bands = fingerprint.BandIndex()
        self._postings: dict[str, set[str]] = {}
        self._df: Counter[str] = Counter()
        self._spread: dict[str, int] = {}  # term -> members carrying it, summed over stories
        self._documents = 0
        self._swept: datetime | None = None
        self._aliases: dict[str, str] = {}  # merged-away story id -> the surviving story's id
        # what changed since the last changed_records(): for replicas sharing one store
        self._changed: set[str] = set()
        self._removed: set[str] = set()
        self._book_changed = False

    # -- the public surface -------------------------------------------------------

    def add(self, article: StoryArticle, *, now: datetime) -> Decision:
        """Place one article: duplicate, new story, development or also reported."""
        self.expire(now)
        if article.key in self._members:
            earlier = self._members[article.key]
            return Decision(
                "duplicate", earlier.story_id, (), article.key, "this article was already seen"
            )
        body = article.text if article.text.strip() else article.title
        pieces = sentence_tokens(body)  # tokenized once: for the copy check and the terms
        ids = word_ids(list(chain.from_iterable(tokens for _, tokens in pieces)))
        sig = fingerprint.signature(ids, self.settings.shingle_words)
        copy = self._copy_of(sig)
        if copy is not None:
            original, similarity = copy
            story = self._stories[original.story_id]
            self._remember(article, story, sig, duplicate_of=original.key)
            reason = (
                f"near-identical text to {original.key} ({original.source}), "
                f"shingle similarity {similarity:.2f}"
            )
            return Decision("duplicate", story.id, (), original.key, reason)

        sentences, counts = analyse_all(pieces)
        if not article.text.strip():
            counts = Counter()
        vector = self._vector(article.title, counts)
        found_names = names(clean_title(article.title)).union(
            *(s.names for s in sentences[:LEAD_SENTENCES])
        )
        best, reason = self._best_story(article, vector, found_names)
        if best is None:
            story = self._new_story(article, vector, found_names, sentences)
            self._remember(article, story, sig, duplicate_of=None)
            texts = tuple(s.text for s in sentences) or (clean_title(article.title),)
            return Decision("new_story", story.id, texts, None, reason)

        self._join(best, article, vector, found_names)
        self._remember(article, best, sig, duplicate_of=None)
        best, merged = self._merge_grown(best)
        if merged:
            reason += f"; {merged}"
        new = best.told.new_sentences(sentences, self.settings.paraphrase_overlap)
        texts = tuple(s.text for s in new)
        if len(texts) >= self.settings.min_new_sentences:
            return Decision("development", best.id, texts, None, f"{reason}; {len(texts)} new")
        return Decision("also_reported", best.id, (), None, f"{reason}; nothing new")

    def novelty(self, story_id: str, topic: str, article: StoryArticle) -> tuple[str, ...]:
        """The sentences of `article` not yet delivered for this story on this topic.

        A short article (a title, a one-line summary) has no sentence long enough to be
        compared: its title, else its text, counts as its one sentence, so that it is
        never taken for "nothing new".
        """
        story = self._stories.get(self.resolve(story_id))
        told = story.delivered.get(topic) if story else None
        sentences = _sentences_of(article)
        if told is None:
            return tuple(s.text for s in sentences)
        new = told.copy().new_sentences(sentences, self.settings.paraphrase_overlap)
        return tuple(s.text for s in new)

    def was_told(self, story_id: str, topic: str) -> bool:
        """Whether anything of this story was already sent on this topic."""
        story = self._stories.get(self.resolve(story_id))
        return story is not None and topic in story.delivered

    def mark_delivered(self, story_id: str, topic: str, sentences: Sequence[str]) -> None:
        """Record that `sentences` (all those of every article linked) went out on `topic`."""
        story = self._stories.get(self.resolve(story_id))
        if story is None:
            return
        told = story.delivered.setdefault(topic, Told())
        told.tell([as_sentence(text) for text in sentences])
        self._changed.add(story.id)

    def story(self, story_id: str) -> StoryInfo | None:
        """What a digest shows of a story, or None once it has expired."""
        story = self._stories.get(self.resolve(story_id))
        if story is None:
            return None
        members = [self._members[key] for key in story.members]
        outlets = tuple(dict.fromkeys(m.source for m in members))
        independent = {m.source for m in members if m.duplicate_of is None}
        first = members[0]
        return StoryInfo(
            id=story.id,
            title=clean_title(first.title),
            first_source=first.source,
            first_published=first.published,
            last_published=max(m.published for m in members),
            articles=len(members),
            outlets=outlets,
            independent_outlets=len(independent),
            links=tuple((m.source, m.url) for m in members),
        )

    def story_of(self, key: str) -> str | None:
        """The story an article key joined, while it is in the window."""
        member = self._members.get(key)
        return member.story_id if member else None

    def resolve(self, story_id: str) -> str:
        """The id a story goes by now: a story merged into another resolves to that one.

        Ids not known here (expired, or never seen) are returned as they are.
        """
        if story_id in self._stories:
            return story_id
        return self._aliases.get(story_id, story_id)

    def merged_ids(self, story_id: str) -> tuple[str, ...]:
        """The ids of the stories merged into this one (resolved first), oldest merge first.

        Matches stored under any of them belong to the story: "also reported by" and
        the digests a development follows up are looked up under all of these ids.
        """
        story = self._stories.get(self.resolve(story_id))
        return tuple(story.merged) if story else ()

    def __len__(self) -> int:
        return len(self._stories)

    def expire(self, now: datetime) -> list[str]:
        """Forget stories with no article within the window; return their ids."""
        window = self.settings.window
        if self._swept is not None and now - self._swept < window / 48:
            return []
        self._swept = now
        self._book_changed = True
        cutoff = now - window
        gone = [s.id for s in self._stories.values() if s.last < cutoff]
        for story_id in gone:
            self._drop(story_id)
            self._removed.add(story_id)
        return gone

    # -- persistence ------------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """The whole state as JSON-ready dicts: one "book" record, then one per story.

        Every record has an "id" ("book" or the story id); a story record also has
        "last" (ISO time of its latest article), after which plus the window it may be
        deleted from the store.
        """
        stories = (story_record(s, self._members) for s in self._stories.values())
        return [self._book_record(), *stories]

    @classmethod
    def from_records(
        cls, settings: StoriesSettings, records: Sequence[dict[str, Any]]
    ) -> StoryBook:
        """A book with the state `to_records` gave (records of other versions are skipped)."""
        book = cls(settings)
        book.absorb(records, ())
        return book

    def changed_records(self) -> tuple[list[dict[str, Any]], list[str]]:
        """What changed since the last call: records to upsert by "id", story ids to delete.

        The records are those of `to_records` for the stories added to, joined, delivered
        or created since then, and the "book" record when the document frequencies or the
        sweep time moved; the ids are the stories forgotten since then (expired, or taken
        from another process by `absorb`). The call starts the tracking afresh.
        """
        records = [self._book_record()] if self._book_changed else []
        records += [
            story_record(self._stories[story_id], self._members)
            for story_id in sorted(self._changed)
            if story_id in self._stories
        ]
        removed = sorted(self._removed - self._stories.keys())
        self._changed, self._removed, self._book_changed = set(), set(), False
        return records, removed

    def absorb(self, records: Sequence[dict[str, Any]], removed_ids: Sequence[str]) -> None:
        """Take in what another process wrote: newer story versions, stories it removed.

        A story record replaces this book's version of the story (last writer wins), with
        its members, copies and index entries; an article that this book had placed in a
        different story moves to the absorbed one. The "book" record's document
        frequencies replace this book's own. What is absorbed is not reported by
        `changed_records`, since the store already holds it.
        """
        for story_id in removed_ids:
            if story_id in self._stories:
                self._drop(story_id)
            self._changed.discard(story_id)
            self._removed.discard(story_id)
        for record in records:
            if record.get("version", RECORD_VERSION) != RECORD_VERSION:
                continue
            if record.get("type") == "book":
                self._documents = int(record["documents"])
                self._df = Counter({str(t): int(c) for t, c in record["df"].items()})
                swept = record.get("swept")
                theirs = datetime.fromisoformat(swept) if swept else None
                if theirs is not None and (self._swept is None or theirs > self._swept):
                    self._swept = theirs
                self._book_changed = False
            elif record.get("type") == "story":
                self._insert(record)

    def _book_record(self) -> dict[str, Any]:
        df = sorted(self._df.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_PERSISTED_DF]
        return {
            "id": "book",
            "type": "book",
            "version": RECORD_VERSION,
            "documents": self._documents,
            "df": dict(df),
            "swept": self._swept.isoformat() if self._swept else None,
        }

    def _insert(self, record: dict[str, Any]) -> None:
        """Put a story record in the book, replacing the story's version here."""
        story = story_from(record)
        if story.id in self._stories:
            self._drop(story.id)
        self._aliases.pop(story.id, None)
        for old in story.merged:  # merged there: this book forgets them too
            if old in self._stories:
                self._drop(old)
                self._removed.add(old)
            self._aliases[old] = story.id
        self._stories[story.id] = story
        self._index(story)
        self._spread_add(story.tally, 1)
        for item in record["members"]:
            member = member_from(item, story.id)
            earlier = self._members.get(member.key)
            if earlier is not None:  # placed elsewhere here: the absorbed story wins it
                self._detach(earlier)
            self._members[member.key] = member
            self._bands.add(member.key, member.sig)
        self._changed.discard(story.id)
        self._removed.discard(story.id)

    def _detach(self, member: Member) -> None:
        """Take an article out of its story here; a story left empty is forgotten."""
        story = self._stories.get(member.story_id)
        self._members.pop(member.key, None)
        self._bands.remove(member.key)
        if story is None:
            return
        story.members.remove(member.key)
        self._changed.add(story.id)
        if not story.members:
            self._drop(story.id)
            self._removed.add(story.id)

    def _drop(self, story_id: str) -> None:
        """Forget one story with its members, copies and index entries."""
        story = self._stories.pop(story_id)
        for old in story.merged:
            self._aliases.pop(old, None)
        self._unindex(story)
        self._spread_add(story.tally, -1)
        for key in story.members:
            if self._members.get(key) is not None and self._members[key].story_id == story_id:
                del self._members[key]
                self._bands.remove(key)

    # -- merging ----------------------------------------------------------------------

    def _merge_grown(self, story: Story) -> tuple[Story, str]:
        """Merge a story that just grew with the one that tells the same event, if any.

        Candidates are the stories listed under the grown story's central terms; the
        closest one that passes `merge_similarity` and shares `merge_central_terms`
        central terms is merged, the smaller into the larger. Returns the surviving
        story and why.
        """
        settings = self.settings
        if not merging.due(len(story.members)):
            return story, ""
        hits: Counter[str] = Counter()
        for term in merging.central_terms(story, settings.headline_owner_central):
            posting = self._postings.get(term, ())
            if len(posting) <= MAX_POSTING:
                hits.update(posting)
        del hits[story.id]
        ranked = _most_hits(hits, MERGE_CANDIDATES)
        # a partner shares merge_central_terms central terms: it is listed under as many
        near = [self._stories[i] for i, n in ranked if n >= settings.merge_central_terms]
        found = merging.partner(story, near, settings)
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
            self._unindex(story)
            self._spread_add(story.tally, -1)
        del self._stories[gone.id]
        members = self._members
        merging.combine(into, gone, size=VECTOR_TERMS, published=lambda key: members[key].published)
        for key in gone.members:
            members[key].story_id = into.id
        for old in (gone.id, *gone.merged):
            self._aliases[old] = into.id
        self._spread_add(into.tally, 1)
        self._index(into)
        self._changed.add(into.id)
        self._changed.discard(gone.id)
        self._removed.add(gone.id)

    # -- identity -------------------------------------------------------------------

    def _copy_of(self, sig: array[int]) -> tuple[Member, float] | None:
        best: tuple[Member, float] | None = None
        for key in sorted(self._bands.candidates(sig)):
            member = self._members[key]
            similarity = fingerprint.similarity(sig, member.sig)
            if similarity >= self.settings.duplicate_similarity and (
                best is None or similarity > best[1]
            ):
                best = (member, similarity)
        return best

    def _vector(self, title: str, counts: Counter[str]) -> dict[str, float]:
        for term in terms(clean_title(title)):
            counts[term] += TITLE_WEIGHT
        self._documents += 1
        self._df.update(counts.keys())
        self._book_changed = True
        if len(self._df) > MAX_DF_TERMS:
            self._df = Counter({t: c // 2 for t, c in self._df.items() if c >= 2})
            self._documents //= 2
        weights = _tf_idf(counts, self._df, self._documents)
        weights = _truncate(weights, VECTOR_TERMS)
        norm = _norm(weights)
        return {term: w / norm for term, w in weights.items()}

    def _best_story(
        self, article: StoryArticle, vector: dict[str, float], found_names: set[str]
    ) -> tuple[Story | None, str]:
        window = self.settings.window
        short = len(vector) < SHORT_TERMS
        # A headline is looked up under all its terms: the word its story is known by
        # ("bitcoin") is common by then, and its low weight would leave it out.
        looked_up = vector.items() if short else _heaviest(vector, QUERY_TERMS)
        postings = [self._postings.get(term, ()) for term, _ in looked_up]
        hits = Counter(chain.from_iterable(p for p in postings if len(p) <= MAX_POSTING))
        size = HEADLINE_CANDIDATES if short else TEXT_CANDIDATES
        ranked = _most_hits(hits, size)
        if short:  # a headline: one term the story owns, or its shared terms, may be enough
            near = [self._stories[story_id] for story_id, _ in ranked]
            settings, when = self.settings, article.published
            found, why = headlines.by_owner(vector, near, self._spread, when, settings)
            if found is None:
                found, why = headlines.by_cover(vector, near, when, settings)
            if found is not None:
                return found, why
        best: tuple[float, str, Story, str] | None = None
        closest = (0.0, "")
        when, half_life = article.published, self.settings.similarity_half_life
        for story_id, _ in ranked:
            story = self._stories[story_id]
            gap = max(when - story.last, story.first - when, _NO_TIME)
            if gap > window:
                continue
            centroid = story.centroid
            # the shared terms are found in C; fsum adds exactly, in any order
            cosine = math.fsum([vector[t] * centroid[t] for t in vector.keys() & centroid.keys()])
            cosine *= 0.5 ** (max(gap - DECAY_GRACE, _NO_TIME) / half_life) / story.norm
            closest = max(closest, (cosine, story_id))
            if cosine < self.settings.join_similarity or (best and (cosine, story_id) < best[:2]):
                continue
            shared_names = sorted(found_names & story.names.keys())
            # Names are actors; in a headline alone they are most of the event, so there
            # only the names both share are set aside, and one other shared term suffices.
            actor_names = set(shared_names) if short else found_names | story.names.keys()
            actors = {stem(part) for name in actor_names for part in name.split()}
            event = [t for t in vector if t in story.centroid and t not in actors]
            if len(event) < min(1 if short else self.settings.min_event_terms, len(vector)):
                continue
            event.sort(key=lambda t: (-vector[t] * story.centroid[t], t))
            why = f"same story as {story_id}: cosine {cosine:.2f}, shared terms "
            why += ", ".join(event[:5])
            if shared_names:
                why += "; shared names " + ", ".join(shared_names[:5])
            best = (cosine, story_id, story, why)
        if best is None:
            tail = f" (closest {closest[1]}, cosine {closest[0]:.2f})" if closest[1] else ""
            return None, f"no story within {window} shares enough{tail}"
        return best[2], best[3]

    # -- state changes --------------------------------------------------------------

    def _new_story(
        self,
        article: StoryArticle,
        vector: dict[str, float],
        found_names: set[str],
        sentences: list[Sentence],
    ) -> Story:
        story_id = _story_id(article.key)
        told = Told()
        told.tell(sentences)
        story = Story(
            id=story_id,
            members=[],
            first=article.published,
            last=article.published,
            centroid={},
            names=Counter(found_names),
            told=told,
            delivered={},
        )
        story.set_centroid(dict(vector))
        self._tally(story, vector)
        self._stories[story_id] = story
        self._index(story)
        return story

    def _join(
        self, story: Story, article: StoryArticle, vector: dict[str, float], found: set[str]
    ) -> None:
        centroid = dict(story.centroid)
        for term, weight in vector.items():
            centroid[term] = centroid.get(term, 0.0) + weight
        story.set_centroid(_truncate(centroid, VECTOR_TERMS))
        self._tally(story, vector)
        story.names.update(found)
        story.first = min(story.first, article.published)
        self._unindex(story)
        self._index(story)

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
        self._bands.add(article.key, sig)
        story.members.append(article.key)
        story.last = max(story.last, article.published)
        self._changed.add(story.id)

    def _tally(self, story: Story, vector: dict[str, float]) -> None:
        """Count the new member's terms; keep counts only for the centroid's terms."""
        tally, centroid, spread = story.tally, story.centroid, self._spread
        for term in [t for t in tally if t not in centroid]:
            self._spread_add({term: tally.pop(term)}, -1)
        for term in vector:
            if term in centroid:
                tally[term] = tally.get(term, 0) + 1
                spread[term] = spread.get(term, 0) + 1

    def _spread_add(self, tally: dict[str, int], sign: int) -> None:
        spread = self._spread
        for term, count in tally.items():
            total = spread.get(term, 0) + sign * count
            if total > 0:
                spread[term] = total
            else:
                spread.pop(term, None)

    def _index(self, story: Story) -> None:
        story.index_terms = story.top_terms(INDEX_TERMS)
        for term in story.index_terms:
            self._postings.setdefault(term, set()).add(story.id)

    def _unindex(self, story: Story) -> None:
        for term in story.index_terms:
            posting = self._postings.get(term)
            if posting is not None:
                posting.discard(story.id)
                if not posting:
                    del self._postings[term]
        story.index_terms = ()
