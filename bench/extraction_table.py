"""Extraction quality per site on site-disjoint development and test splits.

    .venv/bin/python -m bench.extraction_table              # both splits, per site
    .venv/bin/python -m bench.extraction_table --split test # the figures that decide
    .venv/bin/python -m bench.extraction_table --pages      # plus one line per page
    .venv/bin/python -m bench.extraction_table --ablate     # each rule taken out in turn
    .venv/bin/python -m bench.extraction_table --command    # news-monitor's text from the CLI
    .venv/bin/python -m bench.extraction_table --shells     # pages as script-rendered shells

Three extractors over the corpus pages, in one process, one after the other on each page:
trafilatura's defaults (`trafilatura.extract(html)`), trafilatura with `favor_precision`,
and news-monitor (`monitor.extract.extract_sync`, exactly what digests use; a refused page
is empty text). Per site and per split:

- text F1: word 4-gram shingle F1 against the true text (mean over pages);
- must-have recall: share of must-have snippets found in the extraction (pooled);
- must-not leakage: share of must-not snippets found in the extraction (pooled);
- CPU milliseconds per page (process time, this process only).

The corpus annotates only the true body, so the snippets are derived from it by fixed rules
(chosen before any result was looked at; see `must_have` and `must_not`). The split is
fixed in `bench/extraction_split.json`: pages of one site are never on both sides. Tune on
`dev`; the `test` split decides.

`--ablate` scores news-monitor with each of its mechanisms (`MECHANISMS`: the retry, the
recovery of skipped prose and quoted posts, the declared JSON-LD body, rails, captions and
the repeated headline) and each promotion rule taken out in turn: a rule earns its place
when taking it out raises leakage or lowers recall or F1.
`--command` takes news-monitor's text from `news-monitor extract --json` (the worker pool,
as the service runs it) instead of calling the extraction in this process, and says how
many pages differ between the two (none should); its CPU column then reads 0, the work
being done in the command's worker. `--shells` serves every page that declares its body in
JSON-LD as a script-rendered site would (head and JSON-LD, no article markup) and scores
what the defaults and news-monitor make of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from lxml import html as lxml_html
from trafilatura.utils import load_html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.extract import extract_sync, overlap, promotions, recover, structured
from monitor.extract.compare import shingles

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "articles"
SPLIT = Path(__file__).resolve().parent / "extraction_split.json"

# Targets of the test split (issue 19).
MIN_RECALL = 0.98
MAX_LEAKAGE = 0.02
MIN_F1_GAIN = 0.02

_WORD = re.compile(r"\w+")
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "select"}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "button", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "label", "legend", "li", "main", "nav", "ol", "option", "p", "pre",
    "section", "summary", "table", "td", "th", "tr", "ul",
}  # fmt: skip
MUST_HAVE_WORDS = 8  # a must-have snippet: a true paragraph's first and last 8 words
MUST_NOT_MIN_WORDS = 5  # a must-not snippet: a line of the page of at least 5 words…
MUST_NOT_MAX_SHARED = 0.5  # …with less than half of its 4-grams in the true text

Extractor = Callable[[dict[str, Any]], str]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def site_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def page_lines(html: bytes | str) -> list[str]:
    """The page's visible text, one line per block element (script, style etc. left out)."""
    tree = load_html(html)
    if tree is None:
        return []
    body = tree.find(".//body")
    parts: list[str] = []

    def walk(node: Any) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP:
            parts.append(node.tail or "")
            return
        block = tag in _BLOCKS
        parts.append("\n" if block else "")
        parts.append(node.text or "")
        for child in node:
            walk(child)
        parts.append("\n" if block else "")
        parts.append(node.tail or "")

    walk(body if body is not None else tree)
    return [" ".join(line.split()) for line in "".join(parts).split("\n") if line.strip()]


def must_have(truth: str) -> list[str]:
    """A true paragraph's first and last MUST_HAVE_WORDS words (a short one whole, from 3)."""
    snippets: list[str] = []
    for paragraph in truth.split("\n"):
        tokens = words(paragraph)
        if len(tokens) < 3:
            continue
        for piece in (tokens[:MUST_HAVE_WORDS], tokens[-MUST_HAVE_WORDS:]):
            joined = " ".join(piece)
            if joined not in snippets:
                snippets.append(joined)
    return snippets


def must_not(lines: list[str], truth: str) -> list[str]:
    """Lines of the page that are not the article: long enough to be told apart, and
    sharing less than half of their 4-grams with the true text."""
    true_grams, true_words = shingles(truth), f" {' '.join(words(truth))} "
    snippets: list[str] = []
    for line in lines:
        tokens = words(line)
        joined = " ".join(tokens)
        if len(tokens) < MUST_NOT_MIN_WORDS or f" {joined} " in true_words or joined in snippets:
            continue
        grams = shingles(joined)
        if grams and len(grams & true_grams) / len(grams) < MUST_NOT_MAX_SHARED:
            snippets.append(joined)
    return snippets


@dataclass
class Page:
    id: str
    url: str
    site: str
    html: bytes
    truth: str
    have: list[str]
    have_unreachable: int
    not_: list[str]


def load(corpus: Path) -> list[Page]:
    pages = []
    for line in (corpus / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        html = (corpus / row["file"]).read_bytes()
        lines = page_lines(html)
        visible = f" {' '.join(words(' '.join(lines)))} "
        have = must_have(row["text"])
        reachable = [s for s in have if f" {s} " in visible]  # the page must show it
        pages.append(
            Page(
                row["id"],
                row["url"],
                site_of(row["url"]),
                html,
                row["text"],
                reachable,
                len(have) - len(reachable),
                must_not(lines, row["text"]),
            )
        )
    return pages


def read_split(pages: list[Page]) -> dict[str, str]:
    doc = json.loads(SPLIT.read_text(encoding="utf-8"))
    split = {site: name for name in ("dev", "test") for site in doc[name]}
    missing = sorted({p.site for p in pages} - set(split))
    if missing:
        raise SystemExit(f"{SPLIT}: sites missing from the split: {', '.join(missing)}")
    return split


def defaults(page: Page) -> str:
    return trafilatura.extract(page.html) or ""


def precision(page: Page) -> str:
    return trafilatura.extract(page.html, favor_precision=True) or ""


def ours(page: Page) -> str:
    result = extract_sync(page.html, page.url)
    return "" if "error" in result else result.get("text") or ""


def from_command(pages: list[Page]) -> Callable[[Page], str]:
    """news-monitor's text for each page as `news-monitor extract --json` prints it."""
    files = [str(CORPUS / f"{page.id}.html") for page in pages]
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "extract", "--json", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    texts = {Path(row["source"]).stem: row.get("text") or "" for row in rows}
    differ = [page.id for page in pages if texts.get(page.id, "") != ours(page)]
    print(f"news-monitor extract: {len(rows)} pages, differing from in-process: {differ or 'none'}")
    return lambda page: texts.get(page.id, "")


EXTRACTORS: dict[str, Callable[[Page], str]] = {
    "defaults": defaults,
    "precision": precision,
    "ours": ours,
}


@dataclass
class Tally:
    """One extractor's figures over a group of pages."""

    f1: list[float] = field(default_factory=list)
    have: int = 0
    kept: int = 0
    not_: int = 0
    leaked: int = 0
    cpu: float = 0.0

    def add(self, page: Page, text: str, cpu: float) -> None:
        self.f1.append(overlap(page.truth, text)[2])
        got = f" {' '.join(words(text))} "
        self.have += len(page.have)
        self.kept += sum(1 for s in page.have if f" {s} " in got)
        self.not_ += len(page.not_)
        self.leaked += sum(1 for s in page.not_ if f" {s} " in got)
        self.cpu += cpu

    @property
    def mean_f1(self) -> float:
        return statistics.fmean(self.f1) if self.f1 else 0.0

    @property
    def recall(self) -> float:
        return self.kept / self.have if self.have else 1.0

    @property
    def leakage(self) -> float:
        return self.leaked / self.not_ if self.not_ else 0.0

    def ms(self) -> float:
        return 1000 * self.cpu / len(self.f1) if self.f1 else 0.0


def run(pages: list[Page], *, per_page: bool) -> dict[tuple[str, str], Tally]:
    """Tallies keyed by (group, extractor): group is a site, "dev" or "test"."""
    split = read_split(pages)
    for page in pages:  # one-time set-ups (imports, jusText's word lists) are not timed
        for function in EXTRACTORS.values():
            function(page)
    tallies: dict[tuple[str, str], Tally] = {}
    for page in pages:
        for name, function in EXTRACTORS.items():
            started = time.process_time()
            text = function(page)
            cpu = time.process_time() - started
            for group in (page.site, split[page.site]):
                tallies.setdefault((group, name), Tally()).add(page, text, cpu)
            if per_page:
                one = Tally()
                one.add(page, text, cpu)
                print(
                    f"  {page.id} {page.site:28s} {name:9s} F1 {one.mean_f1:.3f} "
                    f"have {one.kept}/{one.have} leak {one.leaked}/{one.not_}"
                )
    return tallies


def _cells(tallies: dict[tuple[str, str], Tally], group: str) -> str:
    row = [tallies[(group, name)] for name in EXTRACTORS]
    return (
        " ".join(f"{t.mean_f1:.3f}" for t in row)
        + " | "
        + " ".join(f"{100 * t.recall:5.1f}" for t in row)
        + " | "
        + " ".join(f"{100 * t.leakage:5.1f}" for t in row)
        + " | "
        + " ".join(f"{t.ms():4.0f}" for t in row)
    )


def table(pages: list[Page], tallies: dict[tuple[str, str], Tally], splits: list[str]) -> None:
    split = read_split(pages)
    print(
        "| site | split | pages | have | not | text F1 (defaults precision ours) "
        "| must-have recall % | must-not leakage % | CPU ms/page |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in splits:
        sites = sorted({p.site for p in pages if split[p.site] == name})
        for site in sites:
            mine = [p for p in pages if p.site == site]
            print(
                f"| {site} | {name} | {len(mine)} | {sum(len(p.have) for p in mine)} "
                f"| {sum(len(p.not_) for p in mine)} | {_cells(tallies, site)} |"
            )
    for name in splits:
        mine = [p for p in pages if split[p.site] == name]
        print(
            f"| **all {name}** | {name} | {len(mine)} | {sum(len(p.have) for p in mine)} "
            f"| {sum(len(p.not_) for p in mine)} | {_cells(tallies, name)} |"
        )


def verdict(tallies: dict[tuple[str, str], Tally], name: str) -> Iterator[str]:
    mine, plain = tallies[(name, "ours")], tallies[(name, "defaults")]
    yield f"must-have recall {100 * mine.recall:.1f} % (target >= {100 * MIN_RECALL:.0f} %)"
    yield f"must-not leakage {100 * mine.leakage:.1f} % (target <= {100 * MAX_LEAKAGE:.0f} %)"
    gain = mine.mean_f1 - plain.mean_f1
    yield f"text F1 {mine.mean_f1:.3f} vs defaults {plain.mean_f1:.3f}: {100 * gain:+.1f} points"
    yield f"(target >= +{100 * MIN_F1_GAIN:.0f})"


def _keep_all(paragraphs: list[str], lines: list[Any]) -> list[str]:
    return paragraphs


def _nothing_missed(text: str, lines: list[Any]) -> str:
    return text


def _only_short(text: str, lines: list[Any], *, summary: str | None, min_chars: int) -> bool:
    return len(text) < min_chars


def _never(*args: Any, **kwargs: Any) -> bool:
    return False


# Each mechanism that is not a phrase rule, and what taking it out means: (module, name,
# stand-in).
MECHANISMS: dict[str, tuple[Any, str, Callable[..., Any]]] = {
    "implausible": (recover, "implausible", _only_short),
    "missed prose": (recover, "missed", _nothing_missed),
    "quoted posts": (recover, "_quoted", _never),
    "declared body": (structured, "instead_of", _never),
    "rails": (promotions, "rails", _keep_all),
    "captions and headline": (promotions, "captions", _keep_all),
}


@contextlib.contextmanager
def _without(rule: str) -> Iterator[None]:
    """news-monitor's extraction with one rule taken out ("" for none)."""
    saved_rules = dict(promotions.RULES)
    saved = {name: getattr(module, name) for module, name, _ in MECHANISMS.values()}
    if rule in promotions.RULES:
        del promotions.RULES[rule]
    elif rule in MECHANISMS:
        module, name, stand_in = MECHANISMS[rule]
        setattr(module, name, stand_in)
    try:
        yield
    finally:
        promotions.RULES.clear()
        promotions.RULES.update(saved_rules)
        for module, name, _ in MECHANISMS.values():
            setattr(module, name, saved[name])


def ablate(pages: list[Page], splits: list[str]) -> None:
    split = read_split(pages)
    rules = ["", *MECHANISMS, *promotions.RULES]
    print("\n| taken out | " + " | ".join(f"{n} F1 / recall % / leakage %" for n in splits) + " |")
    print("| --- |" + " --- |" * len(splits))
    for rule in rules:
        with _without(rule):
            tallies = {name: Tally() for name in splits}
            for page in pages:
                started = time.process_time()
                text = ours(page)
                tallies[split[page.site]].add(page, text, time.process_time() - started)
        cells = [
            f"{t.mean_f1:.3f} / {100 * t.recall:.1f} / {100 * t.leakage:.1f}"
            for t in tallies.values()
        ]
        print(f"| {rule or '(nothing: all rules)'} | " + " | ".join(cells) + " |")


def shell(page: Page) -> str:
    """`page` as a script-rendered site serves it: its head, its JSON-LD blocks, an empty
    element for the scripts to fill and a <noscript> note; no article markup."""
    tree = lxml_html.fromstring(page.html.decode("utf-8", "replace"))
    head = tree.find("head")
    kept = "".join(
        lxml_html.tostring(script, encoding="unicode")
        for script in tree.xpath("//body//script[contains(@type, 'ld+json')]")
    )
    return (
        f"<html>{'' if head is None else lxml_html.tostring(head, encoding='unicode')}"
        f'<body><div id="app"></div>{kept}<noscript>Please enable JavaScript.</noscript>'
        "</body></html>"
    )


def shells(pages: list[Page], splits: list[str]) -> None:
    """Every page that declares an article body in JSON-LD, served as a shell (`shell`):
    what trafilatura's defaults and news-monitor (without and with the declared body) make
    of a page that shows too little."""
    split = read_split(pages)
    print(
        "\n| page | site | split | text F1 (defaults, ours without, ours) | ours without → ours |"
    )
    print("| --- | --- | --- | --- | --- |")
    for page in pages:
        tree = load_html(page.html)
        if split[page.site] not in splits or tree is None or not structured.article_body(tree):
            continue
        html = shell(page)
        with _without("declared body"):
            without = extract_sync(html, page.url).get("text") or ""
        result = extract_sync(html, page.url)
        mine = "" if "error" in result else result.get("text") or ""
        texts = (trafilatura.extract(html) or "", without, mine)
        f1s = " ".join(f"{overlap(page.truth, text)[2]:.3f}" for text in texts)
        counts = [len(text.split("\n\n")) for text in (without, mine)]
        said = result.get("error") or f"{counts[0]} → {counts[1]} paragraphs"
        print(f"| {page.id} | {page.site} | {split[page.site]} | {f1s} | {said} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder with truth.jsonl")
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--pages", action="store_true", help="one line per page as well")
    parser.add_argument("--ablate", action="store_true", help="each rule taken out in turn")
    parser.add_argument(
        "--command", action="store_true", help="news-monitor's text from `news-monitor extract`"
    )
    parser.add_argument(
        "--shells", action="store_true", help="pages with a JSON-LD body as script shells"
    )
    args = parser.parse_args()
    pages = load(args.corpus)
    split = read_split(pages)
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    pages = [p for p in pages if split[p.site] in splits]
    unreachable = sum(p.have_unreachable for p in pages)
    print(
        f"{len(pages)} pages; must-have snippets not shown by the page itself (left out): "
        f"{unreachable}"
    )
    if args.command:
        EXTRACTORS["ours"] = from_command(pages)
    tallies = run(pages, per_page=args.pages)
    table(pages, tallies, splits)
    for name in splits:
        print(f"{name}: " + "; ".join(verdict(tallies, name)))
    if args.ablate:
        ablate(pages, splits)
    if args.shells:
        shells(pages, splits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
