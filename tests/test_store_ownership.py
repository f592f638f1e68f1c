"""One owner per table: SQL lives in ``thememap/store/`` (every module, no exceptions:
even the user's SQLite *input* file is read by ``store/sqlite_input.py``), and the store
imports no step."""

from __future__ import annotations

import re
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib" / "thememap"
SQL = re.compile(
    r"SELECT\b[^\n]*\bFROM\b|INSERT (?:OR \w+ )?INTO\b|UPDATE \w+ SET\b|DELETE FROM\b"
    r"|CREATE (?:TEMP )?(?:TABLE|VIEW|INDEX)\b|PRAGMA \w+"
    r"|\.execute(?:many|script)?\(|\bread_sql(?:_query|_table)?\("
)
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
    assert _with_sql() == set(), "SQL outside store/: move it into the store module of its table"


def test_the_check_sees_sql() -> None:
    """The pattern finds the store's own SQL (so an empty answer above means something)."""
    for name in ("items.py", "clusters.py", "cards.py", "item_load.py", "sqlite_input.py"):
        assert SQL.search((LIB / "store" / name).read_text(encoding="utf-8")), name


def test_the_store_imports_no_step() -> None:
    for path in (LIB / "store").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        runtime = text.split("if TYPE_CHECKING:")[0]  # type-only imports are not a dependency
        for step in STEPS:
            assert f"from {step}" not in runtime, (path.name, step)
            assert f"import {step}" not in runtime, (path.name, step)
