"""One reader per input format, each yielding :class:`Record` s in file order.

A record is one row's raw fields and where it came from (1-based line for the
line-based formats, 1-based row for Parquet and SQLite), or a bad-row marker
(``fields`` is None, ``error`` says why) when the row cannot even be read.
Bytes are decoded line by line, so one undecodable line spoils that row only.

Whole-file problems (missing file, unknown format, no text column) raise
:class:`~thememap.errors.InputError` naming the file.
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from thememap.errors import InputError
from thememap.store.sqlite_input import Undecodable, input_table_rows

FORMATS = ("csv", "tsv", "jsonl", "parquet", "text", "sqlite")

_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "text",
    ".text": "text",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
}
# Formats read line by line may be gzip-compressed (name ends in .gz).
_GZIP_OK = ("csv", "tsv", "jsonl", "text")

# Columns of the reference design's items table that are results, not input.
REFERENCE_DERIVED_COLUMNS = frozenset(
    {"embedding", "embedding_cluster_l1", "embedding_cluster_l2", "embedding_cluster_l3"}
    | {"umap_x", "umap_y"}
)


@dataclass(frozen=True)
class Record:
    """One input row: its fields, or why it could not be read."""

    line: int
    fields: dict[str, Any] | None
    error: str | None = None


def detect_format(path: Path, fmt: str = "auto") -> str:
    """The format to read ``path`` with: ``fmt`` unless "auto", else from the extension."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise InputError(f"{path}: unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    suffix = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    found = _BY_SUFFIX.get(suffix)
    if found is None or (gz and found not in _GZIP_OK):
        known = ", ".join(sorted(_BY_SUFFIX)) + " (and .gz of csv/tsv/jsonl/txt)"
        raise InputError(
            f"{path}: cannot tell the format from the name; set input.format (known: {known})"
        )
    return found


def _open_binary(path: Path) -> IO[bytes]:
    if not path.is_file():
        raise InputError(f"{path}: input file not found")
    with path.open("rb") as probe:
        magic = probe.read(2)
    # gzip by content, not only by name: a renamed .gz still reads
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _decoded_lines(raw: Iterable[bytes], encoding: str, bad_lines: set[int]) -> Iterator[str]:
    """Decode each physical line alone; an undecodable one is replaced and remembered."""
    for number, chunk in enumerate(raw, start=1):
        try:
            yield chunk.decode(encoding)
        except UnicodeDecodeError:
            bad_lines.add(number)
            yield chunk.decode(encoding, errors="replace")


def _undecodable(lines: Iterable[int], encoding: str) -> str:
    where = ", ".join(str(n) for n in sorted(lines))
    return f"undecodable bytes (not valid {encoding}) on line {where}"


def read_delimited(
    path: Path, *, delimiter: str, text_field: str, encoding: str = "utf-8"
) -> Iterator[Record]:
    """CSV (quoted fields may span lines) or TSV (one row per line, no quoting).

    The first row is the header. A row with the wrong number of fields is a
    bad row; a header without ``text_field`` is an InputError.
    """
    tsv = delimiter == "\t"
    # Text may legitimately be long; the size limit is input.max_text_bytes, checked per row.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    with _open_binary(path) as handle:
        bad_lines: set[int] = set()
        text = _decoded_lines(handle, encoding, bad_lines)
        reader = csv.reader(
            text,
            delimiter=delimiter,
            quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL,
            strict=False,
        )
        header: list[str] | None = None
        end = 0  # last physical line consumed
        while True:
            start = end + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                end = reader.line_num
                yield Record(start, None, f"unreadable row: {err}")
                continue
            end = reader.line_num
            spoiled = [n for n in range(start, end + 1) if n in bad_lines]
            if header is None:
                if spoiled:
                    raise InputError(f"{path}:{start}: header: " + _undecodable(spoiled, encoding))
                header = [name.strip().lstrip("\ufeff") for name in row]
                if text_field not in header:
                    raise InputError(
                        f"{path}: no column {text_field!r} in the header "
                        f"(columns: {', '.join(header)}); set input.text_field"
                    )
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if spoiled:
                yield Record(start, None, _undecodable(spoiled, encoding))
            elif len(row) != len(header):
                yield Record(start, None, f"expected {len(header)} fields, found {len(row)}")
            else:
                yield Record(start, dict(zip(header, row, strict=True)))
        if header is None:
            raise InputError(f"{path}: empty file (no header row)")


def _text_lines(path: Path, encoding: str) -> Iterator[tuple[int, str | Record]]:
    """``(line number, text without line ending)`` per non-blank line, or a bad-row Record.

    Lines are decoded one by one, so one undecodable line does not sink the file.
    """
    with _open_binary(path) as handle:
        for number, chunk in enumerate(handle, start=1):
            if not chunk.strip():
                continue
            try:
                yield number, chunk.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError:
                yield number, Record(number, None, _undecodable([number], encoding))


def read_jsonl(path: Path, *, encoding: str = "utf-8") -> Iterator[Record]:
    """One JSON object per line; blank lines are ignored."""
    for number, line in _text_lines(path, encoding):
        if isinstance(line, Record):
            yield line
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            yield Record(number, None, f"broken JSON: {err.msg} (column {err.colno})")
            continue
        if not isinstance(value, dict):
            kind = type(value).__name__
            yield Record(number, None, f"JSON line is a {kind}, not an object")
            continue
        if "\\u" in line and _has_lone_surrogate(value):
            # valid JSON, but no UTF-8 text: SQLite would reject the whole load later
            yield Record(number, None, "lone surrogate escape (\\ud800-\\udfff) in a string")
            continue
        yield Record(number, value)


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_text(path: Path, *, text_field: str, encoding: str = "utf-8") -> Iterator[Record]:
    """One item per line (line endings stripped); blank lines are ignored."""
    for number, line in _text_lines(path, encoding):
        yield line if isinstance(line, Record) else Record(number, {text_field: line})


def read_parquet(path: Path, *, text_field: str, batch_size: int = 10_000) -> Iterator[Record]:
    """Rows of a Parquet file, read batch by batch; ``line`` is the 1-based row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InputError(f"{path}: input file not found")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: not a readable Parquet file ({err})") from None
    names = parquet.schema_arrow.names
    if text_field not in names:
        raise InputError(
            f"{path}: no column {text_field!r} (columns: {', '.join(names)}); set input.text_field"
        )
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_size):
        for fields in batch.to_pylist():
            row += 1
            yield Record(row, fields)


def read_sqlite(path: Path, *, table: str, text_field: str) -> Iterator[Record]:
    """Rows of ``table`` in a SQLite file (read-only), in rowid order; ``line`` is the 1-based row.

    A ``metadata`` column holding a JSON object (the reference design's items
    schema) is unpacked into the row's fields; the reference's derived columns
    (embedding, cluster labels, UMAP coordinates) are left out.
    """
    rows = input_table_rows(
        path, table=table, text_field=text_field, leave_out=REFERENCE_DERIVED_COLUMNS
    )
    for number, fields in enumerate(rows, start=1):
        yield _sqlite_record(number, fields)


def _sqlite_record(number: int, fields: dict[str, Any]) -> Record:
    spoiled = [name for name, value in fields.items() if isinstance(value, Undecodable)]
    if spoiled:
        return Record(number, None, f"undecodable bytes (not valid UTF-8) in column {spoiled[0]}")
    meta = fields.get("metadata")
    if isinstance(meta, str) and meta.strip():
        try:
            unpacked = json.loads(meta)
        except json.JSONDecodeError as err:
            return Record(number, None, f"metadata column is broken JSON: {err.msg}")
        if not isinstance(unpacked, dict):
            return Record(number, None, "metadata column is not a JSON object")
        del fields["metadata"]
        # the row's own columns win over keys of the same name inside metadata
        fields = {**unpacked, **fields}
    elif meta is None or (isinstance(meta, str) and not meta.strip()):
        fields.pop("metadata", None)
    return Record(number, fields)


def read_records(
    path: Path,
    fmt: str,
    *,
    text_field: str,
    encoding: str = "utf-8",
    sqlite_table: str = "items",
) -> Iterator[Record]:
    """Records of ``path`` read as ``fmt`` (a value of :data:`FORMATS`).

    A file that breaks while being read (truncated or corrupt gzip, an I/O error)
    raises :class:`InputError` naming the file and the last line read.
    """
    return _located(path, _read_records(path, fmt, text_field, encoding, sqlite_table))


def _located(path: Path, records: Iterator[Record]) -> Iterator[Record]:
    line = 0
    try:
        for record in records:
            line = record.line
            yield record
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise InputError(
            f"{path}: truncated or corrupt gzip after line {line} ({err}); the file was not loaded"
        ) from None
    except OSError as err:
        raise InputError(f"{path}: read failed after line {line} ({err})") from None


def _read_records(
    path: Path, fmt: str, text_field: str, encoding: str, sqlite_table: str
) -> Iterator[Record]:
    if fmt == "csv":
        return read_delimited(path, delimiter=",", text_field=text_field, encoding=encoding)
    if fmt == "tsv":
        return read_delimited(path, delimiter="\t", text_field=text_field, encoding=encoding)
    if fmt == "jsonl":
        return read_jsonl(path, encoding=encoding)
    if fmt == "text":
        return read_text(path, text_field=text_field, encoding=encoding)
    if fmt == "parquet":
        return read_parquet(path, text_field=text_field)
    if fmt == "sqlite":
        return read_sqlite(path, table=sqlite_table, text_field=text_field)
    raise InputError(f"{path}: unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
