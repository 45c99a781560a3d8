"""Story grouping on the dev corpus, against an exact-title baseline, and its scaling.

    .venv/bin/python bench/stories.py            # corpus (both datasets) + 1k/10k/100k scaling
    .venv/bin/python bench/stories.py --quick    # corpus + 1k/10k scaling
    .venv/bin/python bench/stories.py --repeat 3 # each scaling size three times, the fastest shown
    .venv/bin/python bench/stories.py --no-scaling --replay  # corpus through `news-monitor replay`

The corpus run replays ../shared/corpus/clusters/stream.jsonl in time order, one
dataset at a time (UCI: headlines only, text = title; NewsWCL50: full texts), mixed
with the 56 unrelated article texts of ../shared/corpus/articles/truth.jsonl at random
times in the same span, each its own story. UCI is also replayed "interleaved": its
times shuffled within the span, so that stories overlap (the dataset lists each
story's items together); one seed is shown in full, and the pairwise F1 over five seeds
(one cluster holds half the pairs, so a single shuffle swings the figure). NewsWCL50 is
also replayed as headlines only, to check that what joins headlines does not merge its
events (they share actors: Trump, Russia, North Korea). Items are scored in the story
they are in at the end of the replay: a story merged into another counts as the one it
merged into, as the ids stored with matches resolve to it. Scaling runs each size in a fresh
process so peak RSS is its own.

With --replay the corpus runs through `news-monitor replay` instead (matching, stories,
what is new and digests, one topic matching every article): items are scored in the
`story` the replay reports, and every replay is checked against the alert contract.
"Multi-day events" are the labelled events reported on two or more dates; "held out" is
the half of the UCI stories (by a hash of their id) on which no threshold was chosen,
"dev" the half they were chosen on; each half is replayed on its own. "False pairs the
labels cannot settle" counts same-story pairs of different labels that repeat each other,
or whose labelled stories share a repeated item (one event under two labels).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

from monitor import replay
from monitor.config import Settings, StoriesSettings, TopicConfig
from monitor.replay.alert_contract import contract_problems
from monitor.stories import StoryArticle, StoryBook
from monitor.stories.text import clean_title, words

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"

Item = tuple[StoryArticle, str]  # the article and its gold cluster


def _time(value: str) -> datetime:
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(hour=12, tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def load(dataset: str, *, interleave: bool, seed: int = 5) -> list[Item]:
    rng = random.Random(seed)
    items: list[Item] = []
    for line in (CORPUS / "clusters" / "stream.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if row["dataset"] != dataset:
            continue
        title = row["title"] or ""
        text = row["text"] or title
        article = StoryArticle(
            row["id"], row["url"], row["source"], title, text, _time(row["time"])
        )
        items.append((article, row["cluster_id"]))
    start = min(a.published for a, _ in items)
    span = max(a.published for a, _ in items) - start
    if interleave:
        items = [(_moved(a, start + span * rng.random()), gold) for a, gold in items]
    for line in (CORPUS / "articles" / "truth.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        text = row["text"]
        title = text.strip().split("\n", 1)[0][:90]
        when = start + span * rng.random()
        body = title if dataset == "uci-news-aggregator" else text
        article = StoryArticle(f"noise-{row['id']}", row["url"], "noise", title, body, when)
        items.append((article, f"noise-{row['id']}"))
    items.sort(key=lambda item: (item[0].published, item[0].key))
    return items


def _moved(article: StoryArticle, when: datetime) -> StoryArticle:
    return StoryArticle(article.key, article.url, article.source, article.title, article.text, when)


def pairwise(pred: list[str], gold: list[str]) -> tuple[float, float, float, float]:
    """Precision, recall, F1 over same-cluster pairs; and share of cross-gold pairs merged."""
    tp = fp = fn = cross = 0
    for i, j in combinations(range(len(pred)), 2):
        same_pred, same_gold = pred[i] == pred[j], gold[i] == gold[j]
        tp += same_pred and same_gold
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
        cross += not same_gold
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0, fp / cross if cross else 0.0


def bcubed(pred: list[str], gold: list[str]) -> tuple[float, float, float]:
    by_pred: dict[str, set[int]] = defaultdict(set)
    by_gold: dict[str, set[int]] = defaultdict(set)
    for i, (label, g) in enumerate(zip(pred, gold, strict=True)):
        by_pred[label].add(i)
        by_gold[g].add(i)
    precision = recall = 0.0
    for i in range(len(pred)):
        both = len(by_pred[pred[i]] & by_gold[gold[i]])
        precision += both / len(by_pred[pred[i]])
        recall += both / len(by_gold[gold[i]])
    p, r = precision / len(pred), recall / len(pred)
    return p, r, 2 * p * r / (p + r)


def _normal_title(title: str) -> str:
    return " ".join(words(clean_title(title)))


def _grams(article: StoryArticle) -> set[str]:
    """What two items are compared on for "repeats": the words of a headline-only item,
    the word 4-grams of a text."""
    if article.text == article.title:
        return set(words(clean_title(article.title)))
    tokens = words(article.text)
    return {" ".join(tokens[i : i + 4]) for i in range(max(1, len(tokens) - 3))}


def _repeats(a: set[str], b: set[str]) -> bool:
    return bool(a | b) and len(a & b) / len(a | b) >= 0.8


def wire_copies(items: list[Item]) -> dict[str, str]:
    """Items whose headline (or text) repeats an earlier one of the same gold story: the
    key of each, with the key of the earliest item it repeats.

    Repeats: word-set Jaccard of the normalised headlines >= 0.8 (UCI), or of the texts'
    word 4-grams >= 0.8 (full texts), computed exactly (not with MinHash).
    """
    copies: dict[str, str] = {}
    seen: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    for article, gold in items:
        grams = _grams(article)
        for key, earlier in seen[gold]:
            if _repeats(grams, earlier):
                copies[article.key] = key
                break
        seen[gold].append((article.key, grams))
    return copies


def label_noise(items: list[Item], pred: list[str]) -> str:
    """False pairs the labels themselves cannot settle, and the precision without them.

    Two kinds: pairs of items that repeat each other (a copy labelled with another story),
    and pairs between two labelled stories that share a repeated item (the same headline
    in both: one event under two labels, as the UCI clusters of the US stock market on
    10 March 2014 are).
    """
    grams = [_grams(a) for a, _ in items]
    by_gold: dict[str, list[int]] = defaultdict(list)
    for i, (_, gold) in enumerate(items):
        by_gold[gold].append(i)
    split = {
        (g, h)
        for g, h in combinations(sorted(by_gold), 2)
        if any(_repeats(grams[i], grams[j]) for i in by_gold[g] for j in by_gold[h])
    }
    tp = fp = copies = across = 0
    for i, j in combinations(range(len(items)), 2):
        if pred[i] != pred[j]:
            continue
        g, h = sorted((items[i][1], items[j][1]))
        if g == h:
            tp += 1
            continue
        fp += 1
        copies += _repeats(grams[i], grams[j])
        across += (g, h) in split
    return (
        f"false pairs {fp}: {copies} between repeated items (P without them "
        f"{tp / max(1, tp + fp - copies):.3f}), {across} between the {len(split)} pairs of "
        f"labelled stories sharing a repeated item (P without them "
        f"{tp / max(1, tp + fp - across):.3f})"
    )


def merge_ceiling(pred: list[str], gold: list[str]) -> float:
    """Pairwise F1 if the book's stories were merged by their majority gold story.

    An oracle, not a method: it shows how far merging whole stories could go, and so how
    much of what is missing lies in articles that joined a story of another gold label.
    """
    members: dict[str, Counter[str]] = defaultdict(Counter)
    for label, g in zip(pred, gold, strict=True):
        members[label][g] += 1
    majority = {label: c.most_common(1)[0][0] for label, c in members.items()}
    merged = [label if majority[label].startswith("noise-") else majority[label] for label in pred]
    return pairwise(merged, gold)[2]


def headlines_only(items: list[Item]) -> list[Item]:
    """The items as a headline-only feed gives them: the title is all the text."""
    return [
        (StoryArticle(a.key, a.url, a.source, a.title, a.title, a.published), gold)
        for a, gold in items
    ]


def grouping(items: list[Item], settings: StoriesSettings) -> tuple[list[str], list[str]]:
    """Each item's story as a reader sees it at the end, and the decision kinds.

    A story merged into another one later is scored as the surviving story: the id
    stored with the item's match resolves to it, and "also reported by" and threading
    follow it.
    """
    book = StoryBook(settings)
    decisions = [book.add(article, now=article.published) for article, _ in items]
    return [book.resolve(d.story_id) for d in decisions], [d.kind for d in decisions]


def through_replay(items: list[Item], settings: StoriesSettings) -> tuple[list[str], list[str]]:
    """Each item's story and kind as `news-monitor replay` reports them (one topic that
    matches every article); the replay's output must keep the alert contract."""
    articles = [
        replay.ArchivedArticle(a.key, a.published, a.source, a.url, a.title, a.text, None)
        for a, _ in items
    ]
    topic = TopicConfig(name="all", query="url:http OR url:https", schedule="every 1h")
    alerts = asyncio.run(replay.replay(Settings(stories=settings), articles, [topic]))
    problems = contract_problems(asdict(alert) for alert in alerts)
    assert not problems, problems[:5]
    by_id = {alert.article: alert for alert in alerts}
    missing = [a.key for a, _ in items if a.key not in by_id]
    assert not missing, f"not matched by the match-all topic: {missing[:5]}"
    return [by_id[a.key].story for a, _ in items], [by_id[a.key].kind for a, _ in items]


Grouping = Callable[[list[Item], StoriesSettings], tuple[list[str], list[str]]]


def multi_day(items: list[Item], pred: list[str]) -> str:
    """Labelled events reported on two or more dates, and how many are one story."""
    events: dict[str, list[tuple[object, str]]] = defaultdict(list)
    for (article, gold), label in zip(items, pred, strict=True):
        if not gold.startswith("noise-"):
            events[gold].append((article.published.date(), label))
    multi = [v for v in events.values() if len({day for day, _ in v}) >= 2]
    whole = sum(len({label for _, label in v}) == 1 for v in multi)
    return f"multi-day events in one story: {whole}/{len(multi)}"


def held_out(items: list[Item], part: int) -> list[Item]:
    """The labelled stories of one half (by a hash of the story id), with the noise."""
    return [(a, g) for a, g in items if zlib.crc32(g.encode()) % 2 == part]


def run_seeds(name: str, seeds: range, settings: StoriesSettings, group: Grouping) -> None:
    scores = []
    for seed in seeds:
        items = load("uci-news-aggregator", interleave=True, seed=seed)
        scores.append(pairwise(group(items, settings)[0], [g for _, g in items]))
    mean = [sum(s[i] for s in scores) / len(scores) for i in range(4)]
    print(
        f"\n== {name}, seeds {seeds.start}-{seeds.stop - 1}: pair P {mean[0]:.3f}, "
        f"R {mean[1]:.3f}, F1 {mean[2]:.3f} (lowest {min(s[2] for s in scores):.3f}), "
        f"x-event {mean[3]:.3%}"
    )


def run_dataset(name: str, items: list[Item], settings: StoriesSettings, group: Grouping) -> None:
    gold = [g for _, g in items]
    pred, kind_list = group(items, settings)
    titles = {a.key: _normal_title(a.title) or a.key for a, _ in items}
    baseline = [titles[a.key] for a, _ in items]
    copies = wire_copies(items)
    kinds = {a.key: kind for (a, _), kind in zip(items, kind_list, strict=True)}
    folded = sum(kinds[k] in ("duplicate", "also_reported") for k in copies)
    as_dup = sum(kinds[k] == "duplicate" for k in copies)
    base_folded = sum(
        any(titles[k] == titles[b.key] for b, _ in items[:i])
        for i, (a, _) in enumerate(items)
        for k in [a.key]
        if k in copies
    )
    gold_sizes = Counter(g for g in gold if not g.startswith("noise-"))
    print(
        f"\n== {name}: {len(items)} items ({sum(gold_sizes.values())} labelled in "
        f"{len(gold_sizes)} stories, {len(items) - sum(gold_sizes.values())} unrelated)"
    )
    print(
        f"{'':28}{'pair P':>8}{'pair R':>8}{'pair F1':>8}{'x-event':>9}"
        f"{'B3 P':>7}{'B3 R':>7}{'B3 F1':>7}{'stories':>9}"
    )
    for label, labels in (("story book", pred), ("baseline (exact title)", baseline)):
        p, r, f, cross = pairwise(labels, gold)
        bp, br, bf = bcubed(labels, gold)
        print(
            f"{label:28}{p:8.3f}{r:8.3f}{f:8.3f}{cross:9.3%}{bp:7.3f}{br:7.3f}{bf:7.3f}"
            f"{len(set(labels)):9d}"
        )
    story_of = {a.key: label for (a, _), label in zip(items, pred, strict=True)}
    together = sum(story_of[k] == story_of[first] for k, first in copies.items())
    print(
        f"wire copies in the story of the item they repeat: {together}/{len(copies)} "
        f"({together / max(1, len(copies)):.0%}); merging the book's stories by their "
        f"majority gold story (an oracle) would give pair F1 {merge_ceiling(pred, gold):.3f}"
    )
    print(
        f"wire copies: {len(copies)}; folded (no alert): story book {folded} "
        f"({folded / max(1, len(copies)):.0%}, {as_dup} as duplicate), "
        f"baseline {base_folded} ({base_folded / max(1, len(copies)):.0%})"
    )
    merged = Counter(kind_list)["new_story"] - len(set(pred))  # each merge ends one story
    print("decisions:", dict(Counter(kind_list)), f"stories merged: {merged}")
    labelled = [i for i, g in enumerate(gold) if not g.startswith("noise-")]
    p, r, f, cross = pairwise([pred[i] for i in labelled], [gold[i] for i in labelled])
    print(
        f"labelled items only: pair P {p:.3f}, R {r:.3f}, F1 {f:.3f}, cross-event pairs "
        f"merged {cross:.3%}; {multi_day(items, pred)}"
    )
    print(label_noise(items, pred))


# -- scaling ---------------------------------------------------------------------------


def synthetic(n: int, seed: int = 11) -> list[StoryArticle]:
    """n articles in stories of 1-8 articles, over 30 days; a Zipf-like background vocabulary."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(30_000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out: list[StoryArticle] = []
    story = 0
    while len(out) < n:
        story += 1
        topic = [f"t{story}x{k}" for k in range(8)]
        actors = [f"Name{rng.randrange(500)}" for _ in range(2)]
        when = start + timedelta(days=30) * (len(out) / n)
        for _ in range(rng.randint(1, 8)):
            body = rng.choices(vocab, weights, k=120) + rng.choices(topic, k=20)
            rng.shuffle(body)
            text = " ".join(actors) + " " + " ".join(body) + "."
            title = " ".join([*actors, *rng.sample(topic, 4)])
            key = f"s{len(out)}"
            when += timedelta(minutes=rng.randint(1, 90))
            out.append(
                StoryArticle(
                    key, f"https://x.test/{key}", f"o{rng.randrange(50)}", title, text, when
                )
            )
    out.sort(key=lambda a: a.published)
    return out[:n]


def scale_one(n: int) -> None:
    articles = synthetic(n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # input held in memory
    book = StoryBook(StoriesSettings())
    started = time.process_time()
    for article in articles:
        book.add(article, now=article.published)
    cpu = time.process_time() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = {"n": n, "cpu": cpu, "rss_mb": rss, "input_mb": before, "stories_in_window": len(book)}
    print(json.dumps(row))


def scaling(sizes: list[int], repeat: int) -> None:
    best_of = f", best of {repeat} runs: CPU time on a shared machine varies" if repeat > 1 else ""
    print(f"\n== scaling (synthetic, 30 days, window 3d; each size in its own process{best_of})")
    for n in sizes:
        rows = []
        for _ in range(repeat):
            result = subprocess.run(
                [sys.executable, __file__, "--scale-one", str(n)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
        row = min(rows, key=lambda r: float(r["cpu"]))
        runs = ", ".join(f"{r['cpu']:.1f}" for r in rows)
        spread = f" (runs: {runs})" if repeat > 1 else ""
        print(
            f"{row['n']:>7} articles: {row['cpu']:7.1f} s CPU{spread}, "
            f"{row['cpu'] / row['n'] * 1e6:6.0f} µs/article, peak RSS {row['rss_mb']:.0f} MB "
            f"({row['input_mb']:.0f} MB before the first article: interpreter and input), "
            f"{row['stories_in_window']} stories in the window at the end"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="scaling up to 10k only")
    parser.add_argument("--no-scaling", action="store_true", help="corpus figures only")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per scaling size; the fastest is shown"
    )
    parser.add_argument(
        "--replay", action="store_true", help="run the corpus through `news-monitor replay`"
    )
    parser.add_argument("--scale-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    group: Grouping = through_replay if args.replay else grouping
    if args.scale_one:
        scale_one(args.scale_one)
        return
    settings = StoriesSettings()
    uci = load("uci-news-aggregator", interleave=False)
    run_dataset("UCI headlines, time order", uci, settings, group)
    run_dataset("UCI headlines, time order, dev half", held_out(uci, 0), settings, group)
    run_dataset("UCI headlines, time order, held-out half", held_out(uci, 1), settings, group)
    uci_mixed = load("uci-news-aggregator", interleave=True)
    run_dataset("UCI headlines, interleaved", uci_mixed, settings, group)
    run_seeds("UCI headlines, interleaved", range(5, 10), settings, group)
    wcl50 = load("newswcl50", interleave=False)
    run_dataset("NewsWCL50 full texts", wcl50, settings, group)
    run_dataset("NewsWCL50 headlines only", headlines_only(wcl50), settings, group)
    if not args.no_scaling:
        scaling([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000], args.repeat)


if __name__ == "__main__":
    main()
