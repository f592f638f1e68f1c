"""The whole 04_export step in one call: reference JSON, Parquet, the map, the CSV and the
files for Embedding Atlas and datamapplot, a manifest."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thememap.cluster.continuity import ensure_themes
from thememap.export.changes import write_changes_csv
from thememap.export.interop import write_datamapplot, write_embedding_atlas, write_items_csv
from thememap.export.map import MapView, map_html, map_payload_for
from thememap.export.neighbours import attach_neighbours
from thememap.export.parquet import write_manifest, write_parquet
from thememap.export.reference import write_reference_json
from thememap.export.source import ExportData, load_export_data
from thememap.export.swap import staged_export
from thememap.files import write_text_atomic

if TYPE_CHECKING:
    from thememap.params import Params

log = logging.getLogger(__name__)


@dataclass
class ExportResult:
    """What :func:`export_run` wrote, and the data it read (for the notebook's tables)."""

    out_dir: Path
    data: ExportData
    files: dict[str, Path] = field(default_factory=dict)
    map_page: str | None = None
    map_height: int = 680
    map_src: str | None = None  # the page's URL beside the run's notebooks, once written there

    @property
    def map(self) -> MapView | None:
        """The map for display in a notebook cell (None when the map is off): framed from the
        report folder's ``map.html`` when written there, else inlined."""
        if not self.map_page:
            return None
        return MapView(self.map_page, height=self.map_height, src=self.map_src)

    def summary(self) -> list[dict[str, Any]]:
        """One row per written file or folder (embedding_atlas/, datamapplot/): name, path, KB."""
        rows: dict[str, dict[str, Any]] = {}
        for name, path in sorted(self.files.items()):
            top = name.split("/")[0] + ("/" if "/" in name else "")
            row = rows.setdefault(top, {"file": top, "path": str(self.out_dir / top), "kB": 0.0})
            row["kB"] = round(row["kB"] + path.stat().st_size / 1024, 1)
        return list(rows.values())


def report_dir_for(params: Params, run_id: str) -> Path | None:
    """The run's report folder when the runner made one (``reports/<run>/``), else None."""
    folder = params.resolve(params.report.dir) / run_id
    return folder if run_id and folder.is_dir() else None


def export_run(
    conn: sqlite3.Connection,
    params: Params,
    *,
    run_id: str | None = None,
    report_dir: Path | None = None,
) -> ExportResult:
    """Export the clusters of ``run_id`` (else the latest clustered run) as ``params.export`` says.

    The files are written in a staging folder that then replaces
    ``params.export.out_dir`` as a whole; with
    ``report_dir`` the map page is also written there as ``map.html`` so that the
    run's report folder stands alone, and the notebook cell frames that file.
    """
    options = params.export
    out_dir = params.resolve(options.out_dir)
    ensure_themes(conn, run_id, params.continuity)  # completes a matching 02 did not finish
    data = load_export_data(conn, run_id=run_id)
    if options.map_neighbours and (options.map or options.embedding_atlas):
        attach_neighbours(conn, data, k=options.map_neighbours, seed=params.cluster.seed)
    result = ExportResult(out_dir=out_dir, data=data, map_height=options.map_height)
    # everything goes to a staging folder swapped in at the end: a killed export never
    # mixes files of two runs
    with staged_export(out_dir) as staging:
        _write_files(conn, params, data, result, staging)
    result.files = {name: out_dir / name for name in result.files}
    if report_dir is not None and result.map_page is not None:
        write_text_atomic(Path(report_dir) / "map.html", result.map_page)
        # the run's notebooks are rendered in the same folder: they frame it, not copy it
        result.map_src = "map.html"
    log.info("exported %d items, %d clusters to %s", len(data.items), len(data.clusters), out_dir)
    return result


def _write_files(
    conn: sqlite3.Connection, params: Params, data: ExportData, result: ExportResult, out_dir: Path
) -> None:
    options = params.export
    if options.reference_json:
        result.files.update(write_reference_json(conn, out_dir, run_id=data.run_id))
    if options.parquet:
        result.files.update(write_parquet(data, out_dir))
    if options.items_csv:
        result.files.update(write_items_csv(data, out_dir))
    result.files.update(write_changes_csv(conn, out_dir, run_id=data.run_id))
    if options.embedding_atlas:
        result.files.update(write_embedding_atlas(data, out_dir))
    if options.datamapplot:
        result.files.update(write_datamapplot(data, out_dir, hover_chars=options.map_text_chars))
    if options.map:
        payload = map_payload_for(data, params)
        title = f"thememap · {data.run_id or 'map'}"
        result.map_page = map_html(payload, title=title)
        result.files["map.html"] = write_text_atomic(out_dir / "map.html", result.map_page)
    result.files["manifest.json"] = write_manifest(
        out_dir,
        result.files,
        run_id=data.run_id,
        extra={
            "items": len(data.items),
            "clusters_per_level": {
                str(lv): int((data.clusters["level"] == lv).sum()) for lv in data.levels
            },
            "label_quality": json.loads(data.quality.to_json(orient="records")),
        },
    )
