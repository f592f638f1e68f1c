"""``thememap init DIR``: write a ready project (notebooks, params, demo corpus) into a folder.

The project template ships inside the package (``thememap/project/``)::

    DIR/notebooks/01_embed.ipynb ... 04_export.ipynb
    DIR/params/default.yaml  demo.yaml  local-llm.yaml
    DIR/data/demo.jsonl.gz  README.md

after which ``thememap run DIR/params/demo.yaml`` runs the chain there (the store,
reports and exports land in ``DIR/data``, ``DIR/reports`` and ``DIR/exports``).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from thememap.errors import ParamsError
from thememap.params import packaged

log = logging.getLogger(__name__)

PARTS = ("notebooks", "params", "data")
_SKIP_SUFFIXES = (".db", ".db-wal", ".db-shm", ".lock")


def template_files() -> list[tuple[str, Path]]:
    """``(relative path, source file)`` of every file of the shipped project template."""
    files = []
    for part in PARTS:
        folder = packaged(part)
        for source in sorted(folder.iterdir()):
            hidden = source.name.startswith((".", "__")) or source.name.endswith(_SKIP_SUFFIXES)
            if source.is_file() and not hidden:
                files.append((f"{part}/{source.name}", source))
    return files


def init_project(folder: Path | str, *, force: bool = False) -> list[Path]:
    """Copy the project template into ``folder`` (created if missing); return the files written.

    An existing file is kept unless ``force``; a ``folder`` that is a file is a
    :class:`ParamsError`.
    """
    target = Path(folder).expanduser()
    if target.exists() and not target.is_dir():
        raise ParamsError(f"{target}: exists and is not a folder")
    written = []
    for relative, source in template_files():
        dest = target / relative
        if dest.exists() and not force:
            log.info("%s exists; kept (use --force to overwrite)", dest)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        written.append(dest)
    return written
