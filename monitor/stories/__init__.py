"""Stories: wire copies folded, articles on one event grouped, and what is new in each.

A pure stage (no I/O, time passed in). The integrator keeps one `StoryBook`, feeds it
every article that matched a topic, in time order, and persists `to_records()`:

    book = StoryBook.from_records(settings.stories, stored_records)
    decision = book.add(StoryArticle(key, url, source, title, text, published), now=now)
    new = book.novelty(decision.story_id, topic, article)   # before a topic's digest
    book.mark_delivered(decision.story_id, topic, split_sentences(article.text))
    info = book.story(decision.story_id)                    # what the digest shows

Two stories found to tell one event are merged, the smaller into the larger; an id
stored before the merge still names the story:

    book.resolve(old_story_id)      # the id the story goes by now
    book.merged_ids(story_id)       # the ids merged into it: matches stored under them

Processes sharing one store write only what changed and take in what the others wrote:

    records, removed_ids = book.changed_records()   # upsert these by "id", delete those
    # (a merged-away story is among removed_ids; the survivor's record lists it in "merged")
    book.absorb(their_records, their_removed_ids)   # newer versions from other processes
"""

from monitor.stories.book import StoryBook
from monitor.stories.model import Decision, DecisionKind, StoryArticle, StoryInfo
from monitor.stories.text import split_sentences

__all__ = [
    "Decision",
    "DecisionKind",
    "StoryArticle",
    "StoryBook",
    "StoryInfo",
    "split_sentences",
]
