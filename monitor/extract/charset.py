"""Page bytes → what they are (HTML, plain text or something else) and → str.

Pure functions, cheap enough for the event loop except `decode`, which may run charset
detection and so runs in the worker. The charset is chosen in this order:

1. a byte order mark (the WHATWG sniffing order puts it first: it cannot be wrong by accident);
2. the `charset` of the HTTP Content-Type header;
3. `<meta charset>` or `<meta http-equiv="Content-Type" content="…; charset=…">` in the first
   4 KiB;
4. strict UTF-8 (valid UTF-8 is almost never anything else), then charset_normalizer.

A declared charset that cannot decode the bytes strictly (a page that says UTF-8 but is
windows-1252) is passed over for the next source; the last resort decodes with replacement.
Labels follow the WHATWG encoding standard where Python differs: latin-1 and ASCII mean
windows-1252, and a meta tag naming UTF-16 means UTF-8.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:+-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE | re.DOTALL
)
_WHATWG_ALIASES = {
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "l1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "x-user-defined": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
}
# Single-byte and legacy charsets by how often the web uses them (W3Techs), for ties.
_WEB_ORDER = (
    "utf-8",
    "cp1252",
    "cp1251",
    "shift_jis",
    "euc_jp",
    "gb18030",
    "euc_kr",
    "cp1250",
    "iso8859-2",
    "big5",
    "cp1256",
    "cp1254",
    "cp1253",
    "cp1255",
    "cp874",
    "cp1257",
)
_DETECT_SAMPLE = 200_000  # bytes given to charset_normalizer: enough, and bounded in time
_HTML_MARK = re.compile(
    rb"<(!doctype\s+html|html|head|body|meta|title|p|div|article|br|a\s|script|link|table|span|h[1-6])\b",
    re.IGNORECASE,
)
_JSONISH = re.compile(rb"""[{\[]\s*["{\[]""")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)

# Magic numbers of what a link to an "article" sometimes serves instead.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (or office document)"),
    (b"\x1f\x8b", "gzip data"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg media"),
    (b"\x00\x00\x01\x00", "icon"),
)


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What a body is: `kind` is "html", "text" or "other"; `what` names it for messages."""

    kind: str
    what: str


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, when Python knows it."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return _known(match.group(1)) if match else None


def meta_charset(body: bytes) -> str | None:
    """The charset a `<meta>` tag in the first 4 KiB declares, when Python knows it."""
    match = _META_CHARSET.search(body[:4096])
    if not match:
        return None
    name = _known(match.group(1).decode("ascii", "replace"))
    return "utf-8" if name and name.startswith("utf-16") else name


def bom_charset(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


def _known(label: str) -> str | None:
    label = label.strip().lower()
    label = _WHATWG_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The text of `body` and the charset it was decoded with (see the module docstring)."""
    bom = bom_charset(body)
    if bom:
        return body.decode(bom, "replace").lstrip("\ufeff"), bom
    for declared in (header_charset(content_type), meta_charset(body)):
        if declared:
            try:
                return body.decode(declared), declared
            except UnicodeDecodeError:
                continue  # a wrong declaration: try the next source
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(body) - 3:  # only a character cut at the end (a truncated page)
            return body.decode("utf-8", "replace"), "utf-8"
    name = detect(body[:_DETECT_SAMPLE]) or "cp1252"
    return body.decode(name, "replace"), name


def detect(sample: bytes) -> str | None:
    """charset_normalizer's guess; among equally good guesses, the one most used on the web.

    Short Latin text often fits cp1250, cp1252 and cp1257 equally well (no chaos, same
    coherence); charset_normalizer then answers whichever it tried first.
    """
    import charset_normalizer  # only for pages that declare nothing and are not UTF-8

    matches = list(charset_normalizer.from_bytes(sample))
    if not matches:
        return None
    best = matches[0]
    tied = {
        _known(candidate) or candidate
        for match in matches
        if abs(match.chaos - best.chaos) < 1e-6 and abs(match.coherence - best.coherence) < 1e-6
        for candidate in match.could_be_from_charset
    }
    for preferred in _WEB_ORDER:
        if preferred in tied:
            return preferred
    return _known(best.encoding)


def strip_xml_declaration(text: str) -> str:
    """Without a leading `<?xml … encoding=…?>`: lxml refuses str input that carries one."""
    return _XML_DECL.sub("", text, count=1)


def sniff(body: bytes, content_type: str | None = None) -> Sniffed:
    """Whether `body` is HTML, plain text or something else, from its bytes first.

    Servers mislabel often (HTML sent as text/plain or application/octet-stream, PDFs as
    text/html), so the bytes decide whenever they are telling; the header only decides
    between plain text and the rest when the bytes are not.
    """
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    probe = body[:4096]
    bom = bom_charset(body)
    if bom and bom.startswith("utf-16"):
        probe = probe.decode(bom, "replace").encode("utf-8", "replace")
    head = probe.lstrip(b"\xef\xbb\xbf \t\r\n")[:1024]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return Sniffed("other", what)
    if head[:12].startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed("other", "WebP image")
    if head.startswith((b"{", b"[")) and (
        "json" in mime or _JSONISH.match(head) is not None or _is_json(body)
    ):
        return Sniffed("other", "JSON document")
    if _HTML_MARK.search(probe):
        if head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head):
            return Sniffed("other", "RSS/Atom feed")
        return Sniffed("html", "HTML page")
    if mime in ("text/html", "application/xhtml+xml") and b"\x00" not in head:
        return Sniffed("html", "HTML page")
    if b"\x00" in head:
        return Sniffed("other", f"binary data ({mime})" if mime else "binary data")
    if head.startswith(b"<?xml") or mime.endswith(("/xml", "+xml")):
        return Sniffed("other", "XML document")
    if mime.startswith(("image/", "audio/", "video/", "font/")) or mime in (
        "application/pdf",
        "application/octet-stream",
        "application/zip",
    ):
        return Sniffed("other", mime)
    if mime in ("", "text/plain") or mime.startswith("text/"):
        return Sniffed("text", "plain text")
    return Sniffed("other", mime)


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True
