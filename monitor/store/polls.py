"""Feed state and claims, entries seen and the matches they made.

A feed is *claimed* before it is polled (`claim_feeds`: `FOR UPDATE SKIP LOCKED` and
a lease), so replicas never poll one feed in the same interval; saving the poll's
outcome ends the claim, and a process that dies frees its claims at the lease's end.
Replicas split the feeds evenly by `spread` (`replica_share`): each claims its own
share first, and another's only when never polled or overdue by more than a grace.
"""

import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from monitor.models import (
    Entry,
    FeedState,
    Match,
)
from monitor.store.base import StoreBase
from monitor.store.rows import (
    ClaimedFeed,
    SeenEntry,
    _feed_state,
    _hint,
    _match,
    _match_values,
)
from monitor.store.schema import (
    entries,
    feeds,
    matches,
    queue,
    replicas,
)


class Share(NamedTuple):
    """A replica's part of the feeds: those whose `spread` modulo `of` is `rank`.

    A feed of another share becomes anyone's once overdue by more than `grace`, so
    the share of a replica that died (or lags) is taken over.
    """

    rank: int
    of: int
    grace: timedelta


# whether a topic has a match for a URL; a match; a match queued for a channel
_MATCH_STATEMENTS = (
    select(func.count())
    .select_from(matches)
    .where(matches.c.topic == bindparam("topic"), matches.c.url == bindparam("url")),
    insert(matches),
    insert(queue),
)


class PollStore(StoreBase):
    """Feeds, entries and matches."""

    def feed_state(self, url: str) -> FeedState:
        return self.feed_schedule(url)[0]

    def feed_schedule(self, url: str) -> tuple[FeedState, timedelta | None]:
        """The feed's state and the interval its last document asked for (None: nothing)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(feeds).where(feeds.c.url == url)).mappings().first()
        if not row:
            return FeedState(url=url), None
        return _feed_state(row), _hint(row)

    def feed_states(self) -> list[FeedState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(feeds).order_by(feeds.c.url)).mappings().all()
        return [_feed_state(row) for row in rows]

    def feed_titles(self) -> dict[str, str]:
        """The title each feed last gave its site, by feed URL (feeds never read have none)."""
        with self.engine.connect() as conn:
            titled = select(feeds.c.url, feeds.c.title).where(feeds.c.title.is_not(None))
            return {url: title for url, title in conn.execute(titled)}

    def sync_feeds(self, urls: Sequence[str]) -> None:
        """Make `urls` the feeds to poll: a row each, active; every other row inactive."""
        with self.engine.begin() as conn:
            if urls:
                conn.execute(
                    self._insert_ignoring_duplicates(feeds),
                    [{"url": url, "consecutive_failures": 0} for url in urls],
                )
            conn.execute(update(feeds).values(active=False))
            if urls:
                conn.execute(
                    update(feeds)
                    .where(feeds.c.url == bindparam("feed"))
                    .values(active=True, spread=bindparam("spread")),
                    [{"feed": url, "spread": zlib.crc32(url.encode()) >> 1} for url in urls],
                )

    def claim_feeds(
        self,
        owner: str,
        now: datetime,
        lease: timedelta,
        *,
        limit: int | None = None,
        due_by: datetime | None = None,
        unchecked_since: datetime | None = None,
        share: Share | None = None,
    ) -> list[ClaimedFeed]:
        """Claim up to `limit` active feeds that are due and not claimed; return them.

        Due means a next check by `due_by` (default: now); with `unchecked_since`, due
        or not, every feed not checked since then (`once`). A claim lasts until the
        feed's state is saved, or until `now + lease` if the process dies first. Rows
        another process is claiming right now are skipped, not waited for, so replicas
        never poll one feed at once. Most overdue first; never-polled feeds in an order
        that mixes hosts. With a `share`, the replica's own feeds come first and, among
        those merely due, only its own are taken (never-polled feeds are anyone's, so a
        first round is not capped).
        """
        wanted = [
            feeds.c.active.is_(True),
            or_(feeds.c.claim_until.is_(None), feeds.c.claim_until <= now),
        ]
        if unchecked_since is not None:
            checked = feeds.c.last_checked
            wanted.append(or_(checked.is_(None), checked < unchecked_since))
        else:
            due = due_by or now
            wanted.append(or_(feeds.c.next_check.is_(None), feeds.c.next_check <= due))
        order: tuple[Any, ...] = (
            feeds.c.next_check.is_not(None),
            feeds.c.next_check,
            feeds.c.spread,
        )
        if share is not None and share.of > 1:
            mine = func.coalesce(feeds.c.spread, 0) % share.of == share.rank
            if unchecked_since is None:
                overdue = feeds.c.next_check <= now - share.grace
                wanted.append(or_(mine, feeds.c.next_check.is_(None), overdue))
            order = (case((mine, 0), else_=1), *order)
        rows = self._claim(feeds.c.url, wanted, order, limit, owner, now + lease)
        never = datetime.min.replace(tzinfo=UTC)
        spread = {row["url"]: row["spread"] or 0 for row in rows}
        claimed = [ClaimedFeed(_feed_state(row), _hint(row)) for row in rows]
        return sorted(claimed, key=lambda c: (c.state.next_check or never, spread[c.url]))

    def replica_share(self, owner: str, now: datetime, alive: timedelta, grace: timedelta) -> Share:
        """Note that `owner` is polling; its share among the replicas seen within `alive`.

        Rows of replicas not seen for longer are removed (a replica's id is new at each
        start), so a stopped or dead replica's share passes to the others.
        """
        with self.engine.begin() as conn:
            conn.execute(delete(replicas).where(replicas.c.last_seen < now - alive))
            conn.execute(
                self._upsert(replicas)
                .values(owner=owner, last_seen=now)
                .on_conflict_do_update(index_elements=["owner"], set_={"last_seen": now})
            )
            owners = list(conn.scalars(select(replicas.c.owner).order_by(replicas.c.owner)))
        return Share(owners.index(owner), len(owners), grace)

    def release_feed_claims(self, owner: str) -> None:
        """End `owner`'s claims on feeds it will not poll after all (it is stopping)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.claimed_by == owner)
                .values(claimed_by=None, claim_until=None)
            )

    def extend_claim(self, url: str, owner: str, until: datetime) -> bool:
        """Hold `owner`'s claim on the feed until `until`; False if the claim is gone."""
        with self.engine.begin() as conn:
            held = conn.execute(
                update(feeds)
                .where(feeds.c.url == url, feeds.c.claimed_by == owner)
                .values(claim_until=until)
            ).rowcount
        return bool(held)

    def save_feed_state(
        self, state: FeedState, *, title: str | None = None, hint: timedelta | None = None
    ) -> None:
        """Save the state; `title` and `hint` only when given (a 304 keeps the last ones)."""
        with self.engine.begin() as conn:
            self._save_feed_state(conn, state, title, hint)

    def save_feed_states(self, states: Sequence[FeedState]) -> None:
        """Save many polls' outcomes (304s, failures) in one transaction; titles and hints
        are kept as they are."""
        if states:
            with self.engine.begin() as conn:
                conn.execute(self._feed_state_upsert(), [_state_values(s) for s in states])

    def _save_feed_state(
        self, conn: Connection, state: FeedState, title: str | None, hint: timedelta | None
    ) -> None:
        conn.execute(self._feed_state_upsert(), _state_values(state, title, hint))

    def _feed_state_upsert(self) -> Any:
        """One statement for every state saved, so it is compiled once (a 304 costs little).

        A title or hint not given (None) keeps the stored one: a 304 carries no document.
        """
        if self._state_upsert is None:
            upsert = self._upsert(feeds)
            new = upsert.excluded
            kept = {"title": func.coalesce(new.title, feeds.c.title)}
            kept["hint_seconds"] = func.coalesce(new.hint_seconds, feeds.c.hint_seconds)
            skip = ("url", "title", "hint_seconds", "active", "spread")  # kept as they are
            fields = [c.name for c in feeds.c if c.name not in skip]
            self._state_upsert = upsert.on_conflict_do_update(
                index_elements=["url"], set_={**{f: new[f] for f in fields}, **kept}
            )
        return self._state_upsert

    def unseen(
        self, feed_url: str, batch: Sequence[Entry], *, first_read: bool = False
    ) -> list[Entry]:
        """The entries of `batch` this feed has not delivered before, in feed order, once each.

        `first_read`: the feed was never read, so nothing needs looking up.
        """
        keys = [] if first_read else [entry.key for entry in batch]
        seen: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):  # stay under SQLite's variable limit
                chunk = keys[start : start + 500]
                seen.update(
                    conn.scalars(
                        select(entries.c.key).where(
                            entries.c.feed_url == feed_url, entries.c.key.in_(chunk)
                        )
                    )
                )
        fresh: dict[str, Entry] = {}
        for entry in batch:
            if entry.key not in seen:
                fresh.setdefault(entry.key, entry)
        return list(fresh.values())

    def record_entries(
        self,
        new: Iterable[Entry],
        found: Iterable[Match],
        now: datetime,
        routes: Mapping[str, Sequence[str]] | None = None,
        *,
        feed: tuple[FeedState, str | None, timedelta | None] | None = None,
    ) -> int:
        """Store matches, queue them, mark entries seen and save `feed` state: one transaction.

        A match whose story (topic + canonical URL) is already known is skipped.
        Returns the number of matches added.
        """
        added = 0
        # statements built once, values passed as parameters: building and caching a
        # statement per match cost more than running it (a first poll has thousands)
        known, add_match, add_queued = _MATCH_STATEMENTS
        with self.engine.begin() as conn:
            for match in found:
                if conn.scalar(known, {"topic": match.topic, "url": match.url}):
                    continue
                inserted = conn.execute(
                    add_match, {**_match_values(match), "created": now}
                ).inserted_primary_key
                assert inserted is not None
                match_id = inserted[0]
                if not match.alert:
                    continue  # folded into its story ("also reported by"): no digest
                for channel in (routes or {}).get(match.topic, ()):
                    conn.execute(
                        add_queued,
                        {
                            "match_id": match_id,
                            "topic": match.topic,
                            "channel": channel,
                            "created": now,
                        },
                    )
                added += 1
            rows = [
                {
                    "feed_url": entry.feed_url,
                    "key": entry.key,
                    "first_seen": now,
                    "title": entry.title,
                    "summary": entry.summary,
                    "link": entry.link,
                }
                for entry in new
            ]
            if rows:  # one statement; an entry a concurrent poll stored first is skipped
                conn.execute(self._insert_ignoring_duplicates(entries), rows)
            if feed is not None:  # (state, title, hint): the poll's outcome, same transaction
                self._save_feed_state(conn, *feed)
        return added

    def recent_matches(self, topic: str, limit: int) -> list[tuple[int, Match, datetime]]:
        """The topic's latest stories, newest first: (id, match, when found)."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(matches)
                    .where(matches.c.topic == topic)
                    .order_by(matches.c.id.desc())
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [(row["id"], _match(row), row["created"]) for row in rows]

    def entries_since(self, since: datetime) -> list[SeenEntry]:
        """Entries first seen since `since`, with the text of their article when one was kept."""
        return [entry for _, entry in self.seen_entries(entries.c.first_seen >= since)]

    def match_counts(self, since: datetime) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(matches.c.topic, func.count())
                .where(matches.c.created >= since)
                .group_by(matches.c.topic)
            ).all()
        return {topic: count for topic, count in rows}


def _state_values(
    state: FeedState, title: str | None = None, hint: timedelta | None = None
) -> dict[str, Any]:
    """The parameters of the feed state upsert; None for title and hint keeps the stored."""
    return {
        "url": state.url,
        "etag": state.etag,
        "last_modified": state.last_modified,
        "last_checked": state.last_checked,
        "last_success": state.last_success,
        "last_error": state.last_error,
        "last_error_class": state.last_error_class,
        "consecutive_failures": state.consecutive_failures,
        "next_check": state.next_check,
        "title": title,
        "hint_seconds": None if hint is None else hint.total_seconds(),
        "claimed_by": None,  # the poll is over: its claim ends with its outcome
        "claim_until": None,
    }
