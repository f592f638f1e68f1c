"""Theme edits with the store: add and list them, read a YAML edits file, apply them to a run.

The edits' rules are :mod:`thememap.cluster.edits` (pure, on tables); this module is
the thin layer between those rules and the store (:mod:`thememap.store.theme_edits`).
Notebook 02 calls :func:`apply_run_edits` right after
:func:`~thememap.cluster.continuity.assign_themes`::

    edited = apply_run_edits(conn, result.run_id, params.continuity)

From Python::

    add_edit(conn, "rename", theme="T1-0003", name="Billing", author="ana")
    add_edit(conn, "merge", themes=["T1-0003", "T1-0007"])
    apply_edits(conn, run_id)   # every later run applies them too

An edits file is a YAML list; each entry has ``kind`` and the kind's fields
(``theme`` / ``themes``, ``name``, ``card``) and may have ``author``::

    - {kind: rename, theme: T1-0003, name: Billing, author: ana}
    - {kind: merge, themes: [T1-0003, T1-0007]}
    - {kind: split, theme: T1-0002}
    - {kind: pin_card, theme: T2-0011, card: {pattern_name: Refunds, summary: ...}}
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.edits import (
    APPLIED,
    THEME_COLUMNS,
    Edit,
    EditedThemes,
    EditError,
    edit_themes,
    validate_edits,
)
from thememap.store.theme_edits import edit_key, put_edits, read_edits, write_edited_run
from thememap.store.themes import read_themes, run_themes

log = logging.getLogger(__name__)

_ENTRY_KEYS = {"kind", "theme", "themes", "name", "card", "author"}


def make_edit(
    kind: str,
    fields: Mapping[str, Any],
    *,
    number: int = 0,
    author: str | None = None,
    source: str | None = None,
) -> Edit:
    """An :class:`~thememap.cluster.edits.Edit` from its kind and stored fields."""
    themes = fields.get("themes") or ()
    return Edit(
        kind=kind,
        number=number,
        theme=None if fields.get("theme") is None else str(fields["theme"]),
        themes=tuple(str(t) for t in themes) if isinstance(themes, list | tuple) else (),
        name=fields.get("name"),
        card=fields.get("card") if isinstance(fields.get("card"), Mapping) else None,
        author=author,
        source=source,
    )


def add_edit(
    conn: sqlite3.Connection,
    kind: str,
    *,
    theme: str | None = None,
    themes: Sequence[str] | None = None,
    name: str | None = None,
    card: Mapping[str, Any] | None = None,
    author: str | None = None,
) -> int:
    """Store one edit (checked first: its fields, and that its themes exist); return its id.

    The same edit twice is stored once. It applies from the next :func:`apply_edits` on.
    """
    fields = {"theme": theme, "themes": list(themes or []), "name": name, "card": card}
    edit = make_edit(kind, fields, author=author, source="new edit")
    return _store(conn, [edit])[0]


def list_edits(conn: sqlite3.Connection) -> pd.DataFrame:
    """Every stored edit, in the order made (``edit_id, kind, payload, author, source,
    created_at``)."""
    return read_edits(conn)


def _store(conn: sqlite3.Connection, edits: Sequence[Edit]) -> list[int]:
    """Check ``edits`` together with the stored ones (fields, known ids, levels, cycles:
    what needs no run), then store them in one transaction."""
    known = set(read_themes(conn)["theme_id"])
    stored = stored_edits(conn)
    seen = {edit_key(e.kind, e.fields()) for e in stored}
    fresh = []
    for edit in edits:  # an edit stored already (or twice in the list) is one edit
        key = edit_key(edit.kind, edit.fields())
        if key not in seen:
            seen.add(key)
            fresh.append(edit)
    no_run = pd.DataFrame(columns=THEME_COLUMNS)
    validate_edits([*stored, *fresh], no_run, known_ids=known)
    return put_edits(conn, [(e.kind, e.fields(), e.author, e.source) for e in edits])


def read_edits_file(path: Path) -> list[Edit]:
    """The edits of a YAML edits file (see the module doc), each named by its entry number."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise EditError(f"{path}: cannot read the edits file ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise EditError(f"{path}: not valid YAML ({err})") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise EditError(f"{path}: an edits file is a YAML list of edits")
    edits = []
    for number, entry in enumerate(data, start=1):
        where = f"{Path(path).name} entry {number}"
        if not isinstance(entry, Mapping) or "kind" not in entry:
            raise EditError(f"{where}: an edit is a mapping with a 'kind'")
        unknown = sorted(set(entry) - _ENTRY_KEYS)
        if unknown:
            raise EditError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
        fields = {k: v for k, v in entry.items() if k not in ("kind", "author")}
        author = None if entry.get("author") is None else str(entry["author"])
        edits.append(
            make_edit(str(entry["kind"]), fields, number=number, author=author, source=where)
        )
    return edits


def store_edits_file(conn: sqlite3.Connection, path: Path) -> list[int]:
    """Store every edit of the file (all checked first; the same entry again is one edit)."""
    return _store(conn, read_edits_file(path))


def stored_edits(conn: sqlite3.Connection) -> list[Edit]:
    """The store's edits as :class:`~thememap.cluster.edits.Edit`, numbered by edit id."""
    return [
        make_edit(kind, payload, number=int(edit_id), author=author)
        for edit_id, kind, payload, author in zip(
            *(read_edits(conn)[c] for c in ("edit_id", "kind", "payload", "author")), strict=True
        )
    ]


def run_theme_table(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """``run_id``'s themes as :func:`~thememap.cluster.edits.edit_themes` takes them:
    ``level, theme_id, parent_theme_id, comment_count, name`` (the card name when made)."""
    frame = run_themes(conn, run_id)
    if frame.empty:  # a run never matched (its themes not assigned): nothing to edit
        return pd.DataFrame(columns=THEME_COLUMNS)
    by_cluster = dict(zip(frame["cluster_id"], frame["theme_id"], strict=True))
    parents = frame["parent_id"].map(lambda p: None if pd.isna(p) else by_cluster.get(int(p)))
    title = frame["title"].where(frame["title"].notna() & (frame["title"] != ""), frame["name"])
    table = frame.assign(parent_theme_id=parents, name=title)
    return table.dropna(subset=["theme_id"])[THEME_COLUMNS].reset_index(drop=True)


def apply_edits(conn: sqlite3.Connection, run_id: str) -> EditedThemes:
    """Apply every stored edit to ``run_id`` and store the result (one transaction).

    All edits are checked first (:func:`~thememap.cluster.edits.validate_edits`): a bad one
    raises one :class:`~thememap.cluster.edits.EditError` naming it, and nothing is written.
    """
    edits = stored_edits(conn)
    known = set(read_themes(conn)["theme_id"])
    edited = edit_themes(edits, run_theme_table(conn, run_id), known_ids=known)
    outcomes = {e.number: status for e, status in edited.outcomes}
    write_edited_run(conn, run_id, outcomes, edited.records())
    applied = sum(status == APPLIED for status in outcomes.values())
    log.info("run %s: %d of %d theme edit(s) applied", run_id, applied, len(outcomes))
    return edited


def apply_run_edits(
    conn: sqlite3.Connection, run_id: str, params: ContinuityParams | None = None
) -> pd.DataFrame:
    """Notebook 02's call: store ``params.edits_file``'s edits, apply all edits to ``run_id``;
    returns one row per edit (``edit, author, outcome``) to show."""
    params = params or ContinuityParams()
    if params.edits_file is not None:
        store_edits_file(conn, params.edits_file)
    edited = apply_edits(conn, run_id)
    return pd.DataFrame(
        [(e.label, e.author, status) for e, status in edited.outcomes],
        columns=["edit", "author", "outcome"],
    )
