"""Metadata fields the map can colour by: categorical (palette + legend) or numeric (scale).

Items keep their input's other columns as a JSON object (``items.metadata``). Each key
becomes a colour option when it can colour something: numbers (or number-like text with
many values) become a continuous scale, a few repeated values become categories (the most
frequent ones, the rest as "(other)"); keys holding ids, free text or nested values are
left out, since a legend of 40,000 entries colours nothing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

MAX_FIELDS = 20
MAX_CATEGORIES = 20  # one palette; more values: the top 19 + "(other)"
OTHER = "(other)"


def metadata_dict(value: Any) -> dict[str, Any]:
    """An item's metadata as a dict (JSON text parsed; anything else is empty)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _number(value: Any) -> float | None:
    """A finite float from a number or number-like text; None otherwise (bools are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _numeric_field(name: str, values: list[Any]) -> dict[str, Any] | None:
    numbers = [_number(v) for v in values]
    present = np.array([v for v in numbers if v is not None])
    if len(np.unique(present)) < 2:
        return None
    lo, hi = np.quantile(present, [0.02, 0.98])  # a few extremes do not wash the scale out
    if hi <= lo:
        lo, hi = float(present.min()), float(present.max())
    return {
        "name": name,
        "kind": "number",
        "values": [None if v is None else float(f"{v:.6g}") for v in numbers],
        "lo": float(f"{lo:.6g}"),
        "hi": float(f"{hi:.6g}"),
        "min": float(f"{present.min():.6g}"),
        "max": float(f"{present.max():.6g}"),
    }


def _category_field(name: str, values: list[Any]) -> dict[str, Any] | None:
    labels = [
        None if v is None or v == "" else str(v).lower() if isinstance(v, bool) else str(v)
        for v in values
    ]
    counts = Counter(label for label in labels if label is not None)
    if len(counts) < 2:
        return None
    ranked = [value for value, _ in counts.most_common()]
    if len(ranked) > MAX_CATEGORIES:
        top = ranked[: MAX_CATEGORIES - 1]
        if sum(counts[v] for v in top) < 0.5 * sum(counts.values()):
            return None  # ids or free text: most items would be "(other)"
        ranked = [*top, OTHER]
    code = {value: i for i, value in enumerate(ranked)}
    other = code.get(OTHER, -1)
    return {
        "name": name,
        "kind": "category",
        "values": ranked,
        "counts": [
            counts.get(v, 0)
            if v != OTHER
            else sum(label not in code for label in counts.elements())
            for v in ranked
        ],
        "other": other >= 0,
        "codes": [-1 if label is None else code.get(label, other) for label in labels],
    }


def metadata_fields(metadata: pd.Series, *, skip: set[str] | None = None) -> list[dict[str, Any]]:
    """Colour-by fields of the items' metadata (aligned with ``metadata``), most common first.

    Numbers are numeric when every present value is one (or when number-like text has
    more values than the palette); other scalars are categories. Keys in ``skip`` (the
    title field) and keys holding lists or objects are left out.
    """
    dicts = [metadata_dict(v) for v in metadata]
    seen: Counter[str] = Counter()
    nested: set[str] = set()
    for d in dicts:
        for key, value in d.items():
            seen[key] += 1
            if isinstance(value, (list, dict)):
                nested.add(key)
    fields: list[dict[str, Any]] = []
    for key, _ in seen.most_common():
        if key in nested or key in (skip or set()):
            continue
        values = [d.get(key) for d in dicts]
        present = [v for v in values if v is not None and v != ""]
        all_numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
        many = len(set(map(str, present))) > MAX_CATEGORIES
        numeric = all_numbers or (many and all(_number(v) is not None for v in present))
        field = _numeric_field(key, values) if numeric else _category_field(key, values)
        if field is not None:
            fields.append(field)
        if len(fields) == MAX_FIELDS:
            break
    return fields
