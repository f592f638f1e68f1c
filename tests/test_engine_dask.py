"""engine.kind: dask: embedding in partitions on a real Dask LocalCluster of 2 worker processes.

The same store, the same vectors and the same clusters and cards as the single-process run;
a worker killed (SIGKILL) mid-embedding loses nothing; a cluster lost mid-run leaves every
partition that landed in the store, and the re-run embeds only the rest.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thememap.embed import make_embedder
from thememap.embed.params import EmbedParams
from thememap.embed.step import embed_store
from thememap.engine import EngineParams
from thememap.engine.dask_embed import DaskEmbedder, _partitions
from thememap.errors import BackendError
from thememap.ingest.load import load_items
from thememap.ingest.params import InputParams
from thememap.store import open_store
from thememap.store.vectors import load_item_vectors

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
N_ITEMS = 240
EMBED = EmbedParams(batch_size=16, threads=1)  # one thread both ways: the same float sums
ENGINE = EngineParams(kind="dask", workers=2, threads_per_worker=1, partition_size=48)


@pytest.fixture(scope="module")
def client():
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first N_ITEMS demo items, with a hostile one, as JSONL."""
    path = tmp_path_factory.mktemp("corpus") / "items.jsonl"
    with gzip.open(ROOT / "data" / "demo.jsonl.gz", "rt", encoding="utf-8") as src:
        rows = [json.loads(line) for _, line in zip(range(N_ITEMS), src, strict=False)]
    rows[3]["text"] = '<script>alert(1)</script> "><img src=x onerror=alert(2)>'
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """The corpus embedded in this process, the single-process run's store."""
    conn = _store(tmp_path_factory.mktemp("reference"), "reference", corpus)
    report = embed_store(conn, make_embedder(EMBED), _input(corpus), batch_size=16, progress=False)
    return conn, report


def _store(tmp_path: Path, name: str, corpus: Path):
    conn = open_store(tmp_path / f"{name}.db")
    load_items(conn, _input(corpus), path=corpus, progress=False)
    return conn


def _input(corpus: Path) -> InputParams:
    return InputParams(path=corpus, text_field="text", id_field="package", title_field="title")


def _vectors(conn) -> tuple[np.ndarray, np.ndarray]:
    return load_item_vectors(conn)


def _vectors_so_far(conn) -> list[tuple[str]]:
    return conn.execute("SELECT content_hash FROM embeddings").fetchall()


def test_partitions_hold_consecutive_batches_of_about_the_size_asked() -> None:
    assert _partitions([16, 16, 16, 16, 5], 32) == [[0, 1], [2, 3], [4]]
    assert _partitions([100], 10) == [[0]]  # a batch larger than a partition is one task
    assert _partitions([], 10) == []


def test_dask_gives_the_single_process_vectors_clusters_and_cards(
    client, corpus: Path, reference, tmp_path: Path
) -> None:
    from thememap.api import fit

    local, report_local = reference
    dask = _store(tmp_path, "dask", corpus)
    embedder = DaskEmbedder(EMBED, ENGINE, client=client)
    report_dask = embed_store(dask, embedder, _input(corpus), batch_size=16, progress=False)
    assert report_dask.model_id == report_local.model_id
    assert report_dask.embedded_now == report_local.embedded_now > 0
    ids_local, x_local = _vectors(local)
    ids_dask, x_dask = _vectors(dask)
    np.testing.assert_array_equal(ids_local, ids_dask)
    np.testing.assert_allclose(x_dask, x_local, atol=1e-6)

    # the whole chain (the notebooks' code, as thememap.fit runs it) on the two embedders
    params = {
        "input": {"text_field": "text", "id_field": "package", "title_field": "title"},
        "embed": EMBED.model_dump(exclude_none=True),
        "cluster": {"restarts": 2, "check_runs": 0, "layout": "pca"},
    }
    rows = pd.read_json(corpus, lines=True)
    one = fit(rows, params=params, progress=False)
    two = fit(rows, params=params, embedder=embedder, progress=False)
    np.testing.assert_array_equal(one.clustered.hierarchy.labels, two.clustered.hierarchy.labels)
    for column in ("pattern_name", "summary", "category", "strength", "size"):
        assert one.clusters[column].tolist() == two.clusters[column].tolist(), column
    csv_one = one.export(tmp_path / "one").out_dir / "items_themes.csv"
    csv_two = two.export(tmp_path / "two").out_dir / "items_themes.csv"
    assert csv_one.read_bytes() == csv_two.read_bytes()


class _KillsAWorker:
    """Delegates to a DaskEmbedder and SIGKILLs one worker process after the first batch."""

    def __init__(self, inner: DaskEmbedder) -> None:
        self.inner = inner
        self.killed: int | None = None

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed(texts)

    def embed_stream(self, batches: Sequence[Sequence[str]]) -> Iterator[tuple[int, np.ndarray]]:
        for done, (index, vectors) in enumerate(self.inner.embed_stream(batches)):
            if done == 0:
                pids = self.inner.client.run(os.getpid)
                self.killed = sorted(pids.values())[0]
                os.kill(self.killed, signal.SIGKILL)
            yield index, vectors


def test_a_worker_killed_mid_embedding_loses_nothing(
    corpus: Path, reference, tmp_path: Path
) -> None:
    conn = _store(tmp_path, "killed", corpus)
    # its own LocalCluster (opened by the embedder, as a run does): a worker dies in it
    inner = DaskEmbedder(EMBED, ENGINE)
    try:
        killer = _KillsAWorker(inner)
        report = embed_store(conn, killer, _input(corpus), batch_size=16, progress=False)
    finally:
        inner.close()
    assert killer.killed is not None
    assert report.embedded_now == report.unique_texts
    ids, x = _vectors(conn)
    ids_ref, x_ref = _vectors(reference[0])
    np.testing.assert_array_equal(ids, ids_ref)
    np.testing.assert_allclose(x, x_ref, atol=1e-6)


class _LosesTheCluster(_KillsAWorker):
    """Closes the client (every worker gone) after three batches have landed."""

    def embed_stream(self, batches: Sequence[Sequence[str]]) -> Iterator[tuple[int, np.ndarray]]:
        for done, item in enumerate(self.inner.embed_stream(batches)):
            yield item
            if done == 2:
                self.inner.close()


def test_a_lost_cluster_keeps_what_landed_and_the_rerun_embeds_the_rest(
    corpus: Path, tmp_path: Path
) -> None:
    conn = _store(tmp_path, "lost", corpus)
    inner = DaskEmbedder(EMBED, ENGINE)
    with pytest.raises(Exception):  # noqa: B017 - the client's own error, whatever its class
        embed_store(conn, _LosesTheCluster(inner), _input(corpus), batch_size=16, progress=False)
    kept = len(_vectors_so_far(conn))
    assert 3 * 16 <= kept < N_ITEMS  # the batches that landed are committed
    again = DaskEmbedder(EMBED, ENGINE)
    try:
        report = embed_store(conn, again, _input(corpus), batch_size=16, progress=False)
    finally:
        again.close()
    assert report.already_embedded == kept
    assert report.embedded_now == report.unique_texts - kept
    assert len(_vectors(conn)[0]) == N_ITEMS


def test_a_scheduler_address_nobody_answers_is_one_clear_error() -> None:
    engine = EngineParams(kind="dask", address="tcp://127.0.0.1:9")
    with pytest.raises(BackendError, match=r"engine\.address"):
        DaskEmbedder(EMBED, engine).embed(["a"])
