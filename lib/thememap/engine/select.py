"""The embedder a run uses: the backend itself, or the backend run on a Dask cluster."""

from __future__ import annotations

from thememap.embed.base import Embedder, make_embedder
from thememap.embed.params import EmbedParams
from thememap.engine.params import EngineParams


def run_embedder(embed: EmbedParams, engine: EngineParams | None = None) -> Embedder:
    """``embed``'s backend in this process, or (``engine.kind: dask``) on a Dask cluster."""
    if engine is not None and engine.kind == "dask":
        from thememap.engine.dask_embed import DaskEmbedder

        return DaskEmbedder(embed, engine)
    return make_embedder(embed)


def release_embedder(embedder: Embedder) -> None:
    """Close what ``embedder`` opened (a Dask client and its LocalCluster); else nothing."""
    close = getattr(embedder, "close", None)
    if callable(close):
        close()
