"""Shared pieces of every params section: strict models, checked field types."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A params section: unknown keys are rejected, values validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


_ENV_VAR_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# scheme://user:password@host -> scheme://***@host (also inside longer messages)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s\"'<>]+@")


def _env_var_name(value: str) -> str:
    # A pasted key (sk-..., gsk_..., hf_...) would end up in the store's runs table and in
    # reports; variable names are upper case by convention, keys almost never are.
    if not _ENV_VAR_NAME.match(value):
        raise ValueError(
            "give the NAME of an environment variable (A-Z, 0-9, _; e.g. OPENAI_API_KEY), "
            "never the key itself"
        )
    return value


def mask_url_credentials(text: str) -> str:
    """``text`` with every ``user:password@`` of a URL replaced by ``***@``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def mask_secrets(value: Any) -> Any:
    """A JSON-like value with URL credentials masked in every string (for runs and reports)."""
    if isinstance(value, str):
        return mask_url_credentials(value)
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(v) for v in value]
    return value


EnvVarName = Annotated[str, AfterValidator(_env_var_name)]
"""The name of an environment variable that holds a secret (never the secret itself)."""
