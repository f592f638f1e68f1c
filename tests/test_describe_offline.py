"""Offline cards, their parts, label quality, and the describe step through a real store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from describe_fixture import BowEmbedder, corpus, hierarchy, store_with_clusters
from describe_llm_fake import Script, valid

from thememap.describe.cards import Card
from thememap.describe.hierarchy import ClusterTree
from thememap.describe.keyphrases import make_analyzer, name_from_phrases, normalise
from thememap.describe.llm_client import LLMClient
from thememap.describe.llm_runner import LLMDescriber
from thememap.describe.offline import OfflineDescriber
from thememap.describe.params import DescribeParams
from thememap.describe.quality import label_quality
from thememap.describe.report import cards_table, cluster_examples, pick_examples
from thememap.describe.representatives import extractive_summary
from thememap.describe.scoring import random_baseline, strength
from thememap.describe.step import (
    describe_hierarchy,
    describe_llm,
    describe_offline,
    load_hierarchy,
    measure_quality,
    plan_llm,
)
from thememap.params import Params
from thememap.store import open_store
from thememap.store.cards import SqliteCache, read_cards, read_effective_cards, read_quality
from thememap.vectors import coherence, mmr

TOPIC_CATEGORIES = {
    "games": "chess engine board opening arcade shooter spaceship retro score levels",
    "science": "telescope astronomy stars sky orbit molecule chemistry reaction atoms bonds",
    "mail": "mail client inbox imap reader smtp server relay spam filter queue",
}


@pytest.fixture(scope="module")
def h() -> ClusterTree:
    return hierarchy()


@pytest.fixture(scope="module")
def cards(h: ClusterTree) -> dict[int, Card]:
    params = DescribeParams(categories=TOPIC_CATEGORIES)
    return OfflineDescriber(params, embedder=BowEmbedder()).fit(h).cards_


def test_every_cluster_gets_a_complete_card(h: ClusterTree, cards: dict[int, Card]) -> None:
    assert set(cards) == {n.id for n in h.nodes}
    for node in h.nodes:
        card = cards[node.id]
        assert card.source == "offline" and card.ok
        assert 1 <= len(card.pattern_name.split()) <= 6, card.pattern_name
        assert card.summary and len(card.summary) <= 300
        assert len(card.keywords) >= 3
        members = set(h.item_ids[node.members].tolist())
        assert card.representative_ids and set(card.representative_ids) <= members
        assert card.category in TOPIC_CATEGORIES
        assert card.strength is not None and 1 <= card.strength <= 10


def test_zero_shot_category_finds_each_topic(h: ClusterTree, cards: dict[int, Card]) -> None:
    texts, _ = corpus()
    for node in h.level(1):
        topic = {"chess": "games", "telescope": "science", "mail": "mail"}
        words = " ".join(texts[i] for i in node.members).lower()
        expected = max(topic, key=lambda w: words.count(w))
        assert cards[node.id].category == topic[expected]


def test_sibling_names_differ_and_name_their_subtopic(
    h: ClusterTree, cards: dict[int, Card]
) -> None:
    subtopic_words = {"chess", "arcade", "astronomy", "chemistry", "imap", "smtp", "client"}
    for group in h.sibling_groups(2):
        names = [cards[n.id].pattern_name for n in group]
        assert len(set(names)) == len(names)
        # the key phrases of each leaf are dominated by its own subtopic's words
        for node in group:
            assert set(" ".join(cards[node.id].keywords).split()) - {"software", "for"}
    leaf_words = {w for n in h.level(2) for w in " ".join(cards[n.id].keywords).split()}
    assert len(leaf_words & subtopic_words) >= 4


def test_label_quality_perfect_then_broken_by_swapped_names(
    h: ClusterTree, cards: dict[int, Card]
) -> None:
    report = label_quality(h, cards, BowEmbedder())
    assert report.top1() == {1: 1.0, 2: 1.0}
    assert all(rank == 1 for rank in report.ranks.values())
    leaves = h.level(2)
    swapped = dict(cards)
    a, b = leaves[0].id, leaves[3].id  # different parents: chess vs chemistry
    swapped[a], swapped[b] = (
        Card(a, 2, "x", cards[b].pattern_name, cards[b].summary),
        Card(b, 2, "x", cards[a].pattern_name, cards[a].summary),
    )
    broken = label_quality(h, swapped, BowEmbedder())
    assert broken.top1()[2] == pytest.approx(4 / 6, abs=1e-3)
    assert broken.ranks[a] > 1 and broken.ranks[b] > 1
    failed = dict(cards)
    failed[a] = Card(a, 2, "m", failure="api error")
    assert label_quality(h, failed, BowEmbedder()).levels[1].cards == 5


def test_analyzer_keeps_inner_stop_words_drops_edges_urls_accents() -> None:
    analyse = make_analyzer(ngram_max=3, stop_words=frozenset({"of", "the"}))
    phrases = analyse("The Game of Life — see https://example.org/x Café")
    assert "game of life" in phrases and "game" in phrases
    assert not any(p.startswith(("of", "the")) or p.endswith(("of", "the")) for p in phrases)
    assert "cafe" in phrases and not any("example" in p for p in phrases)
    assert normalise("ÉCOLE") == "ecole"


def test_name_from_phrases_is_two_to_five_words() -> None:
    assert name_from_phrases(["chess engine", "board"]) == "Chess engine"
    assert name_from_phrases(["chess", "board games"]) == "Board games"
    assert name_from_phrases(["chess", "board", "engine"]) == "Chess, board"
    assert name_from_phrases(["chess", "a b c d e f"]) == "Chess"
    assert name_from_phrases([]) == "Unnamed cluster"


def test_mmr_nearest_first_then_diverse() -> None:
    centre = np.array([1.0, 0.0], dtype=np.float32)
    x = np.array([[1, 0], [1, 0], [0.99, 0.14], [0.8, 0.6]], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert mmr(x, centre, k=2, lambda_=1.0).tolist() == [0, 1]
    assert mmr(x, centre, k=2, lambda_=0.3).tolist() == [0, 3]


def test_extractive_summary_skips_fragments_and_repeats() -> None:
    texts = [
        "Short.",
        "A chess engine that plays well. More text.",
        "A chess engine that plays well.",
    ]
    texts.append("Fetches and filters e-mail from many IMAP accounts at once, quickly")
    summary = extractive_summary(texts, sentences=2, max_chars=300)
    assert summary == (
        "A chess engine that plays well. "
        "Fetches and filters e-mail from many IMAP accounts at once, quickly."
    )
    assert len(extractive_summary(["word " * 200], max_chars=80)) <= 80


def test_strength_is_one_for_random_and_ten_for_identical_items() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    mean_norm = float(np.linalg.norm(x.mean(0)))
    sample = x[rng.choice(2000, 50, replace=False)]
    base = random_baseline(50, corpus_mean_norm=mean_norm, corpus_size=2000)
    assert coherence(sample) == pytest.approx(base, abs=0.05)
    assert strength(coherence(sample), base) == 1
    same = np.repeat(x[:1], 50, axis=0)
    assert strength(coherence(same), base) == 10


def test_describe_step_through_the_store(tmp_path: Path, h: ClusterTree) -> None:
    texts, _ = corpus()
    store_with_clusters(tmp_path / "items.db", h, texts)
    conn = open_store(tmp_path / "items.db")
    params = Params(input={"title_field": "title"}, describe={"categories": TOPIC_CATEGORIES})
    loaded = load_hierarchy(conn, params)
    assert loaded.cluster_run_id == "run-c"
    assert sorted(n.size for n in loaded.hierarchy.nodes) == sorted(n.size for n in h.nodes)
    assert loaded.hierarchy.texts[0].startswith("pkg100. ")

    offline = describe_offline(conn, loaded, params.describe, embedder=BowEmbedder())
    report = measure_quality(conn, loaded, offline, BowEmbedder(), source="offline")
    assert report.top1() == {1: 1.0, 2: 1.0}
    ref = conn.execute(
        "SELECT COUNT(*) FROM clusters WHERE llm_pattern_name IS NOT NULL"
        " AND llm_description IS NOT NULL AND llm_category IS NOT NULL"
        " AND strength_score BETWEEN 1 AND 10"
    ).fetchone()[0]
    assert ref == len(h.nodes)
    stored = read_cards(conn, "run-c", "offline")
    assert len(stored) == len(h.nodes) and (stored["retrieval_rank"] == 1).all()
    assert all(len(k) >= 3 for k in stored["keywords"])
    assert set(read_quality(conn, "run-c")["level"]) == {1, 2}

    # LLM cards: one leaf fails (strength 11 three times); its row is stored with the reason
    # and the reference columns fall back to that cluster's offline card
    llm_params = params.describe.model_copy(
        update={
            "source": "llm",
            "provider": "openai_compatible",
            "base_url": "http://llm.test/v1",
            "model": "test-model",
            "api_key_env": "THEMEMAP_TEST_NO_KEY",
            "concurrency": 1,
            "categories": DescribeParams().categories,
        }
    )
    script = Script(valid(strength=11), valid(strength=11), valid(strength=11))
    client = LLMClient(llm_params, http_client=script.transport())
    describer = LLMDescriber(llm_params, cache=SqliteCache(conn), client=client, progress=False)
    describe_llm(conn, loaded, offline, llm_params, describer=describer)
    llm_cards = read_cards(conn, "run-c", "test-model")
    failed = llm_cards[llm_cards["failure"].notna()]
    assert len(failed) == 1 and "strength" in failed.iloc[0]["failure"]
    failed_id = int(failed.iloc[0]["cluster_id"])
    row = conn.execute(
        "SELECT llm_pattern_name FROM clusters WHERE id = ?", (failed_id,)
    ).fetchone()
    assert row[0] == offline[failed_id].pattern_name
    others = conn.execute(
        "SELECT COUNT(*) FROM clusters WHERE llm_pattern_name LIKE '% topics'"
    ).fetchone()[0]
    assert others == len(h.nodes) - 1
    assert conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0] == len(h.nodes) - 1

    # the notebook's tables escape item text
    table = cards_table(read_cards(conn, "run-c", "offline"), level=2)
    assert "<table" in table and "<script>" not in table
    shown = cluster_examples(loaded, stored, pick_examples(stored, level=2))
    assert shown.count("<h4>") == 3


def test_cards_table_escapes_hostile_text() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "cluster_id": 1, "level": 1, "name": "L1_0", "comment_count": 3,
                "pattern_name": "<script>alert(1)</script>", "category": "bug", "strength": 5,
                "summary": "a & b", "keywords": ["<b>"], "failure": None,
            }
        ]
    )  # fmt: skip
    html = cards_table(frame, level=1)
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "a &amp; b" in html


def test_effective_cards_fall_back_to_offline_with_the_reason(
    tmp_path: Path, h: ClusterTree
) -> None:
    texts, _ = corpus()
    store_with_clusters(tmp_path / "items.db", h, texts)
    conn = open_store(tmp_path / "items.db")
    params = Params(describe={"categories": TOPIC_CATEGORIES})
    loaded = load_hierarchy(conn, params)
    offline = describe_offline(conn, loaded, params.describe, embedder=BowEmbedder())
    llm_params = params.describe.model_copy(
        update={
            "source": "llm", "provider": "openai_compatible", "base_url": "http://llm.test/v1",
            "model": "test-model", "api_key_env": "THEMEMAP_TEST_NO_KEY", "concurrency": 1,
            "max_calls": 3, "max_reasks": 0, "categories": DescribeParams().categories,
        }
    )  # fmt: skip
    script = Script(valid(strength=11))  # first leaf fails, two more written, then the budget
    client = LLMClient(llm_params, http_client=script.transport())
    describer = LLMDescriber(llm_params, cache=SqliteCache(conn), client=client, progress=False)
    describe_llm(conn, loaded, offline, llm_params, describer=describer)
    cards = read_effective_cards(conn, "run-c", "test-model")
    assert len(cards) == len(h.nodes)
    assert (cards["card_source"] == "test-model").sum() == 2
    reasons = cards["llm_failure"].dropna().tolist()
    assert sum("strength" in r for r in reasons) == 1
    assert reasons.count("not reached (budget)") == len(h.nodes) - 3
    table = cards_table(cards, level=2)
    assert "offline card; LLM:" in table


def test_plan_llm_asks_the_notebooks_prompts_so_its_cards_are_all_cached(
    tmp_path: Path, h: ClusterTree
) -> None:
    """The store-level plan lists the corpus-common words as the notebook path does: cards
    made by describe_hierarchy (the notebook) cost plan_llm no call."""
    texts, _ = corpus()
    store_with_clusters(tmp_path / "items.db", h, texts)
    conn = open_store(tmp_path / "items.db")
    params = Params(describe={"categories": TOPIC_CATEGORIES})
    loaded = load_hierarchy(conn, params)
    llm_params = params.describe.model_copy(
        update={
            "source": "llm", "provider": "openai_compatible", "base_url": "http://llm.test/v1",
            "model": "test-model", "api_key_env": "THEMEMAP_TEST_NO_KEY", "concurrency": 1,
            "categories": DescribeParams().categories,
        }
    )  # fmt: skip
    common = OfflineDescriber(llm_params).fit(loaded.hierarchy).common_words_
    assert common, "the fixture has corpus-common words, or this test shows nothing"
    client = LLMClient(llm_params, http_client=Script().transport())
    describer = LLMDescriber(
        llm_params, cache=SqliteCache(conn), client=client, progress=False, common_words=common
    )
    describe_hierarchy(loaded.hierarchy, llm_params, embedder=None, cache=SqliteCache(conn),
                       describer=describer, quality=False)  # fmt: skip
    offline = describe_offline(conn, loaded, llm_params, embedder=None)
    assert plan_llm(conn, loaded, offline, llm_params).calls == 0
    assert plan_llm(conn, loaded, offline, llm_params, common_words=[]).calls == len(h.nodes)
