"""LLM cards against recorded replies: success, 429, 500, timeout, bad JSON, schema, budget, cache."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from describe_fixture import BowEmbedder, hierarchy
from describe_llm_fake import Script, raw, valid

from thememap.describe.cards import Card
from thememap.describe.llm_cache import MemoryCache
from thememap.describe.llm_client import LLMClient
from thememap.describe.llm_runner import LLMDescriber
from thememap.describe.offline import OfflineDescriber
from thememap.describe.params import DescribeParams
from thememap.errors import ParamsError

H = hierarchy()
OFFLINE = OfflineDescriber(embedder=BowEmbedder()).fit(H).cards_
N_CLUSTERS = len(H.nodes)  # 6 leaves + 3 parents
LEAVES = {n.id for n in H.level(2)}
RATE_LIMITED = {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}


def params(**overrides: Any) -> DescribeParams:
    settings: dict[str, Any] = {
        "source": "llm",
        "provider": "openai_compatible",
        "base_url": "http://llm.test/v1",
        "model": "test-model",
        "api_key_env": "THEMEMAP_TEST_NO_KEY",
        "backoff_s": 0.5,
        "concurrency": 1,
    }
    settings.update(overrides)
    return DescribeParams(**settings)


class Sleeps(list[float]):
    """A fake sleep that advances a fake clock (so a Retry-After pause really ends)."""

    now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def run(
    script: Script, p: DescribeParams | None = None, cache: MemoryCache | None = None
) -> tuple[LLMDescriber, Sleeps]:
    p = p or params()
    sleeps = Sleeps()
    client = LLMClient(p, sleep=sleeps, clock=sleeps.clock, http_client=script.transport())
    describer = LLMDescriber(
        p, cache=cache if cache is not None else MemoryCache(), client=client, progress=False
    )
    return describer.fit(H, OFFLINE), sleeps


def first_leaf_card(describer: LLMDescriber) -> Card:
    first = min(LEAVES)  # concurrency 1: leaves are asked in id order, first
    return describer.cards_[first]


def test_success_writes_every_card_bottom_up_with_usage() -> None:
    script = Script()
    describer, sleeps = run(script)
    assert script.requests == N_CLUSTERS and not sleeps
    assert all(card.ok and card.source == "test-model" for card in describer.cards_.values())
    assert set(describer.cards_) == {n.id for n in H.nodes}
    # leaves first, then parents; a parent's prompt carries its children's LLM names
    first_parent_prompt = script.bodies[len(LEAVES)]["messages"][1]["content"]
    child_names = [describer.cards_[c.id].pattern_name for c in H.children(H.level(1)[0])]
    assert all(name in first_parent_prompt for name in child_names)
    # siblings contrasted: a leaf prompt names its sibling's key phrases
    leaf_prompt = script.bodies[0]["messages"][1]["content"]
    sibling = next(n for n in H.siblings(H.level(2)[0]) if n.id != H.level(2)[0].id)
    assert OFFLINE[sibling.id].keywords[0] in leaf_prompt
    assert describer.usage_.input_tokens == 1000 * N_CLUSTERS
    assert describer.stopped_ is None


def test_429_waits_for_retry_after_then_succeeds() -> None:
    limited = httpx2.Response(429, json=RATE_LIMITED, headers={"retry-after": "3"})
    script = Script(limited)
    describer, sleeps = run(script)
    assert script.requests == N_CLUSTERS + 1
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 3.0 + 0.1 * 0.5  # + a little jitter
    assert describer.usage_.rate_limited == 1
    assert all(card.ok for card in describer.cards_.values())


def test_500_is_retried_with_exponential_backoff() -> None:
    error = httpx2.Response(500, json={"error": {"message": "boom", "type": "server_error"}})
    script = Script(error, error)
    describer, sleeps = run(script)
    assert first_leaf_card(describer).ok
    # attempt n waits between half and all of backoff_s (0.5 s) * 2**n
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    assert describer.usage_.retried == 2


def test_timeouts_past_max_retries_are_recorded_as_that_clusters_failure() -> None:
    timeout = lambda body, n: httpx2.ReadTimeout("read timed out")  # noqa: E731
    script = Script(timeout, timeout, timeout)
    describer, _ = run(script, params(max_retries=2))
    card = first_leaf_card(describer)
    assert not card.ok and "APITimeoutError" in (card.failure or "")
    assert card.requests == 3
    others = [c for cid, c in describer.cards_.items() if cid != card.cluster_id]
    assert len(others) == N_CLUSTERS - 1 and all(c.ok for c in others)


def test_malformed_json_is_reasked_with_the_error() -> None:
    script = Script(raw('{"summary": "unterminated'))
    describer, _ = run(script)
    card = first_leaf_card(describer)
    assert card.ok and card.requests == 2
    assert len(script.bodies[1]["messages"]) > len(script.bodies[0]["messages"])


def test_schema_violation_is_reasked_then_recorded_as_failure() -> None:
    missing = raw(json.dumps({"pattern_name": "no summary here", "category": "bug", "strength": 5}))
    script = Script(missing, missing, missing)
    describer, _ = run(script, params(max_reasks=2))
    card = first_leaf_card(describer)
    assert not card.ok and "invalid output after 3 attempt(s)" in (card.failure or "")
    assert "summary" in (card.failure or "")
    assert script.requests == N_CLUSTERS + 2


def test_strength_11_is_reasked_then_recorded_as_failure() -> None:
    script = Script(valid(strength=11), valid(strength=11), valid(strength=11))
    describer, _ = run(script, params(max_reasks=2))
    card = first_leaf_card(describer)
    assert not card.ok and "strength" in (card.failure or "")
    assert card.requests == 3 and card.input_tokens == 3000
    # the parent of a failed leaf is still described (from the leaf's offline card)
    parent = H.node(H.node(card.cluster_id).parent_id or 0)
    assert describer.cards_[parent.id].ok


def test_unknown_category_is_reasked() -> None:
    script = Script(valid(category="rant"))
    describer, _ = run(script)
    assert first_leaf_card(describer).ok and first_leaf_card(describer).requests == 2


def test_max_calls_stops_cleanly_and_keeps_done_cards() -> None:
    script = Script()
    describer, _ = run(script, params(max_calls=4))
    assert script.requests == 4
    assert describer.stopped_ is not None and "max_calls=4" in describer.stopped_
    assert len(describer.cards_) == 4 and all(c.ok for c in describer.cards_.values())


def test_max_cost_stops_before_passing_it() -> None:
    # 1000 in + 100 out tokens at 1000 USD / 1M each = 1.10 USD a call
    p = params(max_cost=3.0, prices={"test-model": (1000.0, 1000.0)})
    script = Script()
    describer, _ = run(script, p)
    assert describer.stopped_ is not None and "max_cost" in describer.stopped_
    assert 1 <= script.requests <= 3
    assert describer.cost_ <= 3.0 + 1.1


def test_rerun_with_the_cache_pays_nothing_and_plan_says_so() -> None:
    cache = MemoryCache()
    p = params()
    planner = LLMDescriber(p, cache=cache, progress=False)
    assert planner.plan(H, OFFLINE).calls == N_CLUSTERS
    first, _ = run(Script(), p, cache)
    again = Script()
    second, _ = run(again, p, cache)
    assert again.requests == 0
    assert planner.plan(H, OFFLINE).calls == 0
    assert all(card.cached for card in second.cards_.values())
    assert {k: c.pattern_name for k, c in first.cards_.items()} == {
        k: c.pattern_name for k, c in second.cards_.items()
    }


def test_near_duplicate_sibling_names_are_reasked_once() -> None:
    same = valid(pattern_name="Chess engine programs")
    script = Script(same, same)  # the first two leaves are siblings
    describer, _ = run(script)
    a, b = (describer.cards_[n.id] for n in H.sibling_groups(2)[0])
    assert a.pattern_name != b.pattern_name
    assert len(describer.renamed_) == 1
    rename_prompt = script.bodies[len(LEAVES)]["messages"][-1]["content"]
    assert "Chess engine programs" in rename_prompt


def test_plan_counts_calls_tokens_cost_and_time() -> None:
    p = params(prices={"test-model": (0.15, 0.60)}, concurrency=4, seconds_per_call=2.0)
    plan = LLMDescriber(p, progress=False).plan(H, OFFLINE)
    assert plan.calls == N_CLUSTERS and plan.cached == 0
    assert plan.input_tokens > 100 * N_CLUSTERS
    assert plan.cost_usd == pytest.approx(
        (plan.input_tokens * 0.15 + plan.output_tokens * 0.60) / 1e6, rel=1e-3
    )
    assert plan.seconds == pytest.approx(N_CLUSTERS * 2.0 / 4, abs=0.1)


def test_openai_without_key_is_a_params_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THEMEMAP_TEST_NO_KEY", raising=False)
    p = DescribeParams(source="llm", api_key_env="THEMEMAP_TEST_NO_KEY")
    with pytest.raises(ParamsError, match="THEMEMAP_TEST_NO_KEY"):
        LLMClient(p)._client()


def test_key_never_reaches_params_or_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THEMEMAP_TEST_KEY", "sk-secret-123")
    with pytest.raises(ValueError, match="NAME"):
        DescribeParams(api_key_env="sk-secret-123")
    p = params(api_key_env="THEMEMAP_TEST_KEY")
    seen: list[str] = []

    def check(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["authorization"])
        return Script()(request)

    client = LLMClient(p, http_client=httpx2.Client(transport=httpx2.MockTransport(check)))
    describer = LLMDescriber(p, cache=MemoryCache(), client=client, progress=False).fit(H, OFFLINE)
    assert seen[0] == "Bearer sk-secret-123"
    dumped = json.dumps([c.to_dict() for c in describer.cards_.values()]) + p.model_dump_json()
    assert "sk-secret" not in dumped


def test_unreachable_endpoint_stops_after_the_first_cluster() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = params(base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)
    sleeps = Sleeps()
    describer = LLMDescriber(
        p, cache=MemoryCache(), client=LLMClient(p, sleep=sleeps, clock=sleeps.clock),
        progress=False,
    ).fit(H, OFFLINE)  # fmt: skip
    assert describer.stopped_ is not None and "unreachable" in describer.stopped_
    assert describer.usage_.requests == 2 and len(describer.cards_) == 1
    assert "APIConnectionError" in (next(iter(describer.cards_.values())).failure or "")


def content_reply(body: dict[str, Any], content: str) -> httpx2.Response:
    """A chat.completion whose answer is plain message content (JSON modes)."""
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        },
    )


@pytest.mark.parametrize(
    ("mode", "wire_format", "wrap"),
    [
        ("json_schema", "json_schema", "{}"),
        ("json_object", "json_object", "{}"),
        ("md_json", None, "Here it is:\n```json\n{}\n```"),
    ],
)
def test_structured_output_modes(mode: str, wire_format: str | None, wrap: str) -> None:
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        bodies.append(body)
        card = json.dumps(
            {"summary": "Chess engines and board game tools.", "pattern_name": "Chess engines",
             "category": "feedback", "strength": 6}
        )  # fmt: skip
        return content_reply(body, wrap.replace("{}", card))

    p = params(mode=mode, distinct_names=False)
    client = LLMClient(p, http_client=httpx2.Client(transport=httpx2.MockTransport(answer)))
    describer = LLMDescriber(p, cache=MemoryCache(), client=client, progress=False).fit(H, OFFLINE)
    assert all(c.ok and c.pattern_name == "Chess engines" for c in describer.cards_.values())
    assert "tools" not in bodies[0]
    if wire_format is None:
        assert "response_format" not in bodies[0]
    else:
        assert bodies[0]["response_format"]["type"] == wire_format
