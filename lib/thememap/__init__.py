"""thememap: turn a pile of short texts into a 3-level map of named themes.

``thememap.fit(df, text=..., id=...)`` runs the whole thing in memory (see
:mod:`thememap.api`); the numbered notebooks (``thememap init DIR``) tell the
same story step by step with the store. Heavy dependencies (onnxruntime, umap, openai, ...) are imported lazily
by the modules that need them, so ``import thememap`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
__all__ = ["ThemeMap", "fit"]

if TYPE_CHECKING:
    from thememap.api import ThemeMap, fit


def __getattr__(name: str) -> Any:
    # ``thememap.fit`` / ``thememap.ThemeMap`` without importing pandas at ``import thememap``
    if name in __all__:
        from thememap import api

        return getattr(api, name)
    raise AttributeError(f"module 'thememap' has no attribute {name!r}")
