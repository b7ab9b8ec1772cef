"""Reasoning continuity in the proxy (``--restore-reasoning``, ``--reasoning-store``): the proxy
remembers the reasoning of the assistant turns it serves and puts it back into later requests whose
history lost it, the way LangChain's ``ChatOpenAI`` loses it (it drops ``reasoning_content``).

Real parts on loopback: an upstream that answers like a raw-passthrough server (the MiniMax markup
in ``content``, MiniMax-M2 or MiniMax-M3, streamed in small pieces or as one ``chat.completion``)
and records every request body it receives; the real proxy; the real ``openai`` SDK running a
three-turn tool loop (user, assistant with reasoning and a call, tool result, assistant, user,
assistant) that sends each assistant message back without its reasoning; LangChain's
``ChatOpenAI`` itself when it is installed. The memory store's bounds are checked directly, with an
injected clock for its TTL, and through the proxy."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import openai
import pytest

from minimax_parser.proxy import make_app
from minimax_parser.reasoning_store import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_TTL,
    MemoryReasoningStore,
    ReasoningStore,
    open_store,
    turn_keys,
    turn_scope,
)

from loopback import LoopbackServers, RawUpstream

N = "]<]minimax[>["
WAIT = 15.0  # seconds: the bound on every wait for another thread or process
#: Characters of raw text per upstream content chunk: every tag is cut.
PIECE = 3

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
            },
        },
    }
]

#: What the model writes on each turn of the loop (the number of assistant messages in the
#: request picks the turn): a call with reasoning, then answers without calls.
REASONING = [
    "I should look\nthe weather up.",
    "The tool said sunny; say so.",
    "Same city: no need to call again.",
]
CONTENT = ["Let me check.", "It is sunny in Paris.", "Still sunny."]
M2_CALL = (
    '\n<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="location">Paris'
    "</parameter>\n</invoke>\n</minimax:tool_call>"
)
M3_CALL = (
    f'{N}<tool_call>\n{N}<invoke name="get_weather">{N}<location>Paris{N}</location>{N}</invoke>\n'
    f"{N}</tool_call>"
)
#: The raw output of each turn, by dialect (M2 starts inside reasoning, as its template ends the
#: prompt with ``<think>``; M3 in content, opening ``<mm:think>`` itself).
RAW = {
    "m2": [
        f"{REASONING[0]}</think>\n\n{CONTENT[0]}{M2_CALL}",
        f"{REASONING[1]}</think>\n\n{CONTENT[1]}",
        f"{REASONING[2]}</think>\n\n{CONTENT[2]}",
    ],
    "m3": [
        f"<mm:think>{REASONING[0]}</mm:think>{CONTENT[0]}{M3_CALL}",
        f"<mm:think>{REASONING[1]}</mm:think>{CONTENT[1]}",
        f"<mm:think>{REASONING[2]}</mm:think>{CONTENT[2]}",
    ],
}
#: The first assistant turn as the chat template renders it back, think block and content: what
#: ``--restore-reasoning inline`` must put into ``content``, byte for byte.
INLINE_FIRST = {
    "m2": "<think>\nI should look\nthe weather up.\n</think>\n\nLet me check.",
    "m3": "<mm:think>I should look\nthe weather up.</mm:think>Let me check.",
}
USER = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "user", "content": "And tomorrow?"},
]
TOOL_RESULT = '{"sky": "sunny", "celsius": 22}'


def think(reasoning: str, dialect: str) -> str:
    if dialect == "m3":
        return f"<mm:think>{reasoning}</mm:think>"
    return f"<think>\n{reasoning}\n</think>\n\n"


# -- the upstream: a raw-passthrough server that records every request -----------------------------


class Servers(RawUpstream):
    """The upstream answers model ``m2`` or ``m3`` with the raw text of the turn (:data:`RAW`,
    by the number of assistant messages in the request), model ``m2:cut`` with a stream that
    stops after the reasoning (no finish reason, no ``[DONE]``); it records every body."""

    def __init__(self) -> None:
        super().__init__("reasoning-servers", wait=WAIT, piece=PIECE)

    def answer(self, body: dict[str, Any]) -> tuple[str, bool]:
        model: str = body["model"]
        turn = sum(1 for m in body["messages"] if m.get("role") == "assistant")
        text = RAW[model.split(":")[0]][min(turn, 2)]
        if model == "m2:cut":
            return text.split("</think>")[0], False
        return text, True

    def proxy(self, **settings: Any) -> int:
        """The port of a new proxy (a store of its own) with these settings."""
        return self.serve(make_app(self.upstream_url, **settings))


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as s:
        yield s


def client(port: int) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0, timeout=WAIT
    )


def scrape(port: int) -> dict[str, float]:
    """``GET /metrics`` as {sample name with labels: value}."""

    async def get() -> str:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200
                return await r.text()

    out = {}
    for line in asyncio.run(get()).splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def post(port: int, body: bytes) -> tuple[int, bytes]:
    """A raw ``POST /v1/chat/completions`` of ``body``, byte for byte."""

    async def go() -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as s:
            async with s.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as r:
                return r.status, await r.read()

    return asyncio.run(go())


# -- the client: the openai SDK, dropping reasoning_content the way LangChain does -----------------


def ask(
    c: openai.OpenAI, model: str, messages: list[dict[str, Any]], stream: bool
) -> dict[str, Any]:
    """One turn through the proxy: the assistant message as the SDK gave it, merged when
    streamed (``reasoning_content`` included)."""
    kw: dict[str, Any] = {"model": model, "messages": messages, "tools": TOOLS}
    if not stream:
        completion = c.chat.completions.create(**kw)
        got: dict[str, Any] = completion.choices[0].message.model_dump(exclude_none=True)
        return got
    reasoning = content = ""
    calls: dict[int, dict[str, Any]] = {}
    with c.chat.completions.create(**kw, stream=True) as chunks:
        for chunk in chunks:
            for choice in chunk.choices:
                delta = choice.delta
                reasoning += getattr(delta, "reasoning_content", None) or ""
                content += delta.content or ""
                for call in delta.tool_calls or []:
                    fn = call.function
                    if call.id:
                        assert fn is not None and fn.name
                        calls[call.index] = {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": fn.name, "arguments": ""},
                        }
                    calls[call.index]["function"]["arguments"] += (fn and fn.arguments) or ""
    out: dict[str, Any] = {"role": "assistant", "content": content or None}
    if reasoning:
        out["reasoning_content"] = reasoning
    if calls:
        out["tool_calls"] = [calls[i] for i in sorted(calls)]
    return out


def as_langchain_sends(served: dict[str, Any]) -> dict[str, Any]:
    """The served assistant message as the client sends it back: role, content, tool calls;
    ``reasoning_content`` dropped (langchain-ai/langchain#34706)."""
    msg: dict[str, Any] = {"role": "assistant", "content": served.get("content")}
    if served.get("tool_calls"):
        msg["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": c["function"]}
            for c in served["tool_calls"]
        ]
    return msg


def tool_loop(
    c: openai.OpenAI, model: str, stream: bool
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """user → assistant (reasoning + call) → tool → assistant → user → assistant: the three
    served messages and the three histories the client sent."""
    served: list[dict[str, Any]] = []
    sent: list[list[dict[str, Any]]] = []
    history: list[dict[str, Any]] = [USER[0]]
    for turn in range(3):
        sent.append(copy.deepcopy(history))
        msg = ask(c, model, history, stream)
        served.append(msg)
        history.append(as_langchain_sends(msg))
        if turn == 0:
            [call] = msg["tool_calls"]
            history.append({"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT})
        elif turn == 1:
            history.append(USER[1])
    return served, sent


def restored(
    sent: list[dict[str, Any]], served: list[dict[str, Any]], mode: str, dialect: str
) -> list[dict[str, Any]]:
    """What the upstream must receive for history ``sent`` under ``mode``: each assistant message
    restored with the reasoning the proxy served for it (``served`` in order)."""
    out = copy.deepcopy(sent)
    turns = iter(served)
    for msg in out:
        if msg["role"] != "assistant":
            continue
        reasoning = next(turns)["reasoning_content"]
        if mode == "inline":
            msg["content"] = think(reasoning, dialect) + (msg["content"] or "")
        elif mode == "field":
            msg["reasoning_content"] = reasoning
    return out


# -- the tool loop, for each mode, both dialects, streaming or not ---------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("dialect", ["m2", "m3"])
@pytest.mark.parametrize("mode", ["inline", "field", "off"])
def test_tool_loop_restores_dropped_reasoning(
    servers: Servers, mode: str, dialect: str, stream: bool
) -> None:
    settings: dict[str, Any] = {"dialect": dialect}
    if mode != "inline":  # inline is the default
        settings["restore_reasoning"] = mode
    port = servers.proxy(**settings)
    mark = servers.mark()
    served, sent = tool_loop(client(port), dialect, stream)
    bodies = [json.loads(b) for b in servers.since(mark)]
    assert len(bodies) == 3

    # The client saw every turn parsed, reasoning apart, as without the store.
    for turn, msg in enumerate(served):
        assert msg["reasoning_content"] == REASONING[turn]
        assert msg["content"] == CONTENT[turn]
        assert bool(msg.get("tool_calls")) == (turn == 0)
    assert json.loads(served[0]["tool_calls"][0]["function"]["arguments"]) == {"location": "Paris"}

    # Upstream: the first request as sent; the later ones with the dropped reasoning restored
    # (by tool-call id for the first assistant turn, by content for the second), or unchanged.
    assert bodies[0]["messages"] == sent[0] == [USER[0]]
    for turn in (1, 2):
        assert bodies[turn]["messages"] == restored(sent[turn], served, mode, dialect), turn
        assert bodies[turn]["tools"] == TOOLS
    first = bodies[2]["messages"][1]
    if mode == "inline":
        assert first["content"] == INLINE_FIRST[dialect]
        assert "reasoning_content" not in first
    elif mode == "field":
        assert first["reasoning_content"] == REASONING[0]
        assert first["content"] == CONTENT[0]
    else:
        assert "reasoning_content" not in first and first["content"] == CONTENT[0]

    m = scrape(port)
    if mode == "off":  # no store: no reasoning metrics
        assert not [name for name in m if "reasoning" in name]
        return
    assert m["minimax_proxy_reasoning_stored_total"] == 3
    assert m["minimax_proxy_reasoning_restored_total"] == 3  # 1 + 2
    assert m["minimax_proxy_reasoning_not_found_total"] == 0
    assert m["minimax_proxy_reasoning_store_errors_total"] == 0
    assert m["minimax_proxy_reasoning_store_entries"] == 3  # one call id, two contents
    assert m["minimax_proxy_reasoning_store_bytes"] > sum(len(r) for r in REASONING)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_turn_restored_on_one_proxy_is_not_known_to_another(
    servers: Servers, stream: bool
) -> None:
    """Each memory store is its own: a turn served by one proxy is forwarded unchanged by
    another (sharing takes ``--reasoning-store redis://``)."""
    one, other = client(servers.proxy()), client(servers.proxy())
    first = ask(one, "m2", [USER[0]], stream)
    call = first["tool_calls"][0]
    history = [
        USER[0],
        as_langchain_sends(first),
        {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT},
    ]
    mark = servers.mark()
    ask(other, "m2", history, stream)
    ask(one, "m2", history, stream)
    unchanged, restored_here = (json.loads(b)["messages"][1] for b in servers.since(mark))
    assert unchanged == history[1]
    assert restored_here["content"] == INLINE_FIRST["m2"]


def test_log_line_counts_restored_messages(
    servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="minimax_parser.proxy")
    c = client(servers.proxy())
    served, _ = tool_loop(c, "m2", stream=False)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        lines = [
            r.getMessage() for r in caplog.records if "POST /v1/chat/completions" in r.getMessage()
        ]
        if len(lines) >= 3:
            break
        time.sleep(0.02)
    assert "reasoning_restored" not in lines[-3]
    assert lines[-2].endswith(" reasoning_restored=1")
    assert lines[-1].endswith(" reasoning_restored=2")
    assert len(served) == 3


# -- what is left alone ----------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["m2", "m3"])
def test_messages_sent_with_reasoning_are_left_alone(servers: Servers, dialect: str) -> None:
    port = servers.proxy(dialect=dialect)
    c = client(port)
    first = ask(c, dialect, [USER[0]], stream=False)
    call = first["tool_calls"][0]
    tool = {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT}
    plain = as_langchain_sends(first)
    variants = [
        {**plain, "reasoning_content": "The client's own reasoning."},
        {**plain, "reasoning": "The client's own reasoning."},
        {**plain, "content": think("Inline already.", dialect) + CONTENT[0]},
        {
            **plain,
            "content": [{"type": "text", "text": think("Inline already.", dialect) + "x"}],
        },
    ]
    for assistant in variants:
        history = [USER[0], assistant, tool]
        body = json.dumps(
            {"model": dialect, "messages": history, "tools": TOOLS}, indent=1
        ).encode()
        mark = servers.mark()
        status, _ = post(port, body)
        assert status == 200
        assert servers.since(mark) == [body], "forwarded byte for byte"
    # The same turn without reasoning is restored: the store did know it.
    mark = servers.mark()
    ask(c, dialect, [USER[0], plain, tool], stream=False)
    [sent] = servers.since(mark)
    assert json.loads(sent)["messages"][1]["content"] == INLINE_FIRST[dialect]
    m = scrape(port)
    assert m["minimax_proxy_reasoning_restored_total"] == 1
    assert m["minimax_proxy_reasoning_not_found_total"] == 0


def test_nothing_to_restore_is_forwarded_byte_for_byte(servers: Servers) -> None:
    port = servers.proxy()
    served = ask(client(port), "m2", [USER[0]], stream=False)
    call_id = served["tool_calls"][0]["id"]
    # Key order, spacing, number forms and unknown fields as the client wrote them.
    head = b'{ "model" : "m2", "x_vendor": {"b": 1, "a": [1.50, 2e3]},\n "messages": ['
    user = b'{"role":"user","content":"What is the weather in Paris?"}'
    unknown = (
        b', {"content": null, "role": "assistant", "tool_calls": [{"id": "call_unknown", '
        b'"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}'
        b', {"role": "tool", "tool_call_id": "call_unknown", "content": "x"}'
        b', {"role": "assistant", "content": "An answer this proxy never served."}'
    )
    for messages in (user, user + unknown):
        body = head + messages + b"] }"
        mark = servers.mark()
        assert post(port, body)[0] == 200
        assert servers.since(mark) == [body]
    m = scrape(port)
    assert m["minimax_proxy_reasoning_not_found_total"] == 2
    assert m["minimax_proxy_reasoning_restored_total"] == 0

    # With --restore-reasoning off, a turn the proxy served goes upstream as sent, too.
    off = servers.proxy(restore_reasoning="off")
    served = ask(client(off), "m2", [USER[0]], stream=True)
    call_id = served["tool_calls"][0]["id"]
    known = (
        b', {"role": "assistant", "content": "Let me check.", "tool_calls": [{"id": "'
        + call_id.encode()
        + b'", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}'
    )
    body = head + user + known + b"] }"
    mark = servers.mark()
    assert post(off, body)[0] == 200
    assert servers.since(mark) == [body]


def test_restored_body_keeps_everything_else(servers: Servers) -> None:
    """A restored request is serialised again: the same JSON value apart from the restored
    message, non-ASCII text kept as UTF-8, content given as a list of parts kept a list."""
    port = servers.proxy(restore_reasoning="inline")
    served = ask(client(port), "m2", [USER[0]], stream=False)
    call = served["tool_calls"][0]
    assistant = {
        "role": "assistant",
        "content": [{"type": "text", "text": CONTENT[0]}],
        "tool_calls": [{"id": call["id"], "type": "function", "function": call["function"]}],
        "reasoning_content": "",
    }
    body: dict[str, Any] = {
        "model": "m2",
        "x_vendor": {"nested": [1, 2.5, None, True], "text": "Grüße, 東京"},
        "messages": [
            {"role": "user", "content": "Météo à Paris ?"},
            assistant,
            {"role": "tool", "tool_call_id": call["id"], "content": "☀"},
        ],
        "temperature": 0.7,
    }
    mark = servers.mark()
    assert post(port, json.dumps(body).encode())[0] == 200
    [sent] = servers.since(mark)
    assert "Grüße, 東京".encode() in sent, "UTF-8, not escaped"
    want = copy.deepcopy(body)
    del want["messages"][1]["reasoning_content"]  # empty: dropped, so the template splits
    want["messages"][1]["content"] = [
        {"type": "text", "text": think(REASONING[0], "m2")},
        {"type": "text", "text": CONTENT[0]},
    ]
    assert json.loads(sent) == want


# -- what is stored --------------------------------------------------------------------------------


def test_store_holds_only_keys_and_reasoning(servers: Servers) -> None:
    store = MemoryReasoningStore()
    port = servers.proxy(reasoning_store=store)
    served, _ = tool_loop(client(port), "m2", stream=True)
    call_id = served[0]["tool_calls"][0]["id"]
    tool_result = {"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT}
    # Turns without calls: their content, scoped by the client and the message they answer.
    [second] = turn_keys(served[1], turn_scope(tool_result, "Bearer sk-test"))
    [third] = turn_keys(served[2], turn_scope(USER[1], "Bearer sk-test"))
    entries = {k: v[0] for k, v in store._entries.items()}
    assert entries == {
        f"call:{call_id}": REASONING[0],
        second: REASONING[1],
        third: REASONING[2],
    }
    assert second.startswith("content:") and third.startswith("content:")
    assert store.nbytes == sum(len(k) + len(v.encode()) for k, v in entries.items())


def test_stream_cut_short_is_not_stored(servers: Servers) -> None:
    store = MemoryReasoningStore()
    port = servers.proxy(reasoning_store=store)
    with pytest.raises(openai.APIError, match="upstream stream ended before"):
        ask(client(port), "m2:cut", [USER[0]], stream=True)
    assert len(store) == 0


def test_tool_choice_none_turn_is_keyed_by_content(servers: Servers) -> None:
    """With ``tool_choice="none"`` the calls are dropped from what the client gets, so the turn
    is keyed as the client will send it back: by its content."""
    store = MemoryReasoningStore()
    port = servers.proxy(reasoning_store=store)
    c = client(port)
    kw: dict[str, Any] = {"model": "m2", "messages": [USER[0]], "tools": TOOLS}
    completion = c.chat.completions.create(**kw, tool_choice="none")
    msg = completion.choices[0].message
    assert msg.tool_calls is None and msg.content == CONTENT[0]
    # Scoped by the client's Authorization and the message the turn answers.
    scope = turn_scope(USER[0], "Bearer sk-test")
    assert list(store._entries) == turn_keys({"content": CONTENT[0]}, scope)


# -- bounds: the memory store, directly and through the proxy --------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_memory_store_defaults() -> None:
    store = MemoryReasoningStore()
    assert (store.max_entries, store.max_bytes, store.ttl) == (10_000, 64 * 2**20, 3600.0)
    assert (DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES, DEFAULT_TTL) == (10_000, 67_108_864, 3600.0)
    assert isinstance(store, ReasoningStore)


def test_memory_store_evicts_least_recently_used_by_entries() -> None:
    store = MemoryReasoningStore(max_entries=2)
    run(store.put("a", "A"))
    run(store.put("b", "B"))
    assert run(store.get("a")) == "A"  # now b is the least recently used
    run(store.put("c", "C"))
    assert (run(store.get("a")), run(store.get("b")), run(store.get("c"))) == ("A", None, "C")
    assert len(store) == 2 and store.nbytes == 4
    run(store.put("a", "A2"))  # replacing does not evict
    assert len(store) == 2 and store.nbytes == 5
    assert run(store.get("c")) == "C"


def test_memory_store_evicts_least_recently_used_by_bytes() -> None:
    store = MemoryReasoningStore(max_bytes=30)
    run(store.put("k1", "x" * 8))  # 10 bytes
    run(store.put("k2", "é" * 4))  # 2 + 8: UTF-8 bytes, not characters
    run(store.put("k3", "z" * 8))  # 10: 30 in all, at the bound
    assert len(store) == 3 and store.nbytes == 30
    run(store.get("k1"))
    run(store.put("k4", "w" * 13))  # 15: k2 then k3 leave (least recently used)
    assert sorted(store._entries) == ["k1", "k4"] and store.nbytes == 25
    run(store.put("huge", "h" * 100))  # over the whole bound: not kept, nothing evicted
    assert run(store.get("huge")) is None and sorted(store._entries) == ["k1", "k4"]
    run(store.put("k1", "h" * 100))  # an oversize replacement drops the old value
    assert run(store.get("k1")) is None and store.nbytes == 15


def test_memory_store_ttl_counts_from_the_last_use() -> None:
    clock = Clock()
    store = MemoryReasoningStore(ttl=60, clock=clock)
    run(store.put("a", "A"))
    run(store.put("b", "B"))
    clock.now += 59
    assert run(store.get("a")) == "A"  # used: a's 60 s start again
    clock.now += 2  # b is 61 s old, a 2 s
    assert run(store.get("b")) is None
    assert len(store) == 1 and store.nbytes == 2, "an expired entry leaves at once"
    clock.now += 60
    run(store.put("c", "C"))  # a expired meanwhile: gone when anything touches the store
    assert list(store._entries) == ["c"]
    run(store.close())
    assert len(store) == 0 and store.nbytes == 0


@pytest.mark.parametrize(
    "settings",
    [
        {"max_entries": 0},
        {"max_bytes": -1},
        {"ttl": 0},
        {"ttl": float("inf")},
        {"max_entries": 1.5},
    ],
)
def test_memory_store_rejects_bad_bounds(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        MemoryReasoningStore(**settings)


def test_bounds_through_the_proxy(servers: Servers) -> None:
    """One entry: the content-keyed second turn evicts the first turn's call id, so the third
    request gets only the second turn restored."""
    port = servers.proxy(reasoning_store_entries=1)
    mark = servers.mark()
    served, sent = tool_loop(client(port), "m2", stream=False)
    third = json.loads(servers.since(mark)[2])["messages"]
    assert third[1] == sent[2][1], "evicted: forwarded as sent"
    assert third[3]["content"] == think(REASONING[1], "m2") + CONTENT[1]
    m = scrape(port)
    assert m["minimax_proxy_reasoning_not_found_total"] == 1
    assert m["minimax_proxy_reasoning_store_entries"] == 1
    assert len(served) == 3


def test_ttl_through_the_proxy(servers: Servers) -> None:
    clock = Clock()
    store = MemoryReasoningStore(ttl=30, clock=clock)
    port = servers.proxy(reasoning_store=store)
    c = client(port)
    first = ask(c, "m2", [USER[0]], stream=False)
    call = first["tool_calls"][0]
    history = [
        USER[0],
        as_langchain_sends(first),
        {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT},
    ]
    clock.now += 31
    mark = servers.mark()
    ask(c, "m2", history, stream=False)
    [sent] = servers.since(mark)
    assert json.loads(sent)["messages"][1] == history[1], "expired: forwarded as sent"


# -- keys ------------------------------------------------------------------------------------------


def test_turn_keys() -> None:
    calls = [
        {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_b", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
    ]
    scope = turn_scope(USER[0], "Bearer a")
    assert turn_keys({"content": "x", "tool_calls": calls}, scope) == ["call:call_a", "call:call_b"]
    digest = hashlib.sha256("Grüße".encode()).hexdigest()
    key = "content:" + hashlib.sha256(f"{scope}:{digest}".encode()).hexdigest()
    assert turn_keys({"content": "Grüße"}, scope) == [key]
    parts = [{"type": "text", "text": "Grü"}, {"type": "image_url"}, {"type": "text", "text": "ße"}]
    assert turn_keys({"content": parts}, scope) == [key]
    assert turn_keys({"content": None}, scope) == turn_keys({"content": ""}, scope) == []
    assert turn_keys({}, scope) == turn_keys({"content": None, "tool_calls": [{}]}, scope) == []


def test_content_keys_are_scoped_by_client_and_question() -> None:
    """A turn without calls is keyed by its content *and* by who asked and what it answers: two
    conversations that both end with "Done." do not share a reasoning, and neither do two
    clients."""
    done = {"role": "assistant", "content": "Done."}
    keys = {
        tuple(turn_keys(done, turn_scope(question, tenant)))
        for question in (USER[0], USER[1], None)
        for tenant in ("Bearer a", "Bearer b", "")
    }
    assert len(keys) == 9
    assert turn_keys(done, turn_scope(USER[0], "Bearer a")) == turn_keys(
        dict(done), turn_scope(dict(USER[0]), "Bearer a")
    )


def test_same_answer_in_another_conversation_is_not_restored(servers: Servers) -> None:
    """A turn without calls (``tool_choice="none"``) is restored for the client that was served
    it, answering the same question, and for no one else: not for another client (another API
    key), not after another question."""
    store = MemoryReasoningStore()
    port = servers.proxy(reasoning_store=store)
    kw: dict[str, Any] = {"model": "m2", "tools": TOOLS, "tool_choice": "none"}
    first: list[Any] = [USER[0]]
    client(port).chat.completions.create(**kw, messages=first)
    assert len(store._entries) == 1
    other = openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-other", max_retries=0, timeout=WAIT
    )
    answer = {"role": "assistant", "content": CONTENT[0]}
    for who, question in ((other, USER[0]), (client(port), USER[1]), (client(port), USER[0])):
        mark = servers.mark()
        history: list[Any] = [question, answer, USER[1]]
        who.chat.completions.create(**kw, messages=history)
        (sent,) = servers.since(mark)
        restored = json.loads(sent)["messages"][1]["content"]
        if who is other or question is USER[1]:
            assert restored == CONTENT[0]
        else:
            assert restored.startswith("<think>\n") and restored.endswith(CONTENT[0])


def test_open_store() -> None:
    store = open_store("memory", max_entries=5, max_bytes=100, ttl=7)
    assert isinstance(store, MemoryReasoningStore)
    assert (store.max_entries, store.max_bytes, store.ttl) == (5, 100, 7.0)
    for url in ("ftp://user:secret@host/", "redis", "", "memcached://h:1"):
        with pytest.raises(ValueError, match="'memory' or redis://") as info:
            open_store(url)
        assert "secret" not in str(info.value)


def test_open_store_redis_url() -> None:
    from minimax_parser.reasoning_store_redis import RedisReasoningStore

    store = open_store("redis://127.0.0.1:1/3", ttl=5)
    try:
        assert isinstance(store, RedisReasoningStore) and isinstance(store, ReasoningStore)
        assert store.ttl == 5.0
    finally:
        run(store.close())


def test_unreachable_redis_store_costs_nothing_but_the_restore(servers: Servers) -> None:
    """A Redis store that cannot connect: every turn is served, every request forwarded as
    sent, and the failures the store counts show in the metrics."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
        port = servers.proxy(reasoning_store=f"redis://127.0.0.1:{dead}/0")
        mark = servers.mark()
        served, sent = tool_loop(client(port), "m2", stream=True)
    assert [s["reasoning_content"] for s in served] == REASONING
    assert [json.loads(b)["messages"] for b in servers.since(mark)] == sent
    m = scrape(port)
    assert m["minimax_proxy_reasoning_store_errors_total"] >= 1
    assert m["minimax_proxy_reasoning_restored_total"] == 0
    assert m["minimax_proxy_reasoning_not_found_total"] == 3


# -- settings: make_app and the command line -------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"restore_reasoning": "sideways"}, "restore-reasoning"),
        ({"reasoning_store": "ftp://x"}, "reasoning-store"),
        ({"reasoning_store_entries": 0}, "reasoning-store-entries"),
        ({"reasoning_store_bytes": True}, "reasoning-store-bytes"),
        ({"reasoning_store_ttl": -1.0}, "reasoning-store-ttl"),
        ({"reasoning_store_ttl": float("nan")}, "reasoning-store-ttl"),
        ({"reasoning_store": 42}, "reasoning_store"),
    ],
)
def test_make_app_rejects_bad_reasoning_settings(settings: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_app("http://127.0.0.1:1/v1", **settings)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minimax_parser", "proxy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--reasoning-store", "ftp://user:secret@h/"],
        ["--reasoning-store-entries", "0"],
        ["--reasoning-store-bytes", "-5"],
        ["--reasoning-store-ttl", "inf"],
    ],
)
def test_cli_bad_reasoning_settings_are_one_clear_line(args: list[str]) -> None:
    r = _cli("--upstream", "http://127.0.0.1:1/v1", *args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("minimax-parser: error: "), r.stderr
    assert args[0].removeprefix("--") in lines[0] and "secret" not in lines[0]


def test_cli_restore_mode_choices() -> None:
    r = _cli("--upstream", "http://127.0.0.1:1/v1", "--restore-reasoning", "sideways")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    help_text = _cli("--help").stdout
    for flag in (
        "--restore-reasoning {inline,field,off}",
        "--reasoning-store",
        "--reasoning-store-entries",
        "--reasoning-store-bytes",
        "--reasoning-store-ttl",
    ):
        assert flag in help_text


def test_cli_proxy_restores_with_its_flags(servers: Servers) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "minimax_parser", "proxy", "--upstream", servers.upstream_url]
    cmd += ["--port", str(port), "--dialect", "m3", "--restore-reasoning", "field"]
    cmd += ["--reasoning-store", "memory", "--reasoning-store-entries", "100"]
    cmd += ["--reasoning-store-bytes", "100000", "--reasoning-store-ttl", "60"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    try:
        c = client(port)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                first = ask(c, "m3", [USER[0]], stream=True)
                break
            except openai.APIConnectionError:
                assert proc.poll() is None, "the proxy exited"
                assert time.monotonic() < deadline, "the proxy did not start"
                time.sleep(0.1)
        call = first["tool_calls"][0]
        history = [
            USER[0],
            as_langchain_sends(first),
            {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT},
        ]
        mark = servers.mark()
        ask(c, "m3", history, stream=False)
        [sent] = servers.since(mark)
        assert json.loads(sent)["messages"][1] == {**history[1], "reasoning_content": REASONING[0]}
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=WAIT)
    assert "dialect m3, restore-reasoning field (memory store)" in stderr, stderr
    assert "reasoning_restored=1" in stderr


# -- a failing store -------------------------------------------------------------------------------


class BrokenStore:
    """A store whose backend is down and which, unlike the shipped stores, raises."""

    def __init__(self) -> None:
        self.calls = 0

    async def get(self, key: str) -> str | None:
        self.calls += 1
        raise ConnectionError("store down")

    async def put(self, key: str, reasoning: str) -> None:
        self.calls += 1
        raise ConnectionError("store down")

    async def close(self) -> None:
        pass


def test_a_failing_store_costs_nothing_but_the_restore(
    servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.WARNING, logger="minimax_parser.proxy")
    store = BrokenStore()
    port = servers.proxy(reasoning_store=store)
    mark = servers.mark()
    served, sent = tool_loop(client(port), "m2", stream=True)
    assert [s["reasoning_content"] for s in served] == REASONING
    assert [json.loads(b)["messages"] for b in servers.since(mark)] == sent
    m = scrape(port)
    assert m["minimax_proxy_reasoning_store_errors_total"] == store.calls == 3 + 3
    assert m["minimax_proxy_reasoning_stored_total"] == 0
    warnings = [r for r in caplog.records if "reasoning store failed" in r.getMessage()]
    assert len(warnings) == 1, "one warning per interval"


def test_the_app_does_not_close_a_store_it_was_given() -> None:
    given = MemoryReasoningStore()
    given.put_nowait("call:call_x", "kept")
    with LoopbackServers("given-store") as s:
        s.serve(make_app("http://127.0.0.1:1/v1", reasoning_store=given))
    assert given.get_nowait("call:call_x") == "kept"


# -- LangChain's ChatOpenAI ------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["m2", "m3"])
@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_langchain_chat_openai_tool_loop(servers: Servers, dialect: str, stream: bool) -> None:
    """LangChain's ``ChatOpenAI`` drops ``reasoning_content`` from the history it sends back;
    through the proxy, the upstream still gets each turn with its think block."""
    try:
        from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
        from langchain_openai import ChatOpenAI
    except ImportError:
        pytest.skip("langchain_openai is not installed (pip install langchain-openai)")
    port = servers.proxy(dialect=dialect)
    llm = ChatOpenAI(
        model=dialect,
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key="sk-test",  # type: ignore[arg-type]
        max_retries=0,
        timeout=WAIT,
        streaming=stream,
    ).bind_tools(TOOLS)
    mark = servers.mark()
    history: list[Any] = [HumanMessage(USER[0]["content"])]
    first = llm.invoke(history)
    assert isinstance(first, AIMessage)
    [call] = first.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"location": "Paris"}
    history += [first, ToolMessage(TOOL_RESULT, tool_call_id=call["id"])]
    second = llm.invoke(history)
    assert second.content == CONTENT[1]
    history += [second, HumanMessage(USER[1]["content"])]
    llm.invoke(history)

    bodies = [json.loads(b)["messages"] for b in servers.since(mark)]
    assert len(bodies) == 3
    for body in bodies[1:]:
        # What LangChain sent, as the upstream got it: the reasoning back in content...
        assert body[1]["content"] == INLINE_FIRST[dialect]
        assert body[1]["tool_calls"][0]["id"] == call["id"]
        assert "reasoning_content" not in body[1]
    assert bodies[2][3]["content"] == think(REASONING[1], dialect) + CONTENT[1]
    # ...which LangChain itself had dropped: the proxy restored both turns.
    m = scrape(port)
    assert m["minimax_proxy_reasoning_restored_total"] == 3
