"""Offline names read as names: the noun-phrase rules, generic words, parents and children."""

from __future__ import annotations

import numpy as np
import pytest
from describe_fixture import BowEmbedder, hierarchy

from thememap.describe.hierarchy import ClusterTree
from thememap.describe.keyphrases import PhraseCounts, generic_words, name_mask
from thememap.describe.naming import CaseMap, stem_key
from thememap.describe.nounphrase import fragment_reason, is_name_shaped
from thememap.describe.offline import OfflineDescriber
from thememap.describe.params import DescribeParams

# the level-1 names of the issue, and other cut-off clauses
FRAGMENTS = [
    "Applications implementing message",
    "Computers of different",
    "Able to spellcheck",
    "Aggregated in different",
    "Gedit-plugins contain set",
    "Tool to convert",
    "Web based",
    "Written in",
    "Of the game",
    "Game of the",
    "Easily",
    "Software for various",
]
NAMES = [
    "Game of life",
    "Text to speech",
    "Mail clients",
    "Image processing library",
    "Embedded systems",
    "Tools for astronomy",
    "Real-time strategy game",
    "File system",
    "Executable archives",
    "SQL database",
]


@pytest.mark.parametrize("phrase", FRAGMENTS)
def test_fragments_are_rejected(phrase: str) -> None:
    assert fragment_reason(phrase) is not None


@pytest.mark.parametrize("phrase", NAMES)
def test_noun_phrases_pass(phrase: str) -> None:
    assert fragment_reason(phrase) is None, fragment_reason(phrase)


def test_generic_words_stop_edges() -> None:
    assert not is_name_shaped("package manager", generic={"manager"})
    assert not is_name_shaped("data files", generic={"data", "files"})
    assert is_name_shaped("game data viewer", generic={"data"})


def _games_and_mail(big: int = 40, small: int = 12, seed: int = 0) -> ClusterTree:
    """Games (a big chess child, small arcade and puzzle children) and mail (two children).

    Every item says "package"; every game item says "game", every mail item "mail".
    """
    rng = np.random.default_rng(seed)
    leaves = {
        ("games", "chess"): (big, ["chess", "engine", "board", "opening", "grandmaster"]),
        ("games", "arcade"): (small, ["arcade", "shooter", "spaceship", "levels", "retro"]),
        ("games", "puzzle"): (small, ["puzzle", "tiles", "sliding", "riddle", "blocks"]),
        ("mail", "client"): (20, ["inbox", "imap", "reader", "folders", "webmail"]),
        ("mail", "server"): (20, ["smtp", "relay", "queue", "spam", "filter"]),
    }
    texts, l1, l2 = [], [], []
    for leaf, ((topic, _), (n, words)) in enumerate(leaves.items()):
        for _ in range(n):
            chosen = " ".join(rng.choice(words, size=3, replace=False))
            texts.append(f"This package is a {topic.rstrip('s')} program with {chosen}.")
            l1.append(0 if topic == "games" else 1)
            l2.append(leaf)
    vectors = BowEmbedder().embed(texts)
    return ClusterTree.from_labels(
        np.arange(len(texts)), vectors, texts, [np.array(l1), np.array(l2)]
    )


def test_generic_words_found_from_document_frequency() -> None:
    h = _games_and_mail()
    counts = PhraseCounts.fit(h.texts, ngram_max=1, stop_words=[])
    generic = generic_words(counts, h.level(1), min_share=0.05, max_kl=0.25)
    assert "package" in generic and "program" in generic
    assert "game" not in generic and "mail" not in generic  # common, but concentrated
    mask = name_mask(counts, generic)
    kept = {str(p) for p, m in zip(counts.vocabulary, mask, strict=True) if m}
    assert "package" not in kept and "chess" in kept


def test_parent_named_from_what_children_share_not_its_largest_child() -> None:
    h = _games_and_mail()
    d = OfflineDescriber(DescribeParams(), embedder=BowEmbedder()).fit(h)
    games = max(h.level(1), key=lambda n: n.size)
    chess = max(h.children(games), key=lambda n: n.size)
    name = d.cards_[games.id].pattern_name.lower()
    assert "game" in name and "chess" not in name, name
    chess_words = {"chess", "engine", "board", "opening", "grandmaster"}
    assert chess_words & set(d.cards_[chess.id].pattern_name.lower().split())
    assert "package" not in " ".join(c.pattern_name.lower() for c in d.cards_.values())


def test_child_never_takes_its_parents_name() -> None:
    # level 2 holds an only child with the same items as its parent
    base = hierarchy()
    texts, vectors = base.texts, base.vectors
    l1 = np.zeros(len(texts), dtype=int)
    l1[len(texts) // 3 :] = 1
    l2 = l1.copy()
    l3 = np.arange(len(texts)) // 12
    l1[2 * len(texts) // 3 :] = 2
    l2 = l1.copy()  # every level-2 cluster is its parent's only child
    h = ClusterTree.from_labels(base.item_ids, vectors, texts, [l1, l2, l3])
    cards = OfflineDescriber(DescribeParams(), embedder=BowEmbedder()).fit(h).cards_
    for node in h.nodes:
        if node.parent_id is None:
            continue
        mine, parents = cards[node.id].pattern_name, cards[node.parent_id].pattern_name
        assert mine.lower() != parents.lower(), (mine, parents)
        assert stem_key(mine) != stem_key(parents)
        assert not stem_key(mine) <= stem_key(parents), (mine, parents)


def test_sibling_names_distinct_and_name_shaped() -> None:
    h = hierarchy()
    cards = OfflineDescriber(DescribeParams(), embedder=BowEmbedder()).fit(h).cards_
    for level in h.levels:
        for group in h.sibling_groups(level):
            keys = [stem_key(cards[n.id].pattern_name) for n in group]
            assert len(set(keys)) == len(keys)
    for card in cards.values():
        assert fragment_reason(card.pattern_name) is None, card.pattern_name


def test_names_keep_acronyms_as_the_corpus_writes_them() -> None:
    case = CaseMap(["An SQL database.", "SQL queries", "the sql shell", "LaTeX and TeX"], {
        "sql", "database", "latex", "of"
    })  # fmt: skip
    assert case.title("sql database") == "SQL Database"
    assert case.title("latex of database") == "LaTeX of Database"
    assert case.plain("sql database") == "SQL database"


def test_titles_feed_names_and_quotes() -> None:
    h = _games_and_mail()
    titles = [("chess engine" if "chess" in t else "retro game") for t in h.texts]
    h.titles = titles
    d = OfflineDescriber(DescribeParams(), embedder=BowEmbedder()).fit(h)
    games = max(h.level(1), key=lambda n: n.size)
    summary = d.cards_[games.id].summary.lower()
    assert '"chess engine"' in summary and '"retro game"' in summary, summary


def test_category_other_when_nothing_fits() -> None:
    h = hierarchy()
    unrelated = {
        "cooking": "recipes for soup, bread, cakes and roasted vegetables",
        "weather": "rain, wind, sunshine and tomorrow's temperature forecast",
    }
    cards = OfflineDescriber(DescribeParams(categories=unrelated), embedder=BowEmbedder()).fit(h)
    assert {c.category for c in cards.cards_.values()} == {"other"}
    fitting = {
        "games": "chess engine board opening arcade shooter spaceship retro score levels",
        "science": "telescope astronomy stars sky orbit molecule chemistry reaction atoms bonds",
        "mail": "mail client inbox imap reader smtp server relay spam filter queue",
        "cooking": "recipes for soup, bread, cakes and roasted vegetables",
    }
    picked = OfflineDescriber(DescribeParams(categories=fitting), embedder=BowEmbedder()).fit(h)
    assert {picked.cards_[n.id].category for n in h.level(1)} == {"games", "science", "mail"}


def test_summary_is_written_from_evidence_not_glued_titles() -> None:
    h = hierarchy()
    h.titles = [t.split(".")[0] for t in h.texts]
    d = OfflineDescriber(DescribeParams(), embedder=BowEmbedder()).fit(h)
    for node in h.nodes:
        card = d.cards_[node.id]
        reps = [h.texts[int(np.flatnonzero(h.item_ids == i)[0])] for i in card.representative_ids]
        glued = " ".join(t.split(".")[0] + "." for t in reps[:2])
        assert card.summary != glued
        assert card.summary.startswith(f"{node.size} items")
        assert "%" in card.summary and "E.g." in card.summary and len(card.summary) <= 300
        if len(h.children(node)) > 1:
            assert "sub-themes" in card.summary
            assert all(d.cards_[c.id].pattern_name in card.summary for c in h.children(node))


def test_a_single_cluster_is_still_named() -> None:
    texts = ["alpha beta gamma", "alpha beta delta", "alpha gamma epsilon"]
    h = ClusterTree.from_labels(np.arange(3), BowEmbedder().embed(texts), texts, [np.zeros(3, int)])
    card = OfflineDescriber(DescribeParams(), embedder=BowEmbedder()).fit(h).cards_[1]
    assert card.pattern_name != "Unnamed cluster" and card.summary.startswith("3 items")


def _two_level_tree(rows: list[tuple[int, int, int, str]]) -> ClusterTree:
    """A two-level tree from (level-1 theme, level-2 theme, items, text) rows; each item's
    text is the row's text and its number."""
    texts, l1, l2 = [], [], []
    for top, leaf, n, text in rows:
        texts += [f"{text} number {i}" for i in range(n)]
        l1 += [top] * n
        l2 += [leaf] * n
    vectors = BowEmbedder().embed(texts)
    return ClusterTree.from_labels(
        np.arange(len(texts)), vectors, texts, [np.array(l1), np.array(l2)]
    )


def _mixed_corpus() -> ClusterTree:
    """Level 1: a mixed theme (chess 20 + mail relays 10), fonts (40), audio (60); every
    chess, relay and font item says "software", no audio item does."""
    return _two_level_tree(
        [
            (0, 0, 20, "chess board software"),
            (0, 1, 10, "smtp relay software"),
            (1, 2, 20, "serif glyph software"),
            (1, 3, 20, "monospace glyph software"),
            (2, 4, 30, "audio player"),
            (2, 5, 30, "audio mixer"),
        ]
    )


@pytest.mark.parametrize("threshold", [0.5, 0.0])
def test_a_parent_whose_name_is_said_mostly_elsewhere_is_named_by_its_parts(
    threshold: float,
) -> None:
    from thememap.describe.naming import Namer, NamingSettings, _level_coverage

    h = _mixed_corpus()
    counts = PhraseCounts.fit(h.texts, ngram_max=2, stop_words=[])
    mixed, fonts, audio = sorted(h.level(1), key=lambda n: n.members[0])
    chess, relay = sorted(h.children(mixed), key=lambda n: -n.size)
    namer = Namer(embedder=None, settings=NamingSettings(parts_below_precision=threshold))
    namer.names_ = {n.id: f"name {n.id}" for n in h.nodes} | {chess.id: "Chess", relay.id: "SMTP"}
    chosen = {n.id: "software" for n in h.nodes} | {audio.id: "audio"}
    coverage, _ = _level_coverage(h, counts)
    renamed = namer._name_by_parts(h, counts, coverage, chosen)
    if threshold:
        # "software": 30 of its 70 holders are in the mixed theme (precision 0.43); in fonts
        # 40 of 70 (0.57) and audio's "audio" is said only there: both keep their names
        assert renamed == {mixed.id}
        assert namer.names_[mixed.id] == "Chess & SMTP"
    else:
        assert renamed == set() and namer.names_[mixed.id] == f"name {mixed.id}"
    assert namer.names_[fonts.id] == f"name {fonts.id}"


def _corner_corpus() -> ClusterTree:
    """Level 1: a mixed theme (images 30, octave 25: only 5 octave items say "functions")
    and a theme that is mostly one child (players 50, mixers 5: 5 players say "sound")."""
    return _two_level_tree(
        [
            (0, 0, 30, "image viewer"),
            (0, 1, 20, "octave toolbox"),
            (0, 1, 5, "octave functions"),
            (1, 2, 45, "music player"),
            (1, 2, 5, "music player sound"),
            (1, 3, 5, "audio mixer"),
        ]
    )


@pytest.mark.parametrize("threshold", [0.25, 0.0])
def test_a_mixed_parent_whose_name_covers_a_corner_is_named_by_its_parts(
    threshold: float,
) -> None:
    from thememap.describe.naming import Namer, NamingSettings, _level_coverage

    h = _corner_corpus()
    counts = PhraseCounts.fit(h.texts, ngram_max=2, stop_words=[])
    mixed, music = sorted(h.level(1), key=lambda n: n.members[0])
    images, octave = sorted(h.children(mixed), key=lambda n: -n.size)
    settings = NamingSettings(parts_below_precision=0.5, parts_below_coverage=threshold)
    namer = Namer(embedder=None, settings=settings)
    namer.names_ = {n.id: f"name {n.id}" for n in h.nodes}
    namer.names_ |= {images.id: "Images", octave.id: "Octave"}
    # both names are said only inside their theme (precision 1), by 5 of 55 items (9%)
    chosen = {mixed.id: "functions", music.id: "sound"}
    coverage, _ = _level_coverage(h, counts)
    renamed = namer._name_by_parts(h, counts, coverage, chosen)
    if threshold:
        assert renamed == {mixed.id} and namer.names_[mixed.id] == "Images & Octave"
    else:
        assert renamed == set()
    # the music theme is mostly its players (50 of 55): not mixed, its name stays
    assert namer.names_[music.id] == f"name {music.id}"
