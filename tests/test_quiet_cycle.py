"""A cycle in which no feed changed starts no worker process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.config import load_settings
from monitor.service.runtime import Runtime
from tests.scenario import RSS, run_once, write_config
from tests.servers import LoopbackHTTPServer, Reply, Request

TAG = '"v1"'


def serve_with_etag(server: LoopbackHTTPServer, path: str) -> str:
    """A feed that answers 304 to a request carrying its ETag."""
    feed = RSS.replace("BASE", server.base).encode()

    def answer(request: Request) -> Reply:
        if request.headers.get("if-none-match") == TAG:
            return Reply(status=304, headers={"ETag": TAG})
        return Reply(feed, headers={"Content-Type": "application/rss+xml", "ETag": TAG})

    return server.route(path, Reply(dynamic=answer))


def test_a_cycle_with_nothing_new_starts_no_worker_process(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """Every feed answers 304: nothing is parsed or extracted, so neither the parse pool nor
    the extraction pool starts a process."""
    urls = [serve_with_etag(http_server, f"/feed{i}.rss") for i in range(5)]
    config = write_config(tmp_path, feeds=urls)
    first = run_once(config)  # the documents are read and parsed once
    assert not any(p.error or p.not_modified for p in first.polls)

    async def quiet_cycle() -> tuple[list[bool], list[int], list[int]]:
        async with Runtime(load_settings(config)) as runtime:
            report = await runtime.cycle(only_due=False, ignore_backoff=True)
            return (
                [p.not_modified for p in report.polls],
                runtime.parser.worker_pids(),
                runtime.extractor.worker_pids(),
            )

    not_modified, parsers, extractors = asyncio.run(quiet_cycle())
    assert not_modified == [True] * 5
    assert (parsers, extractors) == ([], [])
