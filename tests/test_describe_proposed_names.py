"""LLM answers propose three names; the card shows the best that repeats no sibling or child."""

from __future__ import annotations

from describe_fixture import BowEmbedder
from describe_llm_fake import Script, card_args, valid
from test_describe_llm import LEAVES, N_CLUSTERS, OFFLINE, H, Sleeps, params, run

from thememap.describe.llm_cache import MemoryCache
from thememap.describe.llm_client import LLMClient
from thememap.describe.llm_runner import LLMDescriber
from thememap.describe.llm_schema import card_model
from thememap.describe.proposed_names import choose_names, rank_proposals

CHESS, ARCADE = 4, 5  # the first parent's two leaves (ids in the fixture tree)


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def test_the_schema_asks_for_other_names_but_an_answer_without_them_is_valid() -> None:
    model = card_model(["bug", "other"])
    assert "other_names" in model.model_json_schema()["required"]
    card = model.model_validate(
        {"summary": "Items about chess engines.", "pattern_name": "Chess", "category": "bug",
         "strength": 5}
    )  # fmt: skip
    assert card.other_names == []


def test_unusable_alternatives_are_dropped_not_reasked() -> None:
    alternatives = ["", "one two three four five six seven eight", "board_game_engines", "x"]
    script = Script(valid(other_names=alternatives))
    describer, _ = run(script)
    assert script.requests == N_CLUSTERS  # no re-ask for the alternatives
    assert describer.cards_[min(LEAVES)].ok
    body = script.bodies[0]
    assert "other_names" in body["tools"][0]["function"]["parameters"]["required"]


def test_a_parent_proposing_a_childs_name_shows_its_broader_alternative_without_a_reask() -> None:
    child_name = card_args(0)["pattern_name"]  # the first leaf's name (child of parent 1)
    broader = "Board and arcade games"
    script = Script(*[None] * len(LEAVES), valid(pattern_name=child_name, other_names=[broader]))
    describer, _ = run(script)
    parent = H.level(1)[0]
    assert script.requests == N_CLUSTERS  # the alternative was enough: no rename asked
    assert parent.id not in describer.renamed_
    assert describer.cards_[parent.id].ok and describer.cards_[parent.id].pattern_name == broader


def test_siblings_proposing_the_same_name_are_told_apart_by_their_alternatives() -> None:
    same = "Game programs"
    script = Script(
        valid(pattern_name=same, other_names=["Chess engines"]),
        valid(pattern_name=same, other_names=["Arcade shooters"]),
    )
    describer, _ = run(script)
    names = {describer.cards_[i].pattern_name for i in (CHESS, ARCADE)}
    assert len(names) == 2 and same in names
    assert script.requests == N_CLUSTERS and not describer.renamed_


def test_with_the_embedder_the_proposal_nearest_its_own_cluster_is_shown() -> None:
    # the chess leaf's model picks its sibling's words first; its alternative is about chess
    script = Script(
        valid(pattern_name="Retro spaceship levels", other_names=["Chess engine board"])
    )
    p = params()
    sleeps = Sleeps()
    client = LLMClient(p, sleep=sleeps, clock=sleeps.clock, http_client=script.transport())
    cache = MemoryCache()
    describer = LLMDescriber(
        p, cache=cache, client=client, progress=False, embedder=BowEmbedder()
    ).fit(H, OFFLINE)
    assert describer.cards_[CHESS].pattern_name == "Chess engine board"
    # the plan walks the same choices from the cache: every prompt after it is a hit
    again = LLMDescriber(p, cache=cache, progress=False, embedder=BowEmbedder())
    assert again.plan(H, OFFLINE).calls == 0


def test_rank_proposals_orders_by_contrast_and_keeps_the_models_order_without_an_embedder() -> None:
    proposals = {CHESS: ["Retro spaceship levels", "Chess engine board"]}
    assert rank_proposals(H, 2, proposals, embedder=None, contrast=2.0)[CHESS] == proposals[CHESS]
    ranked = rank_proposals(H, 2, proposals, embedder=BowEmbedder(), contrast=2.0)
    assert ranked[CHESS] == ["Chess engine board", "Retro spaceship levels"]


def test_choose_names_lets_the_larger_sibling_keep_a_shared_first_choice() -> None:
    sizes = {n.id: n.size for n in H.level(2)}
    assert sizes[CHESS] == sizes[ARCADE]  # equal: the group's order decides, deterministically
    ranked = {CHESS: ["Games", "Chess"], ARCADE: ["Games", "Arcade"]}
    first = choose_names(H, 2, ranked, {}, _same)
    second = choose_names(H, 2, ranked, {}, _same)
    assert first == second and sorted(first.values()) in (["Arcade", "Games"], ["Chess", "Games"])
    # a name already fixed on a sibling is never taken again
    only = choose_names(H, 2, {CHESS: ["Games", "Chess"]}, {ARCADE: "games"}, _same)
    assert only == {CHESS: "Chess"}
    # when every proposal repeats one, the best stays (the runner's re-ask handles it)
    stuck = choose_names(H, 2, {CHESS: ["Games"]}, {ARCADE: "Games"}, _same)
    assert stuck == {CHESS: "Games"}


def test_the_corpus_common_words_are_listed_in_every_prompt_as_words_to_leave_out() -> None:
    script = Script()
    p = params()
    cache = MemoryCache()
    client = LLMClient(p, http_client=script.transport())
    common = ["package", "software"]
    describer = LLMDescriber(p, cache=cache, client=client, progress=False, common_words=common)
    describer.fit(H, OFFLINE)
    for body in script.bodies:
        data = body["messages"][1]["content"]
        assert "words common to the whole collection (they name no cluster): package, software" in (
            data
        )
    assert "Leave out the words" in script.bodies[0]["messages"][0]["content"]
    # the same words make the same prompts: the cache answers all of them
    again = LLMDescriber(p, cache=cache, progress=False, common_words=common)
    assert again.plan(H, OFFLINE).calls == 0


def test_common_words_come_most_frequent_first() -> None:
    from thememap.describe.keyphrases import PhraseCounts

    counts = PhraseCounts.fit(
        ["a debian package tool", "debian package viewer", "package game", "zeta"], min_df=1
    )
    assert counts.by_frequency({"zeta", "tool", "debian", "package"}) == [
        "package", "debian", "tool", "zeta",
    ]  # fmt: skip


def test_a_parents_proposals_rank_a_name_that_fits_every_child_above_one_childs() -> None:
    parent = H.level(1)[0]  # chess + arcade leaves
    proposals = {parent.id: ["Chess engine board", "Games with board and arcade levels"]}
    ranked = rank_proposals(H, 1, proposals, embedder=BowEmbedder(), contrast=2.0)
    assert ranked[parent.id][0] == "Games with board and arcade levels"
