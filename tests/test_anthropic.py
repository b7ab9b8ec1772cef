"""``POST /v1/messages`` end to end: a real upstream server on loopback replaying raw MiniMax-M2 and
MiniMax-M3 output (every golden fixture), the proxy in front of it, and the official ``anthropic``
SDK (sync and async, ``messages.create`` and ``messages.stream``) as the client. The event
sequences are checked against the SDK's own stream accumulator."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import anthropic
import jiter
import pytest
from aiohttp import web
from anthropic.lib.streaming._messages import accumulate_event

from minimax_parser import proxy_anthropic
from minimax_parser.proxy import make_app
from minimax_parser.render import think_block

from conftest import Fixture, load_fixtures
from loopback import LoopbackServers

FIXTURES = load_fixtures()
BY_NAME = {f.name: f for f in FIXTURES}
PIECE = 4  # characters of raw text per upstream content chunk
WRITE = 61  # bytes per upstream socket write
USAGE = {"prompt_tokens": 17, "completion_tokens": 5, "total_tokens": 22}


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    if choices and extra:
        choices[0].update(extra)
    chunk = {"id": "up", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    return f"data: {json.dumps({**chunk, 'choices': choices})}\n\n"


# -- the upstream: an OpenAI-compatible server that sends the raw markup in content ----------------


@dataclass
class Upstream:
    """Answers by the request's model: ``fixture:NAME`` replays a fixture; ``length:NAME`` and
    ``stopseq:NAME`` replay it ending for length / at the stop string ``END``; ``unauthorized``,
    ``broken`` (500, plain text), ``slow`` and ``cut`` misbehave."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        return app

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        with self.lock:
            self.bodies.append(body)
            self.headers.append(dict(request.headers))
        model: str = body["model"]
        stream = bool(body.get("stream"))
        kind, _, name = model.partition(":")
        if kind in ("fixture", "length", "stopseq"):
            text = BY_NAME[name].input
            finish = "length" if kind == "length" else "stop"
            extra = {"stop_reason": "END"} if kind == "stopseq" else {}
            if not stream:
                choice = {"index": 0, "message": {"role": "assistant", "content": text}}
                choice.update(finish_reason=finish, **extra)
                doc = {"id": "up", "object": "chat.completion", "created": 0, "model": model}
                return web.json_response({**doc, "choices": [choice], "usage": USAGE})
            events = [": keep-alive\n\n", _chunk({"role": "assistant", "content": ""})]
            events += [_chunk({"content": text[i : i + PIECE]}) for i in range(0, len(text), PIECE)]
            events.append(_chunk({}, finish, **extra))
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append(f"data: {json.dumps({'choices': [], 'usage': USAGE})}\n\n")
            events.append("data: [DONE]\n\n")
            raw = "".join(events).encode()
            resp = await self.start(request)
            for i in range(0, len(raw), WRITE):
                await resp.write(raw[i : i + WRITE])
            await resp.write_eof()
            return resp
        if model == "unauthorized":
            error = {"error": {"message": "bad key", "type": "invalid_request_error"}}
            return web.json_response(error, status=401)
        if model == "broken":
            return web.Response(text="engine exploded", status=500)
        if model == "slow":  # silent for a while after the first chunk
            resp = await self.start(request)
            await resp.write(_chunk({"role": "assistant", "content": ""}).encode())
            await asyncio.sleep(0.5)
            for line in (_chunk({"content": "Hi"}), _chunk({}, "stop"), "data: [DONE]\n\n"):
                await resp.write(line.encode())
            await resp.write_eof()
            return resp
        if model == "cut":  # ends without a finish reason or [DONE]
            resp = await self.start(request)
            await resp.write(_chunk({"content": "Partial"}).encode())
            await resp.write_eof()
            return resp
        raise AssertionError(f"unknown test model {model!r}")

    async def start(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        return resp


class Servers(LoopbackServers):
    def __init__(self) -> None:
        super().__init__()
        self.upstream = Upstream()
        self.url = f"http://127.0.0.1:{self.serve(self.upstream.app())}/v1"
        self.proxies: dict[str, int] = {}

    def proxy(self, options: dict[str, Any] | None = None) -> int:
        key = json.dumps(options or {}, sort_keys=True)
        if key not in self.proxies:
            self.proxies[key] = self.serve(make_app(self.url, timeout=20, **(options or {})))
        return self.proxies[key]


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as s:
        yield s


def client(port: int) -> Any:  # untyped: the tests pass dicts the SDK types narrowly
    return anthropic.Anthropic(
        base_url=f"http://127.0.0.1:{port}", api_key="sk-ant", max_retries=0, timeout=20
    )


def aclient(port: int) -> Any:
    return anthropic.AsyncAnthropic(
        base_url=f"http://127.0.0.1:{port}", api_key="sk-ant", max_retries=0, timeout=20
    )


def anthropic_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for tool in tools or []:
        t = tool.get("function", tool)  # the OpenAI form or the bare {name, parameters}
        schema = t.get("parameters", {"type": "object"})
        out.append(
            {"name": t["name"], "description": t.get("description", ""), "input_schema": schema}
        )
    return out


def request(fx: Fixture, kind: str = "fixture") -> dict[str, Any]:
    req: dict[str, Any] = {
        "model": f"{kind}:{fx.name}",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": fx.name}],
    }
    if fx.tools is not None:
        req["tools"] = anthropic_tools(fx.tools)
    return req


# -- what the client sees --------------------------------------------------------------------------


def want(fx: Fixture, stop: str | None = None) -> dict[str, Any]:
    calls = [(c["name"], json.loads(c["arguments"])) for c in fx.expected["tool_calls"]]
    return {
        "thinking": fx.expected["reasoning"],
        "text": fx.expected["content"],
        "calls": calls,
        "stop_reason": stop or ("tool_use" if calls else "end_turn"),
    }


def got(message: Any) -> dict[str, Any]:
    thinking = "".join(b.thinking for b in message.content if b.type == "thinking")
    text = "".join(b.text for b in message.content if b.type == "text")
    for b in message.content:
        if b.type == "thinking":
            assert b.signature.startswith("minimax-parser:")
        if b.type == "tool_use":
            assert b.id.startswith("call_")
    return {
        "thinking": thinking or None,
        "text": text or None,
        "calls": [(b.name, b.input) for b in message.content if b.type == "tool_use"],
        "stop_reason": message.stop_reason,
    }


def comparable(message: Any) -> dict[str, Any]:
    """The message without its ids (each response has its own) and unset optional fields."""
    data: dict[str, Any] = message.model_dump(exclude_none=True)
    data.pop("id")
    for block in data["content"]:
        block.pop("id", None)
    assert data["usage"] == {"input_tokens": 17, "output_tokens": 5}
    return data


def check_events(events: list[Any]) -> Any:
    """Checks the order and content of a stream's events (SDK event objects, pings left out by
    the SDK) and returns the message the SDK's own accumulator makes of them."""
    assert events[0].type == "message_start" and events[0].message.content == []
    assert events[0].message.usage.output_tokens == 0
    assert [e.type for e in events[-2:]] == ["message_delta", "message_stop"]
    assert events[-2].usage.input_tokens == 17 and events[-2].usage.output_tokens == 5
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    open_block: int | None = None
    next_index = 0
    partial: dict[int, str] = {}
    for e in events:
        snapshot = accumulate_event(event=e, current_snapshot=snapshot, json_bufs=json_bufs)
        if e.type == "content_block_start":
            assert open_block is None and e.index == next_index
            open_block, next_index = e.index, next_index + 1
            kind = e.content_block.type
            assert kind in ("thinking", "text", "tool_use")
            if kind == "tool_use":
                assert e.content_block.input == {}
                partial[e.index] = ""
        elif e.type == "content_block_delta":
            assert e.index == open_block
            block = snapshot.content[e.index]
            allowed = {
                "thinking": ("thinking_delta", "signature_delta"),
                "text": ("text_delta",),
                "tool_use": ("input_json_delta",),
            }[block.type]
            assert e.delta.type in allowed
            if e.delta.type == "input_json_delta":
                assert e.delta.partial_json
                partial[e.index] += e.delta.partial_json
                jiter.from_json(partial[e.index].encode(), partial_mode=True)  # a JSON prefix
            elif e.delta.type in ("text_delta", "thinking_delta"):
                text = e.delta.text if e.delta.type == "text_delta" else e.delta.thinking
                assert text
        elif e.type == "content_block_stop":
            assert e.index == open_block
            block = snapshot.content[e.index]
            if block.type == "thinking":
                assert block.signature.startswith("minimax-parser:")
            if block.type == "tool_use":
                assert json.loads(partial[e.index]) == block.input
            open_block = None
    assert open_block is None
    return snapshot


# -- every fixture through the proxy ---------------------------------------------------------------


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_sync_client(servers: Servers, fx: Fixture) -> None:
    c = client(servers.proxy(fx.options))
    req = request(fx)
    message = c.messages.create(**req)
    assert got(message) == want(fx)
    with c.messages.stream(**req) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert got(final) == want(fx)
    assert comparable(final) == comparable(message)
    assert comparable(check_events(events)) == comparable(message)


def test_all_fixtures_async_client(servers: Servers) -> None:
    ports = {fx.name: servers.proxy(fx.options) for fx in FIXTURES}

    async def one(c: Any, fx: Fixture, sem: asyncio.Semaphore) -> list[str]:
        errors = []
        async with sem:
            message = await c.messages.create(**request(fx))
            async with c.messages.stream(**request(fx)) as stream:
                final = await stream.get_final_message()
            raw = await c.messages.create(**request(fx), stream=True)
            events = [e async for e in raw]
            length = await c.messages.create(**request(fx, "length"))
            async with c.messages.stream(**request(fx, "length")) as stream:
                length_final = await stream.get_final_message()
        if got(message) != want(fx):
            errors.append(f"{fx.name} create: {got(message)} != {want(fx)}")
        if comparable(final) != comparable(message):
            errors.append(f"{fx.name} stream: {comparable(final)} != {comparable(message)}")
        try:
            snapshot = check_events(events)
            if comparable(snapshot) != comparable(message):
                errors.append(f"{fx.name} events: {comparable(snapshot)}")
        except AssertionError as e:
            errors.append(f"{fx.name} events: {e!r}")
        # Stopped for length: max_tokens even when calls were made, the calls as they stand.
        if got(length) != want(fx, "max_tokens"):
            errors.append(f"{fx.name} length: {got(length)} != {want(fx, 'max_tokens')}")
        if comparable(length_final) != comparable(length):
            errors.append(f"{fx.name} length stream: {comparable(length_final)}")
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


def test_cut_off_call_is_a_tool_use_block_with_the_arguments_so_far(servers: Servers) -> None:
    cut = [
        f
        for f in FIXTURES
        if any(c["incomplete"] and json.loads(c["arguments"]) for c in f.expected["tool_calls"])
    ]
    assert {f.dialect for f in cut} == {"m2", "m3"}
    for fx in cut:
        c = client(servers.proxy(fx.options))
        for message in (
            c.messages.create(**request(fx, "length")),
            c.messages.stream(**request(fx, "length")).__enter__().get_final_message(),
        ):
            assert message.stop_reason == "max_tokens"
            calls = [b for b in message.content if b.type == "tool_use"]
            expected = fx.expected["tool_calls"]
            assert [b.input for b in calls] == [json.loads(c["arguments"]) for c in expected]


# -- translation of what is sent upstream ----------------------------------------------------------


def _session_fixture(dialect: str) -> Fixture:
    options = {} if dialect == "m2" else {"dialect": "m3"}
    return next(
        f
        for f in FIXTURES
        if f.options == options
        and f.expected["reasoning"]
        and f.expected["tool_calls"]
        and all(
            not c["incomplete"] and json.loads(c["arguments"]) for c in f.expected["tool_calls"]
        )
    )


@pytest.mark.parametrize("restore", ["inline", "field", "off"])
@pytest.mark.parametrize("dialect", ["m2", "m3"])
def test_claude_code_session_sends_thinking_and_tool_results_back(
    servers: Servers, dialect: Literal["m2", "m3"], restore: str
) -> None:
    fx = _session_fixture(dialect)
    port = servers.proxy({**fx.options, "restore_reasoning": restore})
    c = client(port)
    tools = anthropic_tools(fx.tools)
    system = [
        {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Use the tools."},
    ]
    first = [{"role": "user", "content": [{"type": "text", "text": "Fix the bug."}]}]
    model = f"fixture:{fx.name}"
    with c.messages.stream(
        model=model, max_tokens=512, system=system, messages=first, tools=tools
    ) as stream:
        turn = stream.get_final_message()
    assert turn.stop_reason == "tool_use"
    calls = [b for b in turn.content if b.type == "tool_use"]
    results = [
        {
            "type": "tool_result",
            "tool_use_id": b.id,
            "content": [{"type": "text", "text": f"result {i}"}, {"type": "text", "text": "ok"}],
        }
        for i, b in enumerate(calls)
    ]
    history = [
        *first,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in turn.content]},
        {"role": "user", "content": [*results, {"type": "text", "text": "Go on."}]},
    ]
    c.messages.create(
        model=model,
        max_tokens=512,
        system=system,
        messages=history,
        tools=tools,
        tool_choice={"type": "auto"},
        stop_sequences=["STOP"],
        extra_body={"temperature": 0.5},
    )
    sent = servers.upstream.bodies[-1]
    reasoning = fx.expected["reasoning"]
    text = fx.expected["content"] or ""
    assistant: dict[str, Any] = {"role": "assistant", "content": text}
    if restore == "inline":
        assistant["content"] = think_block(reasoning, dialect) + text
    elif restore == "field":
        assistant["reasoning_content"] = reasoning
    assistant["tool_calls"] = [
        {
            "id": b.id,
            "type": "function",
            "function": {"name": b.name, "arguments": json.dumps(b.input, ensure_ascii=False)},
        }
        for b in calls
    ]
    assert sent == {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are Claude Code.\n\nUse the tools."},
            {"role": "user", "content": "Fix the bug."},
            assistant,
            *(
                {"role": "tool", "tool_call_id": b.id, "content": f"result {i}\nok"}
                for i, b in enumerate(calls)
            ),
            {"role": "user", "content": "Go on."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": t["name"],
                    "description": t["description"],
                    "parameters": t["input_schema"],
                },
            }
            for t in tools
        ],
        "tool_choice": "auto",
        "max_tokens": 512,
        "stop": ["STOP"],
        "temperature": 0.5,
        "stream": False,
    }
    assert servers.upstream.headers[-1]["Authorization"] == "Bearer sk-ant"
    assert [b["calls"] for b in [want(fx)]] == [[(b.name, b.input) for b in calls]]


def test_tool_choice_and_thinking_translated(servers: Servers) -> None:
    fx = _session_fixture("m3")
    c = client(servers.proxy(fx.options))
    tools = anthropic_tools(fx.tools)
    name = tools[0]["name"]
    for choice, sent_choice in (
        ({"type": "any"}, "required"),
        ({"type": "tool", "name": name}, {"type": "function", "function": {"name": name}}),
        ({"type": "none"}, "none"),
    ):
        message = c.messages.create(
            **request(fx),
            tool_choice=choice,
            thinking={"type": "enabled", "budget_tokens": 1024},
        )
        sent = servers.upstream.bodies[-1]
        assert sent["tool_choice"] == sent_choice
        assert sent["chat_template_kwargs"] == {"thinking_mode": "enabled"}
        calls = [b for b in message.content if b.type == "tool_use"]
        if choice["type"] == "none":  # the parsed calls are dropped, as for chat completions
            assert not calls and message.stop_reason == "end_turn"
        else:
            assert calls and message.stop_reason == "tool_use"


def test_stop_sequence(servers: Servers) -> None:
    fx = BY_NAME["channels/basic_split"]
    c = client(servers.proxy())
    for message in (
        c.messages.create(**request(fx, "stopseq"), stop_sequences=["END"]),
        c.messages.stream(**request(fx, "stopseq"), stop_sequences=["END"])
        .__enter__()
        .get_final_message(),
    ):
        assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "END")
    assert servers.upstream.bodies[-1]["stop"] == ["END"]


# -- errors, pings, raw events ------------------------------------------------------------------


def body_of(info: Any) -> Any:
    """The error body of an SDK exception caught by ``pytest.raises``."""
    return info.value.body


@pytest.mark.parametrize("stream", [False, True])
def test_errors_are_anthropic_error_objects_with_the_upstream_status(
    servers: Servers, stream: bool
) -> None:
    c = client(servers.proxy())
    req = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    with pytest.raises(anthropic.AuthenticationError) as auth:
        c.messages.create(model="unauthorized", **req)
    assert auth.value.status_code == 401
    assert body_of(auth) == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "bad key"},
    }
    with pytest.raises(anthropic.InternalServerError) as broken:
        c.messages.create(model="broken", **req)
    assert broken.value.status_code == 500
    assert body_of(broken) == {
        "type": "error",
        "error": {"type": "api_error", "message": "engine exploded"},
    }
    with pytest.raises(anthropic.BadRequestError) as bad:
        c.messages.create(
            model="fixture:x",
            tools=[{"name": "f", "input_schema": {"type": "object"}}],
            tool_choice={"type": "tool", "name": "g"},
            **req,
        )
    assert bad.value.status_code == 400
    assert body_of(bad)["error"]["type"] == "invalid_request_error"
    assert "'g'" in body_of(bad)["error"]["message"]
    with pytest.raises(anthropic.BadRequestError) as schema:
        c.messages.create(
            model="fixture:x",
            tools=[{"name": "f", "input_schema": "an object"}],
            **req,
        )
    message = "'tools[0].input_schema' must be an object, got a string"
    assert body_of(schema)["error"]["message"] == message


def test_upstream_unreachable_is_a_502_error_object() -> None:
    with LoopbackServers() as s:
        port = s.serve(make_app("http://127.0.0.1:9/v1", timeout=5))
        with pytest.raises(anthropic.APIStatusError) as e:
            client(port).messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
    assert e.value.status_code == 502
    assert body_of(e)["type"] == "error"
    assert body_of(e)["error"]["type"] == "api_error"


def test_stream_cut_off_upstream_is_an_error_event(servers: Servers) -> None:
    c = client(servers.proxy())
    with pytest.raises(anthropic.APIStatusError) as e:
        with c.messages.stream(
            model="cut", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            list(stream)
    assert body_of(e)["error"]["type"] == "api_error"
    assert "before a finish reason" in body_of(e)["error"]["message"]


def _raw_events(port: int, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/messages",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "x-api-key": "sk-raw"},
    )
    with urllib.request.urlopen(req, timeout=20) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        text = r.read().decode()
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        data = json.loads(lines[1].removeprefix("data: "))
        assert data["type"] == lines[0].removeprefix("event: ")  # every event named
        out.append((data["type"], data))
    return out


def test_pings_while_waiting_and_usage(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy_anthropic, "PING_INTERVAL", 0.05)
    port = servers.proxy()
    body = {
        "model": "slow",
        "max_tokens": 5,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    events = _raw_events(port, body)
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["message_start", "ping"]
    first_block = kinds.index("content_block_start")
    assert kinds[2:first_block].count("ping") >= 3, kinds  # 0.5 s of silence
    assert kinds[first_block:] == [  # M2 starts inside reasoning: "Hi" is thinking
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0][1]["message"]["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert servers.upstream.headers[-1]["Authorization"] == "Bearer sk-raw"  # from x-api-key
    # An upstream keep-alive comment is answered with a ping, never echoed.
    fx = BY_NAME["channels/basic_split"]
    events = _raw_events(port, {**request(fx), "stream": True})
    assert [k for k, _ in events][:3] == ["message_start", "ping", "ping"]
    delta = next(d for k, d in events if k == "message_delta")
    assert delta["usage"] == {"input_tokens": 17, "output_tokens": 5}
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
