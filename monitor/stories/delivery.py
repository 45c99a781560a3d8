"""What each topic was sent of each story, and what of an article is new to it (pure).

The one place that decides "what is new": an article's sentences are compared with
what the topic was sent of the story (monitor/stories/novelty.py). A short article (a
title, a one-line summary) has no sentence long enough to compare: its title, else its
one line of text, counts as its sentence, so that it is never taken for "nothing new".
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.stories.model import StoryArticle
from monitor.stories.novelty import Sentence, Told, analyse, as_sentence
from monitor.stories.records import Story
from monitor.stories.text import clean_title


def sentences_of(article: StoryArticle) -> list[Sentence]:
    """The sentences compared: those of the text, else the title (or text) as one."""
    body = article.text if article.text.strip() else article.title
    sentences = analyse(body)
    if sentences:
        return sentences
    line = " ".join((clean_title(article.title) or body).split())
    return [as_sentence(line)] if line else []


def was_told(story: Story, topic: str) -> bool:
    """Whether anything of the story was sent on the topic."""
    return topic in story.delivered


def novelty(story: Story, topic: str, article: StoryArticle, paraphrase: float) -> list[str]:
    """The sentences of `article` not yet sent on this topic (all, if none was)."""
    sentences = sentences_of(article)
    told = story.delivered.get(topic)
    if told is None:
        return [s.text for s in sentences]
    return [s.text for s in told.fresh(sentences, paraphrase)]


def tell(story: Story, topic: str, sentences: Sequence[str]) -> None:
    """Record that `sentences` went out on the topic."""
    told = story.delivered.setdefault(topic, Told())
    told.tell([as_sentence(text) for text in sentences])
