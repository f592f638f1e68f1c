"""A person's edits to a run's themes: validated as a whole, then applied on a table.

Pure functions on a plain table of a run's themes (no store). Edits are keyed by
*theme id* (``T<level>-<number>``), which survives re-runs
(:mod:`thememap.cluster.identity`), so the same edits apply again to the matched
clusters of every later run. They are an overlay: the run's clusters themselves are
never rewritten, so the next run is matched against the model's own clustering and
an edited theme keeps its id.

Kinds (``Edit.kind``):

* ``rename`` (``theme``, ``name``): the name the report shows for the theme;
* ``pin_name`` (``theme``, ``name``): as ``rename``, and 03_describe's card of the
  theme carries this name whatever card is made (a new LLM card included);
* ``pin_card`` (``theme``, ``card``: ``pattern_name`` / ``summary`` / ``category``):
  the whole card fixed;
* ``merge`` (``themes``: two or more of one level): the first keeps its id and takes
  the others' items; their sub-themes move under it. Sub-themes of different parents
  cannot merge (nesting would break): merge their parents first;
* ``split`` (``theme``): the theme is replaced, at its level, by one theme per
  sub-theme (its children are promoted). A piece's id is ``<theme>/<child theme>``
  (``T1-0003/T2-0007``), stable while the child keeps its id.

:func:`validate_edits` checks every edit first and raises one
:class:`~thememap.errors.ThememapError` naming the edit at fault (its number and
kind); only then does :func:`edit_themes` change anything, so nothing is applied
half. An edit of a theme this run does not hold (it ended) is not an error: its
outcome is ``"not applied: theme ended"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from thememap.errors import ThememapError

KINDS = ("rename", "pin_name", "pin_card", "merge", "split")
CARD_FIELDS = ("pattern_name", "summary", "category")
APPLIED = "applied"
ENDED = "not applied: theme ended"
THEME_COLUMNS = ["level", "theme_id", "parent_theme_id", "comment_count", "name"]


class EditError(ThememapError):
    """An edit is malformed or cannot apply (names the edit; nothing was applied)."""


@dataclass(frozen=True)
class Edit:
    """One edit. ``number``: its position in the file (1-based) or its store id, used to
    name it in messages; ``themes`` for a merge, ``theme`` for every other kind."""

    kind: str
    number: int = 0
    theme: str | None = None
    themes: tuple[str, ...] = ()
    name: str | None = None
    card: Mapping[str, Any] | None = None
    author: str | None = None
    source: str | None = None  # where it was written: ``edits.yaml entry 3``; None: Python

    @property
    def label(self) -> str:
        """How messages name the edit: ``edit 3 (merge T1-0001, T1-0004)``, or its source."""
        ids = ", ".join(self.themes) if self.kind == "merge" else (self.theme or "?")
        return f"{self.source or f'edit {self.number}'} ({self.kind} {ids})"

    def fields(self) -> dict[str, Any]:
        """The edit's own fields as stored (kind, number, author and source left out)."""
        if self.kind == "merge":
            return {"themes": list(self.themes)}
        out: dict[str, Any] = {"theme": self.theme}
        if self.name is not None:
            out["name"] = self.name
        if self.card is not None:
            out["card"] = dict(self.card)
        return out

    def targets(self) -> tuple[str, ...]:
        """The theme ids the edit names."""
        return self.themes if self.kind == "merge" else ((self.theme,) if self.theme else ())


@dataclass
class EditedThemes:
    """A run's themes after the edits.

    ``themes``: one row per shown theme (:data:`THEME_COLUMNS` plus ``edited``,
    ``pinned_name``, ``card``: the pinned card or None, ``sources``: the run's theme
    ids it is made of); ``shown``: per level, the run's theme id -> the shown theme id
    (a split theme's items go through their sub-theme: see :func:`shown_item_themes`);
    ``outcomes``: per edit, ``applied`` or why not.
    """

    themes: pd.DataFrame
    shown: dict[int, dict[str, str]] = field(default_factory=dict)
    split_pieces: dict[str, dict[str, str]] = field(default_factory=dict)
    outcomes: list[tuple[Edit, str]] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        """:attr:`themes` as one dict per shown theme."""
        return [{str(k): v for k, v in row.items()} for row in self.themes.to_dict("records")]


def theme_level(theme: str) -> int | None:
    """The level a ``T<level>-<number>`` id (or a split piece's id) says, or None."""
    head = theme.split("/", 1)[0]
    if not head.startswith("T") or "-" not in head:
        return None
    level, _, number = head[1:].partition("-")
    return int(level) if level.isdigit() and number.isdigit() else None


def validate_edits(
    edits: Sequence[Edit], themes: pd.DataFrame, *, known_ids: set[str] | None = None
) -> None:
    """Raise one :class:`EditError` naming the first bad edit; return when all can apply.

    ``themes``: the run's themes (:data:`THEME_COLUMNS`); ``known_ids``: every theme id
    the store ever held (an id outside it is unknown; one in it but not in the run ended).
    """
    present = set(themes["theme_id"])
    known = present | set(known_ids or ())
    children = themes.groupby("parent_theme_id")["theme_id"].apply(list).to_dict()
    merged_into: dict[str, tuple[str, Edit]] = {}
    split: dict[str, Edit] = {}
    for edit in edits:
        check_fields(edit)
        for theme in edit.targets():
            if theme not in known:
                raise EditError(f"{edit.label}: no theme {theme} in this store")
        if edit.kind == "merge":
            levels = {theme_level(t) for t in edit.themes}
            if len(levels) > 1:
                raise EditError(f"{edit.label}: cannot merge themes of different levels")
            if len(set(edit.themes)) < len(edit.themes):
                raise EditError(f"{edit.label}: a theme is named twice")
            for other in edit.themes[1:]:
                if other in merged_into:
                    raise EditError(
                        f"{edit.label}: {other} is also merged by {merged_into[other][1].label}"
                    )
                merged_into[other] = (edit.themes[0], edit)
        if edit.kind == "split":
            live = [c for c in children.get(edit.theme, []) if isinstance(c, str)]
            if edit.theme in present and len(live) < 2:
                raise EditError(
                    f"{edit.label}: the theme has {len(live)} sub-theme(s) in this run;"
                    " a split needs two or more"
                )
            split[str(edit.theme)] = edit
    _check_cycles(merged_into)
    for theme, edit in split.items():
        clash = [e for absorbed, (keeper, e) in merged_into.items() if theme in (absorbed, keeper)]
        if clash:
            raise EditError(f"{edit.label}: the theme is also merged by {clash[0].label}")


def check_fields(edit: Edit) -> None:
    """Raise :class:`EditError` when ``edit`` is malformed (unknown kind, missing field)."""
    if edit.kind not in KINDS:
        raise EditError(f"{edit.label}: unknown kind {edit.kind!r} (valid: {', '.join(KINDS)})")
    if edit.kind == "merge":
        if len(edit.themes) < 2:
            raise EditError(f"{edit.label}: a merge needs 'themes', two or more theme ids")
    elif not edit.theme:
        raise EditError(f"{edit.label}: missing 'theme' (a theme id)")
    if edit.kind in ("rename", "pin_name") and not (edit.name or "").strip():
        raise EditError(f"{edit.label}: missing 'name'")
    if edit.kind == "pin_card":
        card = edit.card or {}
        unknown = sorted(set(card) - set(CARD_FIELDS))
        if not card or unknown:
            raise EditError(
                f"{edit.label}: 'card' needs some of {', '.join(CARD_FIELDS)}"
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )


def _check_cycles(merged_into: Mapping[str, tuple[str, Edit]]) -> None:
    """A merge chain that comes back to where it started (a into b, b into a) is circular;
    the edit named is the one that closes the circle (the later one)."""
    into: dict[str, str] = {}
    for theme, (keeper, edit) in merged_into.items():  # in the edits' order
        if _root(into, keeper) == theme:
            raise EditError(f"{edit.label}: circular merge (the themes merge into each other)")
        into[theme] = keeper


def edit_themes(
    edits: Sequence[Edit], themes: pd.DataFrame, *, known_ids: set[str] | None = None
) -> EditedThemes:
    """Validate ``edits`` (:func:`validate_edits`) and apply them in order to ``themes``."""
    validate_edits(edits, themes, known_ids=known_ids)
    present = set(themes["theme_id"])
    keeper: dict[str, str] = {}
    outcomes: list[tuple[Edit, str]] = []
    live = [e for e in edits if all(t in present for t in e.targets()[:1])]
    for edit in edits:
        outcomes.append((edit, APPLIED if edit in live else ENDED))
    for edit in live:
        if edit.kind == "merge":
            to = _root(keeper, edit.themes[0])
            for other in edit.themes[1:]:
                if other in present:
                    keeper[_root(keeper, other)] = to
    shown = {t: _root(keeper, t) for t in present}
    rows = themes.assign(sources=themes["theme_id"].map(lambda t: [t]))
    rows["parent_theme_id"] = rows["parent_theme_id"].map(
        lambda p: shown.get(p, p) if isinstance(p, str) else None
    )
    _check_nesting(rows, shown, outcomes)
    rows["theme_id"] = rows["theme_id"].map(shown)
    table = (
        rows.groupby("theme_id", sort=False)
        .agg(
            level=("level", "first"),
            parent_theme_id=("parent_theme_id", "first"),
            comment_count=("comment_count", "sum"),
            name=("name", "first"),
            sources=("sources", "sum"),
        )
        .reset_index()
    )
    table["edited"] = table["sources"].map(len) > 1
    pieces: dict[str, dict[str, str]] = {}
    for edit in live:
        if edit.kind == "split":
            table, pieces[str(edit.theme)] = _split(table, str(edit.theme))
    records = {
        str(r["theme_id"]): {str(k): v for k, v in r.items()} for r in table.to_dict("records")
    }
    for record in records.values():
        record.update(pinned_name=False, card=None)
    for edit in live:
        record = records.get(shown.get(str(edit.theme), str(edit.theme)), {})
        if edit.kind in ("rename", "pin_name") and record:
            record.update(name=edit.name, edited=True)
            record["pinned_name"] = record["pinned_name"] or edit.kind == "pin_name"
        elif edit.kind == "pin_card" and record:
            card = dict(edit.card or {})
            record.update(card=card, edited=True)
            record["name"] = card.get("pattern_name") or record["name"]
    columns = [*THEME_COLUMNS, "edited", "pinned_name", "card", "sources"]
    table = pd.DataFrame(list(records.values()), columns=columns)  # columns kept when empty
    levels = sorted({int(v) for v in themes["level"]})
    by_level = {
        lv: {t: s for t, s in shown.items() if theme_level(t) == lv} for lv in levels
    }  # fmt: skip
    table = table.sort_values(["level", "theme_id"]).reset_index(drop=True)[columns]
    return EditedThemes(table, by_level, pieces, outcomes)


def _root(keeper: Mapping[str, str], theme: str) -> str:
    seen = {theme}
    while theme in keeper:
        theme = keeper[theme]
        if theme in seen:  # validation refuses circular merges; never loop if one slips by
            raise AssertionError(f"circular merge through theme {theme}")
        seen.add(theme)
    return theme


def _check_nesting(
    rows: pd.DataFrame, shown: Mapping[str, str], outcomes: Sequence[tuple[Edit, str]]
) -> None:
    """Themes merged together must share one (shown) parent, else nesting would break."""
    parents = rows.groupby(rows["theme_id"].map(shown))["parent_theme_id"].nunique(dropna=False)
    for theme in parents[parents > 1].index:
        edit = next(
            e
            for e, _ in outcomes
            if e.kind == "merge" and theme in {shown.get(t) for t in e.themes}
        )
        raise EditError(
            f"{edit.label}: the themes sit under different parents; merge their parents first"
        )


def _split(table: pd.DataFrame, theme: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Replace ``theme`` by one piece per sub-theme; the sub-themes hang under their piece."""
    row = table[table["theme_id"] == theme].iloc[0]
    children = table[table["parent_theme_id"] == theme]
    pieces = {str(c): f"{theme}/{c}" for c in children["theme_id"]}
    new = children.assign(
        level=row["level"],
        parent_theme_id=row["parent_theme_id"],
        theme_id=children["theme_id"].map(pieces),
        sources=children["sources"],
        edited=True,
    )
    table = table[table["theme_id"] != theme].copy()
    table.loc[table["parent_theme_id"] == theme, "parent_theme_id"] = table.loc[
        table["parent_theme_id"] == theme, "theme_id"
    ].map(pieces)
    return pd.concat([table, new], ignore_index=True), pieces


def shown_item_themes(item_themes: pd.DataFrame, edited: EditedThemes) -> pd.DataFrame:
    """``item_id, level, theme_id`` with every item's shown theme (merges and splits applied)."""
    out = item_themes.copy()
    for level, mapping in edited.shown.items():
        at = out["level"] == level
        out.loc[at, "theme_id"] = out.loc[at, "theme_id"].map(lambda t, m=mapping: m.get(t, t))
    for theme, pieces in edited.split_pieces.items():
        level = theme_level(theme) or 0
        below = out[out["level"] == level + 1].set_index("item_id")["theme_id"]
        at = (out["level"] == level) & (out["theme_id"] == theme)
        out.loc[at, "theme_id"] = out.loc[at, "item_id"].map(below).map(pieces)
    return out
