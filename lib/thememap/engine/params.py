"""Params of the engine (the ``engine`` section): one process, or a Dask cluster."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from thememap.params_base import StrictModel


class EngineParams(StrictModel):
    """Where embedding runs. ``local`` (default) needs no Dask; ``dask`` runs it in
    partitions on a Dask cluster (the ``dask`` extra: ``pip install thememap[dask]``)."""

    kind: Literal["local", "dask"] = Field(
        "local", description="local: this process; dask: partitions on a Dask cluster"
    )
    address: str | None = Field(
        None,
        description="dask: a scheduler address (tcp://host:8786); null = start a LocalCluster",
    )
    workers: int = Field(2, ge=1, le=256, description="dask LocalCluster: worker processes")
    threads_per_worker: int = Field(
        1, ge=1, le=64, description="dask LocalCluster: threads per worker (and onnxruntime's)"
    )
    partition_size: int = Field(
        4096, ge=1, description="dask: texts per task (a killed worker re-does at most one)"
    )
