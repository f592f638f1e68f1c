"""Extractive summaries of a cluster's representative items (picked by :func:`thememap.vectors.mmr`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SPACE = re.compile(r"\s+")


def first_sentence(text: str, *, max_chars: int = 160) -> str:
    """The first sentence of ``text`` (whitespace collapsed), cut at a word boundary."""
    flat = _SPACE.sub(" ", text).strip()
    sentence = _SENTENCE_END.split(flat, maxsplit=1)[0]
    if len(sentence) > max_chars:
        sentence = sentence[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:- ") + "…"
    return sentence


def extractive_summary(texts: Sequence[str], *, sentences: int = 2, max_chars: int = 300) -> str:
    """A short summary: the first sentences of the representative items, best first.

    Too-short fragments (under four words) and repeats are skipped; the result is
    cut to ``max_chars``.
    """
    picked: list[str] = []
    seen: set[str] = set()
    for text in texts:
        sentence = first_sentence(text, max_chars=max(60, max_chars // max(sentences, 1)))
        key = sentence.lower()
        if len(sentence.split()) < 4 or key in seen:
            continue
        seen.add(key)
        if not sentence.endswith((".", "!", "?", "…")):
            sentence += "."
        picked.append(sentence[:1].upper() + sentence[1:])
        if len(picked) == sentences:
            break
    if not picked and texts:
        picked = [first_sentence(texts[0], max_chars=max_chars)]
    summary = " ".join(picked)
    if len(summary) > max_chars:
        summary = summary[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return summary


def short_quote(text: str, *, max_chars: int = 80) -> str:
    """One short quote from an item: its first sentence, cut at a word boundary."""
    return first_sentence(text, max_chars=max_chars).rstrip(".")


def evidence_summary(
    *,
    size: int,
    phrases: Sequence[tuple[str, float]],
    quotes: Sequence[str],
    parts: Sequence[tuple[str, int]] = (),
    max_quotes: int = 2,
    max_chars: int = 300,
) -> str:
    """What a person would write from the evidence, in at most ``max_chars``.

    ``phrases``: (key phrase, share of items holding it), best first; ``quotes``: short
    texts of representative items; ``parts``: (sub-theme name, items) of a parent's
    children, largest first. For example::

        412 items; frequent phrases: IMAP (40%), spam filter (22%), webmail (12%).
        E.g. "Fast, lightweight IMAP mail client"; "Spam filter for Postfix".
    """
    sentences: list[str] = []
    noun = "item" if size == 1 else "items"
    if parts:
        shown = ", ".join(f"{name} ({n})" for name, n in parts[:4])
        more = f" and {len(parts) - 4} more" if len(parts) > 4 else ""
        sentences.append(f"{size} {noun} in {len(parts)} sub-themes: {shown}{more}.")
    mentioned = [(p, share) for p, share in phrases if share >= 0.02][:3]
    if mentioned:
        listed = ", ".join(f"{p} ({100 * share:.0f}%)" for p, share in mentioned)
        lead = "Frequent phrases" if parts else f"{size} {noun}; frequent phrases"
        sentences.append(f"{lead}: {listed}.")
    elif not parts:
        sentences.append(f"{size} {noun}.")
    picked: list[str] = []
    seen: set[str] = set()
    for quote in quotes:
        q = _SPACE.sub(" ", quote).strip().strip('"')
        if len(q.split()) < 2 or q.lower() in seen:
            continue
        seen.add(q.lower())
        picked.append(f'"{q}"')
        if len(picked) == max_quotes:
            break
    summary = " ".join(sentences)
    for n in range(len(picked), 0, -1):
        if picked[:n]:
            candidate = f"{summary} E.g. {'; '.join(picked[:n])}."
            if len(candidate) <= max_chars:
                return candidate
    if len(summary) > max_chars:
        summary = summary[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return summary
