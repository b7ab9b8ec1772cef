"""Every snippet in README.md (and the Python one in docs/spec.md) runs as written.

Each ```python block runs on its own, in a fresh interpreter and an empty directory: whatever it
needs, it defines itself, so a reader can paste it. Snippets that talk to a server read its URL
from ``OPENAI_BASE_URL`` (the OpenAI SDK's own variable), defaulting to where the README says the
server is; here that variable points at a fake upstream (a real aiohttp server on 127.0.0.1 that
answers like an OpenAI-compatible server passing MiniMax-M2 markup through in ``content``) or, for
the proxy snippet, at the real proxy in front of it. The Command line block runs in bash (all but
the line that starts a server, which runs until stopped). The Rust block is compiled and run by
``cargo test --doc`` (src/lib.rs includes the README as a doc-test).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from minimax_parser.proxy import make_app

from loopback import LoopbackServers

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SPEC = ROOT / "docs" / "spec.md"
T = TypeVar("T")

#: What the fake upstream's model "writes": reasoning, content and one call, as MiniMax-M2 does.
RAW = (
    "The user wants the weather, so I call the tool.\n</think>\n\nLet me check.\n"
    '<minimax:tool_call>\n<invoke name="get_weather">\n'
    '<parameter name="location">Paris</parameter>\n<parameter name="days">3</parameter>\n'
    "</invoke>\n</minimax:tool_call>"
)
PIECE = 7  # characters of RAW per streamed chunk: markup is cut everywhere


@dataclass(frozen=True)
class Snippet:
    file: str
    line: int
    section: str
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.section}"


def snippets(path: Path) -> list[Snippet]:
    """The fenced blocks of a Markdown file that start at the margin, with their section."""
    out: list[Snippet] = []
    section = ""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        elif line.startswith("```"):
            lang, start, body = line[3:].strip(), i + 1, []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            out.append(Snippet(path.name, start, section, lang, "\n".join(body) + "\n"))
        i += 1
    return out


README_SNIPPETS = snippets(README)
PYTHON = [s for s in README_SNIPPETS + snippets(SPEC) if s.lang == "python"]


# -- the servers: a fake upstream and the real proxy, in one background event loop ----------------


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    chunk = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "minimax-m2",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


async def _models(request: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": [{"id": "minimax-m2", "object": "model"}]})


async def _chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    if not body.get("stream"):
        message = {"role": "assistant", "content": RAW}
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": "minimax-m2",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    await resp.write(_chunk({"role": "assistant", "content": ""}).encode())
    for i in range(0, len(RAW), PIECE):
        await resp.write(_chunk({"content": RAW[i : i + PIECE]}).encode())
    await resp.write(_chunk({}, "stop").encode())
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


class Servers(LoopbackServers):
    def __init__(self) -> None:
        super().__init__(name="readme", wait=5)
        upstream = web.Application()
        upstream.router.add_post("/v1/chat/completions", _chat)
        upstream.router.add_get("/v1/models", _models)
        self.upstream = f"http://127.0.0.1:{self.serve(upstream)}/v1"
        self.proxy = f"http://127.0.0.1:{self.serve(make_app(self.upstream))}/v1"


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as s:
        yield s


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    # The installed console scripts (minimax-parser) first, whichever shell runs the snippet.
    env["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), env.get("PATH", "")])
    env.update(extra)
    return env


# -- the snippets ---------------------------------------------------------------------------------


def test_the_snippets_are_found() -> None:
    sections = {s.section for s in PYTHON if s.file == "README.md"}
    assert {"Python", "Client side"} <= sections, sections
    assert sum(s.file == "README.md" for s in PYTHON) >= 5
    assert any(s.file == "spec.md" for s in PYTHON)


def test_every_block_says_its_language() -> None:
    """rustdoc compiles a fence without a language as Rust: every block names one, and the only
    Rust block is the example that `cargo test --doc` runs."""
    for s in README_SNIPPETS:
        assert s.lang, f"README.md:{s.line}: a fenced block without a language"
    assert [s.section for s in README_SNIPPETS if s.lang == "rust"] == ["Rust"]
    lib = (ROOT / "src" / "lib.rs").read_text(encoding="utf-8")
    assert re.search(r'#\[cfg\(doctest\)\]\s*#\[doc = include_str!\("\.\./README\.md"\)\]', lib)


def test_snippets_are_ascii_where_it_matters() -> None:
    """HTTP headers are ASCII: a pasted placeholder key like "sk-…" raised UnicodeEncodeError."""
    for s in PYTHON:
        for key in re.findall(r'api_key="([^"]*)"', s.code):
            assert key.isascii(), f"{s.id}: api_key {key!r} is not ASCII"


@pytest.mark.parametrize("snippet", PYTHON, ids=lambda s: s.id)
def test_python_snippet_runs(snippet: Snippet, servers: Servers, tmp_path: Path) -> None:
    extra: dict[str, str] = {}
    m = re.search(r'os\.environ\.get\("OPENAI_BASE_URL", "([^"]+)"\)', snippet.code)
    if m:
        # The README's default for the proxy is port 8000; any other is the upstream.
        extra["OPENAI_BASE_URL"] = servers.proxy if ":8000/" in m.group(1) else servers.upstream
    script = tmp_path / "snippet.py"
    script.write_text(snippet.code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{snippet.id} failed:\n{done.stdout}\n{done.stderr}"
    if m:  # it reached the server and the parsed call came back
        assert "get_weather" in done.stdout, done.stdout
        assert "Paris" in done.stdout, done.stdout
        assert "<minimax:tool_call>" not in done.stdout, done.stdout


def test_command_line_block_runs(tmp_path: Path) -> None:
    (block,) = [s for s in README_SNIPPETS if s.section == "Command line" and s.lang == "bash"]
    every = block.code.splitlines()
    lines = [line for line in every if not line.startswith("minimax-parser proxy")]
    assert len(lines) < len(every), "the proxy line was expected in this block"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(lines)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{block.id} failed:\n{done.stdout}\n{done.stderr}"
    assert '"name": "get_time"' in done.stdout
    assert '"arguments": "{\\"tz\\": \\"UTC\\"}"' in done.stdout
