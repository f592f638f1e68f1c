"""Load one input file into the store's items table, reporting bad rows.

The whole load is ONE transaction: a killed load leaves the store as it was,
``on_bad_row: fail`` rolls everything back and raises
:class:`~thememap.errors.BadRowsError`, ``skip`` commits the good rows and
returns the bad ones in the :class:`LoadReport`. Rows stream through in
chunks, so memory stays flat however big the file.

Re-loading is idempotent: an item is keyed by its external id (``id_field``,
else ``<file name>:<line>``). The same id with the same text is skipped and
counted. Identical texts under different ids stay separate items and share
one content hash, so they are embedded once.

With ``input.mirror`` (the default) the items mirror the file: an id already
in the store with a different text is *changed* (new text, re-embedded; the
old vector stays cached), and items whose id is not in the file are
*removed* from the items (their vectors stay cached, so they cost nothing if
they come back). Without it a load only adds, and a changed text is a bad row.
Either way, an id used twice in one file with different texts is a bad row.
"""

from __future__ import annotations

import csv
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from thememap.errors import BadRow, BadRowsError, InputError
from thememap.ingest.readers import Record, detect_format, read_records
from thememap.ingest.rows import Item, RowError, make_item
from thememap.store import item_load
from thememap.store.connection import transaction
from thememap.store.items import has_items
from thememap.store.view import bump_items_version

if TYPE_CHECKING:
    import pandas as pd

    from thememap.ingest.params import InputParams

log = logging.getLogger(__name__)

_CHUNK = 2000


@dataclass
class LoadReport:
    """What one load did: counts, and every rejected row with its file and line."""

    file: str
    format: str
    read: int = 0
    added: int = 0
    already_present: int = 0
    changed: int = 0
    removed: int = 0
    duplicate_texts: int = 0
    without_date: int = (
        0  # added items whose created_at field was empty (only with created_at_field)
    )
    seconds: float = 0.0
    bad_rows: list[BadRow] = field(default_factory=list)

    @property
    def bad(self) -> int:
        """Rows rejected (each is in :attr:`bad_rows`)."""
        return len(self.bad_rows)

    def counts(self) -> dict[str, int]:
        """The counts by name; ``read == added + already_present + changed + bad``."""
        return {
            "read": self.read,
            "added": self.added,
            "already_present": self.already_present,
            "changed": self.changed,
            "removed": self.removed,
            "duplicate_texts": self.duplicate_texts,
            "without_date": self.without_date,
            "bad": self.bad,
        }

    def to_frame(self) -> pd.DataFrame:
        """The counts as a one-column table (index: count name) for the notebook."""
        import pandas as pd

        return pd.DataFrame({"rows": pd.Series(self.counts())}).rename_axis(self.file)

    def bad_rows_frame(self) -> pd.DataFrame:
        """The bad rows as a table: file, line, item_id, reason."""
        import pandas as pd

        return pd.DataFrame(
            [(r.file, r.line, r.item_id, r.reason) for r in self.bad_rows],
            columns=["file", "line", "item_id", "reason"],
        )

    def write_bad_rows(self, path: Path | str) -> Path:
        """Write the bad rows as CSV (file, line, item_id, reason); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "line", "item_id", "reason"])
            for row in self.bad_rows:
                writer.writerow([row.file, row.line, row.item_id or "", row.reason])
        return path


def _chunks(rows: Iterable[tuple[int, Item]], size: int) -> Iterator[list[tuple[int, Item]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Loader:
    """The state of one load inside its transaction."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        report: LoadReport,
        *,
        positional_ids: bool,
        dated: bool,
        mirror: bool,
    ) -> None:
        self.conn = conn
        self.dated = dated
        self.mirror = mirror
        self.report = report
        self.positional_ids = positional_ids
        self.source = Path(report.file).name

    def add_chunk(self, chunk: list[tuple[int, Item]]) -> None:
        ids = list(dict.fromkeys(item.external_id for _, item in chunk))
        known = item_load.known_items(self.conn, ids)
        hashes = item_load.known_hashes(self.conn, list({item.content_hash for _, item in chunk}))
        new_items: list[item_load.ItemRow] = []
        new_lines: list[tuple[str, int]] = []
        for line, item in chunk:
            previous = known.get(item.external_id)
            if previous is not None:
                if self._seen_before(line, item, *previous):
                    known[item.external_id] = (item.content, line)
                continue
            known[item.external_id] = (item.content, line)
            if item.content_hash in hashes:
                self.report.duplicate_texts += 1
            hashes.add(item.content_hash)
            if self.dated and item.created_at is None:
                self.report.without_date += 1
            new_items.append(self._row(item))
            new_lines.append((item.external_id, line))
        item_load.add_items(self.conn, new_items, new_lines)
        self.report.added += len(new_items)

    def _row(self, item: Item) -> item_load.ItemRow:
        return (
            item.external_id,
            item.content,
            item.metadata_json(),
            item.created_at,
            item.content_hash,
            self.source,
        )

    def _seen_before(self, line: int, item: Item, content: str, first_line: int | None) -> bool:
        """Count a known id; True when its stored text was replaced (mirror mode)."""
        if content == item.content:
            if first_line is None:  # in the store before this load: note it as in the file
                item_load.note_line(self.conn, item.external_id, line)
            self.report.already_present += 1
            return False
        if first_line is None and self.mirror:
            self._replace(line, item)
            return True
        if first_line is not None:
            reason = (
                f"id {item.external_id!r} already used at line {first_line} with a different text"
            )
        else:
            reason = f"id {item.external_id!r} is already in the store with a different text"
            if self.positional_ids:
                reason += (
                    " (ids are file:line because input.id_field is not set; "
                    "set it, or load an edited file into a fresh store)"
                )
        self.report.bad_rows.append(BadRow(self.report.file, line, reason, item.external_id))
        return False

    def _replace(self, line: int, item: Item) -> None:
        # same id, new text: the item keeps its id; its old vector stays in embeddings
        item_load.replace_item(self.conn, self._row(item), line)
        self.report.changed += 1

    def remove_unseen(self) -> None:
        """Mirror mode: items whose id this file did not hold leave the items table."""
        self.report.removed = item_load.remove_unseen(self.conn)


def load_items(
    conn: sqlite3.Connection,
    params: InputParams,
    *,
    path: Path | str | None = None,
    progress: bool = True,
    chunk_size: int = _CHUNK,
) -> LoadReport:
    """Load ``path`` (default ``params.path``) into the items table, in one transaction.

    Returns a :class:`LoadReport`. With ``params.on_bad_row == "fail"`` and any
    bad row, raises :class:`BadRowsError` (listing them) and the store is
    unchanged. A file that cannot be read at all raises :class:`InputError`.
    A relative ``params.path`` is taken as is: pass ``params.resolve(...)``'s
    result as ``path`` to resolve it against the project root.
    """
    source = path if path is not None else params.path
    if source is None:
        raise InputError("input.path is not set: name the file to load")
    file = Path(source)
    fmt, records = open_input(file, params)
    report = LoadReport(file=str(file), format=fmt)
    started = time.perf_counter()

    def items() -> Iterator[tuple[int, Item]]:
        for record in tqdm(
            records, desc=f"loading {file.name}", unit=" rows", disable=not progress, mininterval=1
        ):
            report.read += 1
            if record.fields is None:
                report.bad_rows.append(BadRow(str(file), record.line, record.error or "unreadable"))
                continue
            try:
                yield (
                    record.line,
                    make_item(record.fields, line=record.line, file_name=file.name, params=params),
                )
            except RowError as err:
                report.bad_rows.append(BadRow(str(file), record.line, err.reason, err.item_id))

    item_load.start_load(conn)
    loader = _Loader(
        conn,
        report,
        positional_ids=not params.id_field,
        dated=bool(params.created_at_field),
        mirror=params.mirror,
    )
    try:
        with transaction(conn):
            for chunk in _chunks(items(), chunk_size):
                loader.add_chunk(chunk)
            # id conflicts are found a chunk after the reader's own errors: report in file order
            report.bad_rows.sort(key=lambda row: row.line)
            if report.bad_rows and params.on_bad_row == "fail":
                raise BadRowsError(report.bad_rows)
            good = report.added + report.already_present + report.changed
            # mirroring a file with no usable row would empty the map: an input error too
            if good == 0 and (params.mirror or not has_items(conn)):
                raise _nothing_loaded(report, params)
            if params.mirror:
                loader.remove_unseen()
            if report.added or report.changed or report.removed:
                bump_items_version(conn)
    finally:
        item_load.end_load(conn)
    report.seconds = time.perf_counter() - started
    _log_summary(report)
    return report


def open_input(file: Path, params: InputParams) -> tuple[str, Iterator[Record]]:
    """``(format, records)`` of an input file, after the checks that need no row read.

    Raises :class:`InputError` when the file is missing, its format unknown or its
    encoding unusable; the records are read lazily.
    """
    check_input_file(file)
    fmt = detect_format(file, params.format)
    _check_encoding(file, params.encoding)
    records = read_records(
        file,
        fmt,
        text_field=params.text_field,
        encoding=params.encoding,
        sqlite_table=params.sqlite_table,
    )
    return fmt, records


def check_input_file(file: Path) -> None:
    """Raise :class:`InputError` unless ``file`` is an existing, readable file.

    The runner calls it before opening the store, so a missing input creates no store.
    """
    if file.is_dir():
        raise InputError(f"{file}: is a folder, not a file; set input.path to one input file")
    if not file.is_file():
        raise InputError(f"{file}: input file not found")
    try:
        with file.open("rb"):
            pass
    except OSError as err:
        raise InputError(f"{file}: cannot be read ({err.strerror or err})") from None


def _nothing_loaded(report: LoadReport, params: InputParams) -> InputError:
    """A load that leaves the store empty is an input error, not an "ok" with 0 items."""
    if not report.bad_rows:
        return InputError(
            f"{report.file}: no rows to load (read {report.read}); "
            f"is it empty, or only a header? (input.text_field is {params.text_field!r})"
        )
    shown = "\n  ".join(str(row) for row in report.bad_rows[:5])
    more = f"\n  ... and {report.bad - 5} more" if report.bad > 5 else ""
    return InputError(
        f"{report.file}: none of {report.read} rows could be loaded "
        f"(input.text_field is {params.text_field!r}); the first bad rows:\n  {shown}{more}"
    )


def _check_encoding(file: Path, encoding: str) -> None:
    # lines are split on b"\n" before decoding, which needs an ASCII-compatible encoding
    try:
        ascii_compatible = "\n,\t".encode(encoding) == b"\n,\t"
    except LookupError:
        raise InputError(f"{file}: unknown input.encoding {encoding!r}") from None
    if not ascii_compatible:
        raise InputError(
            f"{file}: input.encoding {encoding!r} is not ASCII-compatible (UTF-16/32); "
            "convert the file to UTF-8 first"
        )


def _log_summary(report: LoadReport) -> None:
    log.info(
        "%s: read %d rows, added %d, changed %d, removed %d, already present %d, "
        "duplicate texts %d, bad %d (%.1f s)",
        report.file,
        report.read,
        report.added,
        report.changed,
        report.removed,
        report.already_present,
        report.duplicate_texts,
        report.bad,
        report.seconds,
    )
    if report.bad_rows:
        shown = "\n  ".join(str(row) for row in report.bad_rows[:5])
        more = f"\n  ... and {report.bad - 5} more" if report.bad > 5 else ""
        log.warning("%d bad row(s) skipped:\n  %s%s", report.bad, shown, more)
