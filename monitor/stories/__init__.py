"""Stories: wire copies folded, articles on one event grouped, and what is new in each.

A pure stage (no I/O, time passed in). The integrator keeps one `StoryBook`, feeds it
every article that matched a topic, in time order, and persists `to_records()`:

    book = StoryBook.from_records(settings.stories, stored_records)
    decision = book.add(StoryArticle(key, url, source, title, text, published), now=now)
    new = book.novelty(decision.story_id, topic, article)   # before a topic's digest
    book.mark_delivered(decision.story_id, topic, split_sentences(article.text))
    info = book.story(decision.story_id)                    # what the digest shows

Processes sharing one store write only what changed and take in what the others wrote:

    records, removed_ids = book.changed_records()   # upsert these by "id", delete those
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
