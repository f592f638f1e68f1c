"""Items from in-memory data: a pandas DataFrame, a list of strings, or a file path.

The same row rules as a load into the store (:func:`thememap.ingest.rows.make_item`):
an empty or over-long text, an unparsable date or an id reused with another text is
a bad row, reported with its row number (``on_bad_row: fail`` raises instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from thememap.errors import BadRow, BadRowsError, InputError
from thememap.ingest.load import check_input_file
from thememap.ingest.params import InputParams
from thememap.ingest.readers import Record, detect_format, read_records
from thememap.ingest.rows import Item, RowError, make_item

Data = pd.DataFrame | Sequence[str] | str | Path


def records_of(data: Data, params: InputParams) -> tuple[str, Iterator[Record]]:
    """``(source name, records)`` of ``data``; a str or Path is a file to read."""
    if isinstance(data, str | Path):
        file = Path(data).expanduser()
        check_input_file(file)
        fmt = detect_format(file, params.format)
        return file.name, read_records(
            file,
            fmt,
            text_field=params.text_field,
            encoding=params.encoding,
            sqlite_table=params.sqlite_table,
        )
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, Sequence):
        frame = pd.DataFrame({params.text_field: list(data)})
    else:
        raise InputError(f"thememap.fit: expected a DataFrame, a list of texts or a file path, "
                         f"got {type(data).__name__}")  # fmt: skip
    if params.text_field not in frame.columns:
        raise InputError(
            f"no column {params.text_field!r} (text=...); columns: {', '.join(map(str, frame.columns))}"
        )
    return "data", _frame_records(frame)


def _frame_records(frame: pd.DataFrame) -> Iterator[Record]:
    for line, row in enumerate(frame.to_dict("records"), start=1):
        yield Record(line, {str(k): _plain(v) for k, v in row.items()})


def _plain(value: Any) -> Any:
    """pandas scalars as plain Python values (dates as ISO text, missing as None)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str | bytes) else value


def read_items(data: Data, params: InputParams) -> tuple[list[Item], list[BadRow]]:
    """The items of ``data`` in input order and its bad rows (see the module docstring)."""
    source, records = records_of(data, params)
    return collect_items(records, source, params)


def collect_items(
    records: Iterable[Record], source: str, params: InputParams
) -> tuple[list[Item], list[BadRow]]:
    """Validate records into items: first occurrence of an id wins, a reuse with other text
    is a bad row, a repeat with the same text is dropped."""
    items: list[Item] = []
    bad: list[BadRow] = []
    first: dict[str, tuple[int, str]] = {}
    for record in records:
        if record.fields is None:
            bad.append(BadRow(source, record.line, record.error or "unreadable"))
            continue
        try:
            item = make_item(record.fields, line=record.line, file_name=source, params=params)
        except RowError as err:
            bad.append(BadRow(source, record.line, err.reason, err.item_id))
            continue
        if not params.id_field and source == "data":  # in-memory rows: the row number, from 0
            item = replace(item, external_id=str(record.line - 1))
        seen = first.get(item.external_id)
        if seen is not None:
            if seen[1] != item.content:
                reason = f"id {item.external_id!r} already used at row {seen[0]} with another text"
                bad.append(BadRow(source, record.line, reason, item.external_id))
            continue
        first[item.external_id] = (record.line, item.content)
        items.append(item)
    if bad and params.on_bad_row == "fail":
        raise BadRowsError(bad)
    if not items:
        raise InputError(f"{source}: no usable item ({len(bad)} bad row(s))")
    return items, bad
