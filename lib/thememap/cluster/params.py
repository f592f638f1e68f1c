"""Params of the 02_cluster step."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from thememap.params_base import StrictModel


class ClusterParams(StrictModel):
    """How the hierarchy and the 2D layout are built.

    Defaults need no tuning: the finest level grows with the square root of the
    number of items, the coarsest count is chosen from the data, and every item
    is placed at every level.
    """

    method: Literal["graph", "hdbscan"] = Field(
        "graph",
        description="graph: thememap's design (kNN graph, spectral fine level, merged upward;"
        " every item placed at every level, seeds agree); hdbscan: the reference design's"
        " recursive HDBSCAN (its min sizes, its noise: many items left unplaced, slow past"
        " ~50k items; merge, embedding, restarts and the count keys do not apply)",
    )
    levels: int = Field(3, ge=1, le=5, description="number of nested levels, coarse to fine")
    seed: int = Field(42, description="random seed: same seed, same clusters")
    level_counts: list[int | None] | None = Field(
        None,
        description="clusters per level, coarse to fine (one entry per level; null entries"
        " and a null list are chosen automatically), e.g. [8, null, 120]",
    )
    min_sizes: list[int | None] | None = Field(
        None,
        description="smallest cluster per level, coarse to fine (null = automatic: the finest"
        " level drops clusters under max(3, min(10, n/1000)) items, coarser levels keep all)",
    )
    fine_per_sqrt_n: float = Field(
        1.0, gt=0, description="finest level has about this times sqrt(items) clusters"
    )
    top_min: int = Field(
        4,
        ge=1,
        description="fewest level-1 clusters (leiden: the resolution is doubled until reached;"
        " modularity/ward: the lower end of the range searched)",
    )
    top_max: int = Field(
        40,
        ge=1,
        description="most level-1 clusters (leiden: the resolution is halved until"
        " within; modularity/ward: the upper end of the range searched)",
    )
    restarts: int | None = Field(
        None,
        ge=1,
        le=30,
        description="candidate hierarchies built from different k-means seeds; the one agreeing"
        " best with the others (mean ARI over levels) is kept: more = steadier across seeds,"
        " slower (null = 20 for fits of up to 10,000 rows, where they are cheap, else 10)",
    )
    kmeans_inits: int | None = Field(
        None,
        ge=1,
        le=10,
        description="k-means initialisations inside each restart, best inertia kept"
        " (null = 5 for fits of up to 10,000 rows, else 3)",
    )
    keep_noise: bool = Field(
        False,
        description="true: items whose outlier score exceeds noise_threshold stay unplaced"
        " (label -1) at that level; false: every item is placed at every level",
    )
    noise_threshold: float = Field(
        3.5,
        gt=0,
        description="outlier score (robust z of the distance to the cluster centroid) above"
        " which an item counts as an outlier at that level",
    )
    sample_threshold: int = Field(
        30_000,
        ge=1000,
        description="above this many items the fine level is fitted on a sample and the rest"
        " assigned to the nearest fine centroid",
    )
    sample_size: int = Field(30_000, ge=1000, description="rows in that sample")
    n_neighbors: int = Field(
        15, ge=2, le=200, description="neighbours in the kNN graph (level-1 count and the map)"
    )
    embedding: Literal["umap", "spectral", "raw"] = Field(
        "umap",
        description="space the fine level is cut in: umap (a 10-d UMAP of the kNN graph,"
        " min_dist 0, fixed seed: the best weak tail and the steadiest on PyPI), spectral"
        " (leading eigenvectors of the kNN graph; no UMAP run) or raw (the vectors themselves)",
    )
    spectral_dims: int = Field(16, ge=2, le=256, description="dimensions of the spectral space")
    umap_dims: int = Field(10, ge=2, le=100, description="dimensions of the UMAP space")
    space_seed: int | None = Field(
        0,
        ge=0,
        description="seed of the UMAP space (fixed, like the kNN graph's, so re-running with"
        " another seed moves only the partition; null = follow seed)",
    )
    merge: Literal["leiden", "modularity", "ward"] = Field(
        "leiden",
        description="how fine clusters form the coarser levels: leiden (level 1 = Leiden"
        " modularity communities of the graph between fine clusters, the levels between by"
        " greedy modularity inside each; the count comes from the data), modularity (one greedy"
        " modularity tree, level-1 cut with the highest modularity in [top_min, top_max]: the"
        " design before leiden) or ward (size-weighted Ward on centroids, same count rule)",
    )
    resolution: float | None = Field(
        None,
        gt=0,
        description="modularity resolution of the level-1 choice (null = the method's default:"
        " 0.5 for leiden, 1.0 for modularity/ward); higher gives more, smaller level-1 themes",
    )
    layout: Literal["umap", "pca", "none"] = Field(
        "umap",
        description="2D map: umap (cosine, deterministic for the seed), pca (instant, rough),"
        " none (no map)",
    )
    layout_min_dist: float = Field(0.1, ge=0, le=1, description="UMAP min_dist of the map")
    layout_theme_weight: float = Field(
        0.3,
        ge=0,
        le=1,
        description="how strongly the map keeps each level-1 theme in one region (UMAP's"
        " semi-supervised target_weight on the level-1 labels): 0 = the map ignores the themes"
        " (colours may interleave), 1 = themes fully apart",
    )
    layout_epochs: int | None = Field(
        None, ge=10, description="UMAP optimisation epochs (null = UMAP's default)"
    )
    layout_sample_size: int = Field(
        30_000,
        ge=1000,
        description="above this many items UMAP is fitted on a sample and the other items are"
        " placed among their nearest sampled neighbours in the same fine cluster",
    )
    check_runs: int = Field(
        1,
        ge=0,
        le=10,
        description="refits that measure how reproducible each level and cluster is: this many"
        " with other seeds and this many on 80% of the items (0 = skip; each costs about one fit)",
    )
    representatives: int = Field(
        8, ge=1, le=100, description="representative items stored per cluster (near and diverse)"
    )
    eval_label_field: str | None = Field(
        None,
        description="metadata field holding a ground-truth label; when set the notebook"
        " shows ARI/NMI of each level against it (evaluation only, never used to cluster)",
    )

    @model_validator(mode="after")
    def _per_level_lists(self) -> ClusterParams:
        for name in ("level_counts", "min_sizes"):
            value = getattr(self, name)
            if value is not None and len(value) != self.levels:
                raise ValueError(
                    f"{name} has {len(value)} entries but levels is {self.levels}:"
                    " give one entry per level (null = automatic)"
                )
            if value is not None and any(v is not None and v < 1 for v in value):
                raise ValueError(f"{name}: every entry must be >= 1 or null")
        counts = [c for c in (self.level_counts or []) if c is not None]
        if counts != sorted(counts):
            raise ValueError("level_counts must not decrease from coarse to fine")
        if self.top_min > self.top_max:
            raise ValueError("top_min must be <= top_max")
        return self
