"""Progress bars that suit both a live notebook and a papermill batch run.

Under the runner (``THEMEMAP_BATCH=1``) a bar updates rarely, so the rendered
report keeps a few lines of rate and ETA rather than hundreds.
"""

from __future__ import annotations

import os
from typing import Any

from tqdm import tqdm

BATCH_ENV = "THEMEMAP_BATCH"


def in_batch_run() -> bool:
    """True inside a notebook executed by the runner."""
    return os.environ.get(BATCH_ENV) == "1"


def progress_bar(*, total: int | None, desc: str, unit: str = "it", **kwargs: Any) -> tqdm:
    """A tqdm bar with rate and ETA; sparse updates in batch runs."""
    kwargs.setdefault("mininterval", 30.0 if in_batch_run() else 1.0)
    return tqdm(total=total, desc=desc, unit=unit, **kwargs)
