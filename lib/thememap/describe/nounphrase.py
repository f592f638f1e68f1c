"""Is a phrase shaped like a name? A small rule set for English noun phrases.

A cluster name should read as a noun phrase ("Mail clients", "Game of life",
"Text to speech"), never as a cut-off clause ("Applications implementing message",
"Computers of different", "Able to spellcheck", "Gedit plugins contain set").
No tagger model is needed for that; :func:`fragment_reason` checks the shape with:

* **function words** (articles, pronouns, prepositions, auxiliaries, adverbs) at
  either edge; inside a phrase only the connectors of :data:`CONNECTORS`;
* **dangling modifiers** at the end: common adjectives and quantifiers, adjective
  suffixes (-ous, -ful, -less, -ical, -ive/-able outside a few nouns), adverbs (-ly),
  past participles (-ed, "written");
* **verb forms** anywhere: finite verbs of descriptions ("contains", "allows"),
  an -ing form after a plural noun ("applications implementing"), a participle
  or adjective before a connector ("based on", "able to"), a verb after "to".

The word lists are general English, nothing about any corpus; corpus-generic words
("package" in package descriptions) are found from document frequency elsewhere
(:func:`thememap.describe.keyphrases.generic_words`).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Stop words allowed inside a phrase ("game of life", "tools for astronomy", "text to speech").
CONNECTORS = frozenset({"of", "for", "and", "in", "on", "to", "with", "de", "la", "du"})

# Content words scikit-learn's list counts as stop words; a name may need them
# ("File system", "Interest rates", "Domain name").
CONTENT_WORDS = frozenset(
    {"system", "fire", "bill", "interest", "mill", "name", "part", "side", "amount", "detail",
     "call", "front", "bottom", "top"}
)  # fmt: skip

FUNCTION_WORDS = (frozenset(ENGLISH_STOP_WORDS) - CONTENT_WORDS) | frozenset(
    {"able", "unable", "lets", "let", "allow", "via", "etc", "e.g", "i.e", "also", "just",
     "like", "s", "t", "can't", "don't", "it's", "isn't", "doesn't", "won't", "ll", "ve",
     "yes", "ok", "okay", "oh", "hi", "hello", "thanks", "thank",
     # the commonest function words of other languages met in English corpora
     "para", "por", "con", "los", "las", "el", "del", "une", "des", "les", "le", "et", "pour",
     "avec", "und", "der", "die", "das", "für", "mit", "von", "zu", "для", "и", "в", "на",
     "\u0441", "по", "di", "il", "per", "da", "em", "um", "uma"}
)  # fmt: skip

# Adjectives, quantifiers and participles that leave a phrase dangling when they end it.
ADJECTIVES = frozenset(
    {"different", "various", "several", "multiple", "many", "other", "new", "simple", "small",
     "large", "big", "free", "open", "easy", "fast", "quick", "slow", "full", "high", "low",
     "real", "same", "main", "common", "specific", "generic", "general", "available", "useful",
     "related", "compatible", "similar", "own", "single", "few", "additional", "extra",
     "advanced", "basic", "complete", "powerful", "lightweight", "flexible", "portable",
     "graphical", "interactive", "automatic", "dynamic", "scientific", "electronic",
     "classic", "public", "private", "academic", "good", "best", "better", "great", "nice",
     "old", "modern", "popular", "standard", "default", "optional", "virtual", "digital",
     "local", "global", "external", "internal", "personal", "professional", "original",
     "official", "special", "certain", "possible", "necessary", "important", "efficient",
     "independent", "current", "recent", "latest", "easy-to-use", "user-friendly", "minimal",
     "tiny", "huge", "whole", "entire", "complex", "major", "minor",
     "short", "long", "wide", "native", "written", "done", "made", "built", "known",
     "given", "taken", "shown", "seen", "able", "ready", "non", "cross",
     "easily", "highly", "fully", "mainly", "mostly"}
)  # fmt: skip

# Verb forms that make a phrase a clause wherever they stand.
VERBS = frozenset(
    {"contains", "contain", "containing", "provides", "provide", "providing", "allows",
     "allowing", "includes", "include", "including", "implements", "implement", "offers",
     "offer", "helps", "makes", "make", "lets", "uses", "using", "supports", "supporting",
     "enables", "enable", "enabling", "gives", "give", "get", "gets", "needs", "need",
     "requires", "require", "requiring", "creates", "create", "generates", "generate",
     "converts", "convert", "displays", "manages", "manage", "handles", "handle", "writes",
     "reads", "runs", "works", "work", "comes", "come", "becomes", "become", "want",
     "wants", "aims", "aim", "tries", "try", "has", "have", "is", "are", "was", "were", "be",
     "been", "being", "do", "does", "did", "can", "could", "will", "would", "should",
     "may", "might", "must", "shall", "consists", "consist", "features", "intended",
     "designed", "based", "used", "written", "developed", "implemented", "provided",
     "included", "built", "packaged", "distributed", "released", "licensed", "compiled",
     "develop", "manipulate", "calculate", "analyze", "analyse", "simulate", "visualize",
     "visualise", "install", "configure", "compute", "retrieve", "extract", "perform",
     "enhance", "improve", "connect", "send", "receive", "listen", "learn", "explore",
     "discover", "remove", "delete", "add", "adds", "edit", "edits", "write", "read",
     "produce", "produces", "describe", "describes", "turn", "turns", "keep", "keeps",
     "play", "plays"}
)  # fmt: skip

# Nouns with an adjective-looking suffix (they may end a name).
_SUFFIX_NOUNS = frozenset(
    {"archive", "archives", "drive", "drives", "executive", "executable", "executables",
     "variable", "variables", "table", "tables", "cable", "cables", "native", "directive",
     "directives", "primitive", "primitives", "alternative", "alternatives", "objective",
     "derivative", "derivatives", "initiative", "representative", "locomotive", "detective",
     "relative", "hive", "live", "five", "olive", "motive", "adhesive", "explosive",
     "syllable", "timetable", "deliverable", "deliverables", "vegetable", "vegetables",
     "constable", "bus", "focus", "status", "virus", "campus", "corpus", "bonus", "census",
     "nexus", "octopus", "apparatus", "chorus", "thesaurus", "stylus", "radius", "cactus",
     "pedal", "logical", "musical", "physical", "chemical", "periodical", "critical",
     "bless", "wireless", "stateless", "serverless", "headless", "mixed", "seed", "speed",
     "feed", "need", "bed", "red", "shed", "embed", "breed"}
)  # fmt: skip

_ADJ_SUFFIX = re.compile(r"(?:ous|ful|less|ical|ive|ible|able|ish)$")
_ADVERB = re.compile(r"..+ly$")
_PARTICIPLE = re.compile(r"...+[^e]ed$")
_NOUNS_IN_LY = frozenset({"family", "assembly", "supply", "reply", "anomaly", "butterfly",
                          "jelly", "belly", "bully", "ally", "rally", "italy", "july", "fly",
                          "poly", "monopoly", "apply", "only", "qualy", "ugly", "firefly"})  # fmt: skip


def _adverb(word: str) -> bool:
    return bool(_ADVERB.search(word)) and word not in _NOUNS_IN_LY


def _participle(word: str) -> bool:
    return (bool(_PARTICIPLE.search(word)) or word in VERBS) and word not in _SUFFIX_NOUNS


def dangling(word: str) -> bool:
    """True when ``word`` cannot end a noun phrase (adjective, adverb, participle)."""
    if word in _SUFFIX_NOUNS:
        return False
    return (
        word in ADJECTIVES
        or bool(_ADJ_SUFFIX.search(word))
        or _adverb(word)
        or _participle(word)
        or word.endswith("-based")
    )


def fragment_reason(phrase: str, *, generic: Collection[str] = ()) -> str | None:
    """Why ``phrase`` is not a name-shaped noun phrase, or ``None`` if it is one.

    ``generic`` words (corpus boilerplate) may not start or end a phrase, and a phrase
    made only of them says nothing.
    """
    words = [w for w in re.split(r"[\s,]+", phrase.lower().strip(" .;:!?")) if w]
    if not words:
        return "empty"
    first, last = words[0], words[-1]
    if first in FUNCTION_WORDS or last in FUNCTION_WORDS:
        return "starts or ends in a function word"
    if first in generic or last in generic:
        return "starts or ends in a corpus-generic word"
    if dangling(last):
        return "ends in a dangling modifier"
    if _adverb(first) or (first in ADJECTIVES and len(words) > 1 and words[1] in CONNECTORS):
        return "starts with a modifier that needs a complement"
    for i, word in enumerate(words):
        if word in VERBS and not (i == 0 and len(words) > 1 and word.endswith("ed")):
            return f"holds a verb ({word!r})"
        previous = words[i - 1] if i > 0 else ""
        plural_before = previous.endswith("s") and not previous.endswith("ss")
        if word.endswith("ing") and len(word) > 5 and plural_before:
            return f"holds a verb after a plural ({previous} {word})"
        if word in FUNCTION_WORDS and word not in CONNECTORS:
            return f"holds a function word ({word!r})"
        if word in CONNECTORS and 0 < i < len(words) - 1:
            before, after = words[i - 1], words[i + 1]
            if before in CONNECTORS or after in CONNECTORS:
                return "two connectors in a row"
            if dangling(before):
                return f"a modifier before {word!r} ({before} {word})"
            if word == "to" and (after in VERBS or after.endswith(("ize", "ise", "ify"))):
                return "an infinitive (to + verb)"
    return None


def is_name_shaped(phrase: str, *, generic: Collection[str] = ()) -> bool:
    """True when ``phrase`` reads as a noun phrase (see :func:`fragment_reason`)."""
    return fragment_reason(phrase, generic=generic) is None
