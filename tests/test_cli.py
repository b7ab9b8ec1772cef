"""The command line, run as a real subprocess (console script and ``python -m``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import minimax_parser as mp
from minimax_parser.cli import tokenize

from conftest import FIXTURES, as_expected, load_fixtures

EXAMPLE = Path(mp.__file__).parent / "examples" / "weather.json"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minimax_parser", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )


def test_demo_streams_and_prints_final_message() -> None:
    r = run("demo")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    deltas = [json.loads(line) for line in lines if line.startswith('{"')]
    assert {"reasoning_content"} <= set().union(*deltas)
    assert any("tool_calls" in d for d in deltas)
    final = json.loads(r.stdout[r.stdout.rindex("\n{\n") :])
    example = json.loads(EXAMPLE.read_text("utf-8"))
    want = mp.parse(example["response"], tools=example["tools"]).to_openai()
    for call in want["tool_calls"]:
        call["id"] = None
    for call in final["tool_calls"]:
        call["id"] = None
    assert final == want
    args = json.loads(final["tool_calls"][1]["function"]["arguments"])
    assert "</parameter>" in args["content"]


def test_console_script_is_installed() -> None:
    exe = shutil.which("minimax-parser")
    assert exe is not None, "pip install the package to get the minimax-parser command"
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert r.returncode == 0
    assert "parse" in r.stdout and "demo" in r.stdout


def test_parse_file_with_tools(tmp_path: Path) -> None:
    fx = next(f for f in load_fixtures() if f.tools and f.expected["tool_calls"])
    (tmp_path / "out.txt").write_text(fx.input, "utf-8")
    (tmp_path / "tools.json").write_text(json.dumps({"tools": fx.tools}), "utf-8")
    r = run("parse", str(tmp_path / "out.txt"), "--tools", str(tmp_path / "tools.json"))
    assert r.returncode == 0, r.stderr
    msg = json.loads(r.stdout)
    assert msg["content"] == fx.expected["content"]
    assert msg["reasoning_content"] == fx.expected["reasoning"]
    assert [c["function"]["arguments"] for c in msg["tool_calls"]] == [
        c["arguments"] for c in fx.expected["tool_calls"]
    ]


@pytest.mark.parametrize("chunk", [None, "1", "7"])
def test_parse_stream_from_stdin_adds_up(chunk: str | None) -> None:
    text = (FIXTURES / "channels").glob("*.json").__next__().read_text("utf-8")
    text = json.loads(text)["input"]
    args = ["parse", "-", "--stream"] + (["--chunk-size", chunk] if chunk else [])
    r = run(*args, stdin=text)
    assert r.returncode == 0, r.stderr
    reasoning = content = ""
    for line in r.stdout.splitlines():
        d = json.loads(line)
        reasoning += d.get("reasoning_content", "")
        content += d.get("content", "")
    want = as_expected(mp.parse(text))
    assert (reasoning or None, content or None) == (want["reasoning"], want["content"])


def test_parse_options_are_passed() -> None:
    r = run(
        "parse", "-", "--reasoning", "inline", "--no-start-in-reasoning", stdin="a<think>b</think>c"
    )
    assert json.loads(r.stdout)["content"] == "a<think>b</think>c"
    r = run("parse", "-", "--tool-calls-in-reasoning", "ignore",
            stdin='x<minimax:tool_call><invoke name="f"></invoke></minimax:tool_call>')  # fmt: skip
    assert "tool_calls" not in json.loads(r.stdout)


def test_errors_are_clear(tmp_path: Path) -> None:
    r = run("parse", str(tmp_path / "missing.txt"))
    assert r.returncode == 2
    assert "minimax-parser: error:" in r.stderr
    (tmp_path / "tools.json").write_text('{"not": "tools"}', "utf-8")
    r = run("parse", "-", "--tools", str(tmp_path / "tools.json"), stdin="x")
    assert r.returncode == 2 and "list of tools" in r.stderr
    r = run("parse", "-", "--stream", "--chunk-size", "0", stdin="x")
    assert r.returncode == 2 and "chunk-size" in r.stderr


def test_tokenize_is_lossless_and_keeps_special_tokens_whole() -> None:
    text = json.loads(EXAMPLE.read_text("utf-8"))["response"]
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert "</think>" in tokens and "<minimax:tool_call>" in tokens
