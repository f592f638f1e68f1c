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
        4, ge=1, description="fewest clusters the automatic level-1 count may pick"
    )
    top_max: int = Field(40, ge=1, description="most clusters the automatic level-1 count may pick")
    restarts: int = Field(
        10,
        ge=1,
        le=30,
        description="candidate hierarchies built from different k-means seeds; the one agreeing"
        " best with the others (mean ARI over levels) is kept: more = steadier across seeds,"
        " slower",
    )
    kmeans_inits: int = Field(
        3,
        ge=1,
        le=10,
        description="k-means initialisations inside each restart (best inertia kept)",
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
    embedding: Literal["spectral", "raw"] = Field(
        "spectral",
        description="space the fine level is cut in: spectral (leading eigenvectors of the kNN"
        " graph; far steadier across seeds) or raw (the vectors themselves)",
    )
    spectral_dims: int = Field(16, ge=2, le=256, description="dimensions of the spectral space")
    merge: Literal["modularity", "ward"] = Field(
        "modularity",
        description="how fine clusters are merged into coarser ones: modularity (along the kNN"
        " graph) or ward (size-weighted Ward on centroids)",
    )
    resolution: float = Field(
        1.0,
        gt=0,
        description="modularity resolution: above 1 favours more, smaller level-1 clusters",
    )
    layout: Literal["umap", "pca", "none"] = Field(
        "umap",
        description="2D map: umap (cosine, deterministic for the seed), pca (instant, rough),"
        " none (no map)",
    )
    layout_min_dist: float = Field(0.1, ge=0, le=1, description="UMAP min_dist of the map")
    layout_epochs: int | None = Field(
        None, ge=10, description="UMAP optimisation epochs (null = UMAP's default)"
    )
    layout_sample_size: int = Field(
        30_000,
        ge=1000,
        description="above this many items UMAP is fitted on a sample and the other items are"
        " placed among their nearest sampled neighbours in the same fine cluster",
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
