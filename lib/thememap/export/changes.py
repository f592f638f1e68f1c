"""What changed since the previous run: new and ended themes, growth, items that moved.

Themes are compared by their stable ids (:mod:`thememap.cluster.identity`): a theme
is *new* when the previous matched run did not hold its id, *ended* when this run
does not, else it *grew* or *shrank* by its share of the level's items (counts move
with the corpus size; shares say whether a theme gained ground). An item *moved*
when both runs hold it and its theme id at that level differs.

:func:`compare_themes` does it on tables; :func:`theme_changes` reads a run and the
run it was matched to from the store; ``changes.csv`` in the export folder is the
whole table (every theme of either run, all levels).

A person's edits (:mod:`thememap.cluster.edits`) show twice: ``edited`` is true for a
theme an applied edit touched (its ``theme`` is then the edited name), and each edit
the run applied is one row of change ``edit applied`` (no counts; ``theme`` says what
the edit did).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from thememap.cluster.edits import theme_level
from thememap.export.interop import csv_text
from thememap.files import write_text_atomic
from thememap.notebook_display import Note, with_empty_note
from thememap.store.theme_edits import edited_names, read_edit_outcomes, read_edited_themes
from thememap.store.themes import item_theme_ids, run_themes, theme_run

COLUMNS = [
    "level", "theme_id", "theme", "change", "items_before", "items_now", "items_change",
    "share_before", "share_now", "share_change", "moved_in", "moved_out", "edited",
]  # fmt: skip
EDIT_APPLIED = "edit applied"
_ORDER = {"new": 0, "ended": 1, "grew": 2, "shrank": 3, "same": 4, EDIT_APPLIED: 5}
_TEXT = ("theme_id", "theme", "change")


def empty_table() -> pd.DataFrame:
    """The change table with no rows (numbers typed as numbers)."""
    types = {c: "string" if c in _TEXT else "bool" if c == "edited" else "float64" for c in COLUMNS}
    return pd.DataFrame({c: pd.Series(dtype=kind) for c, kind in types.items()})


@dataclass
class ThemeChanges:
    """A run's changes against the run it was matched to (``previous_run_id`` None: a first
    run, nothing to compare). ``table``: one row per theme of either run (:data:`COLUMNS`);
    ``shared_items`` / ``moved_items``: level-1 items both runs hold, and how many of those
    changed theme."""

    run_id: str
    previous_run_id: str | None
    table: pd.DataFrame
    shared_items: int = 0
    moved_items: int = 0

    @property
    def moved_share(self) -> float:
        """Share of the items both runs hold that moved to another level-1 theme."""
        return self.moved_items / self.shared_items if self.shared_items else 0.0

    def summary(self, *, level: int = 1, top: int = 5) -> pd.DataFrame:
        """New and ended themes of ``level``, and the ``top`` that grew and shrank most."""
        if self.previous_run_id is None:
            return with_empty_note(empty_table(), "first run: nothing to compare")
        at = self.table[self.table["level"] == level]
        grew = at[at["change"] == "grew"].nlargest(top, "share_change")
        shrank = at[at["change"] == "shrank"].nsmallest(top, "share_change")
        edits = at[at["change"] == EDIT_APPLIED]
        rows = pd.concat([at[at["change"].isin(["new", "ended"])], grew, shrank, edits])
        note = f"no level-{level} theme changed since run {self.previous_run_id}"
        return with_empty_note(rows.reset_index(drop=True), note)

    def note(self, *, level: int = 1) -> Note:
        """One line: what changed at ``level`` since the previous run."""
        if self.previous_run_id is None:
            return Note("first run: nothing to compare")
        at = self.table[self.table["level"] == level]
        count = at["change"].value_counts()
        kept = int(count.get("grew", 0) + count.get("shrank", 0) + count.get("same", 0))
        text = (
            f"Since run {self.previous_run_id}: {int(count.get('new', 0))} new level-{level} "
            f"theme(s), {int(count.get('ended', 0))} ended, {kept} kept"
        )
        if level == 1:
            text += (
                f"; {self.moved_items:,} of the {self.shared_items:,} items in both runs "
                f"({self.moved_share:.1%}) moved to another level-1 theme"
            )
        for change, pick, word in (("grew", "idxmax", "grew"), ("shrank", "idxmin", "shrank")):
            part = at[at["change"] == change]
            if len(part):
                row = part.loc[getattr(part["share_change"], pick)()]
                text += (
                    f"; {word} most: {row['theme']} ({100 * row['share_change']:+.1f} points of "
                    f"share, {int(row['items_change']):+,} items)"
                )
        if count.get(EDIT_APPLIED, 0):
            text += f"; {int(count[EDIT_APPLIED])} edit(s) applied"
        return Note(text + ".")


def compare_themes(
    now: pd.DataFrame,
    before: pd.DataFrame,
    items_now: pd.DataFrame,
    items_before: pd.DataFrame,
) -> pd.DataFrame:
    """The change table (:data:`COLUMNS`) of two runs' themes.

    ``now`` / ``before``: one row per cluster with ``level, theme_id, comment_count`` and
    a display name in ``title`` (else ``name``); ``items_*``: ``item_id, level, theme_id``.
    Shares are of the items placed at the level in that run.
    """
    frames = []
    for side, themes in (("now", now), ("before", before)):
        named = themes.dropna(subset=["theme_id"]).copy()
        title = named["title"] if "title" in named.columns else pd.Series(None, index=named.index)
        named["theme"] = title.where(title.notna() & (title != ""), named.get("name"))
        total = named.groupby("level")["comment_count"].transform("sum").clip(lower=1)
        named[f"items_{side}"] = named["comment_count"].astype(int)
        named[f"share_{side}"] = named["comment_count"] / total
        frames.append(named[["level", "theme_id", "theme", f"items_{side}", f"share_{side}"]])
    table = frames[0].merge(
        frames[1], on=["level", "theme_id"], how="outer", suffixes=("", "_before")
    )
    table["theme"] = table["theme"].fillna(table.pop("theme_before"))
    table["change"] = "same"
    table.loc[table["items_before"].isna(), "change"] = "new"
    table.loc[table["items_now"].isna(), "change"] = "ended"
    for column in ("items_before", "items_now", "share_before", "share_now"):
        table[column] = table[column].fillna(0)
    table["items_before"] = table["items_before"].astype(int)
    table["items_now"] = table["items_now"].astype(int)
    table["items_change"] = table["items_now"] - table["items_before"]
    table["share_change"] = table["share_now"] - table["share_before"]
    kept = ~table["change"].isin(["new", "ended"])
    table.loc[kept & (table["share_change"] > 0), "change"] = "grew"
    table.loc[kept & (table["share_change"] < 0), "change"] = "shrank"
    moved = _moves(items_now, items_before)
    table = table.merge(moved, on=["level", "theme_id"], how="left")
    table[["moved_in", "moved_out"]] = table[["moved_in", "moved_out"]].fillna(0).astype(int)
    for column in ("share_before", "share_now", "share_change"):
        table[column] = table[column].round(6)
    table["edited"] = False
    table["_order"] = table["change"].map(_ORDER)
    table["_size"] = -table["share_change"].abs()
    table = table.sort_values(["level", "_order", "_size", "theme_id"])
    return table[COLUMNS].reset_index(drop=True)


def with_edits(table: pd.DataFrame, shown: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The change table with the run's edits: ``edited`` themes under their edited name, and
    one ``edit applied`` row per applied edit.

    ``shown``: the run's themes after its edits (``theme_id, name, edited, sources``: see
    :func:`thememap.store.theme_edits.read_edited_themes`); ``outcomes``: ``kind, payload,
    status`` per edit.
    """
    table = table.copy()
    name_of = edited_names(shown)
    hit = table["theme_id"].isin(list(name_of))
    table.loc[hit, "edited"] = True
    table.loc[hit, "theme"] = table.loc[hit, "theme_id"].map(name_of)
    rows = [_edit_row(kind, payload) for kind, payload, status in zip(
        outcomes["kind"], outcomes["payload"], outcomes["status"], strict=True
    ) if status == "applied"]  # fmt: skip
    if not rows:
        return table
    extra = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for column in ("items_before", "items_now", "items_change", "moved_in", "moved_out"):
        table[column] = table[column].astype("Int64")
        extra[column] = extra[column].astype("Int64")
    joined = pd.concat([table, extra.astype({"edited": bool})], ignore_index=True)
    order = joined["change"].map(_ORDER)
    return (
        joined.assign(_o=order)
        .sort_values(["level", "_o"], kind="stable")[COLUMNS]
        .reset_index(drop=True)
    )


def _edit_row(kind: str, payload: dict[str, object]) -> dict[str, object]:
    themes = payload.get("themes") or [payload.get("theme")]
    first = str(themes[0]) if isinstance(themes, list) and themes else ""
    what = {
        "rename": f"renamed: {payload.get('name')}",
        "pin_name": f"name pinned: {payload.get('name')}",
        "pin_card": "card pinned",
        "merge": f"merged: {', '.join(map(str, themes)) if isinstance(themes, list) else ''}",
        "split": "split into its sub-themes",
    }.get(kind, kind)
    return {
        "level": theme_level(first) or 0,
        "theme_id": first,
        "theme": what,
        "change": EDIT_APPLIED,
        "edited": True,
    }


def _moves(items_now: pd.DataFrame, items_before: pd.DataFrame) -> pd.DataFrame:
    """Per (level, theme): shared items that came from another theme, and that left it."""
    both = items_now.merge(items_before, on=["item_id", "level"], suffixes=("", "_before"))
    moved = both[both["theme_id"] != both["theme_id_before"]]
    into = moved.groupby(["level", "theme_id"]).size().rename("moved_in")
    out = moved.groupby(["level", "theme_id_before"]).size().rename("moved_out")
    out.index = out.index.set_names(["level", "theme_id"])
    frame = pd.concat([into, out], axis=1).fillna(0).reset_index()
    if frame.empty:
        return pd.DataFrame(columns=["level", "theme_id", "moved_in", "moved_out"])
    return frame


def theme_changes(conn: sqlite3.Connection, run_id: str) -> ThemeChanges:
    """``run_id``'s changes against the run it was matched to (see the module doc)."""
    record = theme_run(conn, run_id)
    previous_id = None if record is None else record["previous_run_id"]
    now = run_themes(conn, run_id)
    before = run_themes(conn, previous_id) if previous_id else now.iloc[0:0]
    shown, outcomes = read_edited_themes(conn, run_id), read_edit_outcomes(conn, run_id)
    if previous_id is None or before.empty:  # a first run, or its previous run is gone
        return ThemeChanges(run_id, None, with_edits(empty_table(), shown, outcomes))
    items_now, items_before = item_theme_ids(conn, run_id), item_theme_ids(conn, previous_id)
    table = with_edits(compare_themes(now, before, items_now, items_before), shown, outcomes)
    level_1 = items_now[items_now["level"] == 1].merge(
        items_before[items_before["level"] == 1], on="item_id", suffixes=("", "_before")
    )
    moved = int((level_1["theme_id"] != level_1["theme_id_before"]).sum())
    return ThemeChanges(run_id, previous_id, table, len(level_1), moved)


def write_changes_csv(
    conn: sqlite3.Connection, out_dir: Path, *, run_id: str | None
) -> dict[str, Path]:
    """``changes.csv``: :func:`theme_changes`' table (only the header for a first run)."""
    table = empty_table() if run_id is None else theme_changes(conn, run_id).table
    return {"changes.csv": write_text_atomic(out_dir / "changes.csv", csv_text(table))}
