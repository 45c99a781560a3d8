"""What crosses to an extraction worker and back: a Job in, a Result (plain strings) out.

Kept apart from worker.py so that the service process never imports trafilatura (tens of
megabytes it has no use for): `run` is what the pool sends a job to, and it imports the
worker module in the worker process only (the forkserver preloads it there).
"""

from __future__ import annotations

from dataclasses import dataclass

Result = dict[str, str | None]

DEFAULT_MAX_BYTES = 3_000_000


@dataclass(frozen=True, slots=True)
class Job:
    """One page for a worker: picklable, so it crosses to the pool as is."""

    body: bytes
    url: str
    content_type: str | None = None
    min_chars: int = 200
    summary: str | None = None  # the feed entry's summary: the text should be longer
    # search the page's whole text for its date; False: only its markup (meta tags,
    # structured data, <time>), enough when the feed dates the entry itself
    date_search: bool = True


def run(job: Job) -> Result:
    """The default worker: `extract_sync` on a Job, in the worker process."""
    return extract_sync(
        job.body,
        job.url,
        job.content_type,
        min_chars=job.min_chars,
        summary=job.summary,
        date_search=job.date_search,
    )


def extract_sync(
    body: bytes | str,
    url: str,
    content_type: str | None = None,
    *,
    min_chars: int = 200,
    summary: str | None = None,
    date_search: bool = True,
) -> Result:
    """One page in this process (tests, benchmarks, `extract`): see `worker.extract_sync`."""
    from monitor.extract import worker

    return worker.extract_sync(
        body, url, content_type, min_chars=min_chars, summary=summary, date_search=date_search
    )
