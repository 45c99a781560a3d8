"""Worker processes for CPU-bound stages (feed parsing, extraction): how they are started."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context


def worker_context(preload: str) -> multiprocessing.context.BaseContext:
    """A forkserver context that preloads `preload` (fast worker restarts), else spawn.

    Never fork: the service runs threads (the resolver, to_thread), and a forked
    child of a threaded parent can deadlock.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([preload])
        return context
    return multiprocessing.get_context("spawn")
