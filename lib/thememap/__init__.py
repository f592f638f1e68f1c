"""thememap: turn a pile of short texts into a 3-level map of named themes.

The numbered notebooks in ``notebooks/`` tell the story; this package does the
work. Heavy dependencies (onnxruntime, umap, openai, ...) are imported lazily
by the modules that need them, so ``import thememap`` stays cheap.
"""

__version__ = "0.1.0"
