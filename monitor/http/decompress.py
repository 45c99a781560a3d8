"""Response bodies decoded here, in bounded steps, so no compression bomb inflates past the cap.

aiohttp's own decompression is off (`auto_decompress=False`): each Content-Encoding layer
(gzip, possibly several members, or deflate, zlib-wrapped or raw; stacked as
`gzip, gzip`) is undone by a zlib decompressor that never produces more than STEP bytes per
call, and the decoded total is checked against `fetch.max_bytes` after every step.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import aiohttp

from monitor.errors import FetchError, TooLargeError

STEP = 64 * 1024  # bytes read from the socket, and produced by one zlib call, at a time


class _Layer:
    """One Content-Encoding (gzip or deflate) undone in steps of at most STEP bytes."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding == "gzip"
        self._inflater: zlib._Decompress | None = None
        self._head = b""  # the first byte of a stream, until a second says which kind it is
        self._done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        data, self._head = self._head + data, b""
        while data and not self._done:
            if self._inflater is None:
                if len(data) < 2:
                    self._head = data
                    return
                self._inflater = self._start(data)
            # max_length bounds each output; what zlib could not take waits in unconsumed_tail.
            out = self._inflater.decompress(data, STEP)
            if out:
                yield out
            if self._inflater.eof:  # gzip may hold several members back to back
                data, self._inflater = self._inflater.unused_data, None
                self._done = not self._gzip
            else:
                data = self._inflater.unconsumed_tail

    def flush(self) -> bytes:
        # Only zlib's pending state is left (our loop passed all input): well under STEP.
        return self._inflater.flush() if self._inflater is not None else b""

    def _start(self, head: bytes) -> zlib._Decompress:
        if self._gzip:  # a member; what follows one must be another (zlib says if not)
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped by the RFC, but some servers send it raw.
        wrapped = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


class _Decoder:
    """Raw body chunks in, decoded bytes out; TooLargeError once past the cap."""

    def __init__(self, codings: list[str], cap: int, url: str) -> None:
        self._layers = [_Layer(coding) for coding in reversed(codings)]  # last applied first
        self._cap = cap
        self._url = url
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        self._push(0, data)

    def finish(self) -> bytes:
        for level, layer in enumerate(self._layers):
            self._push(level + 1, layer.flush())
        return b"".join(self._parts)

    def _push(self, level: int, data: bytes) -> None:
        if level < len(self._layers):
            for piece in self._layers[level].feed(data):
                self._push(level + 1, piece)
            return
        self._size += len(data)
        if self._size > self._cap:
            raise TooLargeError(f"body larger than {self._cap} bytes decoded", url=self._url)
        self._parts.append(data)


def _content_codings(header: str, url: str) -> list[str]:
    codings = [c.strip().lower() for c in header.split(",")]
    codings = ["gzip" if c == "x-gzip" else c for c in codings if c and c != "identity"]
    for coding in codings:
        if coding not in ("gzip", "deflate"):
            hint = "the server ignored our Accept-Encoding: gzip, deflate"
            raise FetchError(f"unsupported Content-Encoding {coding!r}", url=url, hint=hint)
    return codings


async def read_body(resp: aiohttp.ClientResponse, cap: int, url: str) -> bytes:
    header = resp.headers.get("Content-Encoding", "")
    codings = _content_codings(header, url)
    if not codings and resp.content_length is not None and resp.content_length > cap:
        message = f"body of {resp.content_length} bytes is over the cap of {cap}"
        raise TooLargeError(message, url=url)
    decoder = _Decoder(codings, cap, url)
    try:
        async for chunk in resp.content.iter_chunked(STEP):
            decoder.feed(chunk)
        return decoder.finish()
    except zlib.error as exc:
        hint = "the server sent a corrupt compressed body"
        raise FetchError(f"body does not decode as {header}", url=url, hint=hint) from exc
