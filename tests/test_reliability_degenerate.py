"""Issue 10, item 10: degenerate corpora say so (the step-level part; real SQLite, real step)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from thememap.cluster.hierarchy import build_hierarchy
from thememap.cluster.pipeline import hierarchy_kwargs
from thememap.ingest.load import load_items
from thememap.notebook import Step, start_step
from thememap.params import load_params
from thememap.store.connection import open_store


@pytest.fixture
def warnings_seen(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    logger = logging.getLogger("thememap")  # does not propagate to the root (notebook logging)
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def _step_02(write_params: Any, tmp_path: Path, texts: list[str], **cluster: Any) -> Step:
    params = write_params({"store": "s.db", "cluster": cluster})
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"content": t}) + "\n" for t in texts))
    conn = open_store(tmp_path / "s.db")
    load_items(conn, load_params(params).input, path=path, progress=False)
    conn.close()
    return start_step("02_cluster", str(params), "degenerate")


def _counts(step: Step, x: np.ndarray) -> list[int]:
    hierarchy = build_hierarchy(x, **hierarchy_kwargs(step.params.cluster))
    return [len(p) for p in hierarchy.parents]


def test_identical_texts_form_one_theme(
    write_params: Any, tmp_path: Path, warnings_seen: pytest.LogCaptureFixture
) -> None:
    step = _step_02(write_params, tmp_path, ["the same complaint"] * 200)
    try:
        assert "all 200 items have the same text: one theme per level" in warnings_seen.text
        vector = np.random.default_rng(0).normal(size=16).astype(np.float32)
        assert _counts(step, np.tile(vector / np.linalg.norm(vector), (200, 1))) == [1, 1, 1]
    finally:
        step.done()


def test_impossible_level_counts_are_clamped_naming_the_key(
    write_params: Any, tmp_path: Path, warnings_seen: pytest.LogCaptureFixture
) -> None:
    texts = [f"feedback {i}" for i in range(60)]
    step = _step_02(write_params, tmp_path, texts, level_counts=[50, 100, 500])
    try:
        for i, asked in enumerate([50, 100, 500]):
            assert f"cluster.level_counts[{i}]: {asked} clusters asked" in warnings_seen.text
        assert step.params.cluster.level_counts == [20, 20, 20]
        x = np.random.default_rng(1).normal(size=(60, 16)).astype(np.float32)
        assert _counts(step, x)[-1] > 1  # was 1/1/1 unclamped
    finally:
        step.done()
