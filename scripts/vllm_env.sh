#!/usr/bin/env bash
# Creates, or reuses, a cached virtualenv with a pinned vLLM release for the plugin tests, and
# prints its python. vLLM pulls a CUDA build of torch (several GB; it imports fine without a GPU),
# so the environments live outside the repository and are kept between runs.
#   bash scripts/vllm_env.sh 0.32.0   ->  ~/.cache/minimax-parser/venv-vllm-0.32.0/bin/python
set -euo pipefail
version="$1"
root="${MINIMAX_PARSER_CACHE:-$HOME/.cache/minimax-parser}"
venv="$root/venv-vllm-$version"
py="$venv/bin/python"
mkdir -p "$root"
if ! [ -x "$py" ] || ! "$py" -c "import sys, vllm; sys.exit(vllm.__version__ != '$version')" >/dev/null 2>&1; then
    echo "installing vllm==$version into $venv (first run only; several GB)" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$py" -m pip install --quiet --upgrade pip >&2
    "$py" -m pip install --quiet "vllm==$version" >&2
fi
"$py" -m pip install --quiet pytest hypothesis tokenizers >&2
if [ "$version" = "0.32.0" ]; then
    # SGLang 0.5.23, for tests/sglang and the comparisons: the wheel without its heavy
    # dependencies (vLLM's environment already has torch, transformers, pydantic) plus the few
    # small packages its function-call, reasoning and chat-serving modules import.
    if ! "$py" -c "import sglang.srt.entrypoints.openai.serving_chat" >/dev/null 2>&1; then
        "$py" -m pip install --quiet --no-deps "sglang==0.5.23" orjson ipython traitlets gguf >&2
    fi
fi
echo "$py"
