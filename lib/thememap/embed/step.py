"""The embed step: :func:`embed_texts` on a list of texts, :func:`embed_store` on a store.

In the store every item that has no vector yet is embedded, committing batch by
batch: a killed run loses at most the batch in flight; the next run embeds only
what is missing. Items with the same prepared text share one vector (both ways).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, cast, runtime_checkable

import numpy as np

from thememap.embed.base import Embedder
from thememap.ingest.params import InputParams
from thememap.ingest.prepare import prepare_text, text_hash
from thememap.progress import progress_bar
from thememap.store.items import count_items, item_rows, set_content_hashes
from thememap.store.vectors import missing_hashes, put_vectors, set_active_model

log = logging.getLogger(__name__)


@runtime_checkable
class StreamingEmbedder(Embedder, Protocol):
    """A backend that runs several batches at once and yields each as it completes."""

    def embed_stream(self, batches: Sequence[Sequence[str]]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(batch_index, vectors)`` in completion order; raise after the last success."""
        ...


@dataclass(frozen=True)
class EmbedReport:
    """What one embedding pass did."""

    model_id: str
    items: int
    unique_texts: int
    already_embedded: int
    embedded_now: int
    seconds: float

    @property
    def texts_per_second(self) -> float:
        """Throughput of this pass (0 when nothing was embedded)."""
        return self.embedded_now / self.seconds if self.embedded_now and self.seconds else 0.0


def refresh_content_hashes(conn: sqlite3.Connection, params: InputParams) -> dict[str, str]:
    """Prepare every item's text; re-key items whose preparation changed. Returns hash -> text."""
    texts: dict[str, str] = {}
    changed: list[tuple[str, int]] = []
    for item_id, content, metadata, stored_hash in item_rows(conn):
        text = prepare_text(content, metadata, params)
        digest = text_hash(text)
        texts[digest] = text
        if digest != stored_hash:
            changed.append((digest, item_id))
    if changed:
        log.info("text preparation changed for %d items; re-keying them", len(changed))
        set_content_hashes(conn, changed)  # new texts: a clustering of the old ones is stale
    return texts


def embed_store(
    conn: sqlite3.Connection,
    embedder: Embedder,
    params: InputParams,
    *,
    batch_size: int = 64,
    progress: bool = True,
) -> EmbedReport:
    """Embed the texts in the store that have no vector for ``embedder.model_id``."""
    started = time.perf_counter()
    texts = refresh_content_hashes(conn, params)
    n_items = count_items(conn)
    todo = missing_hashes(conn, embedder.model_id)
    log.info(
        "%d items, %d distinct texts, %d to embed with %s",
        n_items,
        len(texts),
        len(todo),
        embedder.model_id,
    )
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    bar = progress_bar(
        total=len(todo),
        unit="text",
        desc=f"embedding ({embedder.model_id})",
        disable=not progress or not todo,
    )
    with bar:
        for hashes, vectors in _run_batches(embedder, batches, texts):
            put_vectors(conn, embedder.model_id, hashes, vectors)
            bar.update(len(hashes))
    # also when nothing was new: the params' model is the one later steps must read
    set_active_model(conn, embedder.model_id)
    return EmbedReport(
        model_id=embedder.model_id,
        items=n_items,
        unique_texts=len(texts),
        already_embedded=len(texts) - len(todo),
        embedded_now=len(todo),
        seconds=time.perf_counter() - started,
    )


def embed_texts(
    texts: Sequence[str], embedder: Embedder, *, batch_size: int = 64, progress: bool = True
) -> np.ndarray:
    """One vector per text (``len(texts) x dim``, float32); identical texts are embedded once."""
    unique = list(dict.fromkeys(texts))
    row_of = {text: i for i, text in enumerate(unique)}
    keys = [str(i) for i in range(len(unique))]
    batches = [keys[i : i + batch_size] for i in range(0, len(keys), batch_size)]
    vectors: np.ndarray | None = None
    bar = progress_bar(
        total=len(unique),
        unit="text",
        desc=f"embedding ({embedder.model_id})",
        disable=not progress,
    )
    with bar:
        for done, batch_vectors in _run_batches(
            embedder, batches, dict(zip(keys, unique, strict=True))
        ):
            if vectors is None:
                vectors = np.empty((len(unique), batch_vectors.shape[1]), dtype=np.float32)
            vectors[[int(k) for k in done]] = batch_vectors
            bar.update(len(done))
    if vectors is None:
        raise ValueError("no texts to embed")
    return vectors[[row_of[t] for t in texts]]


def _run_batches(
    embedder: Embedder, batches: list[list[str]], texts: dict[str, str]
) -> Iterator[tuple[list[str], np.ndarray]]:
    text_batches = [[texts[h] for h in batch] for batch in batches]
    # not isinstance(): on Python 3.11 that reads ``dim``, a paid probe request for OpenAI
    if callable(getattr(type(embedder), "embed_stream", None)):
        streaming = cast(StreamingEmbedder, embedder)
        for index, vectors in streaming.embed_stream(text_batches):
            yield batches[index], vectors
        return
    for hashes, batch_texts in zip(batches, text_batches, strict=True):
        yield hashes, embedder.embed(batch_texts)
