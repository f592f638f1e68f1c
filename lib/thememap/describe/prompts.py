"""Prompts for LLM cards: leaves from items, parents from their children's cards.

Every prompt carries the data context and the categories from the params and the
siblings' key phrases, so the model names what sets this cluster apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from thememap.describe.cards import Card
from thememap.describe.params import DescribeParams

SYSTEM_PROMPT = """You analyse groups of text items that were clustered by semantic similarity.
For one cluster, describe the common pattern or theme its items share. Be specific and concrete:
name what sets this cluster apart from its sibling clusters, not what all of them share.
Answer only with the requested fields."""


def truncate(text: str, limit: int) -> str:
    """Collapse whitespace and cut to ``limit`` characters with '...' (as the reference)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _header(params: DescribeParams) -> str:
    lines = []
    if params.context:
        lines.append(f"Context: {params.context}")
    lines.append("Categories: " + "; ".join(f"{k} ({v})" for k, v in params.categories.items()))
    return "\n".join(lines)


def _siblings_block(siblings: Mapping[str, Sequence[str]]) -> str:
    if not siblings:
        return ""
    lines = [f"- {name}: {', '.join(phrases) or '(none)'}" for name, phrases in siblings.items()]
    return (
        "Sibling clusters (same parent) and their key phrases; make this cluster's name "
        "clearly different from them:\n" + "\n".join(lines)
    )


def _items_block(items: Sequence[str], limit: int) -> str:
    return "\n---\n".join(f"Item {i + 1}: {truncate(t, limit)}" for i, t in enumerate(items))


def leaf_messages(
    params: DescribeParams,
    *,
    items: Sequence[str],
    size: int,
    keywords: Sequence[str],
    siblings: Mapping[str, Sequence[str]],
) -> list[dict[str, str]]:
    """Messages for a cluster with no children: its sampled items."""
    parts = [
        _header(params),
        f"This cluster has {size} items. Its distinctive key phrases: {', '.join(keywords)}.",
        _siblings_block(siblings),
        f"Here are {len(items)} representative items:\n---\n"
        f"{_items_block(items, params.item_chars)}\n---",
        "Describe the pattern these items represent.",
    ]
    return _messages(parts)


def parent_messages(
    params: DescribeParams,
    *,
    children: Sequence[Card],
    items: Sequence[str],
    size: int,
    keywords: Sequence[str],
    siblings: Mapping[str, Sequence[str]],
) -> list[dict[str, str]]:
    """Messages for a parent: its children's cards plus a few items, so it stays consistent."""
    child_lines = "\n".join(
        f"- {c.pattern_name} ({c.category}): {truncate(c.summary, params.item_chars)}"
        for c in children
    )
    parts = [
        _header(params),
        f"This cluster has {size} items in {len(children)} sub-clusters. "
        f"Its distinctive key phrases: {', '.join(keywords)}.",
        _siblings_block(siblings),
        f"Its sub-clusters:\n{child_lines}",
        f"A few of its items:\n---\n{_items_block(items, params.item_chars)}\n---" if items else "",
        "Describe the broader pattern that covers all its sub-clusters.",
    ]
    return _messages(parts)


def rename_message(taken: Sequence[str]) -> dict[str, str]:
    """Follow-up asking for a name unlike the siblings' (near-duplicate names found)."""
    return {
        "role": "user",
        "content": "Your pattern_name is nearly the same as a sibling cluster's name ("
        + "; ".join(f'"{n}"' for n in taken)
        + "). Give a pattern_name that states what is specific to THIS cluster.",
    }


def _messages(parts: Sequence[str]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(p for p in parts if p)},
    ]
