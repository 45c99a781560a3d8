"""Article page → `Article`: trafilatura's only home, run in a process pool.

trafilatura is not thread-safe and has no timeout of its own outside its CLI, so every page
is extracted in a worker process ("forkserver" context, never "fork": the service runs
threads). The worker returns plain strings only. A page that runs past `timeout`, or a pool
that breaks, costs that page an `ExtractError`; the pool's processes are killed and a fresh
pool starts on next use. trafilatura's own downloader (`fetch_url`) is never used: pages
come from our HTTP client.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Self

import trafilatura

from monitor.errors import ExtractError
from monitor.models import Article

Worker = Callable[[bytes | str, str], dict[str, str | None] | None]

_STARTUP_TIMEOUT = 120.0  # starting a worker (importing trafilatura) is not charged to a page
_WS = re.compile(r"\s+")


def extract_sync(html: bytes | str, url: str) -> dict[str, str | None] | None:
    """Extract one page in the current process; plain strings out, None when there is no text.

    Paragraphs of `text` are separated by a blank line. A first paragraph that repeats the
    title (the page's <h1>) is dropped: the title is returned apart.
    """
    try:
        doc: Any = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            favor_precision=True,
            deduplicate=False,
        )
    except Exception as exc:  # re-raised as a plain, picklable error for the parent
        raise RuntimeError(f"trafilatura failed: {type(exc).__name__}: {exc}"[:500]) from None
    if doc is None:
        return None
    data = doc if isinstance(doc, dict) else doc.as_dict()
    title = _string(data.get("title"))
    paragraphs = [
        p
        for p in (_WS.sub(" ", line).strip() for line in (data.get("text") or "").split("\n"))
        if p
    ]
    if paragraphs and title and paragraphs[0] == _WS.sub(" ", title).strip():
        paragraphs = paragraphs[1:]
    return {
        "title": title,
        "text": "\n\n".join(paragraphs),
        "author": _string(data.get("author")),
        "date": _string(data.get("date")),
        "site_name": _string(data.get("sitename")),
    }


def _string(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _ready() -> bool:
    """A no-op task: once it returns, a worker has started and imported this module."""
    return True


def _mp_context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has already imported trafilatura: fast restarts.
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


class Extractor:
    """Extracts article text from page HTML in a pool of worker processes.

    `workers` 0 means `os.cpu_count()`. At most `workers` pages are extracted at once; the
    others wait their turn, and only the time a page spends in a worker counts against
    `timeout`. `worker` replaces `extract_sync` (tests use it to run a hanging function); it
    must be a top-level, picklable function.
    """

    def __init__(
        self,
        *,
        workers: int = 0,
        timeout: float = 30.0,
        min_chars: int = 200,
        worker: Worker = extract_sync,
    ) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.timeout = timeout
        self.min_chars = min_chars
        self._worker = worker
        self._pool: ProcessPoolExecutor | None = None
        self._pool_ready: Future[bool] | None = None
        self._killed: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()  # by us, on purpose
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def extract(self, html: bytes, *, url: str) -> Article:
        """The article in `html` fetched from `url`; ExtractError if there is no usable text."""
        async with self._semaphore():
            result = await self._run(html, url, retry=True)
        if result is None:
            raise ExtractError("no main text", url=url)
        text = result.get("text") or ""
        if len(text) < self.min_chars:
            raise ExtractError(f"too little text ({len(text)} characters)", url=url)
        return Article(
            url=url,
            title=result.get("title"),
            text=text,
            author=result.get("author"),
            date=result.get("date"),
            site_name=result.get("site_name"),
        )

    async def _run(self, html: bytes, url: str, *, retry: bool) -> dict[str, str | None] | None:
        pool = await self._ready_pool(url)
        future: Future[dict[str, str | None] | None] = pool.submit(self._worker, html, url)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            self._kill(pool)
            raise ExtractError(f"extraction took longer than {self.timeout:g} s", url=url) from None
        except BrokenProcessPool:
            killed_for_another_page = pool in self._killed
            self._kill(pool)
            if killed_for_another_page and retry:
                return await self._run(html, url, retry=False)
            raise ExtractError("extraction worker crashed", url=url) from None
        except Exception as exc:
            raise ExtractError(f"extraction failed ({exc})", url=url) from None

    async def _ready_pool(self, url: str) -> ProcessPoolExecutor:
        if self._pool is None:
            context = _mp_context()
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            self._pool_ready = self._pool.submit(_ready)
        pool, ready = self._pool, self._pool_ready
        if ready is not None and not ready.done():
            try:
                await asyncio.wait_for(asyncio.wrap_future(ready), _STARTUP_TIMEOUT)
            except (TimeoutError, BrokenProcessPool):
                self._kill(pool)
                raise ExtractError("extraction workers did not start", url=url) from None
        return pool

    def _semaphore(self) -> asyncio.Semaphore:
        """One semaphore per event loop (tests run several loops over one Extractor)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.workers))
        return self._slots[1]

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        """Kill `pool`'s processes (a hung trafilatura never returns); the next call starts anew."""
        if pool is self._pool:
            self._pool, self._pool_ready = None, None
        if pool in self._killed:
            return
        self._killed.add(pool)
        # Python < 3.14 has no public way to kill a pool's workers.
        processes = dict(getattr(pool, "_processes", None) or {})
        for process in processes.values():
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes.values():
            process.join(timeout=5)

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
