"""Every word of a page, cheaply: the pass that decides whether full extraction is worth it.

trafilatura keeps a part of the page's text; this keeps all of it (menus and footers
too), so a query that does not match these words cannot match the article either. A
few regular expressions in this process, a hundred times cheaper than an extraction in
a worker.
"""

from __future__ import annotations

import html
import re

from monitor.extract.charset import decode

__all__ = ["page_words"]

_HIDDEN = re.compile(
    r"<(script|style|template|svg)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]*>")
_MAX_CHARS = 3_000_000


def page_words(body: bytes, content_type: str | None = None) -> str:
    """The page's text with its markup, scripts and styles removed (entities decoded)."""
    text, _ = decode(body[:_MAX_CHARS], content_type)
    return html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", text)))
