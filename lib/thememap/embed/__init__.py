"""Embedding backends behind one small protocol, chosen by name in the params."""

from thememap.embed.base import Embedder, make_embedder

__all__ = ["Embedder", "make_embedder"]
