"""MiniMax-M3 (``dialect="m3"``) through every surface: the command line (a real subprocess), the
proxy (real loopback servers, the real ``openai`` SDK as client, streaming and not) and the SDK
adapters over real ``openai`` clients. The upstream replays raw M3 output the way a server
without an M3 parser sends it: all of it in ``content``, in small pieces that cut the
``]<]minimax[>[`` markers apart."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import minimax_parser as mp
from minimax_parser.cli import tokenize
from minimax_parser.openai_stream import StreamRewriter, awrap_stream, wrap_completion, wrap_stream
from minimax_parser.proxy import make_app

from loopback import RawUpstream, chunk

N = "]<]minimax[>["
WAIT = 15.0  # seconds: the bound on every wait for another thread or process
#: Characters of raw text per upstream content chunk: the 13-character marker is always cut.
PIECE = 3

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "days": {"type": "integer"},
                    "options": {
                        "type": "object",
                        "properties": {
                            "unit": {"type": "string"},
                            "hours": {"type": "array", "items": {"type": "integer"}},
                        },
                    },
                    "zip": {"type": "string"},
                },
            },
        },
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
#: A tool-call block as MiniMax-M3's chat template writes one: typed, nested arguments.
BLOCK = (
    f'{N}<tool_call>\n{N}<invoke name="get_weather">{N}<location>Paris{N}</location>'
    f"{N}<days>3{N}</days>{N}<options>{N}<unit>celsius{N}</unit>{N}<hours>{N}<item>6{N}</item>"
    f"{N}<item>18{N}</item>{N}</hours>{N}</options>{N}<zip>75001{N}</zip>{N}</invoke>\n"
    f'{N}<invoke name="get_time">{N}</invoke>\n{N}</tool_call>'
)
#: What the arguments mean by the tools' schemas (SPEC §4 and §7): 3 an integer, "75001" a
#: string, ``hours`` a list of integers.
WEATHER = {"location": "Paris", "days": 3, "options": {"unit": "celsius", "hours": [6, 18]}}
ARGS: list[dict[str, Any]] = [{**WEATHER, "zip": "75001"}, {}]
#: thinking_mode "adaptive" (the default): the model opens reasoning itself.
ADAPTIVE = f"<mm:think>Plan the call.</mm:think>Checking.{BLOCK}"
#: thinking_mode "enabled": the prompt ends inside <mm:think>, so the output starts in reasoning.
ENABLED = f"Plan the call.</mm:think>Checking.{BLOCK}"
#: MiniMax-M2 output, for the default dialect.
M2_TEXT = (
    'Plan.</think>Answer.<minimax:tool_call><invoke name="get_time"></invoke></minimax:tool_call>'
)
TEXTS = {"m3:adaptive": ADAPTIVE, "m3:enabled": ENABLED, "m2:plain": M2_TEXT}
MESSAGES: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]

#: What the model's reasoning and content are, by start state, for ENABLED (and ADAPTIVE, which
#: opens reasoning itself): starting in content, ``</mm:think>`` is dropped markup.
IN_REASONING = {"reasoning": "Plan the call.", "content": "Checking."}
IN_CONTENT = {"reasoning": None, "content": "Plan the call.Checking."}


# -- what a client makes of the answers ------------------------------------------------------------


def want(text: str, **options: Any) -> dict[str, Any]:
    """The message the parser makes of ``text`` (names and exact argument strings)."""
    msg = mp.parse(text, **options)
    return {
        "reasoning": msg.reasoning,
        "content": msg.content,
        "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in msg.tool_calls],
        "finish_reason": "tool_calls" if msg.tool_calls else "stop",
    }


def check_m3(got: dict[str, Any], channels: dict[str, Any]) -> None:
    """``got`` holds the reasoning and content of ``channels`` and the two calls of BLOCK with
    their typed arguments."""
    assert {k: got[k] for k in ("reasoning", "content")} == channels
    assert [c["name"] for c in got["tool_calls"]] == ["get_weather", "get_time"]
    assert [json.loads(c["arguments"]) for c in got["tool_calls"]] == ARGS
    assert got["finish_reason"] == "tool_calls"


def merged(chunks: Iterable[ChatCompletionChunk | dict[str, Any]]) -> dict[str, Any]:
    """Merges streamed chunks the way an OpenAI client does, checking that each call starts once
    (with its id, type and name) and that there is one finish reason."""
    reasoning = content = ""
    finish = None
    calls: dict[int, dict[str, str]] = {}
    for c in chunks:
        d = c if isinstance(c, dict) else c.model_dump(exclude_none=True)
        assert "error" not in d, d
        for choice in d["choices"]:
            assert choice["index"] == 0
            delta = choice.get("delta") or {}
            reasoning += delta.get("reasoning_content") or ""
            content += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                fn = call.get("function") or {}
                if call.get("id"):
                    assert call["index"] not in calls, "one start per call"
                    assert call["type"] == "function" and fn["name"]
                    calls[call["index"]] = {"name": fn["name"], "arguments": ""}
                calls[call["index"]]["arguments"] += fn.get("arguments") or ""
            if choice.get("finish_reason") is not None:
                assert finish is None, "one finish reason"
                finish = choice["finish_reason"]
    return {
        "reasoning": reasoning or None,
        "content": content or None,
        "tool_calls": [calls[i] for i in sorted(calls)],
        "finish_reason": finish,
    }


def message(completion: ChatCompletion | dict[str, Any]) -> dict[str, Any]:
    d = completion if isinstance(completion, dict) else completion.model_dump()
    [choice] = d["choices"]
    msg = choice["message"]
    return {
        "reasoning": msg.get("reasoning_content"),
        "content": msg["content"],
        "tool_calls": [
            {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in msg.get("tool_calls") or []
        ],
        "finish_reason": choice["finish_reason"],
    }


def deltas(stdout: str) -> dict[str, Any]:
    """Merges the JSON delta lines of ``minimax-parser parse --stream``."""
    return merged(
        {"choices": [{"index": 0, "delta": json.loads(line)}]} for line in stdout.splitlines()
    )


# -- loopback servers: an upstream without an M3 parser, and proxies in front of it ----------------


class Servers(RawUpstream):
    """The upstream answers model ``m3:adaptive``, ``m3:enabled`` or ``m2:plain`` with that raw
    text in ``content`` (SSE in pieces of :data:`PIECE` characters, or one ``chat.completion``)
    and records every request body it receives."""

    def __init__(self) -> None:
        super().__init__("m3-servers", wait=WAIT, piece=PIECE)
        self.proxies: dict[str, int] = {}

    def answer(self, body: dict[str, Any]) -> tuple[str, bool]:
        return TEXTS[body["model"]], True

    def proxy(self, **options: Any) -> int:
        """The port of a proxy with these parser options (one per setting, reused)."""
        key = json.dumps(options, sort_keys=True)
        if key not in self.proxies:
            self.proxies[key] = self.serve(make_app(self.upstream_url, **options))
        return self.proxies[key]


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as s:
        yield s


def client(port: int) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0, timeout=WAIT
    )


def aclient(port: int) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0, timeout=WAIT
    )


def ask(c: openai.OpenAI, model: str, stream: bool, **extra: Any) -> dict[str, Any]:
    """One chat completion through ``c``, as the client sees it."""
    kw: dict[str, Any] = {"model": model, "messages": MESSAGES, "tools": TOOLS, **extra}
    if stream:
        with c.chat.completions.create(**kw, stream=True) as chunks:
            return merged(chunks)
    return message(c.chat.completions.create(**kw))


def thinking(mode: Any) -> dict[str, Any]:
    """The request field that sets M3's thinking mode (``extra_body`` of the SDK)."""
    return {"extra_body": {"chat_template_kwargs": {"thinking_mode": mode}}}


# -- the command line ------------------------------------------------------------------------------


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minimax_parser", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.fixture
def tools_file(tmp_path: Path) -> str:
    path = tmp_path / "tools.json"
    path.write_text(json.dumps({"tools": TOOLS}), "utf-8")
    return str(path)


def test_cli_parse_m3_file_with_tools(tmp_path: Path, tools_file: str) -> None:
    path = tmp_path / "out.txt"
    path.write_text(ADAPTIVE, "utf-8")
    r = run("parse", str(path), "--tools", tools_file, "--dialect", "m3")
    assert r.returncode == 0, r.stderr
    msg = json.loads(r.stdout)
    got = {
        "reasoning": msg["reasoning_content"],
        "content": msg["content"],
        "tool_calls": [
            {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in msg["tool_calls"]
        ],
        "finish_reason": "tool_calls",
    }
    check_m3(got, IN_REASONING)
    assert got == want(ADAPTIVE, tools=TOOLS, dialect="m3")


@pytest.mark.parametrize("chunk", [None, "1", "5"])
def test_cli_parse_m3_stream_adds_up(tools_file: str, chunk: str | None) -> None:
    args = ["parse", "-", "--stream", "--dialect", "m3", "--tools", tools_file]
    r = run(*args, *(["--chunk-size", chunk] if chunk else []), stdin=ADAPTIVE)
    assert r.returncode == 0, r.stderr
    got = deltas(r.stdout)
    got["finish_reason"] = "tool_calls" if got["tool_calls"] else "stop"
    check_m3(got, IN_REASONING)
    assert got == want(ADAPTIVE, tools=TOOLS, dialect="m3")


def test_cli_start_state_follows_the_dialect(tools_file: str) -> None:
    def parsed(text: str, *flags: str) -> dict[str, Any]:
        r = run("parse", "-", "--tools", tools_file, *flags, stdin=text)
        assert r.returncode == 0, r.stderr
        msg = json.loads(r.stdout)
        return {"reasoning": msg["reasoning_content"], "content": msg["content"]}

    # M3 starts in content unless told otherwise (thinking_mode "enabled").
    assert parsed(ENABLED, "--dialect", "m3") == IN_CONTENT
    assert parsed(ENABLED, "--dialect", "m3", "--no-start-in-reasoning") == IN_CONTENT
    assert parsed(ENABLED, "--dialect", "m3", "--start-in-reasoning") == IN_REASONING
    # M2 (the default dialect) starts in reasoning unless told otherwise.
    assert parsed(M2_TEXT) == {"reasoning": "Plan.", "content": "Answer."}
    assert parsed(M2_TEXT, "--dialect", "m2", "--start-in-reasoning") == parsed(M2_TEXT)
    assert parsed(M2_TEXT, "--no-start-in-reasoning") == {
        "reasoning": None,
        "content": "Plan.Answer.",
    }


def test_cli_default_dialect_is_m2(tools_file: str) -> None:
    r = run("parse", "-", "--tools", tools_file, stdin=ADAPTIVE)
    assert r.returncode == 0, r.stderr
    msg = json.loads(r.stdout)
    m2 = mp.parse(ADAPTIVE, tools=TOOLS)
    assert "tool_calls" not in msg and not m2.tool_calls
    assert (msg["reasoning_content"], msg["content"]) == (m2.reasoning, m2.content)
    assert N in (m2.reasoning or "") + (m2.content or ""), "M3 markup is not M2's"


@pytest.mark.parametrize(
    "command",
    [["parse", "-"], ["parse", "-", "--stream"], ["demo"], ["proxy", "--upstream", "http://x/v1"]],
    ids=["parse", "parse-stream", "demo", "proxy"],
)
@pytest.mark.parametrize("value", ["m4", "M3", ""])
def test_cli_invalid_dialect_is_a_clear_usage_error(command: list[str], value: str) -> None:
    r = run(*command, "--dialect", value, stdin=ADAPTIVE)
    assert r.returncode == 2
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    last = r.stderr.splitlines()[-1]
    assert last.startswith(f"minimax-parser {command[0]}: error: argument --dialect: ")
    assert f"invalid choice: {value!r}" in last
    choices = last.partition("choose from")[2]
    assert "m2" in choices and "m3" in choices


def test_cli_demo_m3_streams_the_bundled_m3_response() -> None:
    r = run("demo", "--dialect", "m3")
    assert r.returncode == 0, r.stderr
    example = json.loads(
        (Path(mp.__file__).parent / "examples" / "weather_m3.json").read_text("utf-8")
    )
    text, tools = example["response"], example["tools"]
    assert N in text and "<mm:think>" in text
    lines = r.stdout.splitlines()
    streamed = deltas("\n".join(line for line in lines if line.startswith('{"')))
    final = json.loads(r.stdout[r.stdout.rindex("\n{\n") :])
    expected = want(text, tools=tools, dialect="m3")
    for got in (streamed, message({"choices": [{"message": final, "finish_reason": None}]})):
        got["finish_reason"] = expected["finish_reason"]
        assert got == expected
    assert [json.loads(c["arguments"]) for c in expected["tool_calls"]] == [
        {
            "location": "San Francisco",
            "days": 3,
            "options": {"unit": "celsius", "hours": [8, 20]},
        },
        {
            "path": "notes/trip.md",
            "content": "# Trip\n- Pack a jacket: <b>fog</b> & wind after 4 pm.\n- Zip code: 94103",
        },
    ]
    assert expected["reasoning"] and expected["reasoning"].startswith("The user wants")
    # The marker and the think tags are kept whole when the demo cuts the text into tokens.
    tokens = tokenize(text, "m3")
    assert "".join(tokens) == text
    assert {N, "<mm:think>", "</mm:think>"} <= set(tokens)


def test_cli_proxy_dialect_m3(servers: Servers) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "minimax_parser", "proxy", "--upstream", servers.upstream_url]
    cmd += ["--port", str(port), "--dialect", "m3"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        c = client(port)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                got = ask(c, "m3:adaptive", stream=False)
                break
            except openai.APIConnectionError:
                assert proc.poll() is None, "the proxy exited"
                assert time.monotonic() < deadline, "the proxy did not start"
                time.sleep(0.1)
        check_m3(got, IN_REASONING)
        check_m3(ask(c, "m3:enabled", stream=True, **thinking("enabled")), IN_REASONING)
        check_m3(ask(c, "m3:enabled", stream=True), IN_CONTENT)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=WAIT)
    assert f"upstream {servers.upstream_url}, dialect m3" in stderr, stderr


# -- the proxy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_proxy_m3_with_tools(servers: Servers, stream: bool) -> None:
    got = ask(client(servers.proxy(dialect="m3")), "m3:adaptive", stream)
    check_m3(got, IN_REASONING)
    assert got == want(ADAPTIVE, tools=TOOLS, dialect="m3")


def test_proxy_m3_async_client(servers: Servers) -> None:
    port = servers.proxy(dialect="m3")

    kw: dict[str, Any] = {"model": "m3:adaptive", "messages": MESSAGES, "tools": TOOLS}

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        c = aclient(port)
        try:
            stream = await c.chat.completions.create(**kw, stream=True)
            async with stream:
                streamed = merged([chunk async for chunk in stream])
            completion = await c.chat.completions.create(**kw)
        finally:
            await c.close()
        return streamed, message(completion)

    for got in asyncio.run(main()):
        check_m3(got, IN_REASONING)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(
    ("mode", "channels"),
    [
        (None, IN_CONTENT),  # no thinking_mode: the dialect's start state
        ("enabled", IN_REASONING),
        ("adaptive", IN_CONTENT),
        ("disabled", IN_CONTENT),
        ("ENABLED", IN_CONTENT),  # the template compares exactly: this is adaptive
    ],
)
def test_proxy_thinking_mode_sets_the_m3_start_state(
    servers: Servers, stream: bool, mode: str | None, channels: dict[str, Any]
) -> None:
    extra = {} if mode is None else thinking(mode)
    got = ask(client(servers.proxy(dialect="m3")), "m3:enabled", stream, **extra)
    check_m3(got, channels)
    start = channels is IN_REASONING
    assert got == want(ENABLED, tools=TOOLS, dialect="m3", start_in_reasoning=start)
    # The request reached the upstream as it was: its template renders the prompt by it.
    body = servers.last_body()
    assert body.get("chat_template_kwargs") == (None if mode is None else {"thinking_mode": mode})


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_proxy_request_thinking_mode_wins_over_the_proxy_start_state(
    servers: Servers, stream: bool
) -> None:
    """The request says how its prompt ends; ``--start-in-reasoning`` is for requests that do
    not (an upstream whose default template arguments enable thinking)."""
    eager = client(servers.proxy(dialect="m3", start_in_reasoning=True))
    check_m3(ask(eager, "m3:enabled", stream), IN_REASONING)
    check_m3(ask(eager, "m3:enabled", stream, **thinking("adaptive")), IN_CONTENT)
    plain = client(servers.proxy(dialect="m3", start_in_reasoning=False))
    check_m3(ask(plain, "m3:enabled", stream, **thinking("enabled")), IN_REASONING)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(
    "kwargs",
    ["enabled", ["thinking_mode", "enabled"], {"thinking_mode": True}, {"thinking_mode": None}],
)
def test_proxy_other_chat_template_kwargs_leave_the_start_state_alone(
    servers: Servers, stream: bool, kwargs: Any
) -> None:
    """Only a string ``thinking_mode`` is read; whatever else the field holds is the upstream's
    to judge (forwarded unchanged, never a 400 from the proxy), and the proxy's start state
    holds."""
    extra = {"extra_body": {"chat_template_kwargs": kwargs}}
    for start, channels in ((None, IN_CONTENT), (True, IN_REASONING), (False, IN_CONTENT)):
        port = servers.proxy(dialect="m3", start_in_reasoning=start)
        check_m3(ask(client(port), "m3:enabled", stream, **extra), channels)
        assert servers.last_body()["chat_template_kwargs"] == kwargs


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_proxy_m2_ignores_thinking_mode(servers: Servers, stream: bool) -> None:
    """thinking_mode is M3's template argument; M2's template always opens <think>."""
    for port in (servers.proxy(), servers.proxy(dialect="m2")):
        got = ask(client(port), "m2:plain", stream, **thinking("disabled"))
        assert got == want(M2_TEXT, tools=TOOLS)
        assert (got["reasoning"], got["content"]) == ("Plan.", "Answer.")
        assert [c["name"] for c in got["tool_calls"]] == ["get_time"]


def test_make_app_rejects_a_bad_dialect() -> None:
    for bad in ("m4", "M3", ""):
        with pytest.raises(ValueError, match="m3"):
            make_app("http://127.0.0.1:1/v1", dialect=bad)  # type: ignore[arg-type]


# -- the SDK adapters, over real openai clients ----------------------------------------------------


def test_sdk_adapters_m3(servers: Servers) -> None:
    c = client(servers.upstream_port)
    kw: dict[str, Any] = {"model": "m3:adaptive", "messages": MESSAGES, "tools": TOOLS}
    with c.chat.completions.create(**kw, stream=True) as stream:
        out = list(wrap_stream(stream, tools=TOOLS, dialect="m3"))
    assert all(isinstance(chunk, ChatCompletionChunk) for chunk in out)
    assert out[0].choices[0].delta.role == "assistant"
    got = merged(out)
    check_m3(got, IN_REASONING)
    assert got == want(ADAPTIVE, tools=TOOLS, dialect="m3")

    completion = wrap_completion(c.chat.completions.create(**kw), tools=TOOLS, dialect="m3")
    assert isinstance(completion, ChatCompletion)
    assert message(completion) == got

    async def collect() -> list[ChatCompletionChunk]:
        ac = aclient(servers.upstream_port)
        try:
            stream = await ac.chat.completions.create(**kw, stream=True)
            async with stream:
                return [chunk async for chunk in awrap_stream(stream, tools=TOOLS, dialect="m3")]
        finally:
            await ac.close()

    assert merged(asyncio.run(collect())) == got


def test_sdk_adapters_m3_enabled_mode(servers: Servers) -> None:
    """A request made with thinking_mode "enabled" is read with ``start_in_reasoning=True``;
    without it, the dialect's start state (content) holds."""
    c = client(servers.upstream_port)
    kw: dict[str, Any] = {"model": "m3:enabled", "messages": MESSAGES, "tools": TOOLS}
    kw.update(thinking("enabled"))
    for start, channels in ((True, IN_REASONING), (None, IN_CONTENT), (False, IN_CONTENT)):
        opts: dict[str, Any] = {"tools": TOOLS, "dialect": "m3", "start_in_reasoning": start}
        with c.chat.completions.create(**kw, stream=True) as stream:
            check_m3(merged(wrap_stream(stream, **opts)), channels)
        check_m3(message(wrap_completion(c.chat.completions.create(**kw), **opts)), channels)


def test_sdk_adapters_default_dialect_is_m2(servers: Servers) -> None:
    c = client(servers.upstream_port)
    kw: dict[str, Any] = {"model": "m3:adaptive", "messages": MESSAGES, "tools": TOOLS}
    with c.chat.completions.create(**kw, stream=True) as stream:
        got = merged(wrap_stream(stream, tools=TOOLS))
    assert got == want(ADAPTIVE, tools=TOOLS) and not got["tool_calls"]
    assert message(wrap_completion(c.chat.completions.create(**kw), tools=TOOLS)) == got


def test_sdk_adapters_m3_after_upstream_reasoning() -> None:
    """An upstream that already separated the reasoning: the content is parsed from outside
    reasoning, in the M3 dialect."""
    chunks = [
        chunk({"role": "assistant", "reasoning_content": "Upstream reasoning."}),
        *(chunk({"content": BLOCK[i : i + PIECE]}) for i in range(0, len(BLOCK), PIECE)),
        chunk({}, "stop"),
    ]
    got = merged(wrap_stream(chunks, tools=TOOLS, dialect="m3", start_in_reasoning=True))
    check_m3(got, {"reasoning": "Upstream reasoning.", "content": None})


def test_sdk_adapters_reject_a_bad_dialect() -> None:
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}}]}
    for bad in ("m4", "M3", ""):
        with pytest.raises(ValueError, match="m3"):
            wrap_stream([], dialect=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="m3"):
            awrap_stream(nothing(), dialect=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="m3"):
            wrap_completion(completion, dialect=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="m3"):
            StreamRewriter(dialect=bad)  # type: ignore[arg-type]


async def nothing() -> AsyncIterator[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for item in items:
        yield item
