"""Registration: entry point, plugin path, idempotence, lazy vLLM import, startup validation."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

import minimax_parser.vllm_plugin as vllm_plugin

from conftest import LEGACY, ONLY_PARSER_API

# ToolParserManager moved from vllm.entrypoints.openai.tool_parsers (0.11) to vllm.tool_parsers.
TOOL_PARSERS = "vllm.entrypoints.openai.tool_parsers" if LEGACY else "vllm.tool_parsers"
# What --tool-parser-plugin takes as a file (0.11.2 requires a path): the package's __init__.py.
PLUGIN_FILE = (
    Path(__file__).parents[2] / "python" / "minimax_parser" / "vllm_plugin" / "__init__.py"
)


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # vLLM 0.11 logs to stdout: keep only our lines
    return "\n".join(x[3:] for x in done.stdout.splitlines() if x.startswith("=> "))


def test_entry_point_registers_all_parsers() -> None:
    eps = [e for e in entry_points(group="vllm.general_plugins") if e.name == "minimax_rs"]
    assert [e.value for e in eps] == ["minimax_parser.vllm_plugin:register"]
    out = _run(
        "from vllm.plugins import load_general_plugins\n"
        "load_general_plugins()\n"
        f"from {TOOL_PARSERS} import ToolParserManager as T\n"
        "from vllm.reasoning import ReasoningParserManager as R\n"
        "print('=>', T.get_tool_parser('minimax_rs').__name__)\n"
        "print('=>', R.get_reasoning_parser('minimax_rs').__name__)\n"
        "print('=>', R.get_reasoning_parser('minimax_rs_append_think').__name__)\n"
    )
    assert out.split() == [
        "MinimaxRsToolParser",
        "MinimaxRsReasoningParser",
        "MinimaxRsAppendThinkReasoningParser",
    ]


@pytest.mark.parametrize("path", ["minimax_parser.vllm_plugin", str(PLUGIN_FILE)])
def test_plugin_path_registers(path: str) -> None:
    if LEGACY and not path.endswith(".py"):
        # 0.11.2's import_tool_parser / import_reasoning_parser load a file only
        pytest.skip("vLLM 0.11.2 takes --tool-parser-plugin as a file path, not a module name")
    out = _run(
        "import vllm.plugins as p; p.plugins_loaded = True\n"  # no entry points
        f"from {TOOL_PARSERS} import ToolParserManager as T\n"
        "from vllm.reasoning import ReasoningParserManager as R\n"
        "assert 'minimax_rs' not in T.list_registered()\n"
        f"T.import_tool_parser({path!r}); R.import_reasoning_parser({path!r})\n"
        "print('=>', T.get_tool_parser('minimax_rs').__name__, "
        "R.get_reasoning_parser('minimax_rs_append_think').__name__)\n"
    )
    assert out.split() == ["MinimaxRsToolParser", "MinimaxRsAppendThinkReasoningParser"]


def test_register_twice_is_harmless() -> None:
    ToolParserManager = importlib.import_module(TOOL_PARSERS).ToolParserManager
    vllm_plugin.register()
    first = ToolParserManager.get_tool_parser("minimax_rs")
    vllm_plugin.register()
    assert ToolParserManager.get_tool_parser("minimax_rs") is first


def test_import_minimax_parser_does_not_import_vllm() -> None:
    out = _run(
        "import sys, minimax_parser, minimax_parser.vllm_plugin\n"
        "print('=>', any(m == 'vllm' or m.startswith('vllm.') for m in sys.modules))\n"
    )
    assert out.strip() == "False"


@ONLY_PARSER_API  # 0.11.2 builds parsers per request: see test_legacy.py
def test_tokenizer_without_tags_fails_at_startup() -> None:
    hf: Any = importlib.import_module("tokenizers")
    Tokenizer, models = hf.Tokenizer, hf.models
    PreTrainedTokenizerFast = importlib.import_module("transformers").PreTrainedTokenizerFast
    ParserManager = importlib.import_module("vllm.parser").ParserManager
    vllm_plugin.register()
    plain: Any = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"a": 0, "<unk>": 1}, unk_token="<unk>"))
    )
    with pytest.raises(TypeError, match=r"minimax_rs.*</think>"):
        ParserManager.get_parser(
            tool_parser_name="minimax_rs",
            reasoning_parser_name="minimax_rs",
            enable_auto_tools=True,
            model_name="not-minimax",
            tokenizer=plain,
        )
