"""Shared pieces of every params section: strict models, checked field types."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A params section: unknown keys are rejected, values validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def _env_var_name(value: str) -> str:
    # A pasted key here would end up in the store's runs table and in reports.
    if not value.replace("_", "").isalnum() or value.startswith(("sk-", "sk_")):
        raise ValueError("give the NAME of an environment variable, never the key itself")
    return value


EnvVarName = Annotated[str, AfterValidator(_env_var_name)]
"""The name of an environment variable that holds a secret (never the secret itself)."""
