"""The describe step against a REAL instruct model: Qwen2.5-Coder 1.5B Instruct on llama.cpp.

Where test_describe_llm_server.py checks the plumbing with a base model, this one
checks the cards: on a small tree (1 theme over 2 sub-themes: 3 cards; ~1.5 min on 2
idle cores, ~6 min when the machine is loaded to 8-10) every card must be valid (no
recorded failure) and no two siblings may share a name. The server's venv comes from ``bash tools/llm_server_env.sh``, the
model from ``bash tools/local_llm.sh install`` (both cached; .ci/run calls them).
Skipped, with the reason, when either is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from describe_fixture import BowEmbedder
from llama_server import CACHE, llama_server, server_params, topic_store

from thememap.describe.step import describe_llm, describe_offline, load_hierarchy, plan_llm
from thememap.store.cards import read_cards

MODEL = CACHE / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
ALIAS = "qwen2.5-coder-1.5b-instruct"

pytestmark = [pytest.mark.llm, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(
        MODEL,
        tmp_path_factory.mktemp("llm") / "server.log",
        extra_args=["--model_alias", ALIAS, "--n_threads", "2"],
        setup_hint="run `bash tools/llm_server_env.sh` and `bash tools/local_llm.sh install` once",
        start_timeout_s=180,
    ) as base_url:
        yield base_url


def test_real_instruct_model_writes_valid_distinct_cards(server: str, tmp_path: Path) -> None:
    h, conn = topic_store(tmp_path / "items.db", 1, items_per_leaf=8)
    params = server_params(
        server,
        ALIAS,
        categories={
            "game": "a game or game engine",
            "science": "software for science, math or data analysis",
            "network": "network tools, servers and clients",
            "other": "anything else",
        },
        context_tokens=4096,
        max_output_tokens=200,
        max_retries=1,
    )
    p = params.describe
    assert p.request_concurrency == 1 and p.request_timeout_s >= 600  # local defaults
    loaded = load_hierarchy(conn, params)
    offline = describe_offline(conn, loaded, p, embedder=BowEmbedder())
    plan = plan_llm(conn, loaded, offline, p)
    assert plan.calls == 3 and plan.seconds > 0 and plan.cost_usd == 0.0

    started = time.perf_counter()
    describer = describe_llm(conn, loaded, offline, p)
    seconds = time.perf_counter() - started
    print(
        f"\n{len(describer.cards_)} cards in {seconds:.0f} s; {describer.usage_.requests} requests"
    )
    for card in describer.cards_.values():
        print(f"  L{card.level} {card.pattern_name!r} ({card.category}): {card.summary[:90]}")

    cards = describer.cards_
    assert len(cards) == 3 and describer.breaker_ is None
    failures = {cid: c.failure for cid, c in cards.items() if not c.ok}
    assert not failures, failures  # valid, none stored as a failure
    for card in cards.values():
        assert card.category in p.categories and card.strength == offline[card.cluster_id].strength
        assert 1 <= len(card.pattern_name.split()) <= 6 and "_" not in card.pattern_name
    for level in h.levels:
        for group in h.sibling_groups(level):
            names = [cards[n.id].pattern_name.casefold() for n in group]
            assert len(set(names)) == len(names), names  # no duplicate sibling names
    assert len(read_cards(conn, "run-c", ALIAS)) == 3
    # a re-run pays nothing
    assert plan_llm(conn, loaded, offline, p).calls == 0
