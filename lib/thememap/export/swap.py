"""The export folder is replaced as a whole: written in a staging folder, then swapped in.

A run killed while exporting leaves the previous export set untouched (plus a
staging folder that the next export clears); readers never see items.json from
one run beside a manifest or Parquet files from another.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from thememap.errors import ParamsError

log = logging.getLogger(__name__)

# Everything 04_export writes; an out_dir holding anything else is not ours to replace.
EXPORT_NAMES = frozenset(
    {
        "items.json",
        "clusters.json",
        "items.parquet",
        "clusters.parquet",
        "cards.parquet",
        "map.html",
        "manifest.json",
        "items_themes.csv",
        "changes.csv",
        "embedding_atlas",
        "datamapplot",
    }
)


def _staging(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.staging"


def _previous(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.previous"


def recover(out_dir: Path) -> None:
    """Finish or undo a swap that a killed process left half done; clear a stale staging folder."""
    previous = _previous(out_dir)
    if previous.is_dir():
        if out_dir.exists():
            shutil.rmtree(previous)  # killed after the swap, before the clean-up
        else:
            os.rename(previous, out_dir)  # killed between the two renames: put the old set back
            log.warning("%s: restored the previous export set (an export was interrupted)", out_dir)
    shutil.rmtree(_staging(out_dir), ignore_errors=True)


@contextmanager
def staged_export(out_dir: Path) -> Iterator[Path]:
    """Yield an empty staging folder; when the block succeeds it becomes ``out_dir``."""
    recover(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ParamsError(f"export.out_dir: {out_dir} is a file, not a folder")
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in EXPORT_NAMES)
        if foreign:
            raise ParamsError(
                f"export.out_dir: {out_dir} holds files thememap did not write "
                f"({', '.join(foreign[:5])}); the export replaces its folder as a whole, "
                "so give it a folder of its own"
            )
    staging = _staging(out_dir)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, out_dir)


def swap_in(staging: Path, out_dir: Path) -> None:
    """Make ``staging`` the new ``out_dir`` (two renames; :func:`recover` mends a crash between)."""
    previous = _previous(out_dir)
    if out_dir.exists():
        os.rename(out_dir, previous)
    os.rename(staging, out_dir)
    shutil.rmtree(previous, ignore_errors=True)
