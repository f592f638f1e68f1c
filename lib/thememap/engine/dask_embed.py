"""Embedding in partitions on a Dask cluster (``engine.kind: dask``).

:class:`DaskEmbedder` is an :class:`~thememap.embed.base.Embedder` with ``embed_stream``:
:func:`thememap.embed.step.embed_store` hands it the same batches as in one process and
writes each partition's vectors to the store as it lands, so the store, its resume rules
and the vectors are those of the single-process run. Each worker process builds the
backend once (:func:`_worker_embedder`) and keeps it for every later task. A worker that
dies mid-task is replaced by the cluster and its task re-run elsewhere; a run killed
outright has committed every partition that landed and re-embeds only the rest.

Needs the ``dask`` extra (``pip install thememap[dask]``); with ``engine.address`` every
worker needs thememap installed too.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from thememap.embed.base import Embedder, make_embedder
from thememap.embed.params import EmbedParams
from thememap.engine.params import EngineParams
from thememap.errors import BackendError

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

_WORKER_EMBEDDERS: dict[str, Embedder] = {}  # per worker process: params JSON -> backend


def _worker_embedder(params_json: str) -> Embedder:
    """The backend for these params in this process, built on first use (model loaded once)."""
    embedder = _WORKER_EMBEDDERS.get(params_json)
    if embedder is None:
        embedder = make_embedder(EmbedParams.model_validate_json(params_json))
        _WORKER_EMBEDDERS[params_json] = embedder
    return embedder


def _embed_partition(params_json: str, batches: list[list[str]]) -> list[np.ndarray]:
    """Runs on a worker: the vectors of each batch of one partition."""
    embedder = _worker_embedder(params_json)
    return [np.asarray(embedder.embed(batch), dtype=np.float32) for batch in batches]


def _describe_backend(params_json: str) -> tuple[str, int]:
    embedder = _worker_embedder(params_json)
    return embedder.model_id, embedder.dim


def open_client(engine: EngineParams) -> Client:
    """A client of ``engine.address``, or of a new ``LocalCluster`` of ``engine.workers``
    processes (closed with the client: :func:`close_client`); BackendError when the ``dask``
    extra is missing or the scheduler is not there."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BackendError(
            "engine.kind: dask needs Dask: run `pip install thememap[dask]`"
        ) from None
    if engine.address:
        try:
            return Client(engine.address, timeout="30s")
        except OSError as exc:
            raise BackendError(
                f"engine.address: no Dask scheduler answers at {engine.address!r} ({exc})"
            ) from None
    cluster = LocalCluster(
        n_workers=engine.workers,
        threads_per_worker=engine.threads_per_worker,
        processes=True,
        dashboard_address=":0",  # any free port: a second run or a notebook never clashes
    )
    client = Client(cluster)
    weakref.finalize(client, cluster.close)
    return client


def close_client(client: Client) -> None:
    """Close ``client`` and the LocalCluster it started, workers first, so no worker is left
    writing to a closed scheduler (tracebacks in a notebook otherwise)."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


class DaskEmbedder:
    """An Embedder whose work runs on a Dask cluster, partition by partition.

    ``params`` name the backend each worker builds; ``engine`` the cluster and the
    partition size. ``client`` reuses a running client (tests, notebooks) instead of
    opening one; :meth:`close` closes only a client this object opened.
    """

    def __init__(
        self, params: EmbedParams, engine: EngineParams, *, client: Client | None = None
    ) -> None:
        threads = params.threads or engine.threads_per_worker
        self.params = params.model_copy(update={"threads": threads})
        self.engine = engine
        self._params_json = self.params.model_dump_json()
        self._own_client = client is None
        self._client = client
        self._described: tuple[str, int] | None = None

    @property
    def client(self) -> Client:
        """The Dask client (opened on first use)."""
        if self._client is None:
            self._client = open_client(self.engine)
        return self._client

    def _describe(self) -> tuple[str, int]:
        if self._described is None:
            future = self.client.submit(_describe_backend, self._params_json, pure=False)
            self._described = future.result()
        return self._described

    @property
    def model_id(self) -> str:
        """The backend's model id (asked of a worker, which loads the model for later)."""
        return self._describe()[0]

    @property
    def dim(self) -> int:
        """The backend's vector length."""
        return self._describe()[1]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, embedded on one worker."""
        future = self.client.submit(_embed_partition, self._params_json, [list(texts)], pure=False)
        return np.asarray(future.result()[0], dtype=np.float32)

    def embed_stream(self, batches: Sequence[Sequence[str]]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(batch_index, vectors)`` as partitions land; raise after the last success."""
        from distributed import as_completed

        partitions = _partitions([len(b) for b in batches], self.engine.partition_size)
        futures: dict[Any, list[int]] = {}
        for indices in partitions:
            future = self.client.submit(
                _embed_partition,
                self._params_json,
                [list(batches[i]) for i in indices],
                pure=False,
                retries=2,
            )
            futures[future] = indices
        log.info("embedding %d batches in %d partitions on Dask", len(batches), len(futures))
        failure: BaseException | None = None
        for future in as_completed(list(futures)):
            try:
                vectors = future.result()
            except Exception as exc:  # every partition that landed is kept first
                failure = failure or exc
                continue
            yield from zip(futures[future], vectors, strict=True)
        if failure is not None:
            raise BackendError(f"a Dask embedding task failed: {failure}") from failure

    def close(self) -> None:
        """Close the client (and its LocalCluster) when this object opened it."""
        if self._own_client and self._client is not None:
            close_client(self._client)
            self._client = None


def _partitions(sizes: Sequence[int], partition_size: int) -> list[list[int]]:
    """Consecutive batch indices grouped into tasks of about ``partition_size`` texts."""
    groups: list[list[int]] = []
    current: list[int] = []
    held = 0
    for i, size in enumerate(sizes):
        if current and held + size > partition_size:
            groups.append(current)
            current, held = [], 0
        current.append(i)
        held += size
    if current:
        groups.append(current)
    return groups
