"""Cluster cards: offline (keyphrases, extractive summary) and from an LLM."""
