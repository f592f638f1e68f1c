"""``thememap assign PARAMS [--input FILE]``: add items to the latest clustering, no refit.

Loads the new items (``--input``, else the params' ``input.path``) through the
ingest path, only adding (never mirroring: the file may hold just the new items),
embeds the items with no vector yet, places them with
:func:`thememap.cluster.assign_step.assign_store` and applies the stored edits again
(the edited themes' sizes include the new items). Each step keeps its own record
in the store, so a killed assign re-run finishes the job.
"""

from __future__ import annotations

import logging
from pathlib import Path

from thememap.cluster.assign_step import AssignResult, assign_store
from thememap.cluster.continuity import ensure_themes
from thememap.cluster.edit_run import apply_run_edits
from thememap.embed.step import embed_store
from thememap.engine import release_embedder, run_embedder
from thememap.ingest.load import check_input_file, load_items
from thememap.params import load_params
from thememap.store import open_store
from thememap.store.clusters import exported_cluster_run
from thememap.store.lock import acquire_store_lock

log = logging.getLogger(__name__)


def assign_command(
    params_file: Path | str, *, input_file: Path | str | None = None, progress: bool = True
) -> AssignResult:
    """Load, embed and place new items (see the module doc); return what was placed.

    A missing store, a store with no clustering or a missing input file raises one
    :class:`~thememap.errors.ThememapError` before anything is written.
    """
    params = load_params(params_file)
    source = Path(input_file) if input_file is not None else None
    if source is None and params.input.path is not None:
        source = params.resolve(params.input.path)
    if source is not None:
        check_input_file(source)
    with acquire_store_lock(params.store_path, run_id="assign"):
        conn = open_store(params.store_path, create=False)
        try:
            exported_cluster_run(conn)  # no clustering yet: say so before loading anything
            if source is not None:
                adding = params.input.model_copy(update={"mirror": False})
                load_items(conn, adding, path=source, progress=progress)
            embedder = run_embedder(params.embed, params.engine)
            try:
                embed_store(
                    conn,
                    embedder,
                    params.input,
                    batch_size=params.embed.batch_size,
                    progress=progress,
                )
            finally:
                release_embedder(embedder)
            result = assign_store(conn, params.cluster, params.continuity, progress=progress)
            # a person's edits hold for the grown themes too (sizes, merges, splits); a
            # clustering whose matching never ran is matched first, as the export would
            ensure_themes(conn, result.run_id, params.continuity)
            apply_run_edits(conn, result.run_id, params.continuity)
            return result
        finally:
            conn.close()
