"""The proxy (``minimax_parser.proxy``) end to end: a real upstream server replaying raw MiniMax-M2
output, the proxy in front of it, and the ``openai`` SDK (sync and async) as the client. Every
server runs on 127.0.0.1 with an ephemeral port, in one event loop on a background thread."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import openai
import pytest
from aiohttp import web
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from minimax_parser.proxy import make_app

from conftest import Fixture, load_fixtures
from loopback import LoopbackServers

T = TypeVar("T")

FIXTURES = load_fixtures()
BY_NAME = {f.name: f for f in FIXTURES}
#: Characters of raw text per upstream content chunk; small, so markup is cut everywhere.
PIECE = 4
#: Bytes per upstream socket write of a fixture stream: cuts lines and UTF-8 characters.
WRITE = 61
WAIT = 5.0  # seconds: the bound on every wait for something another thread does


def _chunk(model: str, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": choices,
    }


def _sse(obj: object) -> str:
    return f"data: {json.dumps(obj)}\n\n"


# -- the upstream: an OpenAI-compatible server that sends the raw markup in content ---------------


@dataclass
class Upstream:
    """Replays fixtures (model ``fixture:<name>``) and misbehaves on request (other models)."""

    port: int = 0
    #: (path, Authorization header, raw body) of each request, in order.
    requests: list[tuple[str, str | None, bytes]] = field(default_factory=list)
    #: Set when the handler of the request whose last message is the key saw its client go.
    disconnected: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        return app

    def record(self, request: web.Request, raw: bytes) -> None:
        with self.lock:
            self.requests.append((request.path, request.headers.get("Authorization"), raw))

    def gone(self, tag: str) -> threading.Event:
        with self.lock:
            return self.disconnected.setdefault(tag, threading.Event())

    async def models(self, request: web.Request) -> web.Response:
        self.record(request, b"")
        body = {"object": "list", "data": [{"id": "MiniMax-M2", "object": "model", "created": 0}]}
        return web.json_response(body, headers={"X-Upstream": "models"})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.record(request, raw)
        body = json.loads(raw)
        model: str = body["model"]
        stream = bool(body.get("stream"))
        tag = str(body["messages"][-1]["content"])
        if model.startswith("fixture:"):
            text = BY_NAME[model.removeprefix("fixture:")].input
            if not stream:
                return web.json_response(
                    {
                        "id": "chatcmpl-up",
                        "object": "chat.completion",
                        "created": 0,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                )
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self.replay(request, model, text, usage, crlf=len(text) % 2 == 1)
        if model == "unauthorized":
            error = {"error": {"message": "bad key", "type": "invalid_request_error"}}
            return web.json_response(error, status=401, headers={"X-Upstream": "401"})
        if model == "slow":  # answers long after the proxy's timeout, unless cancelled first
            await asyncio.sleep(10)
            return web.json_response({"error": "too late"}, status=500)
        if model == "malformed":
            resp = await self.start_sse(request)
            for line in (
                _sse(_chunk(model, {"role": "assistant", "content": ""})),
                _sse(_chunk(model, {"content": "Thinking.</think>Hello"})),
                'data: {"choices": [ this is not JSON\n\n',
                _sse(_chunk(model, {"content": ", world"})),
                _sse(_chunk(model, {}, "stop")),
                "data: [DONE]\n\n",
            ):
                await resp.write(line.encode())
            await resp.write_eof()
            return resp
        if model in ("endless", "stall"):
            # endless: a chunk every 20 ms (at most 10 s); stall: one chunk, then silence.
            resp = await self.start_sse(request)
            try:
                await resp.write(_sse(_chunk(model, {"role": "assistant", "content": ""})).encode())
                for i in range(500):
                    if model == "stall" and i:
                        await asyncio.sleep(10)
                        break
                    await resp.write(_sse(_chunk(model, {"content": f"{i} "})).encode())
                    await asyncio.sleep(0.02)
            except (ConnectionError, asyncio.CancelledError):
                self.gone(tag).set()
                raise
            return resp
        raise AssertionError(f"unknown test model {model!r}")

    async def start_sse(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        return resp

    async def replay(
        self, request: web.Request, model: str, text: str, usage: bool, crlf: bool
    ) -> web.StreamResponse:
        events = [": keep-alive\n\n", _sse(_chunk(model, {"role": "assistant", "content": ""}))]
        for i in range(0, len(text), PIECE):
            events.append(_sse(_chunk(model, {"content": text[i : i + PIECE]})))
        events.append(_sse(_chunk(model, {}, "stop")))
        if usage:
            u = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            events.append(_sse({**_chunk(model, None), "usage": u}))
        events.append("data: [DONE]\n\n")
        data = "".join(events)
        if crlf:
            data = data.replace("\n", "\r\n")
        raw = data.encode()
        resp = await self.start_sse(request)
        for i in range(0, len(raw), WRITE):
            await resp.write(raw[i : i + WRITE])
        await resp.write_eof()
        return resp


# -- the servers: upstream and proxies in one background event loop --------------------------------


class Servers(LoopbackServers):
    def __init__(self) -> None:
        super().__init__(wait=WAIT)
        self.upstream = Upstream()
        self.upstream.port = self.serve(self.upstream.app())
        self.proxies: dict[str, int] = {}

    @property
    def upstream_url(self) -> str:
        return f"http://127.0.0.1:{self.upstream.port}/v1"

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return super().call(coro, timeout)

    def proxy(
        self,
        options: dict[str, Any] | None = None,
        timeout: float = 600,
        handler_cancellation: bool = True,
    ) -> int:
        """The port of a proxy with these settings in front of the upstream (one per setting)."""
        options = options or {}
        key = json.dumps([options, timeout, handler_cancellation], sort_keys=True)
        if key not in self.proxies:
            app = make_app(self.upstream_url, timeout=timeout, **options)
            self.proxies[key] = self.serve(app, handler_cancellation)
        return self.proxies[key]


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as s:
        yield s


def client(port: int, api_key: str = "sk-test") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=api_key, max_retries=0, timeout=20
    )


def aclient(port: int) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0, timeout=20
    )


def _messages(tag: str) -> list[Any]:
    return [{"role": "user", "content": tag}]


def _request(fx: Fixture) -> dict[str, Any]:
    req: dict[str, Any] = {"model": f"fixture:{fx.name}", "messages": _messages(fx.name)}
    if fx.tools is not None:
        req["tools"] = fx.tools
    return req


# -- what the client sees, merged ------------------------------------------------------------------


def want(fx: Fixture) -> tuple[dict[str, Any], str]:
    expected = {
        "reasoning": fx.expected["reasoning"],
        "content": fx.expected["content"],
        "tool_calls": [
            {"name": c["name"], "arguments": c["arguments"]} for c in fx.expected["tool_calls"]
        ],
    }
    return expected, "tool_calls" if fx.expected["tool_calls"] else "stop"


class Merge:
    """Merges ``chat.completion.chunk`` objects the way a client does."""

    def __init__(self) -> None:
        self.reasoning = ""
        self.content = ""
        self.calls: dict[int, dict[str, str]] = {}
        self.finish: str | None = None
        self.usage = False

    def add(self, chunk: ChatCompletionChunk) -> None:
        self.usage = self.usage or chunk.usage is not None
        for choice in chunk.choices:
            assert choice.index == 0
            delta = choice.delta
            self.reasoning += getattr(delta, "reasoning_content", None) or ""
            self.content += delta.content or ""
            for call in delta.tool_calls or []:
                fn = call.function
                if call.id is not None:
                    assert call.index not in self.calls, "one start per call"
                    assert fn is not None and fn.name
                    self.calls[call.index] = {"name": fn.name, "arguments": ""}
                self.calls[call.index]["arguments"] += (fn.arguments if fn else None) or ""
            if choice.finish_reason is not None:
                assert self.finish is None, "one finish reason"
                self.finish = choice.finish_reason

    def result(self) -> tuple[dict[str, Any], str | None]:
        return {
            "reasoning": self.reasoning or None,
            "content": self.content or None,
            "tool_calls": [self.calls[i] for i in sorted(self.calls)],
        }, self.finish


def merged(chunks: Iterable[ChatCompletionChunk]) -> tuple[dict[str, Any], str | None]:
    m = Merge()
    for chunk in chunks:
        m.add(chunk)
    return m.result()


def message(completion: ChatCompletion) -> tuple[dict[str, Any], str | None]:
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    msg = choice.message
    calls = []
    for call in msg.tool_calls or []:
        assert call.type == "function" and call.id.startswith("call_")
        calls.append({"name": call.function.name, "arguments": call.function.arguments})
    return {
        "reasoning": getattr(msg, "reasoning_content", None),
        "content": msg.content,
        "tool_calls": calls,
    }, choice.finish_reason


# -- every fixture through the proxy ---------------------------------------------------------------


def test_fixture_set_is_complete() -> None:
    assert len(FIXTURES) == len(BY_NAME) >= 186
    assert sum(1 for f in FIXTURES if f.options) >= 21, "non-default options are covered too"


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_sync_client(servers: Servers, fx: Fixture) -> None:
    c = client(servers.proxy(fx.options))
    req = _request(fx)
    expected = want(fx)
    with c.chat.completions.create(**req, stream=True) as stream:
        assert merged(stream) == expected
    assert message(c.chat.completions.create(**req)) == expected


def test_all_fixtures_async_client(servers: Servers) -> None:
    ports = {fx.name: servers.proxy(fx.options) for fx in FIXTURES}

    async def one(c: openai.AsyncOpenAI, fx: Fixture, sem: asyncio.Semaphore) -> list[str]:
        async with sem:
            expected = want(fx)
            m = Merge()
            stream = await c.chat.completions.create(
                **_request(fx), stream=True, stream_options={"include_usage": True}
            )
            async with stream:
                async for chunk in stream:
                    m.add(chunk)
            got_stream = m.result()
            got_message = message(await c.chat.completions.create(**_request(fx)))
        errors = []
        if got_stream != expected or not m.usage:
            errors.append(f"{fx.name} streamed: {got_stream} (usage {m.usage}) != {expected}")
        if got_message != expected:
            errors.append(f"{fx.name} not streamed: {got_message} != {expected}")
        return errors

    async def main() -> tuple[int, list[str]]:
        clients = {port: aclient(port) for port in set(ports.values())}
        sem = asyncio.Semaphore(8)
        try:
            results = await asyncio.gather(
                *(one(clients[ports[fx.name]], fx, sem) for fx in FIXTURES)
            )
        finally:
            for c in clients.values():
                await c.close()
        return len(results), [e for r in results for e in r]

    ran, errors = asyncio.run(main())
    assert ran == len(FIXTURES)
    assert not errors, "\n".join(errors[:10])


# -- forwarding ------------------------------------------------------------------------------------


def test_authorization_and_body_forwarded_unchanged(servers: Servers) -> None:
    port = servers.proxy()
    fx = BY_NAME["channels/basic_split"]
    c = client(port, api_key="sk-secret-123")
    c.chat.completions.create(**_request(fx))
    path, auth, _ = servers.upstream.requests[-1]
    assert (path, auth) == ("/v1/chat/completions", "Bearer sk-secret-123")

    # Byte for byte, including key order, spacing and fields the proxy knows nothing about.
    body = (
        b'{ "messages":[{"role":"user","content":"x"}],\n "model" : "fixture:'
        + fx.name.encode()
        + b'", "stream": false, "x_vendor": {"b": 1, "a": [1.50]} }'
    )

    async def post() -> int:
        async with aiohttp.ClientSession() as s:
            async with s.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                data=body,
                headers={"Content-Type": "application/json", "Authorization": "Bearer raw"},
            ) as r:
                await r.read()
                return r.status

    assert asyncio.run(post()) == 200
    assert servers.upstream.requests[-1] == ("/v1/chat/completions", "Bearer raw", body)


def test_models_passed_through(servers: Servers) -> None:
    port = servers.proxy()
    models = client(port, api_key="sk-models").models.list()
    assert [m.id for m in models.data] == ["MiniMax-M2"]
    assert servers.upstream.requests[-1][:2] == ("/v1/models", "Bearer sk-models")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=10) as r:
        assert r.status == 200
        assert r.headers["X-Upstream"] == "models"
        assert r.headers["Content-Type"].startswith("application/json")
        assert json.loads(r.read())["data"][0]["id"] == "MiniMax-M2"
    assert servers.upstream.requests[-1][:2] == ("/v1/models", None)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_error_status_and_body_passed_through(servers: Servers, stream: bool) -> None:
    c = client(servers.proxy())
    with pytest.raises(openai.AuthenticationError) as info:
        c.chat.completions.create(model="unauthorized", messages=_messages("x"), stream=stream)
    e = info.value
    assert e.status_code == 401
    assert e.body == {"message": "bad key", "type": "invalid_request_error"}
    assert e.response.headers["content-type"].startswith("application/json")
    assert e.response.headers["x-upstream"] == "401"
    assert e.response.json() == {"error": {"message": "bad key", "type": "invalid_request_error"}}


def test_upstream_unreachable_is_502(servers: Servers) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
        app = make_app(f"http://127.0.0.1:{dead}/v1")
        port = servers.serve(app)
        with pytest.raises(openai.APIStatusError) as info:
            client(port).chat.completions.create(model="m", messages=_messages("x"))
    assert info.value.status_code == 502
    assert info.value.response.json()["error"]["type"] == "upstream_unreachable"


def test_bad_request_body_is_400(servers: Servers) -> None:
    port = servers.proxy()
    before = len(servers.upstream.requests)
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", data=b"{not json", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 400
    assert json.loads(info.value.read())["error"]["type"] == "invalid_request_error"
    assert len(servers.upstream.requests) == before, "nothing was forwarded"


# -- failures --------------------------------------------------------------------------------------


def _raw_stream(port: int, model: str, tag: str = "x") -> list[str]:
    """The data lines of a streamed request, read with a plain HTTP client."""

    async def go() -> list[str]:
        timeout = aiohttp.ClientTimeout(total=WAIT)
        async with aiohttp.ClientSession(timeout=timeout) as s:
            body = {"model": model, "messages": _messages(tag), "stream": True}
            async with s.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body) as r:
                assert r.status == 200
                assert r.content_type == "text/event-stream"
                text = (await r.read()).decode()
        return [line for line in text.split("\n") if line.startswith("data: ")]

    return asyncio.run(go())


def test_malformed_upstream_chunk(servers: Servers) -> None:
    port = servers.proxy()
    lines = _raw_stream(port, "malformed")
    errors = [i for i, line in enumerate(lines) if '"error"' in line]
    assert len(errors) == 1
    error = json.loads(lines[errors[0]].removeprefix("data: "))["error"]
    assert error["type"] == "upstream_malformed_chunk"
    assert error["message"].startswith("malformed upstream chunk: ")
    assert "this is not JSON" in error["message"]
    after = [json.loads(line.removeprefix("data: ")) for line in lines[errors[0] + 1 : -1]]
    assert after[0]["choices"][0]["delta"]["content"] == ", world"
    assert after[-1]["choices"][0]["finish_reason"] == "stop"
    assert lines[-1] == "data: [DONE]"
    before = [json.loads(line.removeprefix("data: ")) for line in lines[: errors[0]]]
    assert before[-1]["choices"][0]["delta"] == {
        "reasoning_content": "Thinking.",
        "content": "Hello",
    }

    # The SDK turns the error event into an exception...
    c = client(port)
    with pytest.raises(openai.APIError, match="malformed upstream chunk"):
        with c.chat.completions.create(
            model="malformed", messages=_messages("x"), stream=True
        ) as s:
            for _ in s:
                pass
    # ...and the proxy goes on serving.
    fx = BY_NAME["channels/basic_split"]
    with c.chat.completions.create(**_request(fx), stream=True) as stream:
        assert merged(stream) == want(fx)


def test_upstream_timeout_non_streaming_is_504(servers: Servers) -> None:
    c = client(servers.proxy(timeout=0.5))
    start = time.monotonic()
    with pytest.raises(openai.InternalServerError) as info:
        c.chat.completions.create(model="slow", messages=_messages("x"))
    assert time.monotonic() - start < 3
    assert info.value.status_code == 504
    error = info.value.response.json()["error"]
    assert error["type"] == "upstream_timeout"
    assert "0.5 s" in error["message"]


def test_upstream_timeout_streaming(servers: Servers) -> None:
    port = servers.proxy(timeout=0.5)
    # Before the upstream answered: a 504, as without streaming.
    with pytest.raises(openai.InternalServerError) as info:
        client(port).chat.completions.create(model="slow", messages=_messages("x"), stream=True)
    assert info.value.status_code == 504
    # After the stream started: an error event, then the end of the stream.
    start = time.monotonic()
    lines = _raw_stream(port, "stall")
    assert time.monotonic() - start < 3
    last = json.loads(lines[-1].removeprefix("data: "))
    assert last["error"]["type"] == "upstream_timeout"
    delta = json.loads(lines[-2].removeprefix("data: "))["choices"][0]["delta"]
    assert delta == {"reasoning_content": "0"}  # "0 " in reasoning; the space is held back


@pytest.mark.parametrize(
    ("model", "handler_cancellation"),
    [("endless", False), ("stall", True)],
    ids=["noticed-at-next-write", "noticed-while-upstream-is-silent"],
)
def test_client_disconnect_stops_upstream(
    servers: Servers, caplog: pytest.LogCaptureFixture, model: str, handler_cancellation: bool
) -> None:
    caplog.set_level(logging.INFO, logger="minimax_parser.proxy")
    port = servers.proxy(handler_cancellation=handler_cancellation)
    since = time.time()
    tag = f"disconnect-{model}"
    gone = servers.upstream.gone(tag)
    with client(port).chat.completions.create(
        model=model, messages=_messages(tag), stream=True
    ) as stream:
        chunks = iter(stream)
        assert next(chunks).choices[0].delta.role == "assistant"
        assert getattr(next(chunks).choices[0].delta, "reasoning_content", None) == "0"
    # The client closed its connection: the proxy drops the upstream's.
    assert gone.wait(WAIT), "the upstream never saw the proxy go"
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not _records(caplog, since):
        time.sleep(0.02)
    [record] = _records(caplog, since)
    assert record["stream"] and record["status"] == 499  # nginx's "client closed request"
    assert record["note"] == "client_disconnected"


# -- logging and the command line ------------------------------------------------------------------


def _records(caplog: pytest.LogCaptureFixture, since: float) -> list[dict[str, Any]]:
    """The proxy's log lines for requests started at or after ``since`` (``time.time()``): a line
    is written when its request ends, which may be after the previous test is over."""
    out = []
    for r in caplog.records:
        fields: dict[str, Any] | None = getattr(r, "proxy", None)
        if r.name == "minimax_parser.proxy" and fields and fields["started_at"] >= since:
            out.append({**fields, "message": r.getMessage()})
    return out


def test_one_log_line_per_request(servers: Servers, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="minimax_parser.proxy")
    port = servers.proxy()
    c = client(port)
    since = time.time()
    fx = next(f for f in FIXTURES if not f.options and len(f.expected["tool_calls"]) == 2)
    with c.chat.completions.create(**_request(fx), stream=True) as stream:
        merged(stream)
    c.chat.completions.create(**_request(fx))
    c.models.list()
    with pytest.raises(openai.AuthenticationError):
        c.chat.completions.create(model="unauthorized", messages=_messages("x"))
    want_lines = [
        ("POST", "/v1/chat/completions", 200, True, 2),
        ("POST", "/v1/chat/completions", 200, False, 2),
        ("GET", "/v1/models", 200, False, 0),
        ("POST", "/v1/chat/completions", 401, False, 0),
    ]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and len(_records(caplog, since)) < len(want_lines):
        time.sleep(0.02)
    got = _records(caplog, since)
    keys = ("method", "path", "status", "stream", "tool_calls")
    assert sorted(tuple(r[k] for k in keys) for r in got) == sorted(want_lines)
    for r in got:
        assert r["message"].startswith(f"{r['method']} {r['path']} status={r['status']} ")
        assert f"duration_ms={r['duration_ms']}" in r["message"]
        assert f"tool_calls={r['tool_calls']}" in r["message"]
        assert isinstance(r["duration_ms"], int) and 0 <= r["duration_ms"] < 10_000


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_aiohttp_is_imported_only_by_the_proxy() -> None:
    r = _python(
        "import sys, minimax_parser, minimax_parser.proxy, minimax_parser.cli\n"
        "assert 'aiohttp' not in sys.modules, 'imported too early'\n"
        "minimax_parser.proxy.make_app('http://127.0.0.1:1/v1')\n"
        "assert 'aiohttp' in sys.modules\n"
    )
    assert r.returncode == 0, r.stderr


def test_missing_aiohttp_says_what_to_install() -> None:
    block = "import sys\nsys.modules['aiohttp'] = None  # as if it were not installed\n"
    r = _python(
        block + "from minimax_parser.proxy import make_app\n"
        "try:\n    make_app('http://127.0.0.1:1/v1')\n"
        "except ImportError as e:\n    print(e)\n"
    )
    assert r.returncode == 0, r.stderr
    assert "pip install 'minimax-parser[proxy]'" in r.stdout
    r = _python(
        block + "from minimax_parser.cli import main\n"
        "sys.exit(main(['proxy', '--upstream', 'http://127.0.0.1:1/v1']))\n"
    )
    assert r.returncode == 2
    assert "pip install 'minimax-parser[proxy]'" in r.stderr


def test_make_app_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="http"):
        make_app("127.0.0.1:11434/v1")
    with pytest.raises(ValueError, match="timeout"):
        make_app("http://127.0.0.1:1/v1", timeout=0)
    with pytest.raises(ValueError):
        make_app("http://127.0.0.1:1/v1", reasoning="sideways")


def test_cli_proxy_command(servers: Servers) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "minimax_parser", "proxy", "--upstream", servers.upstream_url]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--timeout", "30", "--reasoning", "inline"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    try:
        fx = BY_NAME["channels/basic_split"]
        deadline = time.monotonic() + 15
        while True:
            try:
                result = client(port).chat.completions.create(**_request(fx))
                break
            except openai.APIConnectionError:
                assert proc.poll() is None, "the proxy exited"
                assert time.monotonic() < deadline, "the proxy did not start"
                time.sleep(0.1)
        assert result.choices[0].message.content == mp_inline(fx)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=WAIT)
    lines = [line for line in stderr.splitlines() if "POST /v1/chat/completions" in line]
    assert len(lines) == 1 and "status=200 stream=false" in lines[0], stderr
    assert "minimax_parser.proxy" in lines[0]


def mp_inline(fx: Fixture) -> str | None:
    import minimax_parser as mp

    return mp.parse(fx.input, tools=fx.tools, reasoning="inline").content
