"""04_export: the reference's JSON files, Parquet, the interactive map, the CSV and the
files for Embedding Atlas and datamapplot, the run report.

Public API::

    export_run(conn, params, run_id=..., report_dir=...) -> ExportResult
    load_export_data(conn, run_id=...) -> ExportData
    shown_view(data) -> ExportData  (clusters as a person's merges and splits show them)
    attach_neighbours(conn, data, k=...) -> ExportData  (nearest items, for "more like this")
    write_reference_json / write_parquet / write_manifest
    write_items_csv / write_embedding_atlas / write_datamapplot
    map_payload(data, ...) / map_payload_for(data, params) -> dict;  map_html(payload) -> str;
    write_map(payload, path)
    theme_volume(data, level=..., freq=...) -> DataFrame;  theme_trends;  plot_theme_volume
    top_themes(data, level=..., n=...) -> DataFrame
    write_run_index(run_dir, conn=..., run_id=..., notebooks=..., params=...) -> Path
"""

from thememap.export.edited_view import shown_view
from thememap.export.interop import write_datamapplot, write_embedding_atlas, write_items_csv
from thememap.export.map import MapView, map_html, map_payload, map_payload_for, write_map
from thememap.export.neighbours import attach_neighbours
from thememap.export.parquet import SCHEMA_VERSION, write_manifest, write_parquet
from thememap.export.plots import plot_theme_volume
from thememap.export.reference import reference_clusters, reference_items, write_reference_json
from thememap.export.report_index import write_run_index
from thememap.export.source import ExportData, load_export_data
from thememap.export.step import ExportResult, export_run, report_dir_for
from thememap.export.themes import theme_trends, theme_volume, top_themes

__all__ = [
    "SCHEMA_VERSION",
    "ExportData",
    "ExportResult",
    "MapView",
    "attach_neighbours",
    "export_run",
    "load_export_data",
    "map_html",
    "map_payload",
    "map_payload_for",
    "plot_theme_volume",
    "reference_clusters",
    "reference_items",
    "report_dir_for",
    "shown_view",
    "theme_trends",
    "theme_volume",
    "top_themes",
    "write_datamapplot",
    "write_embedding_atlas",
    "write_items_csv",
    "write_manifest",
    "write_map",
    "write_parquet",
    "write_reference_json",
    "write_run_index",
]
