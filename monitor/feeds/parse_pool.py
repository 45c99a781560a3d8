"""ParsePool: feed documents parsed in worker processes, off the event loop, on every core.

feedparser is pure Python, so a thread would hold the GIL and parse on one core only.
Workers come from a "forkserver" context (never "fork": the service runs threads) whose
server has already imported the parsers. The pool starts on first use and is closed by
its owner. Results are our frozen dataclasses (picklable); parse failures come back as
plain data and become ParseError here. A document that runs past `timeout`, or a worker
that dies, costs that feed a ParseError and the pool is replaced on next use.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from monitor.errors import ParseError
from monitor.feeds.common import MAX_ENTRIES, NotReadable, ParsedFeed
from monitor.processes import kill_pool, watch_service, worker_context, worker_processes

_QUEUED_PER_WORKER = 2  # documents handed to the pool per worker: keeps workers busy


@dataclass(frozen=True, slots=True)
class _Failed:
    message: str
    not_a_feed: bool


def parse_in_worker(
    body: bytes, url: str, headers: dict[str, str], max_entries: int
) -> ParsedFeed | _Failed:
    """Runs in a worker: never raises, so nothing unpicklable crosses back."""
    from monitor.feeds.document import parse_document  # preloaded by the forkserver

    try:
        return parse_document(body, url=url, headers=headers, max_entries=max_entries)
    except NotReadable as exc:
        return _Failed(exc.message, exc.not_a_feed)
    except Exception as exc:  # a parser bug on hostile input must not take the pool down
        return _Failed(f"parser failed: {type(exc).__name__}: {exc}"[:300], False)


class ParsePool:
    """Parses feeds in `workers` processes (0: one per core); use `close()` when done."""

    def __init__(
        self, *, workers: int = 0, timeout: float = 30.0, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.timeout = timeout
        self.max_entries = max_entries
        self._pool: ProcessPoolExecutor | None = None
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def parse(
        self, body: bytes, *, url: str, headers: Mapping[str, str] | None = None
    ) -> ParsedFeed:
        """parse_feed in a worker; ParseError when the document gives nothing usable."""
        async with self._semaphore():
            pool = self._started()
            future: Future[ParsedFeed | _Failed] = pool.submit(
                parse_in_worker, body, url, dict(headers or {}), self.max_entries
            )
            try:
                result = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
            except TimeoutError:
                self._kill(pool)
                raise ParseError(f"parsing took longer than {self.timeout:g} s", url=url) from None
            except BrokenProcessPool:
                self._kill(pool)
                raise ParseError("parsing worker crashed", url=url) from None
        if isinstance(result, _Failed):
            raise ParseError(result.message, url=url, not_a_feed=result.not_a_feed)
        return result

    def worker_pids(self) -> list[int]:
        """The process ids of the current workers (none before the first parse)."""
        return [pid for pid in worker_processes(self._pool) if pid is not None]

    def close(self) -> None:
        """Stop the workers; a later parse starts a new pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=worker_context("monitor.feeds.document"),
                initializer=watch_service,
                initargs=(os.getpid(),),
            )
        return self._pool

    def _semaphore(self) -> asyncio.Semaphore:
        """One semaphore per event loop (tests run several loops over one pool)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.workers * _QUEUED_PER_WORKER))
        return self._slots[1]

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        """Kill `pool`'s processes (a stuck parse never returns); the next parse starts anew."""
        if pool is self._pool:
            self._pool = None
        kill_pool(pool)
