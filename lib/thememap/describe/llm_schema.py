"""The pydantic model an LLM must fill: the reference's four fields, validated.

Beside its ``pattern_name`` the model proposes ``other_names``; which of them the
card shows is chosen by :mod:`thememap.describe.proposed_names` (the model proposes,
the embedding chooses). Unusable alternatives are dropped, not re-asked.

The category is an enum of the configured names, so a server that constrains
output by JSON schema (llama.cpp in ``tools`` mode) can only pick a valid one,
and any other server's wrong answer is re-asked by instructor.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator


def _ask_for_every_field(schema: dict[str, Any]) -> None:
    schema["required"] = list(schema.get("properties", {}))


class ClusterDescriptionBase(BaseModel):
    """Structured description of one cluster (fields of the reference design)."""

    model_config = ConfigDict(json_schema_extra=_ask_for_every_field)

    # No max_length in the schema: servers that compile it into a grammar (llama.cpp)
    # unroll one optional per character. Lengths are checked by the validators below.
    summary: str = Field(
        description="2-3 sentence summary of what the items in this cluster have in common"
    )
    pattern_name: str = Field(
        description="short specific name for this cluster in plain words (2-5 words, "
        "no underscores), distinct from its siblings' names"
    )
    # Required in the schema the model sees, optional when read: an answer without
    # alternatives is still a valid card (servers that ignore the schema, old cache rows).
    other_names: list[str] = Field(
        default_factory=list,
        description="2 other names you would also give this cluster (2-5 plain words each, "
        "worded differently from pattern_name)",
    )
    strength: int = Field(
        ge=1, le=10, description="how consistent/coherent this cluster is (1=weak, 10=very strong)"
    )

    @field_validator("summary")
    @classmethod
    def _a_few_sentences(cls, value: str) -> str:
        value = " ".join(value.split())
        if not 10 <= len(value) <= 1200:
            raise ValueError("summary must be 2-3 sentences (10-1200 characters)")
        return value

    @field_validator("pattern_name")
    @classmethod
    def _few_words(cls, value: str) -> str:
        return check_name(value)

    @field_validator("other_names")
    @classmethod
    def _usable_alternatives(cls, values: list[str]) -> list[str]:
        # alternatives only widen the choice: an unusable one is dropped, never re-asked
        kept: list[str] = []
        for value in values:
            try:
                name = check_name(value)
            except ValueError:
                continue
            if name.casefold() not in {k.casefold() for k in kept}:
                kept.append(name)
        return kept[:MAX_ALTERNATIVES]


MAX_NAME_WORDS = 6
MAX_ALTERNATIVES = 3
MAX_NAME_CHARS = 60


def check_name(value: str) -> str:
    """A pattern name as a reader sees it: 1-6 plain words; raises ValueError otherwise.

    An identifier (``mail_tools``, small models write them) is read as the words
    it joins (``Mail tools``) rather than stored as is or paid for again.
    Rejected: empty, more than :data:`MAX_NAME_WORDS` words or
    :data:`MAX_NAME_CHARS` characters.
    """
    value = " ".join(value.split()).strip(" .\"'`")
    if "_" in value:
        value = " ".join(value.replace("_", " ").split())
        value = value[:1].upper() + value[1:]
    words = value.split()
    if not words:
        raise ValueError("pattern_name is empty: give a 2-5 word name")
    if len(words) > MAX_NAME_WORDS or len(value) > MAX_NAME_CHARS:
        raise ValueError(
            f"pattern_name must be 2-5 words (got {len(words)} words, {len(value)} characters)"
        )
    return value


def card_model(categories: Sequence[str]) -> type[ClusterDescriptionBase]:
    """The response model for these category names (category is an enum of them)."""
    category_enum = Enum(  # type: ignore[misc]
        "Category", {name: name for name in categories}, type=str
    )
    fields: dict[str, Any] = {
        "category": (
            category_enum,
            Field(description="primary category, one of: " + ", ".join(categories)),
        )
    }
    model: type[ClusterDescriptionBase] = create_model(
        "ClusterDescription",
        __base__=ClusterDescriptionBase,
        __doc__="Structured description of a cluster of similar text items.",
        **fields,
    )
    return model
