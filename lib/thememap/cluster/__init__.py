"""Clustering: a nested 3-level hierarchy and a 2D layout (pure functions over arrays)."""
