"""The SQLite store: one file holding items, vectors, runs and (later) clusters.

Every step reads and writes the store, so each step can be re-run alone and a
killed run resumes where it stopped.
"""

from thememap.store.connection import open_store, transaction

__all__ = ["open_store", "transaction"]
