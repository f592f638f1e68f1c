"""Params of the 02_cluster step."""

from __future__ import annotations

from pydantic import Field

from thememap.params_base import StrictModel


class ClusterParams(StrictModel):
    """How the hierarchy and the 2D layout are built."""

    levels: int = Field(3, ge=1, le=5, description="number of nested levels, coarse to fine")
    seed: int = Field(42, description="random seed: same seed, same clusters")
