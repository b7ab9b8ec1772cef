"""The proxy's hardening (issue 8), end to end on loopback: a scriptable upstream server that
records every request it receives, the real proxy in front of it, and real clients (the ``openai``
SDK, ``http.client``). Every server runs on 127.0.0.1 with an ephemeral port, in one event loop
on a background thread; hypothesis drives malformed upstream streams and bodies through them."""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import openai
import pytest
from aiohttp import web
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import minimax_parser as mp
from minimax_parser.proxy import make_app

from conftest import Fixture, load_fixtures
from loopback import LoopbackServers

T = TypeVar("T")

WAIT = 10.0  # seconds: the bound on every wait for something another thread does
TEXT = (
    'I should call.</think>Checking.<minimax:tool_call><invoke name="get_weather">'
    '<parameter name="days">3</parameter></invoke></minimax:tool_call>'
)
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"days": {"type": "integer"}}},
        },
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {}}},
]
MESSAGES: list[Any] = [{"role": "user", "content": "x"}]


# -- loopback servers ------------------------------------------------------------------------------


class Loop(LoopbackServers):
    """The servers of this module's tests (upstreams and proxies)."""

    def __init__(self) -> None:
        super().__init__(wait=WAIT)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 3 * WAIT) -> T:
        return super().call(coro, timeout)


@dataclass
class Script:
    """What the upstream answers a chat completion with: ``body`` in writes of ``write`` bytes
    (0: one write)."""

    body: bytes
    content_type: str = "text/event-stream"
    write: int = 0
    #: after the body: "eof" (a clean end), "hang" (silence until the proxy leaves) or "abort"
    #: (the connection dropped before the end of the chunked body)
    end: str = "eof"


@dataclass
class Seen:
    method: str
    raw_path: str
    authorization: str | None
    body: bytes


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }


def sse(obj: Any) -> bytes:
    return b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"


def sse_script(text: str, piece: int = 5) -> bytes:
    """``text`` streamed the way an upstream without a parser does, in ``piece``-sized parts."""
    out = [sse(chunk({"role": "assistant", "content": ""}))]
    out += [sse(chunk({"content": text[i : i + piece]})) for i in range(0, len(text), piece)]
    return b"".join([*out, sse(chunk(finish="stop")), b"data: [DONE]\n\n"])


class Upstream:
    """An OpenAI-compatible server without a parser. Chat completions: model ``script:N`` replays
    a registered :class:`Script`; ``t-gate:NAME`` waits until the test opens that gate;
    ``t-sleep:SECONDS`` answers after that long; ``t-streamgate:NAME`` streams one chunk and the
    rest after the gate opens; any other model gets a completion saying "ok". ``GET .../models...``
    answers a model list (status :attr:`models_status`). Records every request, raw path
    included, and the peak number of gated requests in flight."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.seen: list[Seen] = []
        self.scripts: dict[str, Script] = {}
        self.models_status = 200
        self.in_flight = 0
        self.peak = 0
        self._gates: dict[str, asyncio.Event] = {}
        self._ids = itertools.count()
        self.lock = threading.Lock()
        self.port = loop.serve(self.app())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def add(self, script: Script) -> str:
        name = f"script:{next(self._ids)}"
        self.scripts[name] = script
        return name

    def gate(self, name: str) -> asyncio.Event:  # on the loop's thread only
        return self._gates.setdefault(name, asyncio.Event())

    def open(self, name: str) -> None:
        self.loop.loop.call_soon_threadsafe(lambda: self.gate(name).set())

    def paths(self) -> list[str]:
        with self.lock:
            return [s.raw_path for s in self.seen]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self.lock:
            self.seen.append(
                Seen(request.method, request.raw_path, request.headers.get("Authorization"), body)
            )
        if request.method == "GET":
            if request.path.endswith("/models"):
                data = {"object": "list", "data": [{"id": "MiniMax-M2", "object": "model"}]}
                return web.json_response(data, status=self.models_status)
            return web.json_response({"id": request.path, "object": "model"})
        if request.path != "/v1/chat/completions":
            return web.json_response({"error": f"no {request.path} here"}, status=404)
        model = str(json.loads(body).get("model"))
        kind, _, arg = model.partition(":")
        if model in self.scripts:
            return await self.replay(request, self.scripts[model])
        if kind == "t-gate":
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                await self.gate(arg).wait()
            finally:
                self.in_flight -= 1
        elif kind == "t-sleep":
            await asyncio.sleep(float(arg))
        elif kind == "t-streamgate":
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(sse(chunk({"role": "assistant", "content": "Hi</think>"})))
            await self.gate(arg).wait()
            await resp.write(sse(chunk({"content": "there"}, "stop")) + b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        return web.json_response(completion("</think>ok"))

    async def replay(self, request: web.Request, script: Script) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": script.content_type})
        await resp.prepare(request)
        size = script.write or len(script.body) or 1
        for i in range(0, len(script.body), size):
            await resp.write(script.body[i : i + size])
        if script.end == "hang":
            await asyncio.Event().wait()  # cancelled when the proxy drops the connection
        if script.end == "abort":
            assert request.transport is not None
            request.transport.abort()
            return resp
        await resp.write_eof()
        return resp


@dataclass
class Env:
    loop: Loop
    upstream: Upstream
    proxies: dict[str, int] = field(default_factory=dict)

    def proxy(self, upstream: str | None = None, **settings: Any) -> int:
        """The port of a proxy with these settings (one per setting, reused)."""
        url = upstream or self.upstream.url
        key = json.dumps([url, settings], sort_keys=True)
        if key not in self.proxies:
            self.proxies[key] = self.loop.serve(make_app(url, **settings))
        return self.proxies[key]


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with Loop() as loop:
        yield Env(loop, Upstream(loop))


# -- clients ---------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def error(self) -> dict[str, Any]:
        """The ``{"error": {"message", "type"}}`` body, checked."""
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        body = self.json()
        error = body["error"]
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["type"], str) and error["type"]
        return dict(error)


def send(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
) -> Reply:
    """One request with ``http.client``: the path goes out byte for byte."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3 * WAIT)
    try:
        if chunked:
            conn.putrequest(method, path)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            data = body or b""
            for i in range(0, len(data), 65536):
                part = data[i : i + 65536]
                conn.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def post(port: int, body: Any, **kw: Any) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-test"}
    return send(port, "POST", "/v1/chat/completions", raw, headers, **kw)


def client(port: int) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0, timeout=3 * WAIT
    )


def events(body: bytes) -> list[str]:
    """The data of each event of a complete SSE body, checked for well-formedness: UTF-8, every
    event ended by a blank line, data JSON objects (strict: no NaN) or a last ``[DONE]``."""
    text = body.decode("utf-8")
    assert text == "" or text.endswith("\n\n"), f"the stream was cut: {text[-80:]!r}"
    out = []
    for block in text.split("\n\n")[:-1]:
        lines = block.split("\n")
        assert all(line.startswith(("data: ", ":", "event: ")) for line in lines), block
        if any(line.startswith("data: ") for line in lines):
            out.append("\n".join(ln[len("data: ") :] for ln in lines if ln.startswith("data: ")))
    for i, data in enumerate(out):
        if data == "[DONE]":
            assert i == len(out) - 1, "[DONE] comes last"
        else:
            assert isinstance(json.loads(data, parse_constant=_no_constant), dict), data
    return out


def _no_constant(name: str) -> Any:
    raise AssertionError(f"the proxy sent {name}, which is not JSON")


@dataclass
class Stream:
    """A streamed reply, split into chunks, error events and the ``[DONE]`` marker."""

    chunks: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    done: bool


def stream(port: int, model: str, tools: list[Any] | None = None, **extra: Any) -> Stream:
    body: dict[str, Any] = {"model": model, "messages": MESSAGES, "stream": True, **extra}
    if tools is not None:
        body["tools"] = tools
    reply = post(port, body)
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["content-type"].startswith("text/event-stream")
    data = events(reply.body)
    done = bool(data) and data[-1] == "[DONE]"
    decoded = [json.loads(d) for d in (data[:-1] if done else data)]
    errors = [d["error"] for d in decoded if "error" in d]
    return Stream([d for d in decoded if "error" not in d], errors, done)


def merged(chunks: list[dict[str, Any]]) -> tuple[dict[str, Any], str | None]:
    """What a client makes of the chunks: reasoning, content, calls and the finish reason."""
    reasoning = content = ""
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for c in chunks:
        for choice in c["choices"]:
            delta = choice["delta"]
            reasoning += delta.get("reasoning_content") or ""
            content += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                if call.get("id"):
                    calls[call["index"]] = {"name": call["function"]["name"], "arguments": ""}
                calls[call["index"]]["arguments"] += call["function"].get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    got = {
        "reasoning": reasoning or None,
        "content": content or None,
        "tool_calls": [calls[i] for i in sorted(calls)],
    }
    return got, finish


def expected(text: str, tools: list[Any] | None) -> dict[str, Any]:
    msg = mp.parse(text, tools=tools)
    return {
        "reasoning": msg.reasoning,
        "content": msg.content,
        "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in msg.tool_calls],
    }


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``GET /metrics``, parsed as Prometheus text exposition (and checked on the way)."""
    reply = send(port, "GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    types: dict[str, str] = {}
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in reply.body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#"):
            assert line.startswith("# HELP "), line
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        assert m, f"not an exposition line: {line!r}"
        name, labels, value = m.groups()
        pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or "")
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, f"{name} has no # TYPE"
        samples[(name, frozenset(pairs))] = float(value)
    return samples


def sample(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# -- 1. malformed upstream chunks ------------------------------------------------------------------

BEFORE = sse(chunk({"role": "assistant", "content": ""})) + sse(
    chunk({"content": "Thinking.</think>Hello"})
)
AFTER = sse(chunk({"content": ", world"})) + sse(chunk(finish="stop")) + b"data: [DONE]\n\n"
MALFORMED_CHUNKS = {
    "tool_calls_string": b'{"choices": [{"index": 0, "delta": {"tool_calls": "abc"}}]}',
    "tool_calls_of_ints": b'{"choices": [{"index": 0, "delta": {"tool_calls": [1]}}]}',
    "tool_call_without_index": b'{"choices": [{"index": 0, "delta": {"tool_calls": [{}]}}]}',
    "tool_call_function_string": (
        b'{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": "f"}]}}]}'
    ),
    "index_infinity": b'{"choices": [{"index": Infinity, "delta": {"content": "x"}}]}',
    "index_nan": b'{"choices": [{"index": NaN, "delta": {"content": "x"}}]}',
    "index_huge_float": b'{"choices": [{"index": 1e999, "delta": {"content": "x"}}]}',
    "index_negative": b'{"choices": [{"index": -1, "delta": {"content": "x"}}]}',
    "index_string": b'{"choices": [{"index": "0", "delta": {"content": "x"}}]}',
    "index_bool": b'{"choices": [{"index": true, "delta": {"content": "x"}}]}',
    "choices_object": b'{"choices": {"index": 0}}',
    "choices_of_strings": b'{"choices": ["x"]}',
    "delta_string": b'{"choices": [{"index": 0, "delta": "x"}]}',
    "content_number": b'{"choices": [{"index": 0, "delta": {"content": 5}}]}',
    "content_lone_surrogate": b'{"choices": [{"index": 0, "delta": {"content": "\\ud800"}}]}',
    "reasoning_lone_surrogate": (
        b'{"choices": [{"index": 0, "delta": {"reasoning_content": "a\\udc00"}}]}'
    ),
    "tool_call_arguments_lone_surrogate": (
        b'{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": '
        b'{"arguments": "\\ud800"}}]}}]}'
    ),
    "unknown_field_lone_surrogate": b'{"choices": [], "x_vendor": {"\\udfff": 1}}',
    "reasoning_list": b'{"choices": [{"index": 0, "delta": {"reasoning_content": [1]}}]}',
    "finish_reason_number": b'{"choices": [{"index": 0, "delta": {}, "finish_reason": 1}]}',
    "usage_nan": b'{"choices": [], "usage": {"total_tokens": NaN}}',
    "top_level_list": b"[1, 2]",
    "top_level_null": b"null",
    "not_json": b"this is not JSON",
    "empty_data": b"",
    "bad_utf8": b'{"choices": [{"index": 0, "delta": {"content": "\xff\xfe"}}]}',
    "encoded_surrogate": b'{"choices": [{"index": 0, "delta": {"content": "\xed\xa0\x80"}}]}',
    "deep_nesting": b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nesting_over_the_limit": b'{"x": ' + b"[" * 300 + b"]" * 300 + b"}",
}


@pytest.mark.parametrize("bad", MALFORMED_CHUNKS.values(), ids=MALFORMED_CHUNKS.keys())
def test_malformed_upstream_chunk_is_an_error_event_and_the_stream_goes_on(
    env: Env, bad: bytes
) -> None:
    model = env.upstream.add(Script(BEFORE + sse(bad) + AFTER, write=61))
    got = stream(env.proxy(), model)
    assert [e["type"] for e in got.errors] == ["upstream_malformed_chunk"]
    assert got.errors[0]["message"].startswith("malformed upstream chunk: ")
    assert got.done
    assert merged(got.chunks) == (
        {"reasoning": "Thinking.", "content": "Hello, world", "tool_calls": []},
        "stop",
    )


def test_malformed_event_name_and_cut_last_event(env: Env) -> None:
    body = BEFORE + b"event: \xff\n" + sse(chunk({"content": "lost"}))
    body += sse(chunk({"content": ", world"})) + b'data: {"choices": [{"ind'  # cut, no [DONE]
    got = stream(env.proxy(), env.upstream.add(Script(body, write=7)))
    types = ["upstream_malformed_chunk"] * 2 + ["upstream_error"]
    assert [e["type"] for e in got.errors] == types
    assert got.errors[-1]["message"] == "upstream stream ended before [DONE]"
    assert not got.done, "the upstream sent no [DONE]: neither does the proxy"
    assert merged(got.chunks)[0]["content"] == "Hello, world"


MALFORMED_COMPLETIONS = {
    "choices_string": b'{"choices": "abc"}',
    "message_string": b'{"choices": [{"index": 0, "message": "x"}]}',
    "content_number": b'{"choices": [{"index": 0, "message": {"content": 5}}]}',
    "tool_calls_string": (
        b'{"choices": [{"index": 0, "message": {"content": "x", "tool_calls": "abc"}}]}'
    ),
    "reasoning_number": (
        b'{"choices": [{"message": {"content": "a</think>b", "reasoning_content": 1}}]}'
    ),
    "index_infinity": b'{"choices": [{"index": Infinity, "message": {"content": "x"}}]}',
    "nan": b'{"choices": [], "usage": {"total_tokens": NaN}}',
    "top_level_list": b"[1]",
    "not_json": b"{nope",
    "bad_utf8": b'{"choices": [{"message": {"content": "\xff"}}]}',
    "reasoning_lone_surrogate": (
        b'{"choices": [{"message": {"content": "x", "reasoning_content": "\\ud800"}}]}'
    ),
    "deep_nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("bad", MALFORMED_COMPLETIONS.values(), ids=MALFORMED_COMPLETIONS.keys())
def test_malformed_upstream_completion_is_502(env: Env, bad: bytes) -> None:
    model = env.upstream.add(Script(bad, content_type="application/json"))
    reply = post(env.proxy(), {"model": model, "messages": MESSAGES})
    assert reply.status == 502
    error = reply.error()
    assert error["type"] == "upstream_malformed_response"
    assert error["message"].startswith("malformed upstream response: ")


# -- 2. only the documented paths reach the upstream -----------------------------------------------

TRAVERSALS = [
    "/v1/models/%2e%2e/%2e%2e/secret",
    "/v1/models/../../admin",
    "/v1/models/..",
    "/v1/models/.%2e/x",
    "/v1/models/%2E%2E/%2E%2E/secret",
    "/v1/models/a%2f..%2f..%2fadmin",
    "/v1/models/a%2F..%2F..%2Fadmin",
    "/v1/models/a%5c..%5cadmin",
    "/v1/models/a/./b",
    "/v1/models/a//b",
    "/v1/models/%00",
    "/v1/models/%ff",
    "/v1/completions",
    "/v1/embeddings",
    "/admin",
    "/v1/chat/completions/../../admin",
    "/v1/models/",
    "/",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_undocumented_paths_are_404_and_never_reach_the_upstream(env: Env, path: str) -> None:
    port = env.proxy()
    before = env.upstream.paths()
    for method in ("GET", "POST"):
        body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
        reply = send(port, method, path, body, {"Authorization": "Bearer sk-secret"})
        if method == "POST" and path.startswith("/v1/models/") and reply.status == 405:
            assert reply.error()["type"] == "method_not_allowed"
            continue
        assert reply.status == 404, (method, path, reply.body[:200])
        assert reply.error()["type"] == "not_found"
    assert env.upstream.paths() == before, "nothing was forwarded"


@pytest.mark.parametrize(
    ("path", "upstream_path"),
    [
        ("/v1/models", "/v1/models"),
        ("/v1/models?limit=2", "/v1/models?limit=2"),
        ("/v1/models/MiniMax-M2", "/v1/models/MiniMax-M2"),
        ("/v1/models/MiniMaxAI/MiniMax-M2", "/v1/models/MiniMaxAI/MiniMax-M2"),
        ("/v1/models/qwen2.5:7b", "/v1/models/qwen2.5:7b"),
        ("/v1/models/a%20b", "/v1/models/a%20b"),
        ("/v1/models/%41bc", "/v1/models/Abc"),
    ],
)
def test_documented_model_paths_are_forwarded_under_the_base(
    env: Env, path: str, upstream_path: str
) -> None:
    reply = send(env.proxy(), "GET", path, headers={"Authorization": "Bearer sk-m"})
    assert reply.status == 200
    seen = env.upstream.seen[-1]
    assert (seen.method, seen.raw_path, seen.authorization) == ("GET", upstream_path, "Bearer sk-m")


def test_wrong_method_is_405_json(env: Env) -> None:
    reply = send(env.proxy(), "GET", "/v1/chat/completions")
    assert reply.status == 405
    assert reply.error()["type"] == "method_not_allowed"
    assert reply.headers["allow"] == "POST"


# -- 3. tool_choice --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tool_text_models(env: Env) -> dict[bool, str]:
    """Models replaying TEXT, streamed (True) or as one completion (False)."""
    return {
        True: env.upstream.add(Script(sse_script(TEXT), write=17)),
        False: env.upstream.add(
            Script(json.dumps(completion(TEXT)).encode(), content_type="application/json")
        ),
    }


def _ask(port: int, model: str, streamed: bool, tool_choice: Any) -> tuple[dict[str, Any], str]:
    c = client(port)
    kw: dict[str, Any] = {"model": model, "messages": MESSAGES, "tools": TOOLS}
    if tool_choice is not None:
        kw["tool_choice"] = tool_choice
    if not streamed:
        choice = c.chat.completions.create(**kw).choices[0]
        msg = choice.message
        calls = [
            {"name": t.function.name, "arguments": t.function.arguments}
            for t in msg.tool_calls or []
            if t.type == "function"
        ]
        got = {
            "reasoning": getattr(msg, "reasoning_content", None),
            "content": msg.content,
            "tool_calls": calls,
        }
        return got, choice.finish_reason
    chunks = [
        ch.model_dump(exclude_unset=True) for ch in c.chat.completions.create(**kw, stream=True)
    ]
    got, finish = merged(chunks)
    assert finish is not None
    return got, finish


NAMED = {"type": "function", "function": {"name": "get_weather"}}
CALL = [{"name": "get_weather", "arguments": '{"days": 3}'}]


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize(
    ("tool_choice", "want_calls"),
    [(None, CALL), ("auto", CALL), ("none", []), ("required", CALL), (NAMED, CALL)],
    ids=["absent", "auto", "none", "required", "named"],
)
def test_tool_choice_like_the_vllm_plugin(
    env: Env,
    tool_text_models: dict[bool, str],
    streamed: bool,
    tool_choice: Any,
    want_calls: list[dict[str, str]],
) -> None:
    port = env.proxy()
    got, finish = _ask(port, tool_text_models[streamed], streamed, tool_choice)
    # "none": the markup is parsed and the calls dropped, so it does not leak into content.
    assert got == {"reasoning": "I should call.", "content": "Checking.", "tool_calls": want_calls}
    assert finish == ("tool_calls" if want_calls else "stop")
    forwarded = json.loads(env.upstream.seen[-1].body)
    assert forwarded.get("tool_choice") == tool_choice, "tool_choice goes upstream unchanged"


@pytest.mark.parametrize(
    ("tool_choice", "tools", "message"),
    [
        ("sometimes", TOOLS, "'tool_choice' must be"),
        (5, TOOLS, "'tool_choice' must be"),
        ({"type": "function"}, TOOLS, "'tool_choice' must be"),
        ({"type": "function", "function": {"name": ""}}, TOOLS, "'tool_choice' must be"),
        ({"type": "web_search"}, TOOLS, "'tool_choice' must be"),
        ({"type": "function", "function": {"name": "nope"}}, TOOLS, "not in 'tools'"),
        (NAMED, [{"name": ["get_weather"]}], "not in 'tools'"),
        ("required", None, "needs a non-empty 'tools'"),
        ("required", [], "needs a non-empty 'tools'"),
    ],
)
def test_bad_tool_choice_is_400(
    env: Env, tool_choice: Any, tools: list[Any] | None, message: str
) -> None:
    body: dict[str, Any] = {"model": "m", "messages": MESSAGES, "tool_choice": tool_choice}
    if tools is not None:
        body["tools"] = tools
    before = env.upstream.paths()
    reply = post(env.proxy(), body)
    assert reply.status == 400
    error = reply.error()
    assert error["type"] == "invalid_request_error" and message in error["message"]
    assert env.upstream.paths() == before


# -- 4. malformed requests -------------------------------------------------------------------------


def _deep_schema(levels: int) -> dict[str, Any]:
    """Arrays of arrays: one JSON level per schema level, so 200 of them are too deep for the
    parser (128) but within the proxy's JSON limit (256)."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return schema


def _body(**fields: Any) -> bytes:
    return json.dumps({"model": "m", "messages": MESSAGES, **fields}).encode()


BAD_REQUESTS: dict[str, tuple[bytes, str]] = {
    "invalid_json": (b"{not json", "not valid JSON"),
    "empty": (b"", "not valid JSON"),
    "deep_nesting": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "deep_object": (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    "nesting_over_the_limit": (
        _body(x=[[[[]]]]).replace(b"[[[[]]]]", b"[" * 300 + b"]" * 300),
        "nested too deeply",
    ),
    "not_utf8": (b'{"model": "m\xff", "messages": []}', "not valid UTF-8"),
    "nan": (b'{"model": "m", "messages": [], "temperature": NaN}', "NaN is not JSON"),
    "list_body": (b"[]", "must be a JSON object"),
    "string_body": (b'"hi"', "must be a JSON object"),
    "no_messages": (json.dumps({"model": "m"}).encode(), "'messages' must be a list"),
    "messages_string": (_body(messages="hi"), "'messages' must be a list"),
    "messages_of_ints": (_body(messages=[1]), "'messages[0]' must be an object"),
    "tools_string": (_body(tools="x"), "'tools' must be a list"),
    "tools_of_ints": (_body(tools=[1]), "'tools[0]' must be an object"),
    "stream_string": (_body(stream="yes"), "'stream' must be a boolean"),
    "stream_int": (_body(stream=1), "'stream' must be a boolean"),
    "tool_choice_list": (_body(tool_choice=["auto"]), "'tool_choice' must be"),
    "tool_without_name": (_body(tools=[{"type": "function", "function": {}}]), "invalid tools"),
    "tool_schema_too_deep": (
        _body(tools=[{"name": "f", "parameters": _deep_schema(200)}]),
        "invalid tools",
    ),
}


@pytest.mark.parametrize(("raw", "message"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_malformed_request_is_400_json(env: Env, raw: bytes, message: str, chunked: bool) -> None:
    port = env.proxy()
    before = env.upstream.paths()
    reply = post(port, raw, chunked=chunked)
    assert reply.status == 400, reply.body[:300]
    error = reply.error()
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]
    assert len(error["message"]) < 1000
    assert env.upstream.paths() == before, "nothing was forwarded"


# -- 5. upstream concurrency -----------------------------------------------------------------------


def test_more_than_100_requests_reach_the_upstream_at_once(env: Env) -> None:
    port = env.proxy()
    n = 120

    async def go() -> tuple[int, list[int]]:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as s:

            async def one() -> int:
                body = {"model": "t-gate:many", "messages": MESSAGES}
                async with s.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body) as r:
                    await r.read()
                    return r.status

            tasks = [asyncio.create_task(one()) for _ in range(n)]
            deadline = time.monotonic() + WAIT
            while env.upstream.in_flight < n and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            reached = env.upstream.in_flight
            env.upstream.open("many")
            return reached, list(await asyncio.gather(*tasks))

    reached, statuses = asyncio.run(go())
    assert reached == n, f"only {reached} of {n} requests reached the upstream"
    assert statuses == [200] * n


def test_queueing_for_a_connection_does_not_count_against_the_timeout(env: Env) -> None:
    # One slot, 3 s per upstream request (and 3 s of waiting for a slot at most). A holds the slot
    # for 1.5 s. B waits for it, then takes 2.2 s upstream: 3.7 s in all, more than the timeout,
    # and still succeeds, because its timeout starts when it is sent. C queues behind B, whose slot
    # frees only at 3.7 s, and gives up after its 3 s of waiting: 503. Every margin is at least
    # 0.7 s, so a loaded machine does not change the outcome.
    port = env.proxy(max_connections=1, timeout=3.0)
    results: dict[str, Reply] = {}

    def ask(name: str, model: str) -> threading.Thread:
        def run() -> None:
            results[name] = post(port, {"model": model, "messages": MESSAGES})

        t = threading.Thread(target=run)
        t.start()
        return t

    def gauge(name: str) -> float:
        return sample(scrape(port), name)

    threads = [ask("A", "t-sleep:1.5")]
    wait_until(lambda: gauge("minimax_proxy_upstream_requests_in_flight") == 1, "A upstream")
    threads.append(ask("B", "t-sleep:2.2"))
    wait_until(lambda: gauge("minimax_proxy_upstream_requests_waiting") == 1, "B waiting")
    threads.append(ask("C", "t-gate:hold-c"))
    for t in threads:
        t.join(3 * WAIT)
    env.upstream.open("hold-c")
    assert {k: r.status for k, r in results.items()} == {"A": 200, "B": 200, "C": 503}
    assert results["B"].json()["choices"][0]["message"]["content"] == "ok"
    busy = results["C"].error()
    assert busy["type"] == "upstream_busy" and "--max-connections" in busy["message"]
    samples = scrape(port)
    assert sample(samples, "minimax_proxy_errors_total", kind="upstream_busy") == 1
    assert sample(samples, "minimax_proxy_upstream_requests_in_flight") == 0


@pytest.mark.parametrize(
    "settings",
    [
        {"max_connections": 0},
        {"max_connections": -1},
        {"max_connections": 1.5},
        {"max_connections": True},
        {"max_body_bytes": 0},
        {"max_body_bytes": "1"},
        {"timeout": math.inf},
        {"timeout": -1},
    ],
)
def test_make_app_rejects_bad_limits(settings: dict[str, Any]) -> None:
    name = next(iter(settings))
    with pytest.raises(ValueError, match=name):
        make_app("http://127.0.0.1:1/v1", **settings)


# -- 6. request body size --------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_body_over_the_limit_is_413(env: Env, chunked: bool) -> None:
    port = env.proxy(max_body_bytes=1000)
    before = env.upstream.paths()
    fits = _body(x="a" * 900)
    assert len(fits) <= 1000 and post(port, fits, chunked=chunked).status == 200
    reply = post(port, _body(x="a" * 1000), chunked=chunked)
    assert reply.status == 413
    error = reply.error()
    assert error["type"] == "request_too_large"
    assert "1000 bytes" in error["message"] and "--max-body-bytes" in error["message"]
    assert len(env.upstream.paths()) == len(before) + 1, "only the body that fits went upstream"


def test_default_body_limit_is_32_mib(env: Env) -> None:
    port = env.proxy()
    before = len(env.upstream.paths())
    reply = post(port, _body(x="a" * (32 * 1024 * 1024)))
    assert reply.status == 413
    assert "33554432 bytes" in reply.error()["message"]
    assert len(env.upstream.paths()) == before


# -- 7. /health and /metrics -----------------------------------------------------------------------


def test_health(env: Env) -> None:
    reply = send(env.proxy(), "GET", "/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "upstream": {"status": 200}}
    assert env.upstream.seen[-1].raw_path == "/v1/models", "the probe asks the upstream's /models"
    env.upstream.models_status = 500
    try:
        reply = send(env.proxy(), "GET", "/health")
    finally:
        env.upstream.models_status = 200
    assert reply.status == 503
    assert reply.json()["status"] == "unavailable"
    assert "status 500" in reply.error()["message"]


def test_health_when_the_upstream_is_down(env: Env) -> None:
    port = env.proxy(upstream="http://127.0.0.1:1/v1")
    reply = send(port, "GET", "/health")
    assert reply.status == 503
    assert reply.json()["status"] == "unavailable"
    assert reply.error()["type"] == "upstream_unreachable"
    assert sample(scrape(port), "minimax_proxy_errors_total", kind="upstream_unreachable") >= 1


def test_metrics_move(env: Env, tool_text_models: dict[bool, str]) -> None:
    port = env.proxy(timeout=599)  # a proxy of its own: counts start at 0
    first = scrape(port)
    for kind in ("bad_request", "upstream_malformed_chunk", "upstream_timeout", "not_found"):
        assert sample(first, "minimax_proxy_errors_total", kind=kind) == 0, "listed before use"

    reply = post(port, {"model": tool_text_models[False], "messages": MESSAGES, "tools": TOOLS})
    assert reply.status == 200
    got = stream(port, tool_text_models[True], TOOLS)
    assert len(merged(got.chunks)[0]["tool_calls"]) == 1
    assert post(port, b"{nope").status == 400
    assert send(port, "GET", "/v1/models/..%2f..%2fx").status == 404
    bad = env.upstream.add(Script(BEFORE + sse(MALFORMED_CHUNKS["tool_calls_string"]) + AFTER))
    assert len(stream(port, bad).errors) == 1

    s = scrape(port)
    requests = "minimax_proxy_requests_total"
    assert sample(s, requests, path="/v1/chat/completions", status="200") == 3
    assert sample(s, requests, path="/v1/chat/completions", status="400") == 1
    assert sample(s, requests, path="/v1/models/{model}", status="404") == 1
    assert sample(s, requests, path="/metrics", status="200") == 1  # the first scrape
    errors = "minimax_proxy_errors_total"
    assert sample(s, errors, kind="bad_request") == 1
    assert sample(s, errors, kind="not_found") == 1
    assert sample(s, errors, kind="upstream_malformed_chunk") == 1
    assert sample(s, "minimax_proxy_tool_calls_total") == 2

    latency = "minimax_proxy_request_duration_seconds"
    path = {"path": "/v1/chat/completions"}
    assert sample(s, latency + "_count", **path) == 4
    buckets = sorted(
        (float(dict(labels)["le"]), v)
        for (name, labels), v in s.items()
        if name == latency + "_bucket" and dict(labels)["path"] == path["path"]
    )
    assert buckets[-1] == (math.inf, 4)
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(buckets)), "cumulative"
    parse = "minimax_proxy_parse_duration_seconds"
    assert sample(s, parse + "_count") == 3, "each request that reached the parser"
    assert sample(s, parse + "_sum") > 0
    assert sample(s, "minimax_proxy_open_streams") == 0


def test_open_streams_gauge(env: Env) -> None:
    port = env.proxy(timeout=598)
    gauge = "minimax_proxy_open_streams"
    with client(port).chat.completions.create(
        model="t-streamgate:open", messages=MESSAGES, stream=True
    ) as s:
        chunks = iter(s)
        assert getattr(next(chunks).choices[0].delta, "reasoning_content", None) == "Hi"
        assert sample(scrape(port), gauge) == 1
        env.upstream.open("open")
        rest = list(chunks)
    assert rest[-1].choices[0].finish_reason == "stop"
    wait_until(lambda: sample(scrape(port), gauge) == 0, "the stream to close")


# -- hypothesis: malformed upstream streams, bodies and requests -----------------------------------

FIXTURES: list[Fixture] = [f for f in load_fixtures() if not f.options and len(f.input) < 1500]

_BY_TYPE: dict[type, st.SearchStrategy[Any]] = {
    int: st.integers(-5, 5),
    float: st.floats(allow_nan=False, allow_infinity=False),
    str: st.text(max_size=3),
    bool: st.booleans(),
    list: st.lists(st.integers(), max_size=2),
    dict: st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
}


def _wrong(*legal: type) -> st.SearchStrategy[Any]:
    """JSON values of none of the ``legal`` types (null is legal everywhere it is used; a bool
    is not an int, nor is 0.0)."""
    return st.one_of([s for t, s in _BY_TYPE.items() if t not in legal])


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


_BASE = {"choices": [{"index": 0, "delta": {"content": "x", "tool_calls": [
    {"index": 0, "id": "c", "function": {"name": "f", "arguments": ""}}
]}, "finish_reason": None}]}  # fmt: skip
_TYPED_PATHS: list[tuple[tuple[Any, ...], tuple[type, ...]]] = [
    (("choices",), (list,)),
    (("choices", 0), (dict,)),
    (("choices", 0, "index"), (int,)),
    (("choices", 0, "delta"), (dict,)),
    (("choices", 0, "finish_reason"), (str,)),
    (("choices", 0, "delta", "content"), (str,)),
    (("choices", 0, "delta", "role"), (str,)),
    (("choices", 0, "delta", "reasoning_content"), (str,)),
    (("choices", 0, "delta", "tool_calls"), (list,)),
    (("choices", 0, "delta", "tool_calls", 0), (dict,)),
    (("choices", 0, "delta", "tool_calls", 0, "index"), (int,)),
    (("choices", 0, "delta", "tool_calls", 0, "function"), (dict,)),
    (("choices", 0, "delta", "tool_calls", 0, "function", "arguments"), (str,)),
]


@st.composite
def malformed_chunk(draw: st.DrawFn) -> bytes:
    """One SSE data payload (no newline) that is not a well-formed chunk."""
    kind = draw(st.sampled_from(["wrong_type", "constant", "top_level", "text", "utf8", "deep"]))
    base = json.loads(json.dumps(_BASE))
    if kind == "wrong_type":
        path, legal = draw(st.sampled_from(_TYPED_PATHS))
        wrong = _wrong(*legal)
        if path[-1] == "index":
            wrong = st.one_of(wrong, st.integers(max_value=-1))  # non-negative ones are legal
        return json.dumps(_set(base, path, draw(wrong))).encode()
    if kind == "constant":
        path, _ = draw(st.sampled_from(_TYPED_PATHS[2:]))
        marker = "__CONSTANT__"
        text = json.dumps(_set(base, path, marker))
        constant = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400"]))
        return text.replace(f'"{marker}"', constant).encode()
    if kind == "top_level":
        value = draw(st.one_of(st.none(), _wrong(dict)))
        return json.dumps(value).encode()
    if kind == "text":
        text = draw(st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20))
        full = json.dumps(base)
        prefix = full[: draw(st.integers(0, len(full) - 1))]
        choice = draw(st.sampled_from([text, prefix, "{" + text]))
        assume(not _is_object(choice) and choice.strip() != "[DONE]")
        return choice.encode()
    if kind == "utf8":
        raw = json.dumps(base).encode()
        at = raw.index(b'"x"') + 1
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
        return raw[:at] + junk + raw[at:]
    depth = draw(st.integers(2_000, 50_000))
    return b'{"x": ' + b"[" * depth + b"]" * depth + b"}"


def _valid_noise() -> st.SearchStrategy[bytes]:
    """Events that are well-formed and carry no text: they must change nothing."""
    return st.sampled_from(
        [
            b": keep-alive\n\n",
            sse({"choices": [], "usage": {"prompt_tokens": 1}}),
            sse({"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": None}]}),
            sse({"choices": [{"index": 0, "delta": None, "x_vendor": [1, {"a": None}]}]}),
            b"id: 7\nretry: 100\n" + sse(chunk({"content": ""})),
        ]
    )


@dataclass
class UpstreamStream:
    fixture: Fixture
    body: bytes
    write: int
    text: str  # the content of the well-formed chunks, in order
    malformed: int
    finish: bool
    done: bool


@st.composite
def upstream_streams(draw: st.DrawFn) -> UpstreamStream:
    fx = draw(st.sampled_from(FIXTURES))
    text = fx.input
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=6)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    parts: list[bytes] = [sse(chunk({"role": "assistant", "content": ""}))]
    malformed = 0
    for piece in [*pieces, None]:
        for _ in range(draw(st.integers(0, 2))):
            if draw(st.booleans()):
                parts.append(sse(draw(malformed_chunk())))
                malformed += 1
            else:
                parts.append(draw(_valid_noise()))
        if piece is not None:
            parts.append(sse(chunk({"content": piece})))
    ending = draw(st.sampled_from(["finish_done", "done", "finish_eof", "cut"]))
    finish = ending in ("finish_done", "finish_eof")
    if finish:
        parts.append(sse(chunk(finish="stop")))
    if ending in ("finish_done", "done"):
        parts.append(b"data: [DONE]\n\n")
    if ending == "cut":  # the last event stops part-way through its JSON
        last = json.dumps(chunk({"content": "lost"}))
        parts.append(b"data: " + last[: draw(st.integers(0, len(last) - 1))].encode())
        malformed += 1
    return UpstreamStream(
        fx,
        b"".join(parts),
        draw(st.integers(1, 97)),
        text,
        malformed,
        finish,
        ending in ("finish_done", "done"),
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=upstream_streams())
def test_property_the_proxy_never_cuts_a_stream(env: Env, case: UpstreamStream) -> None:
    model = env.upstream.add(Script(case.body, write=case.write))
    got = stream(env.proxy(), model, case.fixture.tools)  # checks the SSE is well-formed
    # A stream that ends before [DONE] with a choice left unfinished ends with an upstream_error.
    cut = not case.done and not case.finish
    assert len(got.errors) == case.malformed + cut, got.errors
    kinds = ["upstream_malformed_chunk"] * case.malformed + ["upstream_error"] * cut
    assert sorted(e["type"] for e in got.errors) == sorted(kinds)
    if cut:
        assert got.errors[-1]["type"] == "upstream_error"
    assert got.done == case.done
    result, finish = merged(got.chunks)
    assert result == expected(case.text, case.fixture.tools)
    if case.finish:
        assert finish == ("tool_calls" if result["tool_calls"] else "stop")
    else:
        assert finish is None


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def upstream_completions(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """An upstream ``chat.completion`` body, what it should give (``"valid"``, ``"malformed"``
    or ``"either"``) and the raw model output in it."""
    text = draw(st.sampled_from(FIXTURES)).input
    doc = completion(text)
    kind = draw(st.sampled_from(["valid", "wrong_type", "random", "chunk"]))
    if kind == "valid":
        doc["x_vendor"] = draw(_JSON)
        return json.dumps(doc).encode(), "valid", text
    if kind == "wrong_type":
        path, legal = draw(st.sampled_from(_MESSAGE_PATHS))
        return json.dumps(_set(doc, path, draw(_wrong(*legal)))).encode(), "malformed", text
    if kind == "random":
        value = draw(_JSON)
        return (
            json.dumps(value).encode(),
            "either" if isinstance(value, dict) else "malformed",
            text,
        )
    # A malformed chunk: as a completion, its delta is just an unknown field.
    raw = draw(malformed_chunk())
    return raw, "either" if raw.startswith(b'{"choices"') else "malformed", text


_MESSAGE_PATHS: list[tuple[tuple[Any, ...], tuple[type, ...]]] = [
    (("choices",), (list,)),
    (("choices", 0), (dict,)),
    (("choices", 0, "index"), (int,)),
    (("choices", 0, "message"), (dict,)),
    (("choices", 0, "message", "content"), (str,)),
    (("choices", 0, "message", "reasoning_content"), (str,)),
    (("choices", 0, "message", "tool_calls"), (list,)),
    (("choices", 0, "finish_reason"), (str,)),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=upstream_completions())
def test_property_upstream_bodies_give_200_or_a_clear_502(
    env: Env, case: tuple[bytes, str, str]
) -> None:
    raw, want, text = case
    model = env.upstream.add(Script(raw, content_type="application/json"))
    reply = post(env.proxy(), {"model": model, "messages": MESSAGES})
    assert reply.status in {"valid": (200,), "malformed": (502,), "either": (200, 502)}[want]
    if reply.status == 502:
        assert reply.error()["type"] == "upstream_malformed_response"
        return
    body = json.loads(reply.body, parse_constant=_no_constant)
    assert isinstance(body, dict)
    if want == "valid":
        assert body["choices"][0]["message"]["content"] == mp.parse(text).content


_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "model": _JSON,
        "messages": st.one_of(st.just(MESSAGES), _JSON),
        "tools": st.one_of(st.just(TOOLS), _JSON),
        "stream": st.one_of(st.booleans(), _JSON),
        "tool_choice": st.one_of(st.sampled_from(["auto", "none", "required", NAMED]), _JSON),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        _FIELDS.map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=40),
        st.integers(200, 5000).map(lambda d: b'{"messages": ' + b"[" * d + b"]" * d + b"}"),
        malformed_chunk(),
    )
)
def test_property_requests_get_an_answer_or_a_4xx_never_a_500(env: Env, body: bytes) -> None:
    before = len(env.upstream.paths())
    reply = post(env.proxy(), body)
    if reply.status == 200:
        assert len(env.upstream.paths()) == before + 1
        return
    assert reply.status == 400, (reply.status, reply.body[:300])
    assert reply.error()["type"] == "invalid_request_error"
    assert len(env.upstream.paths()) == before, "an invalid request never goes upstream"


# -- 9. review fixes -------------------------------------------------------------------------------


def decoded(body: bytes) -> list[tuple[str | None, str]]:
    """``(event name, data)`` of each event as the OpenAI SDK's decoder reads the stream."""
    from openai._streaming import SSEDecoder

    return [(e.event, e.data) for e in SSEDecoder().iter_bytes(iter([body]))]


def comments(body: bytes) -> list[bytes]:
    """The comment lines of a stream, split the way the SSE spec does (CRLF, LF or CR)."""
    return [ln for ln in re.split(rb"\r\n|\r|\n", body) if ln.startswith(b":")]


INJECTED = b'data: {"injected": "<minimax:tool_call>raw"}'
SMUGGLING = {
    "comment_then_cr": b": keepalive\r" + INJECTED + b"\r\n\n",
    "comment_then_lone_crs": b": keepalive\r" + INJECTED + b"\r\r",
    "event_name_then_cr": b"event: x\r" + INJECTED + b"\n\n",
}


@pytest.mark.parametrize("write", [0, 1, 7], ids=["whole", "bytewise", "7-byte-writes"])
@pytest.mark.parametrize("smuggled", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_bare_cr_ends_a_line_and_smuggles_nothing(env: Env, smuggled: bytes, write: int) -> None:
    model = env.upstream.add(Script(BEFORE + smuggled + AFTER, write=write))
    reply = post(env.proxy(), {"model": model, "messages": MESSAGES, "stream": True})
    assert reply.status == 200
    events(reply.body)  # well-formed, every line ended by LF
    # The injected event is read as one (CR ends a line) and checked like any other: a chunk
    # without choices is passed on as one, with "choices": [] and the data re-serialized.
    for _, data in decoded(reply.body):
        if "injected" in data:
            assert json.loads(data) == {"injected": "<minimax:tool_call>raw", "choices": []}
    assert sum("injected" in data for _, data in decoded(reply.body)) == 1
    assert all(c == b": keep-alive" for c in comments(reply.body)), comments(reply.body)
    got = stream(env.proxy(), model)
    assert got.errors == [] and got.done
    assert merged(got.chunks) == (
        {"reasoning": "Thinking.", "content": "Hello, world", "tool_calls": []},
        "stop",
    )


def test_bare_cr_makes_the_same_stream_as_lf(env: Env) -> None:
    lf = BEFORE + b": one\n\nevent: chunk\n" + sse(chunk({"content": " and"})) + AFTER
    cr = lf.replace(b"\n", b"\r")
    crlf = lf.replace(b"\n", b"\r\n")
    answers = set()
    for body in (lf, cr, crlf):
        model = env.upstream.add(Script(body, write=3))
        reply = post(env.proxy(), {"model": model, "messages": MESSAGES, "stream": True})
        answers.add(reply.body)
    assert len(answers) == 1, answers
    [body] = answers
    assert comments(body) == [b": keep-alive"], "a fixed keep-alive, not the upstream's text"
    assert b"event: chunk\n" in body


def test_lines_split_on_a_cr_at_the_end_of_a_read() -> None:
    from minimax_parser.proxy import _Lines

    lines = _Lines()
    assert lines.feed(b"a\r") == [b"a"]
    assert lines.feed(b"\nb\r\r\nc") == [b"b", b""]
    assert lines.feed(b"\r") == [b"c"]
    assert lines.feed(b"\n") == []
    assert lines.feed(b"\n") == [b""]
    assert lines.feed(b"d\n\re") == [b"d", b""]
    assert lines.rest() == [b"e"]


CONTROL_EVENT_NAMES = [b"a\x00b", b"a\x1bb", b"a\x7fb", "a\u2028b".encode(), "a\x85b".encode()]


@pytest.mark.parametrize("name", CONTROL_EVENT_NAMES)
def test_event_names_with_control_characters_are_refused(env: Env, name: bytes) -> None:
    body = BEFORE + b"event: " + name + b"\n" + sse(chunk({"content": "lost"}))
    body += b"event: " + name + b"\n" + b"data: [DONE]\n\n"
    model = env.upstream.add(Script(body))
    reply = post(env.proxy(), {"model": model, "messages": MESSAGES, "stream": True})
    names = [event for event, _ in decoded(reply.body) if event is not None]
    assert names == [], names
    got = stream(env.proxy(), model)
    assert [e["type"] for e in got.errors] == ["upstream_malformed_chunk"]
    assert "event name" in got.errors[0]["message"]
    assert got.done
    assert merged(got.chunks)[0]["content"] == "Hello"


def _many_messages(size: int) -> bytes:
    one = b'{"role": "user", "content": "x"}, '
    n = (size - 100) // len(one)
    return b'{"model": "big", "messages": [' + one * n + b'{"role": "user", "content": "x"}]}'


def test_request_checks_run_off_the_event_loop(env: Env) -> None:
    """A 30 MiB body is checked on a worker thread: while its check runs, the proxy answers
    other requests (the in-progress gauge is read through the proxy itself)."""
    port = env.proxy()
    body = _many_messages(30 * 1024 * 1024)
    replies: list[Reply] = []
    sender = threading.Thread(target=lambda: replies.append(post(port, body)), daemon=True)
    sender.start()
    name = "minimax_proxy_request_checks_in_progress"
    wait_until(lambda: sample(scrape(port), name) == 1, "the big body's check to be seen running")
    small = post(port, {"model": "m", "messages": MESSAGES})
    assert small.status == 200, small.body[:300]
    sender.join(3 * WAIT)
    assert [r.status for r in replies] == [200]
    assert sample(scrape(port), name) == 0


def test_corrupt_gzip_body_is_400(env: Env) -> None:
    import gzip

    port = env.proxy()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    good = gzip.compress(_body())
    assert send(port, "POST", "/v1/chat/completions", good, headers).status == 200
    before = len(env.upstream.paths())
    for bad in (b"this is not gzip", good[:-10], good[:10] + b"\x00" * 20):
        reply = send(port, "POST", "/v1/chat/completions", bad, headers)
        assert reply.status == 400, (reply.status, reply.body[:300])
        error = reply.error()
        assert error["type"] == "invalid_request_error"
        assert "request body" in error["message"]
    assert len(env.upstream.paths()) == before


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        ("http://user:secret@127.0.0.1:1/v1", "credentials"),
        ("http://user@127.0.0.1:1/v1", "credentials"),
        ("http://:secret@127.0.0.1:1/v1", "credentials"),
        ("http://127.0.0.1:1/v1?key=abc", "query"),
        ("http://127.0.0.1:1/v1?", "query"),
        ("http://127.0.0.1:1/v1#frag", "fragment"),
        ("http://127.0.0.1:1/v1#", "fragment"),
    ],
)
def test_make_app_rejects_credentials_query_and_fragment(upstream: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        make_app(upstream)
    assert "secret" not in str(info.value) and "abc" not in str(info.value)


NOT_A_COMPLETION = {
    "text_plain_markup": (b"<minimax:tool_call>raw</minimax:tool_call>", "text/plain"),
    "ndjson": (b'{"choices": []}\n{"choices": []}\n', "application/x-ndjson"),
    "empty": (b"", "text/plain"),
    "html": (b"<html>hi</html>", "text/html"),
    "json_array_as_text": (b"[1]", "text/plain"),
}


@pytest.mark.parametrize(("raw", "kind"), NOT_A_COMPLETION.values(), ids=NOT_A_COMPLETION.keys())
def test_2xx_body_that_is_not_a_completion_is_502(env: Env, raw: bytes, kind: str) -> None:
    model = env.upstream.add(Script(raw, content_type=kind))
    reply = post(env.proxy(), {"model": model, "messages": MESSAGES})
    assert reply.status == 502, reply.body[:300]
    assert reply.error()["type"] == "upstream_malformed_response"


def test_a_completion_under_another_content_type_is_parsed(env: Env) -> None:
    raw = json.dumps(completion("Thinking.</think>Hello")).encode()
    model = env.upstream.add(Script(raw, content_type="text/plain"))
    reply = post(env.proxy(), {"model": model, "messages": MESSAGES})
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/json")
    message = reply.json()["choices"][0]["message"]
    assert (message["reasoning_content"], message["content"]) == ("Thinking.", "Hello")


HELD_BACK = "Thinking.</think>Hello <minimax:tool"  # " <minimax:tool" waits for more


@pytest.mark.parametrize("end", ["hang", "abort"])
def test_held_back_text_is_flushed_before_a_mid_stream_error(env: Env, end: str) -> None:
    body = sse(chunk({"role": "assistant", "content": ""})) + sse(chunk({"content": HELD_BACK}))
    model = env.upstream.add(Script(body, end=end))
    got = stream(env.proxy(timeout=1.0), model)
    kind = "upstream_timeout" if end == "hang" else "upstream_error"
    assert [e["type"] for e in got.errors] == [kind]
    assert not got.done
    assert merged(got.chunks)[0]["content"] == mp.parse(HELD_BACK).content == "Hello <minimax:tool"
    reply = post(env.proxy(timeout=1.0), {"model": model, "messages": MESSAGES, "stream": True})
    assert "error" in json.loads(events(reply.body)[-1]), "the error event comes last"


def test_clean_eof_before_done_with_an_unfinished_choice_is_an_upstream_error(env: Env) -> None:
    got = stream(env.proxy(), env.upstream.add(Script(BEFORE)))
    assert [(e["type"], e["message"]) for e in got.errors] == [
        ("upstream_error", "upstream stream ended before [DONE]")
    ]
    assert not got.done
    assert merged(got.chunks) == (
        {"reasoning": "Thinking.", "content": "Hello", "tool_calls": []},
        None,
    )
    # Every choice finished, no [DONE]: the stream just ends, as before.
    got = stream(env.proxy(), env.upstream.add(Script(BEFORE + sse(chunk(finish="stop")))))
    assert got.errors == [] and not got.done
    assert merged(got.chunks)[1] == "stop"


def test_client_gone_mid_stream_is_counted_as_499(env: Env) -> None:
    port = env.proxy()
    gate = f"gone-{time.monotonic_ns()}"
    before = sample(
        scrape(port), "minimax_proxy_requests_total", path="/v1/chat/completions", status="499"
    )
    with client(port).chat.completions.create(
        model=f"t-streamgate:{gate}", messages=MESSAGES, stream=True
    ) as s:
        next(iter(s))
    # The proxy notices at its next write, once the upstream goes on.
    env.upstream.open(gate)
    labels = {"path": "/v1/chat/completions", "status": "499"}
    wait_until(
        lambda: sample(scrape(port), "minimax_proxy_requests_total", **labels) == before + 1,
        "the request counted as 499",
    )


def test_metrics_render_nan_as_prometheus_does() -> None:
    from minimax_parser.metrics import Registry

    r = Registry()
    g = r.gauge("g", "a gauge")
    g.inc(math.nan)
    h = r.histogram("h", "a histogram", [1.0])
    h.observe(math.nan)
    text = r.render()
    assert "\ng NaN\n" in text
    assert "h_sum NaN" in text
