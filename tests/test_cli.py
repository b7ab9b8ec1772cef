"""The command line, run as a real subprocess (console script and ``python -m``)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import minimax_parser as mp
from minimax_parser.cli import tokenize

from conftest import as_expected, load_fixtures

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


def test_conformance_runs_from_the_installed_package_outside_the_checkout(tmp_path: Path) -> None:
    """The fixtures ship in the package: ``minimax-parser conformance`` needs no checkout, and
    from any directory reports every fixture passing."""
    exe = shutil.which("minimax-parser")
    assert exe is not None, "pip install the package to get the minimax-parser command"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(
        [exe, "conformance", "--engine", "minimax-parser", "--markdown", "report.md"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert r.returncode == 0, r.stderr
    fixtures = load_fixtures()
    assert len(fixtures) >= 200
    for dialect in {f.dialect for f in fixtures}:  # one table per dialect
        n = sum(f.dialect == dialect for f in fixtures)
        row = f"| minimax-parser | minimax-parser {mp.__version__} | {n} / {n} | 0 | none |"
        assert row in r.stdout.splitlines(), r.stdout
    assert f"over {len(fixtures)} fixtures" in (tmp_path / "report.md").read_text("utf-8")


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
    text = next(f for f in load_fixtures() if f.name.startswith("channels/")).input
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


# -- usage errors: one line on stderr, status 2, never a traceback ---------------------------------


def run_bytes(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "minimax_parser", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def usage_error(r: subprocess.CompletedProcess[bytes]) -> str:
    """The one error line of a run that failed as a usage error."""
    stderr = r.stderr.decode("utf-8")
    assert r.returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("minimax-parser: error: ")
    assert len(lines[0]) < 500
    return lines[0]


def _deep_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


BAD_TOOLS: dict[str, tuple[bytes, str]] = {
    "nested_100k_levels": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "object_nested_100k_levels": (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    "schema_too_deep_for_the_parser": (
        json.dumps([{"name": "f", "parameters": _deep_schema(200)}]).encode(),
        "invalid tools",
    ),
    "tool_without_a_name": (b'[{"type": "function", "function": {}}]', "invalid tools"),
    "tools_not_dicts": (b"[1, 2]", "invalid tools"),
    "not_json": (b"{not json", "not valid JSON"),
    "not_utf8": (b'[{"name": "f\xff"}]', "not UTF-8"),
    "no_tools_list": (b'{"not": "tools"}', "list of tools"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
@pytest.mark.parametrize(("content", "message"), BAD_TOOLS.values(), ids=BAD_TOOLS.keys())
def test_bad_tools_file_is_one_clear_line(
    tmp_path: Path, content: bytes, message: str, stream: bool
) -> None:
    path = tmp_path / "tools.json"
    path.write_bytes(content)
    r = run_bytes("parse", "-", "--tools", str(path), *(["--stream"] if stream else []), stdin=b"x")
    line = usage_error(r)
    assert str(path) in line and message in line
    assert r.stdout == b"", "nothing is printed before the error"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "--port must be between 0 and 65535"),
        (["--port", "-1"], "--port must be between 0 and 65535"),
        (["--max-connections", "0"], "--max-connections"),
        (["--max-body-bytes", "-5"], "--max-body-bytes"),
        (["--timeout", "0"], "timeout"),
        (["--timeout", "inf"], "timeout"),
    ],
)
def test_bad_proxy_settings_are_one_clear_line(args: list[str], message: str) -> None:
    r = run_bytes("proxy", "--upstream", "http://127.0.0.1:1/v1", *args)
    assert message in usage_error(r)


def test_proxy_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        r = run_bytes("proxy", "--upstream", "http://127.0.0.1:1/v1", "--port", str(port))
    assert "address" in usage_error(r).lower()


# -- input that is not UTF-8: U+FFFD, like any other model output ----------------------------------

NOT_UTF8 = b"Thinking \xff\xfe.</think>Hello \xed\xa0\x80 world \xc3"


@pytest.mark.parametrize("source", ["stdin", "file"])
@pytest.mark.parametrize("chunk", [None, "1", "3"])
def test_invalid_utf8_input_is_replaced_not_an_error(
    tmp_path: Path, source: str, chunk: str | None
) -> None:
    want = as_expected(mp.parse(NOT_UTF8.decode("utf-8", errors="replace")))
    assert "\ufffd" in want["reasoning"] and "\ufffd" in want["content"]
    path = tmp_path / "out.txt"
    path.write_bytes(NOT_UTF8)
    file = "-" if source == "stdin" else str(path)
    r = run_bytes("parse", file, stdin=NOT_UTF8)
    assert r.returncode == 0, r.stderr
    msg = json.loads(r.stdout.decode("utf-8"))
    assert (msg["reasoning_content"], msg["content"]) == (want["reasoning"], want["content"])

    stream = ["--stream"] + (["--chunk-size", chunk] if chunk else [])
    r = run_bytes("parse", file, *stream, stdin=NOT_UTF8)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    reasoning = content = ""
    for line in r.stdout.decode("utf-8").splitlines():
        d = json.loads(line)
        reasoning += d.get("reasoning_content", "")
        content += d.get("content", "")
    assert (reasoning, content) == (want["reasoning"], want["content"])


def test_closed_stdout_is_quiet_exit_141(tmp_path: Path) -> None:
    """``... | head``: the reader left; like a tool killed by SIGPIPE, status 141, nothing on
    stderr (no "Broken pipe" line, no traceback)."""
    path = tmp_path / "big.txt"
    path.write_text("</think>" + "word " * 100_000, encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "minimax_parser",
            "parse",
            str(path),
            "--stream",
            "--chunk-size",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()  # far more than a pipe buffer is still to come
    stderr = proc.stderr.read()
    assert proc.wait(60) == 141, stderr
    assert stderr == b""


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        ("http://user:secret@127.0.0.1:1/v1", "credentials"),
        ("http://127.0.0.1:1/v1?key=secret", "query"),
        ("http://127.0.0.1:1/v1#secret", "fragment"),
    ],
)
def test_proxy_upstream_with_credentials_query_or_fragment_is_one_clear_line(
    upstream: str, message: str
) -> None:
    line = usage_error(run_bytes("proxy", "--upstream", upstream))
    assert message in line and "secret" not in line
