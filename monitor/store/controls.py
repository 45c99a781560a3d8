"""What an operator decided by hand: feeds paused, stories muted (`feeds pause`, `stories mute`).

Kept in the store, not the config, so that a pause or a mute survives a restart
and is seen at once by every replica. A paused feed is also marked inactive in
`feeds`, which is what keeps it out of `claim_feeds`; `sync_feeds` at each start
or reload is given the configured feeds minus the paused ones.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Column, Connection, String, Table, Text, delete, or_, select, update

from monitor.store.base import StoreBase
from monitor.store.rows import ClaimedFeed, _feed_state, _hint
from monitor.store.schema import UTCDateTime, feeds, matches, metadata

feed_pauses = Table(
    "feed_pauses",
    metadata,
    Column("url", String(2000), primary_key=True),
    Column("paused_at", UTCDateTime, nullable=False),
)

story_mutes = Table(
    "story_mutes",
    metadata,
    Column("story_id", String(100), primary_key=True),
    Column("title", Text),
    Column("muted_at", UTCDateTime, nullable=False),
)


def create_control_tables(conn: Connection) -> None:
    """Migration 0013: the two tables above."""
    feed_pauses.create(conn, checkfirst=True)
    story_mutes.create(conn, checkfirst=True)


class ControlStore(StoreBase):
    """Pauses and mutes: set, cleared and listed."""

    def pause_feed(self, url: str, now: datetime) -> bool:
        """Pause polling of `url`; False if it was paused already."""
        with self.engine.begin() as conn:
            if conn.scalar(select(feed_pauses.c.url).where(feed_pauses.c.url == url)):
                return False
            conn.execute(feed_pauses.insert().values(url=url, paused_at=now))
            conn.execute(update(feeds).where(feeds.c.url == url).values(active=False))
        return True

    def resume_feed(self, url: str, *, configured: bool) -> bool:
        """Resume polling of `url` (active again if still `configured`); False if not paused."""
        with self.engine.begin() as conn:
            gone = conn.execute(delete(feed_pauses).where(feed_pauses.c.url == url)).rowcount
            if gone and configured:
                conn.execute(update(feeds).where(feeds.c.url == url).values(active=True))
        return bool(gone)

    def paused_feeds(self) -> dict[str, datetime]:
        """Paused feed URLs, with when each was paused."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(feed_pauses.c.url, feed_pauses.c.paused_at)).all()
        return {url: when for url, when in rows}

    def mute_story(self, story_id: str, title: str | None, now: datetime) -> bool:
        """Send nothing more about a story; False if it was muted already."""
        with self.engine.begin() as conn:
            if conn.scalar(
                select(story_mutes.c.story_id).where(story_mutes.c.story_id == story_id)
            ):
                return False
            conn.execute(story_mutes.insert().values(story_id=story_id, title=title, muted_at=now))
        return True

    def unmute_story(self, story_id: str) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(story_mutes).where(story_mutes.c.story_id == story_id))
        return bool(gone.rowcount)

    def muted_stories(self) -> dict[str, tuple[str | None, datetime]]:
        """Muted story ids, with the title given when muting and when."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(story_mutes)).mappings().all()
        return {row["story_id"]: (row["title"], row["muted_at"]) for row in rows}

    def forget_feeds(self, urls: Iterable[str]) -> None:
        """Drop the pause of feeds removed from the config (their state rows stay, inactive)."""
        with self.engine.begin() as conn:
            conn.execute(delete(feed_pauses).where(feed_pauses.c.url.in_(list(urls))))

    def claim_feed(
        self, url: str, owner: str, now: datetime, lease: timedelta
    ) -> ClaimedFeed | None:
        """Claim one feed to poll it now, due or not; None if another poll holds it."""
        wanted = [
            feeds.c.url == url,
            or_(feeds.c.claim_until.is_(None), feeds.c.claim_until <= now),
        ]
        rows = self._claim(feeds.c.url, wanted, [feeds.c.url], 1, owner, now + lease)
        return ClaimedFeed(_feed_state(rows[0]), _hint(rows[0])) if rows else None

    def poll_soon(self, url: str, now: datetime) -> bool:
        """Make a feed due now: the running service polls it at its next tick."""
        with self.engine.begin() as conn:
            done = conn.execute(update(feeds).where(feeds.c.url == url).values(next_check=now))
        return bool(done.rowcount)

    def reschedule(self, intervals: Mapping[str, timedelta]) -> int:
        """Bring forward feeds whose new interval makes them due sooner; return how many.

        A feed checked at T with a next check at T + 1h whose interval became 10m is
        next checked at T + 10m, not in an hour.
        """
        moved = 0
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(feeds.c.url, feeds.c.last_checked, feeds.c.next_check).where(
                    feeds.c.url.in_(list(intervals))
                )
            ).all()
            for url, checked, planned in rows:
                if checked is None or planned is None:
                    continue
                sooner = checked + intervals[url]
                if sooner < planned:
                    conn.execute(update(feeds).where(feeds.c.url == url).values(next_check=sooner))
                    moved += 1
        return moved

    def feed_hints(self) -> dict[str, timedelta | None]:
        """The interval each feed's last document asked for (<ttl>, publishing rate)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(feeds.c.url, feeds.c.hint_seconds)).mappings().all()
        return {row["url"]: _hint(row) for row in rows}

    def story_title(self, story_id: str) -> str | None:
        """The title of the story's first report, or None if no match belongs to it."""
        with self.engine.connect() as conn:
            return conn.scalar(
                select(matches.c.title)
                .where(matches.c.story_id == story_id)
                .order_by(matches.c.id)
                .limit(1)
            )
