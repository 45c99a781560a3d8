"""What the topics would have sent: the whole pipeline over an archive of articles.

An archive is JSON Lines, one article a line (`id`, `time`, `source`, `url`, `title`,
and `text` or `html`). The articles are taken in time order (stable), each with the
clock at its time, through the same matching, story placement and what-is-new code as
a live poll; digests are built on each topic's schedule as the clock advances, and once
more a week after the last article. Everything lives in a temporary store: the
configured one is never opened, and nothing is sent.

The result is one `Alert` per (topic, article) that matched.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config import Settings, TopicConfig
from monitor.delivery.outbox import queue_due_digests
from monitor.errors import ExtractError
from monitor.extract import Extractor
from monitor.models import Match
from monitor.pipeline.placement import Candidate, place
from monitor.pipeline.story_sync import SharedStories
from monitor.query import Document, TopicIndex, compile_query
from monitor.store import Store
from monitor.stories import StoryArticle, StoryBook
from monitor.urls import canonical_url

CHANNEL = "replay"  # the one channel every replayed topic is routed to
FINAL_DIGEST_AFTER = timedelta(days=8)  # any schedule of a week or less is due by then


@dataclass(frozen=True, slots=True)
class ArchivedArticle:
    id: str
    time: datetime
    source: str
    url: str
    title: str
    text: str | None
    html: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    """What one topic made of one article (a line of the replay's output)."""

    topic: str
    article: str  # the archive's id
    story: str  # its story at the end of the replay (merged ids resolved)
    story_then: str  # its story when it was placed
    kind: str  # new_story, development, also_reported or duplicate
    sent: bool  # its content is in a digest item for the topic
    what_is_new: list[str]
    also_reported_by: list[str]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def read_archive(lines: Iterable[str]) -> tuple[list[ArchivedArticle], list[str]]:
    """The articles of an archive in time order (stable), and one problem per bad line."""
    articles: list[ArchivedArticle] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            article = _article(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if article.id in seen:
            problems.append(f"line {number}: id {article.id!r} was already used")
            continue
        seen.add(article.id)
        articles.append(article)
    articles.sort(key=lambda a: a.time)
    return articles, problems


def _article(row: Any) -> ArchivedArticle:
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    for key in ("id", "time", "url"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise ValueError(f"{key!r} is missing or not a string")
    text, html = row.get("text"), row.get("html")
    if not isinstance(text, str) and not isinstance(html, str) and not row.get("title"):
        raise ValueError("has no 'title', 'text' or 'html'")
    return ArchivedArticle(
        id=row["id"],
        time=parse_time(row["time"]),
        source=str(row.get("source") or ""),
        url=row["url"],
        title=str(row.get("title") or ""),
        text=text if isinstance(text, str) else None,
        html=html if isinstance(html, str) else None,
    )


def parse_time(value: str) -> datetime:
    """An ISO date (taken at noon UTC: the middle of the day) or timestamp (UTC if naive)."""
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(hour=12, tzinfo=UTC)
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'time' {value!r} is not an ISO date or timestamp") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class _Placed:
    article: str
    match: Match


class Replay:
    """One replay: a temporary store, the topics' index and the story book."""

    def __init__(self, settings: Settings, topics: Sequence[TopicConfig], directory: Path):
        self.settings = settings
        self.topics = list(topics)
        self.index = TopicIndex({t.name: compile_query(t.query) for t in topics})
        self.routes = {t.name: [CHANNEL] for t in topics}
        self.store = Store(f"sqlite:///{directory / 'replay.db'}")
        self.store.migrate()
        self.stories = SharedStories(self.store, settings.stories, StoryBook(settings.stories))
        self.placed: list[_Placed] = []
        self.digested: dict[tuple[str, str], tuple[str, str | None]] = {}  # -> digest, story

    async def run(self, articles: Sequence[ArchivedArticle], extractor: Extractor) -> list[Alert]:
        for archived in articles:
            candidate = await self._matches(archived, extractor)
            if candidate is not None:
                self._place(candidate, archived.time)
            self._digests(archived.time)
        if articles:
            self._digests(articles[-1].time + FINAL_DIGEST_AFTER)
        return self._alerts()

    async def _matches(self, archived: ArchivedArticle, extractor: Extractor) -> Candidate | None:
        text = archived.text
        if text is None and archived.html is not None:
            try:
                page = await extractor.extract(
                    archived.html.encode(), url=archived.url, content_type="text/html"
                )
                text = page.text
            except ExtractError:
                text = None  # as a live poll would: the feed's own text, here the title
        text = text or ""
        url = canonical_url(archived.url)
        title = archived.title or url
        explained = self.index.match(Document(title, text, archived.source, url))
        if not explained:
            return None
        article = StoryArticle(url, url, archived.source, title, text, archived.time)
        matches = [
            Match(
                topic=name,
                entry_key=archived.id,
                feed_url="replay",
                url=url,
                title=title,
                text=text or title,
                source=archived.source,
                published=archived.time,
                terms=explanation.terms,
                snippet=explanation.snippet,
            )
            for name, explanation in explained.items()
        ]
        return article, matches

    def _place(self, candidate: Candidate, now: datetime) -> None:
        with self.stories.updating(now) as book:
            found = place(book, [candidate], now)
            self.store.record_entries([], found, now, self.routes)
        self.placed += [_Placed(m.entry_key, m) for m in found]

    def _digests(self, now: datetime) -> None:
        before = {
            (q.match.topic, q.match.url): q.match.story_id
            for waiting in self.store.waiting(CHANNEL).values()
            for q in waiting
        }
        if not before:
            return
        keys = queue_due_digests(
            self.store,
            self.topics,
            channels=[CHANNEL],
            now=now,
            settings=self.settings.digest,
            timezone=self.settings.service.timezone,
        )
        if not keys:
            return
        after = {
            (q.match.topic, q.match.url)
            for waiting in self.store.waiting(CHANNEL).values()
            for q in waiting
        }
        for taken in before.keys() - after:
            self.digested[taken] = (keys[0], before[taken])

    def _alerts(self) -> list[Alert]:
        final: dict[tuple[str, str], str | None] = {}
        for topic in self.topics:
            for _, match, _ in self.store.recent_matches(topic.name, len(self.placed) + 1):
                final[(topic.name, match.url)] = match.story_id
        book = self.stories.book
        items = self._digest_items()
        alerts = []
        for placed in self.placed:
            m = placed.match
            then = m.story_id or ""
            key = (m.topic, m.url)
            story = final.get(key) or book.resolve(then)  # stored ids follow merges
            sent = m.alert and key in self.digested
            also: list[str] = []
            if sent:
                digest_key, story_at_digest = self.digested[key]
                item = items.get((digest_key, m.topic, story_at_digest or m.url), {})
                also = [r["source"] for r in item.get("story", {}).get("also_reported_by", [])]
            alerts.append(
                Alert(
                    topic=m.topic,
                    article=placed.article,
                    story=story,
                    story_then=then,
                    kind=m.story_kind or "new_story",
                    sent=sent,
                    what_is_new=list(m.new_sentences),
                    also_reported_by=also,
                )
            )
        return alerts

    def _digest_items(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """Each digest's items by (digest, topic, story id or URL)."""
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        for key in {digest for digest, _ in self.digested.values()}:
            document = json.loads(self.store.rendered_digest(key).json)
            for section in document["sections"]:
                topic = section["topic"]["name"]
                for item in section["items"]:
                    out.setdefault((key, topic, item["story"]["id"] or item["url"]), item)
        return out

    def close(self) -> None:
        self.store.close()


async def replay(
    settings: Settings, articles: Sequence[ArchivedArticle], topics: Sequence[TopicConfig]
) -> list[Alert]:
    """The alerts of `topics` over `articles` (in time order), in a temporary store."""
    with tempfile.TemporaryDirectory(prefix="news-monitor-replay-") as directory:
        run = Replay(settings, topics, Path(directory))
        try:
            with Extractor(
                workers=1,
                timeout=settings.extract.timeout.total_seconds(),
                min_chars=settings.extract.min_chars,
                max_page_bytes=settings.extract.max_page_bytes,
            ) as extractor:
                return await run.run(articles, extractor)
        finally:
            run.close()
