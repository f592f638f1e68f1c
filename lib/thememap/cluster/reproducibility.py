"""How sure the hierarchy is: refits with other seeds and on resampled items.

A theme worth trusting comes back when the clustering is run again with
another seed, and when a fifth of the items is left out. :func:`reproducibility`
refits ``runs`` times each way and reports, per level, the ARI of each refit
with the main fit (on the items both saw) and, per cluster, its mean best
Jaccard overlap with a cluster of each refit: near 1 for a theme that always
comes back, below 0.5 for one that does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from thememap.cluster.hierarchy import Hierarchy
from thememap.cluster.params import ClusterParams
from thememap.cluster.partition import best_jaccard

UNSTABLE = 0.5  # a cluster whose mean best Jaccard is below this is flagged as unstable


@dataclass
class Reproducibility:
    """Result of :func:`reproducibility`."""

    table: pd.DataFrame  # one row per (level, check): refit kind, ARI with the main fit
    cluster_stability: list[np.ndarray]  # per level, (k_l,) mean best Jaccard over refits

    def summary(self) -> pd.DataFrame:
        """Per level: median ARI of the seed refits and of the resampled refits, unstable count."""
        wide = self.table.pivot_table(
            index="level", columns="refit", values="ARI", aggfunc="median"
        )
        wide["unstable clusters"] = [int((s < UNSTABLE).sum()) for s in self.cluster_stability]
        wide["clusters"] = [len(s) for s in self.cluster_stability]
        return wide


def reproducibility(
    x: np.ndarray,
    params: ClusterParams,
    main: Hierarchy,
    *,
    runs: int = 2,
    keep_share: float = 0.8,
) -> Reproducibility:
    """Refit ``runs`` times with other seeds and ``runs`` times on ``keep_share`` of the items."""
    from thememap.cluster.estimator import fit_hierarchy

    n = len(x)
    rng = np.random.default_rng(params.seed + 7919)
    rows_out: list[dict[str, object]] = []
    overlaps: list[list[np.ndarray]] = [[] for _ in range(main.n_levels)]
    for i in range(runs):
        for kind in ("other seed", "80% of items"):
            seed = params.seed + 1 + i
            rows = (
                np.arange(n)
                if kind == "other seed"
                else np.sort(rng.choice(n, size=max(2, int(keep_share * n)), replace=False))
            )
            refit = fit_hierarchy(x[rows], params.model_copy(update={"seed": seed}))
            for lvl in range(main.n_levels):
                mine, theirs = main.labels[lvl][rows], refit.labels[lvl]
                rows_out.append(
                    {"level": lvl + 1, "refit": kind, "run": i + 1,
                     "ARI": adjusted_rand_score(mine, theirs)}
                )  # fmt: skip
                overlaps[lvl].append(best_jaccard(mine, theirs, main.counts[lvl]))
    stability = [
        np.mean(o, axis=0) if o else np.ones(main.counts[lvl]) for lvl, o in enumerate(overlaps)
    ]
    return Reproducibility(pd.DataFrame(rows_out), stability)
