"""Tables of the 03_describe notebook (every item text HTML-escaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from thememap.describe.budget import CostPlan
from thememap.describe.quality import LabelReport
from thememap.describe.step import LoadedHierarchy
from thememap.export.safe import esc

if TYPE_CHECKING:
    from thememap.describe.llm_runner import LLMDescriber


class Html(str):
    """A string Jupyter renders as HTML (the last expression of a cell)."""

    def _repr_html_(self) -> str:
        return str(self)


_STYLE = (
    "<style>.tm-cards{border-collapse:collapse;font-size:13px}"
    ".tm-cards td,.tm-cards th{border-bottom:1px solid #ddd;padding:4px 8px;"
    "text-align:left;vertical-align:top}.tm-cards th{background:#f4f4f4}"
    ".tm-kw{color:#666;font-size:12px}.tm-fail{color:#b00}</style>"
)


def _strength(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(int(value))


def _source_note(row: Mapping[Any, Any]) -> str:
    """Where a card in an LLM run came from when it is not the LLM's."""
    failure = row.get("llm_failure")
    if not isinstance(failure, str):
        return ""
    return f'<br><span class="tm-fail">offline card; LLM: {esc(failure[:160])}</span>'


def cards_table(cards: pd.DataFrame, *, level: int, max_rows: int = 40) -> Html:
    """One level's cards, biggest first: name, size, category, strength, summary, key phrases."""
    rows = cards[cards["level"] == level].sort_values("comment_count", ascending=False)
    body = []
    for r in rows.head(max_rows).to_dict("records"):
        name = (
            f'<span class="tm-fail">failed: {esc(r["failure"])}</span>'
            if isinstance(r["failure"], str)
            else f"<b>{esc(r['pattern_name'])}</b>"
        )
        body.append(
            f"<tr><td>{esc(r['name'])}</td><td>{name}</td><td>{int(r['comment_count'])}</td>"
            f"<td>{esc(r['category'])}</td><td>{_strength(r['strength'])}</td>"
            f"<td>{esc(r['summary'])}{_source_note(r)}</td>"
            f'<td class="tm-kw">{esc(", ".join(list(r["keywords"])[:6]))}</td></tr>'
        )
    more = len(rows) - max_rows
    caption = f"<caption>Level {level}: {len(rows)} clusters" + (
        f" (largest {max_rows} shown)</caption>" if more > 0 else "</caption>"
    )
    head = (
        "<tr><th>cluster</th><th>pattern name</th><th>items</th><th>category</th>"
        "<th>strength</th><th>summary</th><th>key phrases</th></tr>"
    )
    return Html(f'{_STYLE}<table class="tm-cards">{caption}{head}{"".join(body)}</table>')


def quality_table(reports: dict[str, LabelReport]) -> pd.DataFrame:
    """Label quality per card source and level, the figures a reader compares."""
    frames = [r.frame().assign(source=source) for source, r in reports.items()]
    table = pd.concat(frames, ignore_index=True)
    columns = [
        "source", "level", "clusters", "cards", "retrieval_top1", "retrieval_top1_name_only",
        "chance", "sibling_name_cosine", "sibling_name_cosine_max", "near_duplicate_pairs",
        "sibling_pairs",
    ]  # fmt: skip
    return table[columns].round(3).set_index(["source", "level"])


def plan_table(plan: CostPlan) -> pd.DataFrame:
    """The cost plan as a two-column table."""
    d = plan.to_dict()
    rows = [
        ("model", d["model"]),
        ("clusters", d["clusters"]),
        ("calls already in the cache (free)", d["cached"]),
        ("calls to make", d["calls"]),
        ("estimated input tokens", f"{d['input_tokens']:,}"),
        ("estimated output tokens", f"{d['output_tokens']:,}"),
        ("estimated cost (USD)", f"{d['cost_usd']:.4f}"),
        ("levels the LLM writes", ", ".join(map(str, d["levels"])) or "none"),
        ("cards copied from an only child or a kept theme (free)", d["copied"]),
        (
            "estimated time",
            f"{d['seconds']:.0f} s ({d['seconds'] / 60:.1f} min) at {d['seconds_per_call']:g} s "
            f"a call, {d['seconds_basis']}",
        ),
        ("max_calls / max_cost", f"{d['max_calls']} / {d['max_cost']}"),
        ("within the limits", d["within_limits"]),
    ]
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


def spent_table(describer: LLMDescriber | None) -> pd.DataFrame:
    """What the LLM run really cost (all zero when no LLM was used)."""
    if describer is None:
        rows: list[tuple[str, Any]] = [("LLM used", "no (offline cards)"), ("cost (USD)", 0.0)]
    else:
        cards = list(describer.cards_.values())
        u = describer.usage_
        rows = [
            ("model", describer.params.model),
            ("cards written", sum(c.ok and not c.cached for c in cards)),
            ("cards from the cache", sum(c.cached for c in cards)),
            ("cards failed (stored with reason)", sum(not c.ok for c in cards)),
            ("requests sent", u.requests),
            ("rate-limited (429) / retried", f"{u.rate_limited} / {u.retried}"),
            ("input / output tokens", f"{u.input_tokens:,} / {u.output_tokens:,}"),
            ("cost (USD)", f"{describer.cost_:.4f}"),
            ("seconds per request (measured)", f"{u.seconds / max(1, u.requests):.1f}"),
            ("stopped early", describer.stopped_ or "no"),
            ("circuit breaker", describer.breaker_ or "not tripped"),
        ]
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


def category_mix(cards: pd.DataFrame) -> pd.DataFrame:
    """Share of items per category and level (items, not clusters, so size counts)."""
    ok = cards[cards["failure"].isna()]
    table = ok.pivot_table(
        index="category", columns="level", values="comment_count", aggfunc="sum", fill_value=0
    )
    return (table / table.sum(axis=0)).round(3)


def pick_examples(cards: pd.DataFrame, *, level: int, n: int = 3) -> list[int]:
    """Cluster ids to show: the largest, the strongest and the weakest of a level (distinct)."""
    rows = cards[(cards["level"] == level) & cards["failure"].isna()]
    picks: list[int] = []
    for order in (
        rows.sort_values("comment_count", ascending=False),
        rows.sort_values(["strength", "comment_count"], ascending=[False, False]),
        rows.sort_values(["strength", "comment_count"], ascending=[True, False]),
    ):
        for cid in order["cluster_id"]:
            if int(cid) not in picks:
                picks.append(int(cid))
                break
    return picks[:n]


def cluster_examples(
    loaded: LoadedHierarchy, cards: pd.DataFrame, cluster_ids: Sequence[int], *, items: int = 5
) -> Html:
    """Each cluster's card with its representative items (escaped, cut to 300 characters)."""
    h = loaded.hierarchy
    row_of = {int(i): r for r, i in enumerate(h.item_ids)}
    blocks = []
    for cid in cluster_ids:
        card = cards[cards["cluster_id"] == cid].iloc[0]
        reps = [row_of[i] for i in card["representative_ids"][:items] if i in row_of]
        shown = "".join(
            f"<li>{esc(h.texts[r][:300])}{'…' if len(h.texts[r]) > 300 else ''}</li>" for r in reps
        )
        blocks.append(
            f"<h4>{esc(card['name'])}: {esc(card['pattern_name'])}</h4>"
            f"<p>{int(card['comment_count'])} items · {esc(card['category'])} · strength "
            f"{esc(card['strength'])}</p><p>{esc(card['summary'])}</p>"
            f'<p class="tm-kw">key phrases: {esc(", ".join(card["keywords"]))}</p><ol>{shown}</ol>'
        )
    return Html(_STYLE + "".join(blocks))
