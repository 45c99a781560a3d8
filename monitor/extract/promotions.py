"""Paragraphs that are not the article: promotions, calls to action, related-story rails.

Two kinds of rule, each kept only if it earns its place in the table of
`bench/extraction_table.py --rules` (must-not snippets removed on the development split,
no must-have snippet lost):

- `RULES`: phrase rules for short paragraphs (at most MAX_WORDS words): "see more",
  "don't miss", newsletter sign-ups, "share your story", podcast and app plugs, ad labels.
  Anchored or specific enough that a sentence of a story does not match.
- `rails`: a paragraph that is, on the page, a line made almost only of link text (the
  headlines of a related-stories rail, a linked subscription pitch, that trafilatura kept).
- `captions`: a paragraph that repeats the alternative text of an image on the page (a
  caption printed under its photo or video, in markup trafilatura does not know as one), or
  the page's headline (shown apart from the text by digests).
"""

from __future__ import annotations

import re

from monitor.extract.blocks import Line, key

MAX_WORDS = 40
RAIL_MIN_LINK_DENSITY = 0.9
CAPTION_MIN_WORDS = 3  # "Apple" as an image's alt must not take a one-word paragraph with it


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


RULES: dict[str, re.Pattern[str]] = {
    # "Advertisement", "Share this story", "Related: …", "Read more: …" as a whole line.
    "label": _rule(
        r"^(advertisement|anzeige|publicité|publicidad|sponsored( content)?"
        r"|share this( article| story)?|related:.*|read more:.*|also on \S+ .*)$"
    ),
    # "See more", "Don't miss", "Most read in …", "You may also like" heading a rail.
    "see more": _rule(
        r"^(see (more|also|all)|don'?t miss|must read|most (read|popular|viewed)"
        r"|more (from|on|stories)|recommended( for you| stories)?|trending( now)?"
        r"|(you )?(may|might) also (like|enjoy)|also read|read next|up next)\b.{0,80}$"
    ),
    # Newsletter sign-ups, which speak to the reader: "Sign up for our newsletter", "…meet your
    # inbox" (a story's sentence about people who subscribe to e-mails does not).
    "newsletter": _rule(
        r"^(sign up|signup|subscribe|register|get)\b.{0,80}"
        r"\b(newsletters?|inbox|e-?mails?|alerts)\b"
        r"|\bour (\w+ ){0,3}newsletters?\b|\b(meet|straight to|delivered to|land in) your inbox\b"
        r"|^subscribe to .{0,60}\.?$"
    ),
    # Calls to share or send: "Like this story? Share it…", "Share your story", "Send us…".
    "share your story": _rule(
        r"^(like this (story|article)\?|tell us what you think|share your (story|thoughts|views)"
        r"|got a (story|tip)|do you have a (story|tip)|send us your|have your say)\b"
        r"|\b(email|contact) us at \S+@\S+|\bshare it with a friend\b"
    ),
    # Podcast, app and social plugs: "Listen to our podcast", "Download the app", "Follow us…".
    "podcast or app": _rule(
        r"\b(listen to|subscribe to|download) (our|the) (\w+ ){0,3}(podcast|app)\b"
        r"|\b(get|download) (our|the) (\w+ ){0,2}app\b|\bapp store\b|\bgoogle play\b"
        r"|\bfollow (us|him|her|them) on (twitter|facebook|instagram|linkedin)\b"
    ),
    # Subscription pitches inside the body: "12 issues for £11.99", "use the code …".
    "offer": _rule(
        r"\b(click here for more information|use the code|\d+ issues for"
        r"|subscribe (now|today)|start your free trial|delivered through your letterbox)\b"
    ),
    # A WordPress shortcode printed as text: "[button link=…]Send us your review[/button]".
    "shortcode": _rule(r"^\[\w+\b[^\]]*\].*\[/\w+\]$"),
}


def rule_for(paragraph: str) -> str | None:
    """The name of the rule that makes `paragraph` a promotion, or None."""
    if len(paragraph.split()) > MAX_WORDS:
        return None
    for name, pattern in RULES.items():
        if pattern.search(paragraph):
            return name
    return None


def rails(paragraphs: list[str], lines: list[Line]) -> list[str]:
    """`paragraphs` without those that are, on the page, a line made of one or more links."""
    linked = {line.key for line in lines if line.link_density >= RAIL_MIN_LINK_DENSITY}
    return [p for p in paragraphs if key(p) not in linked]


def captions(paragraphs: list[str], labels: frozenset[str]) -> list[str]:
    """`paragraphs` without those that repeat a label the page shows elsewhere (`labels`:
    keys of images' alternative texts and of the headline)."""
    return [p for p in paragraphs if not (_caption_sized(p) and key(p) in labels)]


def _caption_sized(paragraph: str) -> bool:
    """Between CAPTION_MIN_WORDS and MAX_WORDS words: a longer alt text that a paragraph
    repeats is the article's own text reused (some sites describe a lead photo by the lead)."""
    return CAPTION_MIN_WORDS <= len(paragraph.split()) <= MAX_WORDS


def strip(text: str, lines: list[Line], labels: frozenset[str] = frozenset()) -> str:
    """`text` without promotion paragraphs, related-story rails, captions and headlines."""
    paragraphs = [p for p in text.split("\n\n") if rule_for(p) is None]
    return "\n\n".join(captions(rails(paragraphs, lines), labels))
