"""Embedding vectors in the store: float32 BLOBs keyed by (content hash, model id)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np

from thememap.errors import StepOrderError, StoreError
from thememap.store.connection import transaction


def to_blob(vector: np.ndarray) -> bytes:
    """A vector as little-endian float32 bytes."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dim: int) -> np.ndarray:
    """The float32 vector stored in ``blob`` (checked against ``dim``)."""
    vector = np.frombuffer(blob, dtype="<f4")
    if vector.shape[0] != dim:
        raise ValueError(f"stored vector has {vector.shape[0]} values, expected {dim}")
    return vector


def missing_hashes(conn: sqlite3.Connection, model_id: str) -> list[str]:
    """Distinct content hashes of items with no vector for ``model_id`` (stable order)."""
    rows = conn.execute(
        """
        SELECT DISTINCT i.content_hash FROM items AS i
        WHERE NOT EXISTS (SELECT 1 FROM embeddings AS e
                          WHERE e.content_hash = i.content_hash AND e.model_id = ?)
        ORDER BY i.content_hash
        """,
        (model_id,),
    )
    return [row[0] for row in rows]


def put_vectors(
    conn: sqlite3.Connection, model_id: str, hashes: Sequence[str], vectors: np.ndarray
) -> None:
    """Store one batch of vectors in one transaction (a batch lands whole or not at all).

    Raises :class:`StoreError` (writing nothing) when the store already holds
    vectors of another length for ``model_id``: vectors are keyed by text hash,
    so a mixed set would never be repaired and later steps would read garbage.
    """
    if len(hashes) != len(vectors):
        raise ValueError(f"{len(hashes)} hashes but {len(vectors)} vectors")
    dim = int(vectors.shape[1])
    with transaction(conn):
        low, high = conn.execute(  # two index lookups (embeddings_model_dim), not a scan
            "SELECT (SELECT MIN(dim) FROM embeddings WHERE model_id = ?),"
            " (SELECT MAX(dim) FROM embeddings WHERE model_id = ?)",
            (model_id, model_id),
        ).fetchone()
        if low is not None and (low != dim or high != dim):
            stored = model_dims(conn, model_id)
            raise StoreError(_mixed_dims_message(conn, model_id, [*stored, dim], new=dim))
        conn.executemany(
            "INSERT OR REPLACE INTO embeddings(content_hash, model_id, dim, vector)"
            " VALUES (?, ?, ?, ?)",
            [(h, model_id, dim, to_blob(v)) for h, v in zip(hashes, vectors, strict=True)],
        )
        conn.execute(
            "INSERT OR REPLACE INTO store_meta(key, value) VALUES ('active_embedding_model', ?)",
            (model_id,),
        )


def model_dims(conn: sqlite3.Connection, model_id: str) -> list[int]:
    """The distinct vector lengths stored for ``model_id`` (one, when the store is sound)."""
    rows = conn.execute(
        "SELECT DISTINCT dim FROM embeddings WHERE model_id = ? ORDER BY dim", (model_id,)
    )
    return [int(row[0]) for row in rows]


def _mixed_dims_message(
    conn: sqlite3.Connection, model_id: str, dims: list[int], *, new: int | None = None
) -> str:
    path = conn.execute("PRAGMA database_list").fetchone()[2] or "the store"
    stored = ", ".join(f"{d}-d" for d in sorted(set(dims) - {new} if new else set(dims)))
    what = (
        f"the backend now returns {new}-d vectors but {path} holds {stored} vectors"
        if new is not None
        else f"{path} holds vectors of several lengths ({stored})"
    )
    return (
        f"embed model {model_id!r}: {what} under the same model id (the server changed model "
        "or embed.dimensions is not set); nothing was written. Set embed.dimensions or "
        "embed.model to match, or drop the old vectors: "
        f"sqlite3 {path} \"DELETE FROM embeddings WHERE model_id = '{model_id}'\""
    )


def set_active_model(conn: sqlite3.Connection, model_id: str) -> None:
    """Make ``model_id`` the model later steps read (01 calls it even when nothing was new)."""
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO store_meta(key, value) VALUES ('active_embedding_model', ?)",
            (model_id,),
        )


def embedding_models(conn: sqlite3.Connection) -> dict[str, int]:
    """Models with vectors in the store and how many vectors each has."""
    rows = conn.execute("SELECT model_id, COUNT(*) FROM embeddings GROUP BY model_id")
    return {row[0]: int(row[1]) for row in rows}


def active_model(conn: sqlite3.Connection) -> str | None:
    """The model whose vectors were written last (what later steps use by default)."""
    row = conn.execute(
        "SELECT value FROM store_meta WHERE key = 'active_embedding_model'"
    ).fetchone()
    return None if row is None else str(row[0])


def load_item_vectors(
    conn: sqlite3.Connection, model_id: str | None = None, *, item_ids: Iterable[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(item_ids, matrix)`` for every item, ordered by item id; float32, one row per item.

    Items sharing a text share a vector. Raises :class:`StepOrderError` when any
    item has no vector yet, so later steps never silently drop items, and
    :class:`StoreError` when any row's length differs from the others.
    """
    model_id = model_id or active_model(conn)
    if model_id is None:
        raise StepOrderError("the store has no embeddings yet: run 01_embed first")
    wanted = None if item_ids is None else set(int(i) for i in item_ids)
    ids: list[int] = []
    blobs: list[bytes | None] = []
    dim = 0
    for row in conn.execute(
        """
        SELECT i.id, e.vector, e.dim FROM items AS i
        LEFT JOIN embeddings AS e ON e.content_hash = i.content_hash AND e.model_id = ?
        ORDER BY i.id
        """,
        (model_id,),
    ):
        if wanted is not None and row[0] not in wanted:
            continue
        ids.append(int(row[0]))
        blobs.append(row[1])
        if row[1] is not None:
            # every row is checked: one odd row would shift every later one in the reshape
            row_dim = int(row[2])
            if len(row[1]) != 4 * row_dim or (dim and row_dim != dim):
                raise StoreError(_mixed_dims_message(conn, model_id, model_dims(conn, model_id)))
            dim = row_dim
    missing = sum(blob is None for blob in blobs)
    if missing:
        raise StepOrderError(
            f"{missing} of {len(ids)} items have no '{model_id}' vector: run 01_embed to finish"
        )
    if not ids:
        return np.empty(0, dtype=np.int64), np.empty((0, dim), dtype=np.float32)
    matrix = np.frombuffer(b"".join(b for b in blobs if b is not None), dtype="<f4")
    return np.asarray(ids, dtype=np.int64), matrix.reshape(len(ids), dim).astype(np.float32)
