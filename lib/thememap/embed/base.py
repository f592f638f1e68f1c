"""The Embedder protocol and the registry that builds one from the params.

A backend is a class with ``model_id``, ``dim`` and ``embed(texts)``; heavy
imports (onnxruntime, openai) happen inside the backend module, which is only
imported when that backend is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from thememap.errors import ParamsError

if TYPE_CHECKING:
    from thememap.embed.params import EmbedParams


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text, in order."""

    @property
    def model_id(self) -> str:
        """Identifies model *and* settings that change vectors (e.g. ``dimensions``)."""
        ...

    @property
    def dim(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``: shape ``(len(texts), dim)``, float32, unit length."""
        ...


# name -> "module:factory"; the factory takes EmbedParams and returns an Embedder.
BACKENDS: dict[str, str] = {
    "local": "thememap.embed.local_onnx:LocalOnnxEmbedder.from_params",
    "openai": "thememap.embed.openai_api:OpenAIEmbedder.from_params",
}


def make_embedder(params: EmbedParams) -> Embedder:
    """Build the backend named by ``params.backend`` (imports it lazily)."""
    target = BACKENDS.get(params.backend)
    if target is None:
        raise ParamsError(
            f"embed.backend: unknown backend {params.backend!r} (valid: {', '.join(BACKENDS)})"
        )
    module_name, _, attr_path = target.partition(":")
    factory: object = import_module(module_name)
    for attr in attr_path.split("."):
        factory = getattr(factory, attr)
    assert callable(factory)
    built = factory(params)
    return _checked(built, params.backend)


def _checked(embedder: object, name: str) -> Embedder:
    # checked on the class: isinstance() on Python 3.11 reads the ``dim`` property, which
    # costs the OpenAI backend a (paid) probe request
    if not all(hasattr(type(embedder), attr) for attr in ("model_id", "dim", "embed")):
        raise TypeError(f"backend {name!r} does not implement the Embedder protocol")
    return embedder  # type: ignore[return-value]


EmbedderFactory = Callable[["EmbedParams"], Embedder]
