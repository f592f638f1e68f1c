"""The text that gets embedded: title and context fields, then the content, truncated.

The hash of this prepared text is the item's ``content_hash``: two items with
the same prepared text share one vector, and changing the preparation params
re-keys items so only the changed texts are embedded again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thememap.ingest.params import InputParams

ELLIPSIS = "..."


def _as_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value if v not in (None, ""))
    return str(value).strip()


def _label(field: str) -> str:
    return field.replace("_", " ").strip().capitalize()


def prepare_text(content: str, metadata: Mapping[str, Any], params: InputParams) -> str:
    """Title and context lines, a blank line, then the content; cut to ``max_chars``."""
    parts: list[str] = []
    if params.title_field:
        title = _as_text(metadata.get(params.title_field) or "")
        if title:
            parts.append(f"Title: {title}")
    for field in params.context_fields:
        value = metadata.get(field)
        if value not in (None, "", []):
            parts.append(f"{_label(field)}: {_as_text(value)}")
    body = content.strip()
    text = "\n".join(parts) + ("\n\n" if parts and body else "") + body
    if len(text) > params.max_chars:
        text = text[: params.max_chars - len(ELLIPSIS)] + ELLIPSIS
    return text


def text_hash(text: str) -> str:
    """Stable hex digest of a prepared text (the embeddings key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
