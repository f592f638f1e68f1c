"""1,200 real MiniLM vectors of the Debian dev corpus with their sections.

Made from ``../shared/data/debian-dev.jsonl.gz`` (every 7th item, embedded as
"Title: <title>\\n\\n<text>" with all-MiniLM-L6-v2 on onnxruntime), stored as int8
per-row-scaled values (cosine to the float32 originals >= 0.9999) to stay small;
see tests/data/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"


def debian_vectors() -> tuple[np.ndarray, np.ndarray]:
    """``(vectors float32 unit rows, sections)`` of the 1,200-item fixture."""
    stored = np.load(DATA / "debian_1200_minilm_q8.npz")
    x = stored["q"].astype(np.float32) * stored["scale"][:, None]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sections = np.asarray(json.loads((DATA / "debian_1200_sections.json").read_text()))
    return x, sections
