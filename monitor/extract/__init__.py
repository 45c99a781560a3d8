"""Article page → `Article`: charset, walls, trafilatura in a process pool, metadata.

    worker_pool.py  Extractor: the process pool, timeout, size cap, worker recycling
    jobs.py     what crosses to a worker and back (the service never imports trafilatura)
    worker.py   one page in a worker: sniff, decode, trafilatura, metadata (plain strings out)
    blocks.py   the page as a reader sees it: one line per block element
    recover.py  article text trafilatura left out: when to retry, skipped paragraphs put back
    promotions.py  paragraphs that are not the article: promotions, rails, captions, headline
    structured.py  the body a page declares in its JSON-LD, for pages that show too little
    charset.py  what the bytes are and their charset (header, meta, BOM, detection)
    detect.py   consent walls, paywall stubs, "enable JavaScript" pages
    rough.py    every word of a page, cheaply: whether full extraction is worth it
    compare.py  pure helpers for the pipeline: feed text vs page text, feed date vs page date

trafilatura's own downloader (`fetch_url`) is never used: pages come from our HTTP client.
"""

from monitor.extract.compare import DateChoice, TextChoice, better_text, check_date, overlap
from monitor.extract.jobs import Job, Result, extract_sync, run
from monitor.extract.rough import page_words
from monitor.extract.worker_pool import Extractor, Worker, truncate

__all__ = [
    "DateChoice",
    "Extractor",
    "Job",
    "Result",
    "TextChoice",
    "Worker",
    "better_text",
    "check_date",
    "extract_sync",
    "overlap",
    "page_words",
    "run",
    "truncate",
]
