"""Muting a story that keeps coming back: nothing more about it is sent until it is unmuted.

A muted story's new reports are still matched, placed and stored (the console
shows them); they wait in the queue unsent (`OutboxStore.waiting` leaves them
out), and go out with the next digest if the story is unmuted.
"""

from __future__ import annotations

from datetime import datetime

from monitor.errors import MonitorError
from monitor.store.interfaces import StoryMutes


class UnknownStory(MonitorError):
    hint = "story ids are shown by `news-monitor status`, digests and the console's Stories page"


def mute(store: StoryMutes, story_id: str, now: datetime) -> tuple[str, bool]:
    """Mute `story_id`; (its title, whether it was not muted yet)."""
    title = store.story_title(story_id)
    if title is None:
        raise UnknownStory(f"no story with id {story_id!r} in the store")
    return title, store.mute_story(story_id, title, now)


def unmute(store: StoryMutes, story_id: str) -> bool:
    """Let a story's waiting reports go out with the next digest; False if it was not muted."""
    return store.unmute_story(story_id)
