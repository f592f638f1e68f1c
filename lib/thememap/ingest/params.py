"""Params of loading the items (the ``input`` section, read by the 01_embed step)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from thememap.params_base import StrictModel


class InputParams(StrictModel):
    """Where the items come from and how each becomes the text that is embedded."""

    path: Path | None = Field(None, description="CSV, TSV, JSONL, Parquet, TXT or SQLite file")
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet", "text", "sqlite"] = "auto"
    text_field: str = Field("content", description="field holding the item text")
    id_field: str | None = Field(None, description="field holding a stable id (else file:line)")
    created_at_field: str | None = None
    title_field: str | None = Field(None, description="prepended as 'Title: ...' when embedding")
    context_fields: list[str] = Field(
        default_factory=list, description="metadata fields prepended as 'Field: value' context"
    )
    metadata_fields: list[str] | Literal["all"] = Field(
        "all", description="fields kept as metadata; 'all' keeps every other field"
    )
    sqlite_table: str = Field("items", description="table read from a SQLite input")
    max_chars: int = Field(8000, gt=0, description="embedded text is truncated to this length")
    max_text_bytes: int = Field(
        100_000, gt=0, description="a row whose text is longer is a bad row, not truncated"
    )
    on_bad_row: Literal["skip", "fail"] = Field(
        "skip", description="skip: load good rows and report the bad; fail: load nothing"
    )
    mirror: bool = Field(
        True,
        description="the items mirror the input file: changed texts replace the old, items "
        "gone from the file leave the map (their vectors stay cached); false: only add",
    )
    encoding: str = "utf-8"
