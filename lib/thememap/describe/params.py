"""Params of the 03_describe step."""

from __future__ import annotations

from thememap.params_base import StrictModel


class DescribeParams(StrictModel):
    """How cluster cards are written."""
