"""The local ONNX backend: the real all-MiniLM-L6-v2 graphs built from the installed package."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from thememap.embed import local_onnx
from thememap.embed.base import Embedder, make_embedder
from thememap.embed.local_onnx import LocalModel, LocalOnnxEmbedder
from thememap.embed.params import EmbedParams
from thememap.errors import BackendError, ParamsError

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs a song with a string instrument.",
    "The central bank raised interest rates again this quarter.",
    "Library for parsing and validating YAML configuration files in Python.",
    "Fast HTTP client with connection pooling and HTTP/2 support.",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def int8(cache_dir: Path) -> LocalOnnxEmbedder:
    return LocalOnnxEmbedder(cache_dir=cache_dir, threads=2)


@pytest.fixture(scope="module")
def fp32(cache_dir: Path, int8: LocalOnnxEmbedder) -> LocalOnnxEmbedder:
    return LocalOnnxEmbedder(cache_dir=cache_dir, threads=2, quantize=False)


@pytest.mark.slow
def test_vectors_are_unit_float32_and_paraphrase_is_nearest(int8: LocalOnnxEmbedder) -> None:
    vectors = int8.embed(SENTENCES)
    assert isinstance(int8, Embedder)
    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    # the guitar paraphrase is nearer than every unrelated sentence
    assert sims[0, 1] > 0.5
    assert sims[0, 1] > sims[0, 2:].max() + 0.3


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["int8", "fp32"])
def test_same_text_same_vector_whatever_its_batch(
    variant: str, int8: LocalOnnxEmbedder, fp32: LocalOnnxEmbedder
) -> None:
    embedder = int8 if variant == "int8" else fp32
    texts = [*SENTENCES, SENTENCES[2]]
    first = embedder.embed(texts)
    np.testing.assert_array_equal(first, embedder.embed(texts))  # deterministic
    np.testing.assert_allclose(first[2], first[-1], atol=1e-6)  # duplicates in one call
    # neither padding to a longer neighbour nor the neighbours' activations
    # (int8: quantised per row, not per batch) change a text's vector
    alone = embedder.embed([SENTENCES[2]])[0]
    np.testing.assert_allclose(alone, first[2], atol=1e-4)
    other_company = embedder.embed([SENTENCES[2], "ok", "x " * 200])[0]
    np.testing.assert_allclose(other_company, alone, atol=1e-4)


@pytest.mark.slow
def test_order_is_preserved_with_mixed_lengths(cache_dir: Path) -> None:
    small_batches = LocalOnnxEmbedder(cache_dir=cache_dir, threads=2, batch_size=2)
    texts = ["ok", " ".join(["long text about databases"] * 40), *SENTENCES, "x y", "hello world"]
    together = small_batches.embed(texts)
    one_by_one = np.vstack([small_batches.embed([text]) for text in texts])
    # row i is text i, whatever order the batches ran in
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)
    assert small_batches.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_overlong_text_is_truncated_not_rejected(int8: LocalOnnxEmbedder) -> None:
    long_text = "word " * 5000
    assert int8.embed([long_text]).shape == (1, 384)


@pytest.mark.slow
def test_int8_is_close_to_fp32(int8: LocalOnnxEmbedder, fp32: LocalOnnxEmbedder) -> None:
    cosines = (int8.embed(SENTENCES) * fp32.embed(SENTENCES)).sum(axis=1)
    assert cosines.min() >= 0.98
    assert int8.model_id == "local:all-MiniLM-L6-v2:int8"
    assert fp32.model_id == "local:all-MiniLM-L6-v2:fp32"


@pytest.mark.slow
def test_cache_is_reused(
    cache_dir: Path, int8: LocalOnnxEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    before = {path: path.stat().st_mtime_ns for path in int8.graphs_.values()}
    with caplog.at_level(logging.INFO, logger="thememap.embed.local_onnx"):
        again = LocalOnnxEmbedder(cache_dir=cache_dir, threads=1)
    assert "building" not in caplog.text
    assert {path: path.stat().st_mtime_ns for path in again.graphs_.values()} == before
    # nothing half-written is left next to the graphs
    assert sorted(p.name for p in again.graph_path_.parent.iterdir()) == [
        "model.fp32.onnx",
        "model.int8.onnx",
    ]


@pytest.mark.slow
def test_registry_builds_it_from_params(cache_dir: Path) -> None:
    embedder = make_embedder(EmbedParams(cache_dir=cache_dir, quantize=False, threads=1))
    assert isinstance(embedder, LocalOnnxEmbedder)
    assert embedder.model_id.endswith(":fp32")


def test_batches_are_bounded_by_count_and_padded_tokens() -> None:
    lengths = [5, 5, 5, 5, 100, 100, 100, 256]
    order = list(range(len(lengths)))
    assert local_onnx.length_batches(order, lengths, batch_size=3, max_tokens=10_000) == [
        [0, 1, 2],
        [3, 4, 5],
        [6, 7],
    ]
    assert local_onnx.length_batches(order, lengths, batch_size=64, max_tokens=200) == [
        [0, 1, 2, 3],
        [4, 5],
        [6],
        [7],
    ]


def test_unknown_model_names_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"all-MiniLM-L6-v2"):
        LocalOnnxEmbedder(model="bert-huge", cache_dir=tmp_path)


def test_missing_model_package_is_a_clear_backend_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = LocalModel("fake-model", "no_such_model_pkg_xyz", "model.onnx", 8, 16)
    monkeypatch.setitem(local_onnx.MODELS, "fake-model", fake)
    with pytest.raises(BackendError, match=r"pip install no-such-model-pkg-xyz"):
        LocalOnnxEmbedder(model="fake-model", cache_dir=tmp_path)


def test_failed_build_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr("onnxruntime.InferenceSession", broken)
    with pytest.raises(RuntimeError, match="killed"):
        local_onnx.prepare_graphs(local_onnx.MODELS["all-MiniLM-L6-v2"], tmp_path)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_row_quantisation_makes_rows_independent(tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from thememap.embed.onnx_rowquant import quantize_rows

    rng = np.random.default_rng(0)
    weight = rng.normal(size=(16, 8)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", 8])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "fp32.onnx")
    quantize_dynamic(
        tmp_path / "fp32.onnx",
        tmp_path / "q.onnx",
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,  # as local_onnx builds it: correct on CPUs without VNNI too
    )
    quantized = onnx.load(tmp_path / "q.onnx")
    assert quantize_rows(quantized) == 1
    onnx.save(quantized, tmp_path / "rows.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(str(tmp_path / "rows.onnx"), options)

    small = rng.normal(size=(1, 3, 16)).astype(np.float32)
    loud = np.concatenate([small, 100 * rng.normal(size=(1, 3, 16)).astype(np.float32)], axis=0)
    alone = session.run(None, {"x": small})[0]
    batched = session.run(None, {"x": loud})[0]
    np.testing.assert_array_equal(alone[0], batched[0])  # a loud neighbour changes nothing
    exact = small @ weight
    assert np.abs(alone - exact).max() < 0.05 * np.abs(exact).max()
