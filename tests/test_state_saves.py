"""Feed states of polls that end together are saved in one transaction (a group commit)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from monitor.models import FeedState
from monitor.pipeline.state_saves import StateSaves
from monitor.store import Store

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def checked(url: str, etag: str = '"v1"') -> FeedState:
    return FeedState(url=url, etag=etag, last_checked=NOW, next_check=NOW + timedelta(hours=1))


def counting(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch the store saves (the real method still runs)."""
    sizes: list[int] = []
    save = store.save_feed_states

    def spy(states: Sequence[FeedState]) -> None:
        sizes.append(len(states))
        save(states)

    monkeypatch.setattr(store, "save_feed_states", spy)
    return sizes


def test_polls_ending_together_are_saved_in_one_transaction(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fifty 304s that end in one turn of the loop cost one save, and every state is stored."""
    urls = [f"http://127.0.0.1/feed/{i}" for i in range(50)]
    store.sync_feeds(urls)
    sizes = counting(store, monkeypatch)
    saves = StateSaves(store)

    async def main() -> None:
        await asyncio.gather(*(saves.save(checked(url)) for url in urls))

    asyncio.run(main())
    assert sizes == [50]
    assert {s.url: s.etag for s in store.feed_states()} == {url: '"v1"' for url in urls}


def test_a_poll_ending_during_a_save_goes_into_the_next(store: Store) -> None:
    """A lone poll is saved at once; polls ending while it is written wait for the next."""
    urls = [f"http://127.0.0.1/feed/{i}" for i in range(4)]
    store.sync_feeds(urls)
    sizes: list[int] = []
    writing, release = threading.Event(), threading.Event()

    class HeldStore(Store):  # the first save is held in its thread until the others end
        def save_feed_states(self, states: Sequence[FeedState]) -> None:
            sizes.append(len(states))
            writing.set()
            release.wait(timeout=10)
            super().save_feed_states(states)

    held = HeldStore(store.url)
    saves = StateSaves(held)

    async def main() -> None:
        first = asyncio.create_task(saves.save(checked(urls[0])))
        await asyncio.to_thread(writing.wait, 10)
        others = [asyncio.create_task(saves.save(checked(url))) for url in urls[1:]]
        await asyncio.sleep(0)  # they have ended and wait for the save under way
        release.set()
        await asyncio.gather(first, *others)

    try:
        asyncio.run(main())
    finally:
        held.close()
    assert sizes == [1, 3]
    assert len([s for s in store.feed_states() if s.etag]) == 4


def test_a_poll_cancelled_while_saving_still_has_its_state_saved(store: Store) -> None:
    """A stop signal cancels the poll, not the save of what it brought back."""
    url = "http://127.0.0.1/feed/1"
    store.sync_feeds([url])
    saves = StateSaves(store)

    async def main() -> None:
        poll = asyncio.create_task(saves.save(checked(url, '"kept"')))
        await asyncio.sleep(0)  # the save is under way
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
        await saves.idle()

    asyncio.run(main())
    assert store.feed_state(url).etag == '"kept"'


def test_a_failed_save_is_raised_to_every_poll_in_it(tmp_path: Path) -> None:
    """A store that cannot write makes each poll of the batch fail, as a save of its own would."""
    unmigrated = Store(f"sqlite:///{tmp_path / 'empty.db'}")  # no feeds table
    saves = StateSaves(unmigrated)

    async def main() -> list[BaseException | None]:
        results = await asyncio.gather(
            *(saves.save(checked(f"http://127.0.0.1/{i}")) for i in range(3)),
            return_exceptions=True,
        )
        return [r if isinstance(r, BaseException) else None for r in results]

    try:
        errors = asyncio.run(main())
    finally:
        unmigrated.close()
    assert all(isinstance(error, OperationalError) for error in errors)
