"""``thememap.fit(data)``: from a DataFrame, a list of texts or a file to themes, in memory.

::

    import thememap
    themes = thememap.fit(df, text="feedback", id="ticket_id", created_at="date")
    themes.items      # one row per item: your id, text, cluster_l1..l3, theme_l1..l3, x, y
    themes.clusters   # one row per cluster: level, parent, size, name, summary, category, ...
    themes.cards      # every card made (offline, and the LLM's with ``describe.source: llm``)
    themes.map()      # the interactive map (shows inline in JupyterLab)
    themes.save("items.db");  themes.export("out/")

The steps are the ones the notebooks run, on arrays: :func:`~thememap.embed.step.embed_texts`,
:func:`~thememap.cluster.step.cluster_items`,
:func:`~thememap.describe.step.describe_hierarchy`. The store is only an adapter:
:meth:`ThemeMap.save` writes what :func:`fit` made into one, and the exports and the map
are written from it exactly as notebook 04 writes them.
"""

from __future__ import annotations

import logging
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from thememap.errors import ParamsError
from thememap.ingest.frames import Data, read_items
from thememap.ingest.prepare import prepare_text
from thememap.params import Params, load_params, params_from_dict

if TYPE_CHECKING:
    from thememap.cluster.step import ClusterResult
    from thememap.describe.hierarchy import ClusterTree
    from thememap.describe.step import Described
    from thememap.embed.base import Embedder
    from thememap.errors import BadRow
    from thememap.export.map import MapView
    from thememap.export.step import ExportResult
    from thememap.ingest.rows import Item

log = logging.getLogger(__name__)

ParamsLike = Params | dict[str, Any] | str | Path | None


def as_params(params: ParamsLike) -> Params:
    """A :class:`Params` from a Params, a nested dict of keys, or a params YAML file."""
    if params is None:
        return Params(root=Path.cwd())
    if isinstance(params, Params):
        return params
    if isinstance(params, dict):
        return params_from_dict(params, source="params", root=Path.cwd())
    if isinstance(params, str | Path):
        return load_params(params)
    raise ParamsError(f"params: expected a Params, a dict or a YAML path, got {type(params)}")


def fit(
    data: Data,
    *,
    text: str | None = None,
    id: str | None = None,
    created_at: str | None = None,
    title: str | None = None,
    params: ParamsLike = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> ThemeMap:
    """Embed, cluster and describe ``data``; return a :class:`ThemeMap`.

    ``data``: a pandas DataFrame, a list of texts, or a file path (CSV, TSV, JSONL,
    Parquet, TXT, SQLite; gzipped too). ``text``, ``id``, ``created_at`` and
    ``title`` name its columns (they override ``input.*_field`` of ``params``);
    ``params``: a :class:`~thememap.params.Params`, a dict of params keys
    (``{"cluster": {"levels": 3}}``) or a params YAML. ``embedder``: any object with
    ``model_id``, ``dim`` and ``embed(texts)`` (default: ``params.embed``'s backend).
    """
    from thememap.engine import release_embedder, run_embedder

    p = as_params(params)
    update = {
        key: value
        for key, value in {
            "text_field": text,
            "id_field": id,
            "created_at_field": created_at,
            "title_field": title,
        }.items()
        if value is not None
    }
    if (
        text is None
        and not isinstance(data, str | Path)
        and "text_field" not in p.input.model_fields_set
    ):
        update["text_field"] = "text"
    if update:
        p = p.model_copy(update={"input": p.input.model_copy(update=update)})
    items, bad = read_items(data, p.input)
    log.info("%d items (%d bad rows)", len(items), len(bad))
    own = embedder is None
    embedder = embedder or run_embedder(p.embed, p.engine)
    try:
        return _fit_embedded(items, bad, p, embedder, progress=progress)
    finally:
        if own:
            release_embedder(embedder)


def _fit_embedded(
    items: list[Item], bad: list[BadRow], p: Params, embedder: Embedder, *, progress: bool
) -> ThemeMap:
    from thememap.cluster.step import cluster_items
    from thememap.describe.step import describe_hierarchy, describe_text, tree_from_levels
    from thememap.embed.step import embed_texts

    prepared = [prepare_text(i.content, i.metadata, p.input) for i in items]
    vectors = embed_texts(prepared, embedder, batch_size=p.embed.batch_size, progress=progress)
    row_ids = np.arange(1, len(items) + 1, dtype=np.int64)
    contents = [i.content for i in items]
    clustered = cluster_items(vectors, p.cluster, item_ids=row_ids, texts=contents)
    h = clustered.hierarchy
    titles = None
    if p.input.title_field:
        titles = [str(i.metadata.get(p.input.title_field) or "").strip() for i in items]
    tree = tree_from_levels(
        row_ids,
        vectors,
        [describe_text(i.content, i.metadata, p.input) for i in items],
        h.labels,
        h.parents,
        clustered.cluster_ids,
        titles=titles,
    )
    described = describe_hierarchy(tree, p.describe, embedder=embedder)
    return ThemeMap(
        params=p,
        item_list=items,
        vectors=vectors,
        model_id=embedder.model_id,
        clustered=clustered,
        tree=tree,
        described=described,
        bad_rows=bad,
    )


@dataclass
class ThemeMap:
    """What :func:`fit` made. Arrays are in item order; cluster ids are numbered from 1.

    ``items``, ``clusters`` and ``cards`` are DataFrames (see :func:`fit`);
    ``coords`` the items' 2D map positions; ``labels`` the cluster index of every
    item per level (``levels x n``, -1 = unplaced).
    """

    params: Params
    item_list: list[Item]
    vectors: np.ndarray
    model_id: str
    clustered: ClusterResult
    tree: ClusterTree
    described: Described
    bad_rows: list[BadRow] = field(default_factory=list)
    _scratch: Any = field(default=None, repr=False)

    @property
    def coords(self) -> np.ndarray | None:
        """``(n, 2)`` map positions (None when ``cluster.layout`` is off)."""
        return self.clustered.coords

    @property
    def labels(self) -> np.ndarray:
        """Cluster index of every item per level (``levels x n``; -1 = unplaced)."""
        return self.clustered.hierarchy.labels

    @property
    def items(self) -> pd.DataFrame:
        """One row per item: ``id`` (yours), ``text``, ``created_at``, ``x``, ``y``, and per
        level ``cluster_lN`` (the ``clusters.id``) and ``theme_lN`` (its card's name)."""
        frame = pd.DataFrame(
            {
                "id": [i.external_id for i in self.item_list],
                "text": [i.content for i in self.item_list],
                "created_at": [i.created_at for i in self.item_list],
            }
        )
        coords = self.coords
        frame["x"] = np.nan if coords is None else coords[:, 0]
        frame["y"] = np.nan if coords is None else coords[:, 1]
        names = {cid: card.pattern_name for cid, card in self.described.cards.items()}
        for depth, (labels, ids) in enumerate(
            zip(self.labels, self.clustered.cluster_ids, strict=True), start=1
        ):
            cluster = pd.array([int(ids[c]) if c >= 0 else None for c in labels], dtype="Int64")
            frame[f"cluster_l{depth}"] = cluster
            frame[f"theme_l{depth}"] = [
                names.get(int(c)) if c is not pd.NA else None for c in cluster
            ]
        frame["metadata"] = pd.Series([i.metadata for i in self.item_list], dtype=object)
        return frame

    @property
    def clusters(self) -> pd.DataFrame:
        """One row per cluster with its chosen card (``pattern_name``, ``summary``, ...);
        ``representatives`` are your item ids."""
        frame = self.clustered.clusters.copy()
        user_id = {k + 1: item.external_id for k, item in enumerate(self.item_list)}
        frame["representatives"] = [[user_id[r] for r in reps] for reps in frame["representatives"]]
        cards = self.described.cards
        for column in ("pattern_name", "summary", "category", "strength", "source"):
            frame[column] = [getattr(cards[c], column) if c in cards else None for c in frame["id"]]
        return frame.rename(columns={"comment_count": "size", "source": "card_source"})

    @property
    def cards(self) -> pd.DataFrame:
        """Every card made (one row per cluster and source), failures included."""
        made = list(self.described.offline.values())
        if self.described.llm is not None:
            made += list(self.described.llm.cards_.values())
        return pd.DataFrame([card.to_dict() for card in made])

    def save(self, store: Path | str) -> str:
        """Write items, vectors, clusters and cards into a new store (a SQLite file without
        items); return the run id. Notebooks 02-04 and ``thememap run`` read it as their own."""
        from thememap.save import save_themes

        return save_themes(self, Path(store))

    def _scratch_store(self) -> Path:
        if self._scratch is None:
            folder = tempfile.mkdtemp(prefix="thememap-")
            self._scratch = (Path(folder) / "items.db", weakref.finalize(self, _rmtree, folder))
            self.save(self._scratch[0])
        return Path(self._scratch[0])

    def export(self, out_dir: Path | str) -> ExportResult:
        """Write items.json, clusters.json, Parquet, map.html, items_themes.csv, the
        embedding_atlas/ and datamapplot/ folders and manifest.json to ``out_dir``
        (replacing that folder as a whole, like notebook 04)."""
        from thememap.export.step import export_run
        from thememap.store import open_store

        export = self.params.export.model_copy(update={"out_dir": Path(out_dir).resolve()})
        params = self.params.model_copy(update={"export": export})
        conn = open_store(self._scratch_store())
        try:
            return export_run(conn, params)
        finally:
            conn.close()

    def map(self, *, level: int | None = None, height: int | None = None) -> MapView:
        """The interactive map; displayed inline by JupyterLab (``_repr_html_``)."""
        from thememap.export.map import MapView, map_html, map_payload_for
        from thememap.export.neighbours import attach_neighbours
        from thememap.export.source import load_export_data
        from thememap.store import open_store

        options = self.params.export
        conn = open_store(self._scratch_store())
        try:
            data = load_export_data(conn)
            attach_neighbours(conn, data, k=options.map_neighbours, seed=self.params.cluster.seed)
        finally:
            conn.close()
        payload = map_payload_for(data, self.params, level=level)
        return MapView(map_html(payload, title="thememap"), height=height or options.map_height)

    def _repr_html_(self) -> str:
        counts = ", ".join(
            f"level {lv}: {int((self.clustered.clusters['level'] == lv).sum())}"
            for lv in sorted(self.clustered.clusters["level"].unique())
        )
        return f"<p>thememap: {len(self.item_list)} items; clusters {counts}</p>"


def _rmtree(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
