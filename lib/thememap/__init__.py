"""thememap: turn a pile of short texts into a 3-level map of named themes.

``thememap.fit(df, text=..., id=...)`` runs the whole thing in memory (see
:mod:`thememap.api`); the numbered notebooks (``thememap init DIR``) tell the
same story step by step with the store. Heavy dependencies (onnxruntime, umap, openai, ...) are imported lazily
by the modules that need them, so ``import thememap`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
__all__ = ["ThemeMap", "add_edit", "apply_edits", "fit", "list_edits"]
_HOMES = {
    "ThemeMap": "thememap.api",
    "fit": "thememap.api",
    # a person's theme edits, kept across runs (thememap.cluster.edit_run)
    "add_edit": "thememap.cluster.edit_run",
    "apply_edits": "thememap.cluster.edit_run",
    "list_edits": "thememap.cluster.edit_run",
}

if TYPE_CHECKING:
    from thememap.api import ThemeMap, fit
    from thememap.cluster.edit_run import add_edit, apply_edits, list_edits


def __getattr__(name: str) -> Any:
    # ``thememap.fit`` / ``thememap.ThemeMap`` without importing pandas at ``import thememap``
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'thememap' has no attribute {name!r}")
