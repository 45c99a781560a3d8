"""Stories: wire copies folded, articles on one event grouped, and what is new in each.

A pure stage (no I/O, time passed in). The integrator keeps one `StoryBook`, feeds it
every article that matched a topic, in time order, and persists `to_records()`:

    book = StoryBook.from_records(settings.stories, stored_records)
    decision = book.add(StoryArticle(key, url, source, title, text, published), now=now)
    book.was_told(decision.story_id, topic)            # did this topic hear of the story?
    new = book.novelty(decision.story_id, topic, article)   # what is new to the topic
    book.mark_delivered(decision.story_id, topic, new)      # once it is queued

Two stories found to tell one event are merged, the smaller into the larger; an id
stored before the merge still names the story:

    book.resolve(old_story_id)      # the id the story goes by now

Processes sharing one store write only what changed and take in what the others wrote:

    records, removed_ids = book.changed_records()   # upsert these, delete those stories
    # (a story's record, an article's "member" record, a topic's "told" record, by "id")
    # (a merged-away story is among removed_ids; the survivor's record lists it in "merged")
    book.absorb(their_records, their_removed_ids)   # newer versions from other processes

Modules: `book` (the state and its persistence), `copies` (near-identical texts),
`retrieval` (term statistics and the index of stories by term), `joining` (which story
an article joins), `headlines` (the same for headline-only items), `merging` (two
stories of one event), `delivery` (what each topic was sent, what is new to it),
`journal` (what changed, for replicas), `novelty` and `text` (sentence and term features).
"""

from monitor.stories.book import StoryBook
from monitor.stories.model import Decision, DecisionKind, StoryArticle
from monitor.stories.text import split_sentences

__all__ = [
    "Decision",
    "DecisionKind",
    "StoryArticle",
    "StoryBook",
    "split_sentences",
]
