"""Worker processes for CPU-bound stages (feed parsing, extraction): how they are started.

Workers die with the service, however it dies. A ProcessPoolExecutor worker blocks on
its task queue, which it holds both ends of, so it never sees the service go; and it
holds the forkserver's "parent alive" pipe and the resource tracker's pipe open, so
those stay too. Each worker therefore watches the service's process itself
(`watch_service`, the pools' initializer) and exits the moment it is gone; the
forkserver and the resource tracker then see their pipes close and exit on their own.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import select
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.process import BaseProcess

POLL_SECONDS = 1.0  # only where pidfd_open is missing (Linux < 5.3, other systems)


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


def watch_service(pid: int) -> None:
    """Pool initializer: exit this worker as soon as process `pid` (the service) ends; leave
    Ctrl-C to the parent, which stops its pools itself once the work in hand is saved (a
    terminal sends SIGINT to the whole process group, and a worker interrupted mid-page
    would print a traceback and break its pool; SIGTERM still ends a worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_gone, args=(pid,), name="watch-service", daemon=True).start()


def _exit_when_gone(pid: int) -> None:
    try:
        handle = os.pidfd_open(pid)  # readable once the process has exited
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here: ask every POLL_SECONDS
        while _alive(pid):
            time.sleep(POLL_SECONDS)
        os._exit(1)
    select.select([handle], [], [])
    os._exit(1)  # no cleanup: the task queue's other end is gone with the service


def _alive(pid: int) -> bool:
    with contextlib.suppress(PermissionError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
    return True


def worker_processes(pool: ProcessPoolExecutor | None) -> dict[int, BaseProcess]:
    """The pool's worker processes by pid (Python < 3.14 has no public way to reach them)."""
    return dict(getattr(pool, "_processes", None) or {}) if pool is not None else {}


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's workers (a stuck task never returns) and wait briefly for them."""
    processes = worker_processes(pool)
    for process in processes.values():
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes.values():
        process.join(timeout=5)
