"""The optional HTTP listener: health, readiness, Prometheus metrics and the topics' Atom feeds.

Off unless `listener.address` is set; meant for 127.0.0.1 or a private network
(it has no authentication). `/healthz` fails when the scheduler stopped ticking
or the store does not answer, so a supervisor can restart the service.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy import text

from monitor.errors import MonitorError
from monitor.metrics import Metrics
from monitor.store import Store

_TOPIC_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.xml$")


@dataclass
class Liveness:
    """What the scheduler reports: when the last tick finished, and whether it is running."""

    tick: timedelta
    started: bool = False
    last_tick: datetime | None = None

    def problem(self, now: datetime) -> str | None:
        if not self.started:
            return "the scheduler has not started"
        limit = max(self.tick * 3, timedelta(seconds=90))
        if self.last_tick is None or now - self.last_tick > limit:
            return f"no tick finished in the last {limit}"
        return None


def _select_one(store: Store) -> None:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def build_app(
    *,
    store: Store,
    metrics: Metrics,
    liveness: Liveness,
    atom_dir: Path,
    clock: Callable[[], datetime],
) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        problem = liveness.problem(clock())
        if problem is None:
            try:
                await asyncio.to_thread(_select_one, store)
            except Exception as exc:  # any store failure makes the service unhealthy
                problem = f"the store does not answer: {type(exc).__name__}"
        if problem:
            return web.Response(status=503, text=f"unhealthy: {problem}\n")
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if not liveness.started:
            return web.Response(status=503, text="starting\n")
        return web.Response(text="ready\n")

    async def metrics_page(_: web.Request) -> web.Response:
        counts = await asyncio.to_thread(store.outbox_counts)
        metrics.set("news_monitor_outbox_depth", counts.pending, status="pending")
        metrics.set("news_monitor_outbox_depth", counts.failed, status="failed")
        return web.Response(
            body=metrics.render().encode(),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )

    async def topic_feed(request: web.Request) -> web.StreamResponse:
        name = request.match_info["file"]
        path = atom_dir / name
        if not _TOPIC_FILE.match(name) or not path.is_file():
            raise web.HTTPNotFound(text="no such topic feed\n")
        return web.FileResponse(path, headers={"Content-Type": "application/atom+xml"})

    app = web.Application()
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics_page),
            web.get("/topics/{file}", topic_feed),
        ]
    )
    return app


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` on host:port until the returned runner is cleaned up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:  # the address is taken, or not one of this machine's
        await runner.cleanup()
        raise MonitorError(
            f"listener.address {host}:{port}: cannot listen: {exc.strerror or exc}",
            hint="another program (or another news-monitor) uses it: stop that, or set "
            "listener.address to a free port of this machine",
        ) from None
    return runner
