"""The 2D map: deterministic for a seed, every item placed, also when fitted on a sample."""

from __future__ import annotations

import numpy as np
import pytest
from cluster_fixture import debian_vectors

from thememap.cluster.layout import layout_2d


def test_pca_layout_is_deterministic_and_finite() -> None:
    x, _ = debian_vectors()
    a = layout_2d(x, method="pca", seed=1)
    b = layout_2d(x, method="pca", seed=1)
    assert a is not None and a.shape == (len(x), 2) and np.isfinite(a).all()
    assert np.array_equal(a, b)
    assert layout_2d(x, method="none") is None
    with pytest.raises(ValueError, match="unknown layout"):
        layout_2d(x, method="tsne")


@pytest.mark.slow
def test_umap_layout_is_deterministic_and_places_unsampled_items() -> None:
    x, sections = debian_vectors()
    x = x[:900]
    groups = np.unique(sections[:900], return_inverse=True)[1]
    a = layout_2d(x, method="umap", seed=3, sample_size=600, groups=groups)
    b = layout_2d(x, method="umap", seed=3, sample_size=600, groups=groups)
    assert a is not None and b is not None
    assert np.array_equal(a, b)
    assert np.isfinite(a).all()
    # an unsampled item lands among items of its own group: nearer its group's centre than not
    centres = np.stack([a[groups == g].mean(0) for g in range(groups.max() + 1)])
    nearest = np.linalg.norm(a[:, None] - centres[None], axis=2).argmin(1)
    assert (nearest == groups).mean() > 0.5
