"""An entry's article page: fetched once, cleaned by the extractor, or a note saying why not.

When the page cannot be had (no link, a fetch error, a consent wall, a paywall, no
main text), the feed's own text is shown instead, with a note naming the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from monitor.errors import ExtractError, FetchError
from monitor.extract import Extractor
from monitor.http import HttpClient
from monitor.models import Article, Entry, Response

log = logging.getLogger(__name__)

_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"

# Why the feed's own text is shown instead of the page, by ExtractError.reason.
_FALLBACK_NOTES = {
    "consent wall": "The page is a cookie-consent wall; showing the feed's text.",
    "paywall": "The article is behind a paywall; showing the feed's text.",
    "javascript required": "The page needs JavaScript to show the article; "
    "showing the feed's text.",
    "not html": "The link is not a web page; showing the feed's text.",
    "no main text": "The article page had no readable text; showing the feed's text.",
}


@dataclass(frozen=True, slots=True)
class ArticlePages:
    """Fetches entries' pages and extracts their articles; never raises for the page's faults."""

    http: HttpClient
    extractor: Extractor

    async def page(self, entry: Entry) -> tuple[Response | None, str | None]:
        """The entry's page, or None and a note saying why the feed's text is shown."""
        if not entry.link:
            return None, "The entry has no link; showing the feed's text."
        try:
            return await self.http.get(entry.link, accept=_PAGE_ACCEPT), None
        except FetchError as exc:
            log.warning("page not fetched url=%s error=%s", exc.url, exc)
            return None, (
                f"The article page could not be fetched ({exc.error_class}); "
                "showing the feed's text."
            )

    async def article(self, page: Response, entry: Entry) -> tuple[Article | None, str | None]:
        """The cleaned page, or None and a note saying why the feed's text is shown."""
        try:
            article = await self.extractor.extract(
                page.body,
                url=page.url,
                content_type=page.headers.get("content-type"),
                summary=entry.summary,  # a page text far shorter than this is implausible
                # a dated entry needs the page's date only to note a disagreement
                date_search=entry.published is None,
            )
            return article, None
        except ExtractError as exc:
            log.warning("page gave no article url=%s reason=%s error=%s", exc.url, exc.reason, exc)
            return None, _FALLBACK_NOTES.get(exc.reason, _FALLBACK_NOTES["no main text"])
