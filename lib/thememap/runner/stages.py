"""What each shipped notebook needs from the store before it runs, checked up front.

A run that starts part-way (``thememap run --from 03_describe``, ``--only 02_cluster``,
``notebooks:`` in the params) or has no input file must stop with one clear line before
any kernel starts, not fail in a cell minutes later or "succeed" with 0 items. Notebooks
with other names (a project's own ``05_extra``) need nothing checked here.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from thememap.errors import InputError, StepOrderError
from thememap.params import Params

EMBED, CLUSTER, DESCRIBE, EXPORT = "01_embed", "02_cluster", "03_describe", "04_export"


@dataclass(frozen=True)
class StoreState:
    """What the earlier stages have left in a store."""

    path: Path
    items: int = 0
    vectors: bool = False
    clusters: bool = False


def store_state(path: Path) -> StoreState:
    """Read what a store holds; a missing store holds nothing (and is not created)."""
    if not path.exists():
        return StoreState(path)
    from thememap.store import open_store
    from thememap.store.clusters import latest_cluster_run
    from thememap.store.items import count_items
    from thememap.store.vectors import active_model

    with closing(open_store(path, create=False)) as conn:
        return StoreState(
            path,
            items=count_items(conn),
            vectors=active_model(conn) is not None,
            clusters=latest_cluster_run(conn) is not None,
        )


def check_stage_inputs(params: Params, stems: list[str]) -> None:
    """Raise one clear error when a notebook of ``stems`` (run order) would start empty.

    ``01_embed`` needs ``input.path`` or items already in the store; ``02_cluster`` the
    vectors of 01 unless 01 runs before it; ``03_describe`` and ``04_export`` a
    clustering unless ``02_cluster`` runs before them.
    """
    wanted = _needs(params, stems)
    if not wanted:
        return
    state = store_state(params.store_path)
    if "items" in wanted and state.items == 0:
        raise InputError(
            f"input.path is not set and the store {state.path} has no items: "
            "set input.path to the file to load"
        )
    stem = wanted.get("vectors")
    if stem and not state.vectors:
        raise StepOrderError(
            f"{stem} needs the vectors of {EMBED}, and the store {state.path} has none: "
            f"run {EMBED} first (thememap run PARAMS --from {EMBED})"
        )
    stem = wanted.get("clusters")
    if stem and not state.clusters:
        raise StepOrderError(
            f"{stem} needs the clusters of {CLUSTER}, and the store {state.path} has none: "
            f"run {CLUSTER} first (thememap run PARAMS --from {CLUSTER})"
        )


def _needs(params: Params, stems: list[str]) -> dict[str, str]:
    """``{what: the first notebook that needs it}`` for what no earlier notebook makes."""
    needs: dict[str, str] = {}
    for index, stem in enumerate(stems):
        before = set(stems[:index])
        if stem == EMBED and params.input.path is None:
            needs.setdefault("items", stem)
        elif stem == CLUSTER and EMBED not in before:
            needs.setdefault("vectors", stem)
        elif stem in (DESCRIBE, EXPORT) and CLUSTER not in before:
            needs.setdefault("clusters", stem)
    return needs
