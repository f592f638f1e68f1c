"""Named, ordered, transactional schema migrations.

Append new migrations to :data:`MIGRATIONS`; never edit or reorder a released
one. Each runs in its own transaction together with its row in
``schema_migrations``, so a store is always at a well-defined version.
"""

from __future__ import annotations

import sqlite3

from thememap.errors import StoreError

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
# the reference's items table, readable as it was (embedding of the active model); made by 002,
# re-made by 011 around the new vector table
_REFERENCE_VIEW = """CREATE VIEW reference_items AS
        SELECT i.id, i.content, i.metadata, i.created_at, e.vector AS embedding,
               i.embedding_cluster_l1, i.embedding_cluster_l2, i.embedding_cluster_l3,
               i.umap_x, i.umap_y
        FROM items AS i
        LEFT JOIN embeddings AS e
          ON e.content_hash = i.content_hash
         AND e.model_id = (SELECT value FROM store_meta WHERE key = 'active_embedding_model');"""

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_items_embeddings_runs",
        f"""
        CREATE TABLE items (
            id            INTEGER PRIMARY KEY,
            external_id   TEXT NOT NULL UNIQUE,
            content       TEXT NOT NULL,
            metadata      TEXT NOT NULL DEFAULT '{{}}',
            created_at    TEXT,
            content_hash  TEXT NOT NULL,
            source        TEXT,
            loaded_at     TEXT NOT NULL DEFAULT ({_NOW})
        );
        CREATE INDEX items_content_hash ON items(content_hash);

        -- one vector per (embedded text, model): unchanged text is never embedded twice
        CREATE TABLE embeddings (
            content_hash  TEXT NOT NULL,
            model_id      TEXT NOT NULL,
            dim           INTEGER NOT NULL,
            vector        BLOB NOT NULL,
            created_at    TEXT NOT NULL DEFAULT ({_NOW}),
            PRIMARY KEY (content_hash, model_id)
        ) WITHOUT ROWID;

        CREATE TABLE runs (
            id            TEXT PRIMARY KEY,
            params_file   TEXT,
            params        TEXT NOT NULL,
            versions      TEXT NOT NULL,
            started_at    TEXT NOT NULL DEFAULT ({_NOW}),
            finished_at   TEXT,
            status        TEXT NOT NULL DEFAULT 'running'
        );
        CREATE TABLE run_steps (
            run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            step          TEXT NOT NULL,
            started_at    TEXT NOT NULL,
            seconds       REAL,
            status        TEXT NOT NULL,
            detail        TEXT,
            PRIMARY KEY (run_id, step)
        );
        """,
    ),
    (
        "002_reference_item_columns",
        f"""
        -- the reference design's item columns, kept filled by 02_cluster for compatibility
        ALTER TABLE items ADD COLUMN embedding_cluster_l1 INTEGER;
        ALTER TABLE items ADD COLUMN embedding_cluster_l2 INTEGER;
        ALTER TABLE items ADD COLUMN embedding_cluster_l3 INTEGER;
        ALTER TABLE items ADD COLUMN umap_x REAL;
        ALTER TABLE items ADD COLUMN umap_y REAL;

        CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        -- the reference's items table, readable as it was (embedding of the active model)
        {_REFERENCE_VIEW}
        """,
    ),
    (
        "003_clusters",
        f"""
        -- one row per cluster of a clustering run (02_cluster); level 1 = coarsest
        CREATE TABLE clusters (
            id                 INTEGER PRIMARY KEY,
            run_id             TEXT NOT NULL,
            cluster_type       TEXT NOT NULL DEFAULT 'embedding',
            level              INTEGER NOT NULL,
            name               TEXT NOT NULL,
            parent_id          INTEGER REFERENCES clusters(id) ON DELETE CASCADE,
            comment_count      INTEGER NOT NULL,
            centroid           BLOB,
            coherence          REAL,
            stability          REAL,
            representatives    TEXT NOT NULL DEFAULT '[]',
            keywords           TEXT NOT NULL DEFAULT '[]',
            x                  REAL,
            y                  REAL,
            llm_description    TEXT,
            llm_pattern_name   TEXT,
            llm_category       TEXT,
            strength_score     INTEGER,
            created_at         TEXT NOT NULL DEFAULT ({_NOW}),
            UNIQUE (run_id, cluster_type, level, name)
        );
        CREATE INDEX clusters_run_level ON clusters(run_id, cluster_type, level);
        CREATE INDEX clusters_parent ON clusters(parent_id);

        -- every item's cluster at every level of a run; cluster_id NULL = left unplaced
        CREATE TABLE memberships (
            run_id             TEXT NOT NULL,
            item_id            INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            level              INTEGER NOT NULL,
            cluster_id         INTEGER REFERENCES clusters(id) ON DELETE CASCADE,
            strength           REAL,
            outlier_score      REAL,
            placed_from_noise  INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, item_id, level)
        ) WITHOUT ROWID;
        CREATE INDEX memberships_cluster ON memberships(cluster_id);

        -- every item's 2D map position of a run (items.umap_x/umap_y hold the latest run's)
        CREATE TABLE layouts (
            run_id             TEXT NOT NULL,
            item_id            INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            x                  REAL NOT NULL,
            y                  REAL NOT NULL,
            PRIMARY KEY (run_id, item_id)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "004_cluster_cards",
        f"""
        -- one card per (cluster, source): 'offline' or the LLM model; failures are rows too
        CREATE TABLE cluster_cards (
            cluster_id          INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
            source              TEXT NOT NULL,
            pattern_name        TEXT,
            summary             TEXT,
            category            TEXT,
            strength            INTEGER,
            keywords            TEXT NOT NULL DEFAULT '[]',
            representative_ids  TEXT NOT NULL DEFAULT '[]',
            coherence           REAL,
            category_scores     TEXT NOT NULL DEFAULT '{{}}',
            retrieval_rank      INTEGER,
            failure             TEXT,
            requests            INTEGER NOT NULL DEFAULT 0,
            input_tokens        INTEGER NOT NULL DEFAULT 0,
            output_tokens       INTEGER NOT NULL DEFAULT 0,
            cost_usd            REAL NOT NULL DEFAULT 0,
            cached              INTEGER NOT NULL DEFAULT 0,
            created_at          TEXT NOT NULL DEFAULT ({_NOW}),
            PRIMARY KEY (cluster_id, source)
        ) WITHOUT ROWID;

        -- label quality of a run's cards, per level
        CREATE TABLE card_quality (
            cluster_run_id      TEXT NOT NULL,
            source              TEXT NOT NULL,
            level               INTEGER NOT NULL,
            figures             TEXT NOT NULL,
            created_at          TEXT NOT NULL DEFAULT ({_NOW}),
            PRIMARY KEY (cluster_run_id, source, level)
        ) WITHOUT ROWID;

        -- answered LLM requests: a re-run or a resumed run pays nothing for these
        CREATE TABLE llm_cache (
            key                 TEXT PRIMARY KEY,
            model               TEXT NOT NULL,
            response            TEXT NOT NULL,
            input_tokens        INTEGER NOT NULL DEFAULT 0,
            output_tokens       INTEGER NOT NULL DEFAULT 0,
            cost_usd            REAL NOT NULL DEFAULT 0,
            created_at          TEXT NOT NULL DEFAULT ({_NOW})
        ) WITHOUT ROWID;
        """,
    ),
    (
        "005_run_owner",
        """
        -- the process running a run: a run left 'running' by a dead process is marked failed
        ALTER TABLE runs ADD COLUMN pid INTEGER;
        ALTER TABLE runs ADD COLUMN host TEXT;
        """,
    ),
    (
        "006_item_view",
        f"""
        -- the items a clustering saw: a later step refuses a clustering of an older view
        CREATE TABLE cluster_run_views (
            run_id          TEXT PRIMARY KEY,
            items_version   INTEGER NOT NULL,
            items           INTEGER NOT NULL,
            created_at      TEXT NOT NULL DEFAULT ({_NOW})
        );
        -- items leaving the view delete their memberships and layouts (ON DELETE CASCADE)
        CREATE INDEX memberships_item ON memberships(item_id);
        CREATE INDEX layouts_item ON layouts(item_id);
        """,
    ),
    (
        "007_embeddings_model_dim",
        """
        -- every batch written checks its vector length against the model's (an index lookup)
        CREATE INDEX embeddings_model_dim ON embeddings(model_id, dim);
        """,
    ),
    (
        "008_themes",
        f"""
        -- stable theme ids across cluster runs (store/themes.py): a theme lives from the
        -- first matched run that had it to the last; ended_run_id = the next run without it
        CREATE TABLE themes (
            theme_id       TEXT PRIMARY KEY,
            level          INTEGER NOT NULL,
            number         INTEGER NOT NULL,
            first_run_id   TEXT NOT NULL,
            last_run_id    TEXT NOT NULL,
            ended_run_id   TEXT,
            created_at     TEXT NOT NULL DEFAULT ({_NOW}),
            UNIQUE (level, number)
        );
        -- each cluster's theme, and the previous run's cluster it continues (NULL: a new theme)
        CREATE TABLE cluster_themes (
            cluster_id           INTEGER PRIMARY KEY REFERENCES clusters(id) ON DELETE CASCADE,
            run_id               TEXT NOT NULL,
            theme_id             TEXT NOT NULL REFERENCES themes(theme_id),
            previous_cluster_id  INTEGER REFERENCES clusters(id) ON DELETE SET NULL,
            jaccard              REAL,
            member_jaccard       REAL,
            cosine               REAL
        );
        CREATE INDEX cluster_themes_run ON cluster_themes(run_id);
        CREATE INDEX cluster_themes_theme ON cluster_themes(theme_id);
        CREATE INDEX cluster_themes_previous ON cluster_themes(previous_cluster_id);
        -- the runs whose matching is complete, in the order they were matched
        CREATE TABLE theme_runs (
            run_id           TEXT PRIMARY KEY,
            seq              INTEGER NOT NULL UNIQUE,
            previous_run_id  TEXT,
            clusters         INTEGER NOT NULL,
            matched_at       TEXT NOT NULL DEFAULT ({_NOW})
        );
        """,
    ),
    (
        "009_theme_assignments",
        f"""
        -- items placed in a cluster run after its fit (thememap assign, store/assignments.py):
        -- their memberships and layout rows are the run's like the fitted items'; this says
        -- which items were added so, when, and how well they fit (the finest level's cluster)
        CREATE TABLE theme_assignments (
            run_id         TEXT NOT NULL,
            item_id        INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            cluster_id     INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
            strength       REAL NOT NULL,
            outlier_score  REAL NOT NULL,
            is_outlier     INTEGER NOT NULL,
            batch          INTEGER NOT NULL,
            assigned_at    TEXT NOT NULL DEFAULT ({_NOW}),
            PRIMARY KEY (run_id, item_id)
        ) WITHOUT ROWID;
        CREATE INDEX theme_assignments_item ON theme_assignments(item_id);
        CREATE INDEX theme_assignments_cluster ON theme_assignments(cluster_id);
        """,
    ),
    (
        "010_theme_edits",
        f"""
        -- a person's edits of themes, keyed by stable theme id (store/theme_edits.py);
        -- key: the edit's canonical JSON, so the same entry written twice is one edit
        CREATE TABLE theme_edits (
            edit_id     INTEGER PRIMARY KEY,
            kind        TEXT NOT NULL,
            payload     TEXT NOT NULL,
            key         TEXT NOT NULL UNIQUE,
            author      TEXT,
            source      TEXT,
            created_at  TEXT NOT NULL DEFAULT ({_NOW})
        );
        -- which run applied which edit, and how ('applied' or why not)
        CREATE TABLE theme_edit_runs (
            run_id      TEXT NOT NULL,
            edit_id     INTEGER NOT NULL REFERENCES theme_edits(edit_id) ON DELETE CASCADE,
            status      TEXT NOT NULL,
            applied_at  TEXT NOT NULL DEFAULT ({_NOW}),
            PRIMARY KEY (run_id, edit_id)
        ) WITHOUT ROWID;
        -- a run's themes as shown after its edits (merges and splits applied, names set)
        CREATE TABLE edited_themes (
            run_id           TEXT NOT NULL,
            theme_id         TEXT NOT NULL,
            level            INTEGER NOT NULL,
            parent_theme_id  TEXT,
            comment_count    INTEGER NOT NULL,
            name             TEXT,
            edited           INTEGER NOT NULL DEFAULT 0,
            pinned_name      INTEGER NOT NULL DEFAULT 0,
            card             TEXT,
            sources          TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (run_id, theme_id)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "011_embeddings_rowid",
        f"""
        -- vectors in a rowid table: in the WITHOUT ROWID table of 001 a 1.5 KB vector row
        -- spilled into its own 4 KB overflow page (3.1 GB for 670,293 vectors of 384 dims;
        -- about 1.4 GB this way, two rows per page). The reference view is rebuilt around it.
        DROP VIEW reference_items;
        CREATE TABLE embeddings_rowid (
            id            INTEGER PRIMARY KEY,
            content_hash  TEXT NOT NULL,
            model_id      TEXT NOT NULL,
            dim           INTEGER NOT NULL,
            vector        BLOB NOT NULL,
            created_at    TEXT NOT NULL DEFAULT ({_NOW}),
            UNIQUE (content_hash, model_id)
        );
        INSERT INTO embeddings_rowid (content_hash, model_id, dim, vector, created_at)
        SELECT content_hash, model_id, dim, vector, created_at FROM embeddings;
        DROP TABLE embeddings;
        ALTER TABLE embeddings_rowid RENAME TO embeddings;
        CREATE INDEX embeddings_model_dim ON embeddings(model_id, dim);
        {_REFERENCE_VIEW}
        """,
    ),
]


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations already applied to this store, in order."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT "
        f"({_NOW}))"
    )
    return [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]


def migrate(conn: sqlite3.Connection, *, source: str = "store") -> list[str]:
    """Apply every pending migration; return the names applied now."""
    done = applied_migrations(conn)
    known = [name for name, _ in MIGRATIONS]
    unknown = [name for name in done if name not in known]
    if unknown:
        raise StoreError(
            f"{source}: made by a newer thememap (unknown migrations {unknown}); upgrade thememap"
        )
    applied_now = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        # executescript would COMMIT on its own; run statement by statement inside one transaction
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations(name) VALUES (?)", (name,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied_now.append(name)
    return applied_now


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about quotes)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
