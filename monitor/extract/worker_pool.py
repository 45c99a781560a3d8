"""The process pool that runs the worker: sized to the cores, a hard timeout per page.

trafilatura is not thread-safe and has no timeout of its own outside its CLI, so every page
is extracted in a worker process ("forkserver" context, never "fork": the service runs
threads). A page that runs past `timeout`, or a pool that breaks (a worker crashed), costs
that page an `ExtractError`; the pool's processes are killed and a fresh pool starts on next
use. Workers are replaced after `recycle_every` pages (`max_tasks_per_child`) so memory that
lxml and trafilatura's caches keep stays flat. Pages over `max_page_bytes` are truncated
before they cross to the worker (at the last tag boundary): the article is near the top,
the bulk of a huge page is inline data and scripts.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Self

from monitor.errors import ExtractError
from monitor.extract.jobs import DEFAULT_MAX_BYTES, Job, Result, run
from monitor.models import Article
from monitor.processes import kill_pool, watch_service, worker_context, worker_processes

Worker = Callable[[Job], Result]

_STARTUP_TIMEOUT = 120.0  # starting a worker (importing trafilatura) is not charged to a page
_TAG_SEARCH = 65_536  # how far back from the cap a truncation looks for a '<'


def truncate(body: bytes, max_bytes: int) -> bytes:
    """`body` cut to at most `max_bytes`, before the last '<' near the cut (no half tag)."""
    if len(body) <= max_bytes:
        return body
    cut = body.rfind(b"<", max(0, max_bytes - _TAG_SEARCH), max_bytes)
    return body[: cut if cut > 0 else max_bytes]


def _ready() -> bool:
    """A no-op task: once it returns, a worker has started and imported this module."""
    return True


class Extractor:
    """Extracts article text from page HTML in a pool of worker processes.

    `workers` 0 means `os.cpu_count()`. At most `workers` pages are extracted at once; the
    others wait their turn, and only the time a page spends in a worker counts against
    `timeout`. `recycle_every` 0 keeps workers for the pool's life. `worker` replaces the
    default (tests use it to hang or crash); it must be a top-level, picklable function.
    """

    def __init__(
        self,
        *,
        workers: int = 0,
        timeout: float = 30.0,
        min_chars: int = 200,
        max_page_bytes: int = DEFAULT_MAX_BYTES,
        recycle_every: int = 500,
        worker: Worker = run,
    ) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.timeout = timeout
        self.min_chars = min_chars
        self.max_page_bytes = max_page_bytes
        self.recycle_every = recycle_every
        self._worker = worker
        self._pool: ProcessPoolExecutor | None = None
        self._pool_ready: Future[bool] | None = None
        self._killed: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()  # by us, on purpose
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def extract(
        self,
        html: bytes,
        *,
        url: str,
        content_type: str | None = None,
        summary: str | None = None,
        date_search: bool = True,
    ) -> Article:
        """The article in `html` fetched from `url`; ExtractError (with a `reason`) if none.

        `content_type` is the response's Content-Type header: its charset is the first
        choice after a byte order mark, and its type tells plain text from other non-HTML.
        `summary` is the feed entry's: a first pass far shorter than it is retried.
        `date_search` False: the page's date from its markup only (the feed has one).
        """
        body = truncate(html, self.max_page_bytes)
        job = Job(body, url, content_type, self.min_chars, summary, date_search)
        async with self._semaphore():
            result = await self._run(job, retry=True)
        error = result.get("error")
        if error is not None:
            raise ExtractError(result.get("detail") or error, url=url, reason=error)
        return Article(
            url=url,
            title=result.get("title"),
            text=result.get("text") or "",
            author=result.get("author"),
            date=result.get("date"),
            site_name=result.get("site_name"),
            language=result.get("language"),
            canonical_url=result.get("canonical_url"),
            image=result.get("image"),
        )

    async def _run(self, job: Job, *, retry: bool) -> Result:
        url = job.url
        pool = await self._ready_pool(url)
        try:
            future: Future[Result] = pool.submit(self._worker, job)
        except BrokenProcessPool:  # broken between start-up and now: start anew once
            self._kill(pool)
            if retry:
                return await self._run(job, retry=False)
            raise ExtractError(
                "extraction workers broke", url=url, reason="worker crashed"
            ) from None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            self._kill(pool)
            raise ExtractError(
                f"extraction took longer than {self.timeout:g} s", url=url, reason="timeout"
            ) from None
        except BrokenProcessPool:
            killed_for_another_page = pool in self._killed
            self._kill(pool)
            if killed_for_another_page and retry:
                return await self._run(job, retry=False)
            raise ExtractError(
                "extraction worker crashed", url=url, reason="worker crashed"
            ) from None
        except Exception as exc:
            raise ExtractError(f"extraction failed ({exc})", url=url, reason="failed") from None

    async def _ready_pool(self, url: str) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=worker_context("monitor.extract.worker"),
                max_tasks_per_child=self.recycle_every or None,
                initializer=watch_service,
                initargs=(os.getpid(),),
            )
            self._pool_ready = self._pool.submit(_ready)
        pool, ready = self._pool, self._pool_ready
        if ready is not None and not ready.done():
            try:
                await asyncio.wait_for(asyncio.wrap_future(ready), _STARTUP_TIMEOUT)
            except (TimeoutError, BrokenProcessPool):
                self._kill(pool)
                raise ExtractError(
                    "extraction workers did not start", url=url, reason="worker crashed"
                ) from None
        return pool

    def _semaphore(self) -> asyncio.Semaphore:
        """One semaphore per event loop (tests run several loops over one Extractor)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.workers))
        return self._slots[1]

    def worker_pids(self) -> list[int]:
        """The process ids of the current workers (for benchmarks and tests)."""
        return [pid for pid in worker_processes(self._pool) if pid is not None]

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        """Kill `pool`'s processes (a hung trafilatura never returns); the next call starts anew."""
        if pool is self._pool:
            self._pool, self._pool_ready = None, None
        if pool in self._killed:
            return
        self._killed.add(pool)
        kill_pool(pool)

    def close(self) -> None:
        """Stop the workers; an Extractor can be used again afterwards (it starts a new pool)."""
        pool, self._pool, self._pool_ready = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
