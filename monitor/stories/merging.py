"""Two stories that turn out to tell one event become one (pure functions on `Story`).

An article joins one story at most. When the first reports of an event have little in
common ("MtGox faced 150,000 attacks a second" and "Mt. Gox seeks bankruptcy
protection"), the event starts as two stories, and each grows on its own. Once a story
has grown, it is compared with the stories sharing its index terms as a whole: when the
two centroids are close (TF-IDF cosine, halved every `similarity_half_life` of time
between them) and both stories carry the same central terms (`MERGE_CENTRAL_TERMS`
terms carried by `CENTRAL_SHARE` of each one's articles), the smaller story is merged
into the larger.

The merged-away id is not lost: the surviving story lists it in `merged`, persisted
with its record, and the book resolves it to the survivor, so ids already stored with
matches still lead to the story they were part of.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from monitor.config import StoriesSettings
from monitor.stories.novelty import Told
from monitor.stories.records import Story
from monitor.stories.vectors import truncate

# Chosen on the dev corpus (bench/stories.py) when merging was added: they merge the
# two halves of an event that started as two stories and merge no two NewsWCL50 events.
MERGE_SIMILARITY = 0.2  # centroid cosine (halved every similarity_half_life between them)
MERGE_CENTRAL_TERMS = 2  # central terms, names included, both stories must carry
CENTRAL_SHARE = 0.3  # a term carried by this share of a story's articles is central to it


def due(size: int) -> bool:
    """Whether a story that just grew to `size` articles is compared with the others:
    at 2, 3, 4, 6, 8, 12, 16, 24, ... articles, so that each story is compared a number
    of times that grows with the logarithm of its size."""
    for base in (1, 3):
        if size >= 2 and size % base == 0 and (size // base) & (size // base - 1) == 0:
            return True
    return False


def gap(a: Story, b: Story) -> timedelta:
    """Time between the two stories' spans of articles (zero when they overlap)."""
    return max(a.first - b.last, b.first - a.last, timedelta(0))


def similarity(a: Story, b: Story, half_life: timedelta) -> float:
    """Cosine of the two centroids, halved every `half_life` of time between them."""
    small, large = sorted((a, b), key=lambda s: len(s.centroid))
    dot = sum([w * large.centroid[t] for t, w in small.centroid.items() if t in large.centroid])
    decay: float = 0.5 ** (gap(a, b) / half_life)
    return dot / (a.norm * b.norm) * decay


def central_terms(story: Story, share: float) -> set[str]:
    """The centroid terms carried by at least `share` of the story's articles."""
    need = share * len(story.members)
    return {term for term, count in story.tally.items() if count >= need}


def partner(
    story: Story, candidates: Sequence[Story], settings: StoriesSettings
) -> tuple[Story, float, list[str]] | None:
    """The candidate that `story` should merge with: the closest one within the window
    that reaches `MERGE_SIMILARITY` and shares `MERGE_CENTRAL_TERMS` central terms; with
    the cosine and the shared central terms."""
    central = central_terms(story, CENTRAL_SHARE)
    best: tuple[float, str, Story, list[str]] | None = None
    for other in candidates:
        if gap(story, other) > settings.window:
            continue
        cosine = similarity(story, other, settings.similarity_half_life)
        if cosine < MERGE_SIMILARITY or (best and (cosine, other.id) < best[:2]):
            continue
        both = central & central_terms(other, CENTRAL_SHARE)
        if len(both) >= MERGE_CENTRAL_TERMS:
            best = (cosine, other.id, other, sorted(both))
    return (best[2], best[0], best[3]) if best else None


def survivor(a: Story, b: Story) -> tuple[Story, Story]:
    """Which of two stories keeps its id (the larger; the earlier of two equals), and the other."""
    if (len(a.members), b.first, b.id) >= (len(b.members), a.first, a.id):
        return a, b
    return b, a


def combine(into: Story, other: Story, *, size: int) -> None:
    """Put everything of `other` into `into`: centroid, counts, members, what was sent.

    The centroid keeps its `size` heaviest terms, and the term counts those terms only.
    """
    centroid = dict(into.centroid)
    for term, weight in other.centroid.items():
        centroid[term] = centroid.get(term, 0.0) + weight
    into.set_centroid(truncate(centroid, size))
    tally = {t: into.tally.get(t, 0) + other.tally.get(t, 0) for t in into.centroid}
    into.tally = {t: n for t, n in tally.items() if n}
    into.add_names(other.names)
    for topic, told in other.delivered.items():
        into.delivered.setdefault(topic, Told()).update(told)
    into.first, into.last = min(into.first, other.first), max(into.last, other.last)
    into.members |= other.members
    into.merged = [*into.merged, other.id, *other.merged]
