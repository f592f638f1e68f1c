"""Loading items: readers per format, text preparation, bad-row reporting."""

from thememap.ingest.load import LoadReport, load_items

__all__ = ["LoadReport", "load_items"]
