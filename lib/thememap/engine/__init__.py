"""Where the work that grows with n runs: in this process (default) or on a Dask cluster."""

from thememap.engine.params import EngineParams
from thememap.engine.select import release_embedder, run_embedder

__all__ = ["EngineParams", "release_embedder", "run_embedder"]
