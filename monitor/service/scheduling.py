"""The long-lived service: an APScheduler job ticks every `service.tick` and runs a cycle
of the runtime; SIGHUP rereads the config; the HTTP listener starts when configured;
SIGTERM lets the tick in flight finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, timedelta

from aiohttp.web import Application, AppRunner
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.service.listener import Liveness, build_app
from monitor.service.listener import start as start_listener
from monitor.service.polling_cycle import Clock
from monitor.service.runtime import Runtime, utc_now

log = logging.getLogger(__name__)

# adds routes (the web console) to the listener of a running service
ListenerExtension = Callable[[Application, Runtime, Liveness], object]


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Clock = utc_now,
    hangup: asyncio.Event | None = None,
    reread: Callable[[], Settings] | None = None,
    extend_listener: ListenerExtension | None = None,
) -> None:
    """Run until `stop` is set; the tick in flight is allowed to finish.

    `extend_listener` adds routes (the web console) to the listener, when it is on.

    Each time `hangup` is set (SIGHUP), the config is read again with `reread` and
    applied (`Runtime.reload`); a config with problems is logged and not applied.
    """
    async with Runtime(settings, clock=clock) as runtime:
        reloading = (
            asyncio.create_task(_reload_on(hangup, reread, runtime))
            if hangup is not None and reread is not None
            else None
        )
        idle = asyncio.Event()
        idle.set()
        liveness = Liveness(tick=settings.service.tick)
        expected = clock()

        async def tick() -> None:
            nonlocal expected
            if stop.is_set():
                return
            idle.clear()
            started = clock()
            runtime.metrics.set(
                "news_monitor_tick_lag_seconds", max((started - expected).total_seconds(), 0)
            )
            try:
                await runtime.cycle(only_due=True, ignore_backoff=False)
            except Exception:  # the service keeps ticking; the next tick retries
                log.exception("tick failed")
            finally:
                liveness.last_tick = clock()
                expected = started + settings.service.tick
                runtime.metrics.set(
                    "news_monitor_last_tick_timestamp_seconds", liveness.last_tick.timestamp()
                )
                idle.set()

        tick_seconds = settings.service.tick.total_seconds()
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            tick,
            "interval",
            seconds=tick_seconds,
            id="tick",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(int(tick_seconds), 30),
            next_run_time=clock(),
        )
        # a taken address stops us here
        listener = await _listen(settings, runtime, liveness, extend_listener)
        scheduler.start()
        liveness.started = True
        log.info(
            "service started feeds=%d topics=%d tick=%s",
            len(settings.feeds),
            len(settings.topics),
            settings.service.tick,
        )
        try:
            await stop.wait()
        finally:
            scheduler.pause()
            try:
                await asyncio.wait_for(idle.wait(), timeout=timedelta(minutes=1).total_seconds())
            except TimeoutError:
                log.warning("stopping with work in flight; it is redone at the next start")
            scheduler.shutdown(wait=False)
            if reloading is not None:
                reloading.cancel()
            liveness.started = False
            if listener is not None:
                await listener.cleanup()
            log.info("service stopped")


async def _reload_on(
    hangup: asyncio.Event, reread: Callable[[], Settings], runtime: Runtime
) -> None:
    while True:
        await hangup.wait()
        hangup.clear()
        try:
            await runtime.reload(reread())
        except MonitorError as exc:  # the service goes on with the config it has
            log.error("config not reloaded: %s", exc)


async def _listen(
    settings: Settings,
    runtime: Runtime,
    liveness: Liveness,
    extend: ListenerExtension | None,
) -> AppRunner | None:
    """Start the HTTP listener when `listener.address` is set."""
    where = settings.listener.host_port()
    if where is None:
        return None
    app = build_app(
        store=runtime.store,
        metrics=runtime.metrics,
        liveness=liveness,
        atom_dir=settings.service.data_dir / "atom",
        clock=runtime.clock,
    )
    if extend is not None:
        extend(app, runtime, liveness)
    runner = await start_listener(app, *where)
    log.info("listening address=%s", settings.listener.address)
    return runner
