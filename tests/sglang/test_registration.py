"""Registration: the entry point through SGLang's own ``load_plugins()`` and argument parser,
idempotence, the lazy SGLang import, the version guard, the dialect from the tokenizer, and the
constrained-decoding answers delegated to SGLang's own MiniMax detectors."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any

import pytest

import minimax_parser.sglang as mp_sglang

from conftest import get_tokenizer, sglang_tools


def _run(code: str, **env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [x[3:] for x in done.stdout.splitlines() if x.startswith("=> ")]


def test_entry_point() -> None:
    eps = [e for e in entry_points(group="sglang.srt.plugins") if e.name == "minimax-rs"]
    assert [e.value for e in eps] == ["minimax_parser.sglang:register"]


@pytest.mark.parametrize("allowed", ["", "minimax-rs"])
def test_load_plugins_puts_the_names_among_the_server_choices(allowed: str) -> None:
    """What ``sglang serve`` does: ``load_plugins()``, then its real argument parser."""
    out = _run(
        "import argparse\n"
        "from sglang.srt.plugins import load_plugins\n"
        "load_plugins()\n"
        "from sglang.srt.server_args import ServerArgs\n"
        "p = argparse.ArgumentParser()\n"
        "ServerArgs.add_cli_args(p)\n"
        "acts = {a.dest: a for a in p._actions}\n"
        "print('=>', 'minimax-rs' in acts['tool_call_parser'].choices)\n"
        "print('=>', {'minimax-rs', 'minimax-rs-append-think'} <= set("
        "acts['reasoning_parser'].choices))\n"
        "a = p.parse_args(['--model-path', 'm', '--tool-call-parser', 'minimax-rs', "
        "'--reasoning-parser', 'minimax-rs-append-think'])\n"
        "print('=>', a.tool_call_parser, a.reasoning_parser)\n",
        SGLANG_PLUGINS=allowed,
    )
    assert out == ["True", "True", "minimax-rs minimax-rs-append-think"]


def test_plugins_filter_excludes_it() -> None:
    """``SGLANG_PLUGINS`` naming another plugin: ours does not run, the names are unknown."""
    out = _run(
        "from sglang.srt.plugins import load_plugins\n"
        "load_plugins()\n"
        "from sglang.srt.function_call.function_call_parser import FunctionCallParser as F\n"
        "print('=>', 'minimax-rs' in F.ToolCallParserEnum)\n",
        SGLANG_PLUGINS="someone-else",
    )
    assert out == ["False"]


def test_import_does_not_import_sglang() -> None:
    out = _run(
        "import sys, minimax_parser, minimax_parser.sglang\n"
        "print('=>', any(m == 'sglang' or m.startswith('sglang.') for m in sys.modules))\n"
    )
    assert out == ["False"]


def test_register_twice_is_harmless() -> None:
    mp_sglang.register()
    fcp: Any = importlib.import_module("sglang.srt.function_call.function_call_parser")
    rp: Any = importlib.import_module("sglang.srt.parser.reasoning_parser")
    first = fcp.FunctionCallParser.ToolCallParserEnum["minimax-rs"]
    init = rp.ReasoningParser.__init__
    mp_sglang.register()
    assert fcp.FunctionCallParser.ToolCallParserEnum["minimax-rs"] is first
    assert rp.ReasoningParser.__init__ is init
    assert rp.ReasoningParser.DetectorMap["minimax-rs-append-think"].mode == "inline"


@pytest.mark.parametrize("version", ["0.5.22", "0.6.0", "0.4.10"])
def test_unsupported_version_is_named(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda _name: version)
    with pytest.raises(mp_sglang.UnsupportedSGLangError, match=r">=0\.5\.23,<0\.6.*" + version):
        mp_sglang.register()


@pytest.mark.parametrize(("dialect", "end"), [("m2", "</think>"), ("m3", "</mm:think>")])
def test_dialect_from_the_tokenizer(dialect: str, end: str) -> None:
    """The scheduler's use: the think-end token ids of the served model's dialect."""
    mp_sglang.register()
    rp: Any = importlib.import_module("sglang.srt.parser.reasoning_parser")
    tokenizer = get_tokenizer(dialect)
    parser = rp.ReasoningParser("minimax-rs", stream_reasoning=False, tokenizer=tokenizer)
    assert parser.detector.dialect == dialect
    assert parser.detector.get_think_end_token_ids(tokenizer) == [
        tokenizer.convert_tokens_to_ids(end)
    ]
    fcp: Any = importlib.import_module("sglang.srt.function_call.function_call_parser")
    tool = fcp.FunctionCallParser([], "minimax-rs", tokenizer=tokenizer)
    assert tool.detector.dialect == dialect


@pytest.mark.parametrize(("dialect", "builtin"), [("m2", "minimax-m2"), ("m3", "minimax-m3")])
@pytest.mark.parametrize("choice", ["auto", "required", {"name": "get_weather"}])
def test_constraints_are_sglangs_own(dialect: str, builtin: str, choice: Any) -> None:
    """``tool_choice`` ``required`` / named and strict tools: the same constraint as SGLang's
    own detector of the dialect."""
    mp_sglang.register()
    fcp: Any = importlib.import_module("sglang.srt.function_call.function_call_parser")
    protocol: Any = importlib.import_module("sglang.srt.entrypoints.openai.protocol")
    weather = {
        "name": "get_weather",
        "strict": True,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    tools = sglang_tools([{"type": "function", "function": weather}])
    tokenizer = get_tokenizer(dialect)
    request_choice = (
        protocol.ToolChoice(function={"name": choice["name"]})
        if isinstance(choice, dict)
        else choice
    )

    def constraint(name: str) -> Any:
        parser = fcp.FunctionCallParser(tools, name, tokenizer=tokenizer, tool_choice=choice)
        return (
            parser.owns_tool_format(),
            parser.get_structure_constraint(request_choice),
        )

    assert constraint("minimax-rs") == constraint(builtin)
