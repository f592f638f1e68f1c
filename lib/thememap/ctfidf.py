"""Class-based TF-IDF: the terms that set each cluster apart from the others.

One scoring for both steps: 02_cluster's keywords (word counts per cluster) and
03_describe's key phrases (items holding a phrase, per sibling cluster).
"""

from __future__ import annotations

import numpy as np


def ctfidf(
    class_counts: np.ndarray, sizes: np.ndarray, corpus_idf: np.ndarray | None = None
) -> np.ndarray:
    """Scores ``(classes, terms)``: BERTopic's c-TF-IDF.

    ``class_counts[c, t]`` is how much of term t class c holds (term occurrences, or
    items containing it) and ``sizes[c]`` the class's total of the same unit; tf is
    that share of the class, idf = log(1 + mean class size / the term's total over the
    classes). ``corpus_idf`` (one weight per term), when given, multiplies the idf: so
    that boilerplate common to a whole corpus loses to specific terms even where it is
    locally frequent.
    """
    tf = class_counts / np.maximum(sizes[:, None], 1.0)
    across = class_counts.sum(axis=0)
    idf = np.log1p(sizes.mean() / np.maximum(across, 1.0))
    if corpus_idf is not None:
        idf = idf * corpus_idf
    scores: np.ndarray = tf * idf[None, :]
    return scores
