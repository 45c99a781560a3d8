"""`news-monitor extract`: the text digests would show for a page, and why it is that text.

A source is a URL (fetched with the same client, address policy and caps as polling), a
saved file, or `-` for standard input. Each goes through the same extraction pool as the
service. One result per source, in the order given; a source that fails is reported and
the others still run.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from monitor.config import Settings
from monitor.errors import ExtractError, FetchError, redact_url
from monitor.extract import Extractor
from monitor.http import HttpClient
from monitor.models import Article

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"  # as polling asks for pages


@dataclass(frozen=True, slots=True)
class PageText:
    """One source's outcome: the article, or the error that explains why there is none."""

    source: str
    article: Article | None = None
    error: str | None = None  # a stable reason code ("paywall", "fetch failed", …)
    detail: str | None = None

    def as_json(self) -> dict[str, str | None]:
        if self.article is None:
            return {"source": self.source, "error": self.error, "detail": self.detail}
        a = self.article
        return {
            "source": self.source,
            "url": a.url,
            "title": a.title,
            "date": a.date,
            "author": a.author,
            "image": a.image,
            "site_name": a.site_name,
            "language": a.language,
            "canonical_url": a.canonical_url,
            "text": a.text,
        }

    def as_text(self) -> str:
        """The page for people: a heading line, its metadata, a blank line, the text."""
        a = self.article
        if a is None:
            return ""
        fields = [("Title", a.title), ("Date", a.date), ("Author", a.author), ("Image", a.image)]
        head = "".join(f"{name}: {value}\n" for name, value in fields if value)
        return f"== {self.source}\n{head}\n{a.text}\n"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


async def extract_all(
    settings: Settings, sources: Sequence[str], *, base_url: str | None = None
) -> list[PageText]:
    """Each source's article or error, in order. `base_url` stands for the address of saved
    files and standard input (links, the lead image and the site resolve against it)."""
    results: list[PageText] = []
    extract = settings.extract
    with Extractor(
        workers=1,
        timeout=extract.timeout.total_seconds(),
        min_chars=extract.min_chars,
        max_page_bytes=extract.max_page_bytes,
        recycle_every=0,
    ) as extractor:
        async with HttpClient(settings.fetch) as http:
            for source in sources:
                results.append(await _one(http, extractor, source, base_url))
    return results


async def _one(
    http: HttpClient, extractor: Extractor, source: str, base_url: str | None
) -> PageText:
    shown = redact_url(source) if is_url(source) else source
    content_type: str | None = None
    try:
        if is_url(source):
            page = await http.get(source, accept=PAGE_ACCEPT)
            body, url, content_type = page.body, page.url, page.headers.get("content-type")
        else:
            body = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
            url = base_url or (Path(source).resolve().as_uri() if source != "-" else "stdin:")
    except FetchError as exc:
        return PageText(shown, error="fetch failed", detail=str(exc))
    except OSError as exc:
        return PageText(shown, error="unreadable", detail=f"cannot read {source}: {exc.strerror}")
    try:
        article = await extractor.extract(body, url=url, content_type=content_type)
    except ExtractError as exc:
        return PageText(shown, error=exc.reason, detail=str(exc))
    return PageText(shown, article=article)


def write(results: Sequence[PageText], out: TextIO, *, as_json: bool) -> None:
    """Results as text blocks (failures left to stderr), or as one JSON object a line."""
    first = True
    for result in results:
        if as_json:
            out.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        elif result.article is not None:
            out.write(("" if first else "\n") + result.as_text())
            first = False


def run(settings: Settings, sources: Sequence[str], *, base_url: str | None, as_json: bool) -> int:
    """The command: print every source's result; exit 1 when any source gave no article."""
    results = asyncio.run(extract_all(settings, sources, base_url=base_url))
    write(results, sys.stdout, as_json=as_json)
    for result in results:
        if result.article is None:
            print(f"error: {result.source}: {result.detail}", file=sys.stderr)
    return 1 if any(result.article is None for result in results) else 0
