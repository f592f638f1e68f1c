"""Params of theme continuity: how a run's clusters keep the ids (and cards) of the last run's."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from thememap.params_base import StrictModel


class ContinuityParams(StrictModel):
    """How 02_cluster matches a run's themes to the previous run's (rules in
    :mod:`thememap.cluster.identity`), when 03_describe reuses a matched theme's card, and
    how ``thememap assign`` adds items to a clustering without refitting it."""

    match_min_jaccard: float = Field(
        0.3,
        gt=0,
        le=1,
        description="a cluster continues a previous one when their members among the items"
        " both runs hold overlap at least this much (Jaccard)",
    )
    match_min_cosine: float = Field(
        0.9,
        ge=-1,
        le=1,
        description="for a cluster with fewer than match_min_shared items in both runs, the"
        " centroid cosine that lets it continue a previous one instead",
    )
    match_min_shared: int = Field(
        5,
        ge=0,
        description="below this many items held by both runs, overlap says little and the"
        " centroids decide",
    )
    nesting_penalty: float = Field(
        0.2,
        ge=0,
        description="score a level-2/3 match loses when the two clusters' parents did not"
        " match each other (a child prefers to stay under its parent's theme)",
    )
    card_reuse_jaccard: float = Field(
        0.9,
        gt=0,
        le=1,
        description="03_describe reuses a matched theme's LLM card (no new call) when its"
        " members, new items included, overlap the previous cluster's at least this much",
    )
    assign_new_items: bool = Field(
        False,
        description="true: when the store holds a clustering, 02_cluster places the items"
        " added since in it (as thememap assign does) instead of refitting",
    )
    refit_outlier_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="thememap assign suggests a refit when more than this share of the new"
        " items are fine-level outliers (outlier score above cluster.noise_threshold)",
    )
    assign_batch_size: int = Field(
        2000,
        ge=1,
        description="thememap assign commits this many items per transaction: a killed"
        " assign loses at most one batch and a re-run places only the rest",
    )
    edits_file: Path | None = Field(
        None,
        description="a YAML file of theme edits (rename, pin_name, pin_card, merge, split),"
        " relative to the params file; read by every run, its entries stored once and"
        " applied after the themes are matched (see thememap.cluster.edit_run)",
    )
