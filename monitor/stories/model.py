"""The plain data the story stage takes and gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

DecisionKind = Literal["duplicate", "new_story", "development", "also_reported"]


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

    - ``duplicate``: near-identical text to ``duplicate_of`` (wire copy, re-post, re-title);
      it joins that article's story and carries nothing new.
    - ``new_story``: nothing within the window told this event; ``new_sentences`` holds
      all the article's sentences (a digest shows the first ones as the lead).
    - ``development``: joins a story and ``new_sentences`` holds the sentences that carry
      information no earlier article of the story had.
    - ``also_reported``: joins a story but says nothing new (another outlet's rewrite).
    """

    kind: DecisionKind
    story_id: str
    new_sentences: tuple[str, ...]
    duplicate_of: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class StoryInfo:
    """What a digest shows of one story."""

    id: str
    title: str  # the first article's headline
    first_source: str
    first_published: datetime
    last_published: datetime
    articles: int
    outlets: tuple[str, ...]  # every outlet that carried it, first first
    independent_outlets: int  # outlets with their own text: wire copies count once
    links: tuple[tuple[str, str], ...]  # (outlet, URL) of every article, first first
