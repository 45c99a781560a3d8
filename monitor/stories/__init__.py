"""Stories: wire copies folded, articles on one event grouped, and what is new in each.

A pure stage (no I/O, time passed in). The integrator keeps one `StoryBook`, feeds it
every article that matched a topic, in time order, and persists `to_records()`:

    book = StoryBook.from_records(settings.stories, stored_records)
    decision = book.add(StoryArticle(key, url, source, title, text, published), now=now)
    new = book.novelty(decision.story_id, topic, article)   # before a topic's digest
    book.mark_delivered(decision.story_id, topic, split_sentences(article.text))
    info = book.story(decision.story_id)                    # what the digest shows
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
