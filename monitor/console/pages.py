"""The console's pages: one handler per page or form, each a few store reads and a template."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.exc import NoResultFound

from monitor import topic_trial
from monitor.admin import feed_control, story_mutes
from monitor.admin.config_file import ConfigFile, TopicFields
from monitor.admin.intervals import effective_interval
from monitor.config import append_feeds, load_settings
from monitor.console.routes import PREFIX, Console, Handler, see_other
from monitor.errors import ConfigError, MonitorError, QueryError, redact_url
from monitor.poll_schedule import Rules
from monitor.query import compile_query
from monitor.sources.feed_finder import find_feed

BACKTEST_STORIES = 20
BACKTEST_ENTRIES = 200  # a broader query shows its newest 200 matches
TIMELINE_STORIES = 30
DELIVERIES_SHOWN = 100


def add_routes(app: web.Application, console: Console) -> None:
    def get(path: str, make: Any) -> None:
        app.router.add_get(PREFIX + path, make(console))

    def post(path: str, make: Any) -> None:
        app.router.add_post(PREFIX + path, make(console))

    get("/", overview)
    get("/topics", topics)
    get("/topics/edit", topic_form)
    post("/topics/edit", topic_form)
    get("/topics/backtest", topic_backtest)
    post("/topics/save", topic_save)
    post("/topics/delete", topic_delete)
    get("/stories", stories)
    post("/stories/mute", story_mute)
    get("/feeds", feeds)
    post("/feeds/add", feed_add)
    post("/feeds/action", feed_action)
    get("/deliveries", deliveries)
    post("/deliveries/retry", delivery_retry)
    get("/deliveries/preview", delivery_preview)
    get("/deliveries/email", delivery_email)


def _back(path: str) -> web.Response:
    return see_other(PREFIX + path)


def _field(form: Any, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _given(values: Any, key: str, default: str) -> str:
    value = values.get(key, default)
    return value.strip() if isinstance(value, str) else default


async def _apply(console: Console, config: ConfigFile) -> None:
    """Validate and write the edited config, then apply it to the running service."""
    await console.runtime.reload(config.save())


def overview(console: Console) -> Handler:
    async def page(request: web.Request) -> web.Response:
        store, settings, now = console.records, console.runtime.settings, console.now()
        states = {s.url: s for s in await asyncio.to_thread(store.feed_states)}
        paused = await asyncio.to_thread(store.paused_feeds)
        health: Counter[str] = Counter()
        for feed in settings.feeds:
            state = states.get(feed.url)
            if feed.url in paused:
                health["paused"] += 1
            elif state is not None and state.consecutive_failures:
                health["failing"] += 1
            else:
                health["healthy"] += 1
        counts = await asyncio.to_thread(store.match_counts, now - timedelta(hours=24))
        return console.render(
            request,
            "overview.html",
            last_tick=console.liveness.last_tick,
            health=health,
            outbox=await asyncio.to_thread(store.outbox_counts),
            stopped=await asyncio.to_thread(store.stopped),
            topics=[(t, counts.get(t.name, 0)) for t in settings.topics],
        )

    return page


def topics(console: Console) -> Handler:
    async def page(request: web.Request) -> web.Response:
        since = console.now() - timedelta(hours=24)
        counts = await asyncio.to_thread(console.records.match_counts, since)
        listed = [(t, counts.get(t.name, 0)) for t in console.runtime.settings.topics]
        return console.render(request, "topics.html", topics=listed)

    return page


async def _backtest(console: Console, query_text: str) -> dict[str, Any]:
    """What the backtest fragment shows: stories matched in the last 7 days, or the error."""
    if not query_text:
        return {"query": query_text, "error": None, "groups": [], "hits": 0, "more": False}
    try:
        query = compile_query(query_text)
    except QueryError as exc:
        return {"query": query_text, "error": exc, "groups": [], "hits": 0, "more": False}
    now = console.now()
    store = console.records
    feeds = console.runtime.settings.feeds
    hits, more = await asyncio.to_thread(
        console.recent.backtest, store, query, now, BACKTEST_ENTRIES, feeds
    )
    groups = topic_trial.by_story(hits)  # newest first, as the hits come
    shown = groups[:BACKTEST_STORIES]
    return {"query": query_text, "error": None, "groups": shown, "hits": len(hits), "more": more}


def topic_form(console: Console) -> Handler:
    async def page(request: web.Request) -> web.Response:
        # ?original=NAME edits a topic; the form's "Try the query" (no JavaScript) posts
        # its fields back here, so they override what the config says
        asked = await request.post() if request.method == "POST" else request.query
        original = asked.get("original", "")
        existing = next((t for t in console.runtime.settings.topics if t.name == original), None)
        base = TopicFields(
            existing.name if existing else "",
            existing.query if existing else "",
            existing.title or "" if existing else "",
            existing.match if existing else "summary",
            existing.schedule if existing else "immediate",
            tuple(existing.channels) if existing else (),
            existing.urgent if existing else False,
        )
        trying = "query" in asked
        fields = TopicFields(
            _given(asked, "name", base.name),
            _given(asked, "query", base.query),
            _given(asked, "title", base.title),
            _given(asked, "match", base.match),
            _given(asked, "schedule", base.schedule),
            tuple(str(c) for c in asked.getall("channels", [])) if trying else base.channels,
            asked.get("urgent") == "on" if trying else base.urgent,
        )
        return await _render_form(
            console, request, fields, original=existing.name if existing else ""
        )

    return page


async def _render_form(
    console: Console,
    request: web.Request,
    fields: TopicFields,
    *,
    original: str,
    problems: list[str] | None = None,
) -> web.Response:
    return console.render(
        request,
        "topic_form.html",
        code=422 if problems else 200,
        topic=fields,
        original=original,
        problems=problems or [],
        channels=[c.name for c in console.runtime.settings.channels],
        backtest=await _backtest(console, fields.query),
    )


def topic_backtest(console: Console) -> Handler:
    async def fragment(request: web.Request) -> web.Response:
        values = await _backtest(console, request.query.get("query", "").strip())
        return console.render(request, "backtest.html", backtest=values)

    return fragment


def topic_save(console: Console) -> Handler:
    async def action(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        fields = TopicFields(
            name=_field(form, "name"),
            query=_field(form, "query"),
            title=_field(form, "title"),
            match=_field(form, "match") or "summary",
            schedule=_field(form, "schedule") or "immediate",
            channels=tuple(str(c) for c in form.getall("channels", [])),
            urgent=form.get("urgent") == "on",
        )
        original = _field(form, "original")
        try:
            config = ConfigFile(console.config_file)
            config.put_topic(fields, replacing=original or None)
            await _apply(console, config)
        except ConfigError as exc:
            return await _render_form(
                console, request, fields, original=original, problems=exc.problems
            )
        console.flash(
            request, f"Topic {fields.name} saved to {console.config_file}; it applies now."
        )
        return _back("/topics")

    return action


def topic_delete(console: Console) -> Handler:
    async def action(request: web.Request) -> web.StreamResponse:
        name = _field(await request.post(), "name")
        config = ConfigFile(console.config_file)
        try:
            if config.delete_topic(name):
                await _apply(console, config)
                console.flash(request, f"Topic {name} deleted; its past stories stay in the store.")
            else:
                console.flash(request, f"No topic {name} in {console.config_file}.")
        except ConfigError as exc:
            console.flash(request, "Not deleted: " + "; ".join(exc.problems))
        return _back("/topics")

    return action


def stories(console: Console) -> Handler:
    async def page(request: web.Request) -> web.Response:
        settings, store = console.runtime.settings, console.records
        names = [t.name for t in settings.topics]
        topic = request.query.get("topic") or (names[0] if names else "")
        timeline = (
            await asyncio.to_thread(store.story_timeline, topic, TIMELINE_STORIES) if topic else []
        )
        keys = {key for _, reports in timeline for r in reports for key in r.digest_keys}
        return console.render(
            request,
            "stories.html",
            topics=names,
            topic=topic,
            timeline=timeline,
            sent=await asyncio.to_thread(store.sent_digests, sorted(keys)),
            muted=await asyncio.to_thread(store.muted_stories),
        )

    return page


def story_mute(console: Console) -> Handler:
    async def action(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        story, topic = _field(form, "story"), _field(form, "topic")
        store = console.records
        try:
            if form.get("unmute"):
                await asyncio.to_thread(story_mutes.unmute, store, story)
                console.flash(request, "Story unmuted: what waited goes with the next digest.")
            else:
                title, _ = await asyncio.to_thread(story_mutes.mute, store, story, console.now())
                console.flash(request, f"Muted: nothing more about “{title}” is sent.")
        except MonitorError as exc:
            console.flash(request, str(exc))
        return see_other(f"{PREFIX}/stories?topic={quote(topic)}#story-{quote(story)}")

    return action


def feeds(console: Console) -> Handler:
    async def page(request: web.Request) -> web.Response:
        settings, store = console.runtime.settings, console.records
        states = {s.url: s for s in await asyncio.to_thread(store.feed_states)}
        hints = await asyncio.to_thread(store.feed_hints)
        paused = await asyncio.to_thread(store.paused_feeds)
        rules = Rules.from_settings(settings.service)
        rows = [
            {
                "feed": feed,
                "key": feed_key(feed.url),
                "state": states.get(feed.url),
                "paused": feed.url in paused,
                "every": effective_interval(feed, hints.get(feed.url), rules),
            }
            for feed in settings.feeds
        ]
        return console.render(request, "feeds.html", rows=rows, redact=redact_url)

    return page


def feed_add(console: Console) -> Handler:
    async def action(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        url, name = _field(form, "url"), _field(form, "name")
        try:
            found = await find_feed(console.runtime.http, url)
            added = append_feeds(console.config_file, [(found.url, name or found.title)])
            await console.runtime.reload(load_settings(console.config_file))
        except MonitorError as exc:
            console.flash(request, f"Not added: {exc}")
            return _back("/feeds")
        what = "added" if added else "was there already"
        shown = redact_url(found.url)
        console.flash(request, f"{shown} ({found.title or 'untitled'}, {found.how}) {what}.")
        return _back("/feeds")

    return action


def feed_action(console: Console) -> Handler:
    async def action(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        key, verb = _field(form, "feed"), _field(form, "action")
        runtime = console.runtime
        url = next((f.url for f in runtime.settings.feeds if feed_key(f.url) == key), "")
        shown = redact_url(url)
        try:
            if not url:
                console.flash(request, "That feed is no longer configured.")
            elif verb == "pause":
                await asyncio.to_thread(
                    feed_control.pause, runtime.settings, runtime.store, url, console.now()
                )
                console.flash(request, f"Paused {shown}.")
            elif verb == "resume":
                await asyncio.to_thread(feed_control.resume, runtime.settings, runtime.store, url)
                console.flash(request, f"Resumed {shown}; it is polled when due.")
            elif verb == "remove":
                _, saved = await asyncio.to_thread(
                    feed_control.remove, console.config_file, runtime.settings, runtime.store, url
                )
                await runtime.reload(saved)
                console.flash(request, f"Removed {shown} from {console.config_file}.")
            elif verb == "poll":
                outcome = await feed_control.poll_now(runtime, url)
                console.flash(request, _poll_message(outcome))
        except MonitorError as exc:
            console.flash(request, str(exc))
        return _back("/feeds")

    return action


def feed_key(url: str) -> str:
    """How forms name a feed: its URL may hold credentials, which never go on a page."""
    return hashlib.sha256(url.encode()).hexdigest()[:20]


def _poll_message(outcome: feed_control.PollOutcome) -> str:
    report, shown = outcome.report, redact_url(outcome.feed.url)
    if report is None:
        return f"{shown} is being polled already."
    if report.error:
        return f"{shown}: failed: {report.error}"
    if report.not_modified:
        return f"{shown}: not modified since the last poll."
    titles = "; ".join(e.title for e in outcome.entries[:10])
    found = f"{shown}: {report.new_entries} new entries, {report.matches} matches"
    return found + (f": {titles}" if titles else ".")


def deliveries(console: Console) -> Handler:
    async def page(request: web.Request) -> web.Response:
        status = request.query.get("status")
        status = status if status in ("pending", "sent", "failed") else None
        store = console.records
        return console.render(
            request,
            "deliveries.html",
            status=status,
            rows=await asyncio.to_thread(store.latest_deliveries, status, DELIVERIES_SHOWN),
            counts=await asyncio.to_thread(store.outbox_counts),
            stopped=await asyncio.to_thread(store.stopped),
        )

    return page


def delivery_retry(console: Console) -> Handler:
    async def action(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        number = _field(form, "id")
        retried = number.isdigit() and await asyncio.to_thread(
            console.records.retry_delivery, int(number), console.now()
        )
        if retried:
            console.flash(request, f"Delivery {number} is queued again; it goes at the next tick.")
        else:
            console.flash(request, f"Delivery {number} is not a failed delivery.")
        return _back("/deliveries?status=failed")

    return action


def delivery_preview(console: Console) -> Handler:
    async def page(request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        try:
            digest = await asyncio.to_thread(console.records.rendered_digest, key)
        except NoResultFound:
            raise web.HTTPNotFound(text="no such digest\n") from None
        return console.render(request, "preview.html", digest=digest)

    return page


def delivery_email(console: Console) -> Handler:
    async def body(request: web.Request) -> web.Response:
        try:
            key = request.query.get("key", "")
            digest = await asyncio.to_thread(console.records.rendered_digest, key)
        except NoResultFound:
            raise web.HTTPNotFound(text="no such digest\n") from None
        # shown in a sandboxed frame: no script, no form, no request to anywhere
        policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
        return web.Response(
            text=digest.html,
            content_type="text/html",
            charset="utf-8",
            headers={"Content-Security-Policy": policy + "; frame-ancestors 'self'"},
        )

    return body
