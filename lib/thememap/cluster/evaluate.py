"""Quality of a hierarchy against a ground-truth metadata field (evaluation only)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from thememap.errors import ParamsError
from thememap.store.items import item_rows


def item_field(conn: sqlite3.Connection, item_ids: np.ndarray, field: str) -> np.ndarray:
    """The metadata value ``field`` of each item (``None`` where missing), in ``item_ids`` order."""
    values = {}
    for item_id, _, meta, _ in item_rows(conn):
        value = meta.get(field)
        values[item_id] = None if value is None else str(value)
    out = np.asarray([values.get(int(i)) for i in item_ids], dtype=object)
    if all(v is None for v in out):
        raise ParamsError(
            f"cluster.eval_label_field: no item has a metadata field {field!r}"
            " (set it to a field your items carry, or null)"
        )
    return out


def quality_table(labels: np.ndarray, truth: np.ndarray) -> pd.DataFrame:
    """ARI and NMI of every level against ``truth`` (items without a truth value skipped).

    Unplaced items (label -1) count as one extra cluster, so leaving items out
    is not rewarded.
    """
    known = np.asarray([t is not None for t in truth])
    rows = []
    for lvl, lab in enumerate(labels, start=1):
        rows.append(
            {
                "level": lvl,
                "clusters": len(set(lab[lab >= 0].tolist())),
                "truth labels": len(set(truth[known].tolist())),
                "ARI": adjusted_rand_score(truth[known], lab[known]),
                "NMI": normalized_mutual_info_score(truth[known], lab[known]),
                "unplaced": float((lab[known] < 0).mean()),
                "items scored": int(known.sum()),
            }
        )
    return pd.DataFrame(rows).set_index("level")


def map_agreement(coords: np.ndarray, labels: np.ndarray, *, k: int = 10) -> float:
    """Mean share of each item's ``k`` nearest neighbours on the 2D map that share its label.

    How well the map shows the hierarchy: 1.0 when every theme is one region,
    about the sum of squared theme shares when the colours interleave at random.
    """
    from sklearn.neighbors import NearestNeighbors

    k = int(min(k, len(coords) - 1))
    if k < 1:
        return 1.0
    idx = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords)[1][:, 1:]
    return float((labels[idx] == labels[:, None]).mean())
