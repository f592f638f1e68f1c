"""Params of the 04_export step."""

from __future__ import annotations

from pathlib import Path

from thememap.params_base import StrictModel


class ExportParams(StrictModel):
    """Where and how results are exported."""

    out_dir: Path = Path("exports")
