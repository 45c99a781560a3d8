"""Worker processes for CPU-bound stages (feed parsing, extraction): how they are started."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import signal


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


def ignore_interrupts() -> None:
    """A worker's initializer: Ctrl-C is for the parent, which stops its pools itself once
    the work in hand is saved. A terminal sends SIGINT to the whole process group; a worker
    interrupted mid-page would print a traceback and break its pool. (The forkserver
    ignores SIGINT too; SIGTERM still ends a worker, so none outlives a `kill` of its group.)
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
