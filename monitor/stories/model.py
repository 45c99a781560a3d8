"""The plain data the story stage takes and gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

DecisionKind = Literal["duplicate", "new_story", "joined"]


@dataclass(frozen=True, slots=True)
class StoryArticle:
    """What the story stage needs of one article."""

    key: str  # unique id of the article: its canonical URL (or the entry key without a link)
    url: str  # canonical URL
    source: str  # outlet name
    title: str
    text: str  # cleaned full text, or the feed summary; the title alone for headline-only items
    published: datetime  # aware UTC; the entry's date, else when it was first seen


@dataclass(frozen=True, slots=True)
class Decision:
    """Where an article went and why.

    - ``duplicate``: the same article again, or near-identical text to ``duplicate_of``
      (wire copy, re-post, re-title); it joins that article's story.
    - ``new_story``: nothing within the window told this event.
    - ``joined``: it joins a story (what it tells each topic that is new is asked apart:
      `StoryBook.novelty`).
    """

    kind: DecisionKind
    story_id: str
    duplicate_of: str | None
    reason: str
