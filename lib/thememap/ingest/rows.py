"""One record's fields into one item (or the reason it is a bad row)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from thememap.ingest.dates import DateError, normalise_date
from thememap.ingest.prepare import prepare_text, text_hash

if TYPE_CHECKING:
    from thememap.ingest.params import InputParams


@dataclass(frozen=True)
class Item:
    """A validated row, ready for the items table."""

    external_id: str
    content: str
    metadata: dict[str, Any]
    created_at: str | None
    content_hash: str

    def metadata_json(self) -> str:
        """The metadata as stored (compact JSON, keys in input order)."""
        return json.dumps(self.metadata, ensure_ascii=False, separators=(",", ":"))


class RowError(ValueError):
    """Why one record cannot become an item (the message of its BadRow)."""

    def __init__(self, reason: str, item_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.item_id = item_id


def _jsonable(value: Any) -> Any:
    """A JSON-ready copy of a metadata value (dates as ISO text, NaN as null)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError("binary value")
    return str(value)


def _as_id(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 12.0 from a numeric column is the id 12
    text = str(value).strip()
    return text or None


def metadata_keys(fields: dict[str, Any], params: InputParams) -> list[str]:
    """Which fields of a record are kept as metadata."""
    used = {params.text_field, params.id_field, params.created_at_field}
    if params.metadata_fields == "all":
        return [k for k in fields if k not in used]
    # title and context fields are read from the metadata when the text is prepared
    wanted = [params.title_field, *params.context_fields, *params.metadata_fields]
    seen: list[str] = []
    for key in wanted:
        if key and key in fields and key not in used and key not in seen:
            seen.append(key)
    return seen


def make_item(fields: dict[str, Any], *, line: int, file_name: str, params: InputParams) -> Item:
    """Validate one record into an :class:`Item`; raise :class:`RowError` when it is bad."""
    if params.id_field:
        if params.id_field not in fields:
            raise RowError(f"missing id field {params.id_field!r}")
        external_id = _as_id(fields[params.id_field])
        if external_id is None:
            raise RowError(f"empty id field {params.id_field!r}")
    else:
        external_id = f"{file_name}:{line}"

    if params.text_field not in fields:
        raise RowError(f"missing text field {params.text_field!r}", external_id)
    raw = fields[params.text_field]
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        raise RowError(f"empty text field {params.text_field!r}", external_id)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        kind = type(raw).__name__
        raise RowError(f"text field {params.text_field!r} is a {kind}, not text", external_id)
    content = str(raw)
    if not content:
        raise RowError(f"empty text field {params.text_field!r}", external_id)
    if not content.strip():
        raise RowError(f"empty text field {params.text_field!r} (only whitespace)", external_id)
    size = len(content.encode("utf-8"))
    if size > params.max_text_bytes:
        raise RowError(
            f"text is {size:,} bytes, over input.max_text_bytes={params.max_text_bytes:,}",
            external_id,
        )

    created_at = None
    if params.created_at_field:
        try:
            created_at = normalise_date(fields.get(params.created_at_field))
        except DateError as err:
            raise RowError(
                f"unparsable date in {params.created_at_field!r}: {err}", external_id
            ) from None

    metadata: dict[str, Any] = {}
    for key in metadata_keys(fields, params):
        try:
            metadata[key] = _jsonable(fields[key])
        except TypeError:
            raise RowError(
                f"field {key!r} holds binary data; leave it out of metadata_fields", external_id
            ) from None

    prepared = prepare_text(content, metadata, params)
    return Item(external_id, content, metadata, created_at, text_hash(prepared))
