"""``POST /v1/responses`` end to end: a raw upstream on loopback replaying every golden fixture
(raw MiniMax markup in ``content``), the proxy in front (``--dialect`` as the fixture's), and the
real ``openai`` SDK's Responses client (``responses.create``, streamed and not, and
``responses.stream``; sync and async) as the client. The SDK's own stream accumulator checks the
event sequence; the streamed result must be the non-streamed one and the fixture's message."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
from aiohttp import web
from openai.types.responses import Response

from minimax_parser.proxy import make_app
from minimax_parser.render import think_block

from conftest import Fixture, load_fixtures
from loopback import LoopbackServers

FIXTURES = load_fixtures()
BY_NAME = {f.name: f for f in FIXTURES}
PIECE = 4  # characters of raw text per upstream chunk: markup cut everywhere
USAGE = {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}


def _chunk(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "up",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "up",
        "choices": choices,
    }


@dataclass
class Upstream:
    """Model ``fixture:<name>`` replays a fixture's raw text (``length:<name>``: the same, cut
    off for length); ``unauthorized`` answers 401. Every request body is recorded."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        return app

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        with self.lock:
            self.bodies.append(body)
        model: str = body["model"]
        if model == "unauthorized":
            error = {"error": {"message": "bad key", "type": "invalid_request_error"}}
            return web.json_response(error, status=401)
        kind, _, name = model.partition(":")
        text = BY_NAME[name].input
        finish = "length" if kind == "length" else "stop"
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": finish}
            return web.json_response(
                {
                    "id": "up",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [choice],
                    "usage": USAGE,
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        events = [_chunk({"role": "assistant", "content": ""})]
        events += [_chunk({"content": text[i : i + PIECE]}) for i in range(0, len(text), PIECE)]
        events.append(_chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**_chunk(None), "usage": USAGE})
        data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + ": keep-alive\n\n"
        await resp.write((data + "data: [DONE]\n\n").encode())
        await resp.write_eof()
        return resp


class Servers(LoopbackServers):
    def __init__(self) -> None:
        super().__init__(wait=5.0)
        self.upstream = Upstream()
        self.url = f"http://127.0.0.1:{self.serve(self.upstream.app())}/v1"
        self.proxies: dict[str, int] = {}

    def proxy(self, options: dict[str, Any] | None = None) -> int:
        key = json.dumps(options or {}, sort_keys=True)
        if key not in self.proxies:
            self.proxies[key] = self.serve(make_app(self.url, **(options or {})))
        return self.proxies[key]

    def last_body(self) -> dict[str, Any]:
        with self.upstream.lock:
            return self.upstream.bodies[-1]


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as s:
        yield s


def client(port: int) -> openai.OpenAI:
    url = f"http://127.0.0.1:{port}/v1"
    return openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0, timeout=20)


def aclient(port: int) -> openai.AsyncOpenAI:
    url = f"http://127.0.0.1:{port}/v1"
    return openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0, timeout=20)


def responses_tools(fx: Fixture) -> list[dict[str, Any]] | None:
    """The fixture's tools in the Responses form ``{type: "function", name, parameters}``."""
    if fx.tools is None:
        return None
    out = []
    for tool in fx.tools:
        fn = tool.get("function", tool)
        out.append({"type": "function", **{k: v for k, v in fn.items() if k != "type"}})
    return out


def request(fx: Fixture, kind: str = "fixture") -> dict[str, Any]:
    req: dict[str, Any] = {
        "model": f"{kind}:{fx.name}",
        "input": "Go.",
        "instructions": "Be brief.",
    }
    tools = responses_tools(fx)
    if tools is not None:
        req["tools"] = tools
    return req


def summary(response: Response) -> dict[str, Any]:
    """The message a response carries, in the fixtures' terms."""
    reasoning, content, calls = "", "", []
    for item in response.output:
        if item.type == "reasoning":
            assert item.summary == []
            reasoning += "".join(p.text for p in item.content or [])
        elif item.type == "message":
            assert [p.type for p in item.content] == ["output_text"]
            content += "".join(p.text for p in item.content)  # type: ignore[union-attr]
        else:
            assert item.type == "function_call" and item.call_id.startswith("call_")
            calls.append(
                {
                    "name": item.name,
                    "arguments": item.arguments,
                    "incomplete": item.status == "incomplete",
                }
            )
    return {"reasoning": reasoning or None, "content": content or None, "tool_calls": calls}


def want(fx: Fixture) -> dict[str, Any]:
    return {
        "reasoning": fx.expected["reasoning"],
        "content": fx.expected["content"],
        "tool_calls": [
            {"name": c["name"], "arguments": c["arguments"], "incomplete": c["incomplete"]}
            for c in fx.expected["tool_calls"]
        ],
    }


def comparable(response: Response) -> dict[str, Any]:
    """The response without what differs between two answers (ids, times)."""
    data = response.model_dump(mode="json", exclude_none=True)
    data.pop("id")
    data.pop("created_at")
    for i, item in enumerate(data["output"]):
        item.pop("id")
        if "call_id" in item:
            item["call_id"] = f"call_{i}"
    return data


def check_events(events: list[Any]) -> Response:
    """The event sequence's own invariants; returns the final response."""
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.type for e in events[:2]] == ["response.created", "response.in_progress"]
    added = [e.output_index for e in events if e.type == "response.output_item.added"]
    done = [e.output_index for e in events if e.type == "response.output_item.done"]
    assert added == done == list(range(len(added))), "items open and close in order"
    last = events[-1]
    assert last.type in ("response.completed", "response.incomplete")
    assert [e.item for e in events if e.type == "response.output_item.done"] == last.response.output
    assert isinstance(last.response, Response)
    return last.response


# -- every fixture, with the real SDK -------------------------------------------------------------


def test_fixture_set_is_complete() -> None:
    assert len(FIXTURES) >= 600
    assert {f.dialect for f in FIXTURES} == {"m2", "m3"}


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_sync(servers: Servers, fx: Fixture) -> None:
    c = client(servers.proxy(fx.options))
    whole = c.responses.create(**request(fx))
    assert whole.status == "completed" and whole.object == "response"
    assert whole.instructions == "Be brief." and whole.model == f"fixture:{fx.name}"
    assert whole.usage is not None and whole.usage.total_tokens == 12
    assert summary(whole) == want(fx)
    with c.responses.create(**request(fx), stream=True) as stream:
        streamed = check_events(list(stream))
    assert comparable(streamed) == comparable(whole)
    with c.responses.stream(**request(fx)) as manager:
        for _ in manager:
            pass
        final = manager.get_final_response()
    assert comparable(final) == comparable(whole)


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_async(servers: Servers, fx: Fixture) -> None:
    port = servers.proxy(fx.options)

    async def run() -> tuple[Response, Response, Response]:
        async with aclient(port) as c:
            whole = await c.responses.create(**request(fx))
            stream = await c.responses.create(**request(fx), stream=True)
            streamed = check_events([e async for e in stream])
            async with c.responses.stream(**request(fx)) as manager:
                async for _ in manager:
                    pass
                final = await manager.get_final_response()
        return whole, streamed, final

    whole, streamed, final = asyncio.run(run())
    assert summary(whole) == want(fx)
    assert comparable(streamed) == comparable(whole) == comparable(final)


# -- cut off, errors ------------------------------------------------------------------------------

CALL_FIXTURES = [f for f in FIXTURES if f.expected["tool_calls"] and f.expected["reasoning"]]
M2_CALL = next(f for f in CALL_FIXTURES if f.dialect == "m2" and not f.options)
M3_CALL = next(f for f in CALL_FIXTURES if f.options == {"dialect": "m3"})


CUT = [
    BY_NAME["truncation/after_close_parameter"],
    BY_NAME["m3_truncation/cut_138_middle_of_location"],
]


@pytest.mark.parametrize(
    "fx", [*CUT, M2_CALL, M3_CALL], ids=["m2-cut-call", "m3-cut-call", "m2-whole", "m3-whole"]
)
def test_cut_off_response_is_incomplete(servers: Servers, fx: Fixture) -> None:
    """Stopped for length: the response is incomplete; the item being written at the cut (text,
    or a call with the arguments so far) is incomplete, the items finished before are complete."""
    c = client(servers.proxy(fx.options))
    whole = c.responses.create(**request(fx, "length"))
    assert whole.status == "incomplete"
    assert whole.incomplete_details is not None
    assert whole.incomplete_details.reason == "max_output_tokens"
    assert summary(whole) == want(fx)
    *before, last = whole.output
    assert [i.status for i in before] == ["completed"] * len(before)
    cut = any(c["incomplete"] for c in fx.expected["tool_calls"])
    ended = last.type == "function_call" and not cut  # the call's end was written
    assert last.status == ("completed" if ended else "incomplete")
    with c.responses.create(**request(fx, "length"), stream=True) as stream:
        streamed = check_events(list(stream))
    assert comparable(streamed) == comparable(whole)


def test_upstream_error_status_before_the_stream(servers: Servers) -> None:
    c = client(servers.proxy())
    for stream in (False, True):
        with pytest.raises(openai.AuthenticationError) as e:
            c.responses.create(model="unauthorized", input="hi", stream=stream)
        assert e.value.status_code == 401
        assert e.value.body == {"message": "bad key", "type": "invalid_request_error"}


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id is not supported"),
        ({"input": [{"type": "web_search_call", "id": "ws"}]}, "'web_search_call' are not"),
        ({"input": 3}, "'input' must be a string or a list"),
        ({"tools": [{"type": "function", "parameters": {}}]}, "tools[0].name"),
        ({"tools": [{"type": "function", "name": "f", "parameters": 3}]}, "parameters must be"),
        ({"tools": [{"type": "function", "function": {"name": 3}}]}, "invalid tools"),
        ({"tool_choice": {"type": "mcp"}}, "tool_choice must be"),
        ({"stream": "yes"}, "'stream' must be a boolean"),
    ],
)
def test_untranslatable_request_is_400(
    servers: Servers, extra: dict[str, Any], message: str
) -> None:
    c = client(servers.proxy())
    body = {"model": f"fixture:{M2_CALL.name}", "input": "hi", **extra}
    before = len(servers.upstream.bodies)
    with pytest.raises(openai.BadRequestError) as e:
        c.post("/responses", body=body, cast_to=Response)
    assert message in str(e.value.body)
    assert len(servers.upstream.bodies) == before, "nothing went upstream"


# -- a Codex-shaped session: reasoning and calls replayed ------------------------------------


def codex_turn(fx: Fixture, history: list[dict[str, Any]]) -> dict[str, Any]:
    """A request as Codex sends it (store=false, the whole history in ``input``)."""
    return {
        "model": f"fixture:{fx.name}",
        "instructions": "You are Codex.",
        "input": history,
        "tools": responses_tools(fx),
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session-1",
    }


def replayed(output: list[Any]) -> list[dict[str, Any]]:
    """Output items as a client sends them back (Codex drops the ids of reasoning items)."""
    items = []
    for item in output:
        data = item.model_dump(mode="json", exclude_none=True)
        if data["type"] == "reasoning":
            data.pop("id")
        items.append(data)
    return items


@pytest.mark.parametrize("restore", ["inline", "field", "off"])
@pytest.mark.parametrize("fx", [M2_CALL, M3_CALL], ids=["m2", "m3"])
def test_codex_session_replays_reasoning_and_calls(
    servers: Servers, fx: Fixture, restore: str
) -> None:
    c = client(servers.proxy({**fx.options, "restore_reasoning": restore}))
    history: list[dict[str, Any]] = [
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Sandbox."}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Do it."}]},
    ]
    with c.responses.stream(
        **{k: v for k, v in codex_turn(fx, history).items() if k != "stream"}
    ) as s:
        first = s.get_final_response()
    sent = servers.last_body()
    assert sent["messages"] == [
        {"role": "system", "content": "You are Codex.\n\nSandbox."},
        {"role": "user", "content": "Do it."},
    ]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["tool_choice"] == "auto" and sent["parallel_tool_calls"] is False
    assert [t["function"]["name"] for t in sent["tools"]] == [
        t["name"] for t in responses_tools(fx) or []
    ]
    calls = [i for i in first.output if i.type == "function_call"]
    assert calls
    outputs = [
        {"type": "function_call_output", "call_id": call.call_id, "output": f"result {i}"}
        for i, call in enumerate(calls)
    ]
    history += replayed(first.output) + outputs
    with c.responses.create(**codex_turn(fx, history)) as stream:
        check_events(list(stream))
    sent = servers.last_body()
    reasoning, content = fx.expected["reasoning"], fx.expected["content"] or ""
    assistant: dict[str, Any] = {"role": "assistant", "content": content}
    if restore == "inline":
        assistant["content"] = think_block(reasoning, fx.dialect) + content  # type: ignore[arg-type]
    elif restore == "field":
        assistant["reasoning_content"] = reasoning
    assistant["tool_calls"] = [
        {
            "id": call.call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in calls
    ]
    tools = [
        {"role": "tool", "tool_call_id": call.call_id, "content": f"result {i}"}
        for i, call in enumerate(calls)
    ]
    assert sent["messages"][2:] == [assistant, *tools]

    # A client that drops the reasoning items: the proxy's store puts it back (unless "off").
    history = [i for i in history if i.get("type") != "reasoning"]
    with c.responses.create(**codex_turn(fx, history)) as stream:
        check_events(list(stream))
    assert servers.last_body()["messages"][2:] == [assistant, *tools]
