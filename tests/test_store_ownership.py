"""One owner per table: SQL lives in ``thememap/store/``, and the store imports no step.

Modules that still hold SQL are listed in ``NOT_YET_MOVED``; the list may only shrink
(a module that gains SQL, or a listed one that lost it, fails the test).
"""

from __future__ import annotations

import re
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib" / "thememap"
SQL = re.compile(
    r"SELECT\b[^\n]*\bFROM\b|INSERT (?:OR \w+ )?INTO\b|UPDATE \w+ SET\b|DELETE FROM\b"
    r"|CREATE (?:TEMP )?(?:TABLE|VIEW|INDEX)\b|PRAGMA \w+|\bconn\.execute|read_sql"
)
# issue 11: still to be moved into store/ (ingest's loader, the export readers, the run index)
NOT_YET_MOVED = {
    "export/reference.py",
    "export/report_index.py",
    "export/source.py",
    "ingest/load.py",
    "ingest/overview.py",
    "ingest/readers.py",  # reads the user's own SQLite *input* file, not the store
}
STEPS = (
    "thememap.embed", "thememap.cluster", "thememap.ingest", "thememap.describe",
    "thememap.export",
)  # fmt: skip


def _with_sql() -> set[str]:
    found = set()
    for path in LIB.rglob("*.py"):
        relative = path.relative_to(LIB).as_posix()
        if not relative.startswith("store/") and SQL.search(path.read_text(encoding="utf-8")):
            found.add(relative)
    return found


def test_sql_lives_in_the_store_only() -> None:
    found = _with_sql()
    assert found - NOT_YET_MOVED == set(), "SQL outside store/: move it into a store module"
    assert NOT_YET_MOVED - found == set(), "moved: take it off NOT_YET_MOVED"


def test_the_store_imports_no_step() -> None:
    for path in (LIB / "store").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        runtime = text.split("if TYPE_CHECKING:")[0]  # type-only imports are not a dependency
        for step in STEPS:
            assert f"from {step}" not in runtime, (path.name, step)
            assert f"import {step}" not in runtime, (path.name, step)
