"""Feed states saved together: the polls that end while a save runs join the next one.

A poll that brought nothing (304) or failed has only its feed's state to save. Saved one
transaction each, a thousand such polls cost a thousand thread hops and commits, most of
a cycle in which nothing changed. Here the first poll to end starts a save; the polls
that end while it runs wait and go into the next, in one transaction (a group commit).
Nothing waits for a timer: a lone poll is saved at once, and each poll still returns only
once its state is stored.
"""

from __future__ import annotations

import asyncio

from monitor.models import FeedState
from monitor.store.interfaces import PollRecords


class StateSaves:
    """Saves feed states through `store`, as many at once as are waiting."""

    def __init__(self, store: PollRecords) -> None:
        self.store = store
        self._waiting: list[tuple[FeedState, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def save(self, state: FeedState) -> None:
        """Store `state`; raises what the store raised for the save it went into."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((state, done))
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not done.get_loop():
            self._writer = asyncio.create_task(self._write())
        # shielded: a poll cancelled now (a stop signal) leaves its state to be saved
        await asyncio.shield(done)

    async def idle(self) -> None:
        """Return once every state handed over so far is stored (or failed)."""
        writer = self._writer
        if writer is not None and writer.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(writer)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await asyncio.to_thread(self.store.save_feed_states, [s for s, _ in batch])
            except Exception as exc:  # each poll reports it, as if saved alone
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
