"""``POST /v1/responses`` on the proxy: the OpenAI Responses API in front of an OpenAI-compatible
upstream that passes MiniMax markup through (Codex with a provider whose
``wire_api = "responses"``).

The request is translated by :func:`minimax_parser.responses_stream.chat_request` (replayed
``reasoning`` items go back by the proxy's ``--restore-reasoning`` mode: ``inline``, ``field``;
``off`` drops them) and sent to ``{upstream}/chat/completions`` with the client's
``Authorization``; turns whose reasoning the client did not send back get it from the proxy's
reasoning store, as on ``/v1/chat/completions``, and the turns served here are remembered there.
The answer is parsed and translated by :class:`~minimax_parser.responses_stream.ResponsesStream`:
a ``response`` object, or its event stream (``response.created`` … ``response.completed``, or
``response.incomplete`` when the upstream stopped for length).

Errors are OpenAI error objects with the status of the failure, always before the stream starts:
400 for a request that cannot be translated or tools the parser refuses, the upstream's status
and body for its non-2xx answers, and the proxy's own (413, 502, 503, 504). Once the stream
started, a failure (the upstream's connection or timeout, an end before a finish reason) is a
``response.failed`` event and the end of the stream; a malformed upstream chunk is counted and
skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from .proxy import (
    _RECORD,
    KEEP_ALIVE,
    ProxyError,
    _ClientGone,
    _Proxy,
    _Record,
    _Sender,
    _sse_events,
)
from .proxy_checks import Malformed, loads, shorten, upstream_chunk, upstream_document
from .proxy_reasoning import RestorePlan, completion_turns
from .reasoning_store import turn_scope
from .responses_stream import RequestError, ResponsesStream, chat_request, completion_chunk, sse

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web

__all__ = ["responses"]

logger = logging.getLogger("minimax_parser.proxy")


class _Plan:
    """A checked Responses request: the upstream body, the parser options and the reasoning
    that could be restored into it (built on a worker thread)."""

    def __init__(self, proxy: _Proxy, raw: bytes, tenant: str) -> None:
        try:
            body = loads(raw, "the request body")
            restore = proxy.reasoning.mode if proxy.reasoning is not None else "off"
            dialect = proxy.parser_options.get("dialect", "m2")
            self.chat = chat_request(body, dialect=dialect, restore=restore)
        except (Malformed, RequestError) as e:
            raise ProxyError(400, str(e), "invalid_request_error", "bad_request") from None
        self.request: dict[str, Any] = body
        self.stream = bool(self.chat.get("stream"))
        kwargs = self.chat.get("chat_template_kwargs")
        mode = kwargs.get("thinking_mode") if isinstance(kwargs, dict) else None
        self.options = dict(proxy.parser_options)
        if isinstance(mode, str) and self.options.get("dialect") == "m3":
            self.options["start_in_reasoning"] = mode == "enabled"
        try:
            self.machine()  # the parser refuses these tools: a 400 now
        except (TypeError, ValueError) as e:
            message = f"invalid tools: {shorten(str(e))}"
            raise ProxyError(400, message, "invalid_request_error", "bad_request") from None
        messages = self.chat["messages"]
        self.scope = turn_scope(messages[-1] if messages else None, tenant)
        self.restore: RestorePlan | None = (
            proxy.reasoning.plan(self.chat, tenant) if proxy.reasoning is not None else None
        )
        self.raw = json.dumps(self.chat).encode()

    def machine(self) -> ResponsesStream:
        return ResponsesStream(request=self.request, tools=self.chat.get("tools"), **self.options)


def _turns(response: dict[str, Any], scope: str) -> list[tuple[list[str], str]]:
    """What the reasoning store keeps of a served response (as for a ``chat.completion``)."""
    reasoning, content, calls = [], [], []
    for item in response.get("output") or []:
        if item["type"] == "reasoning":
            reasoning += [p["text"] for p in item.get("content") or []]
        elif item["type"] == "message":
            content += [p["text"] for p in item.get("content") or []]
        elif item["type"] == "function_call":
            calls.append({"id": item["call_id"], "type": "function", "function": {}})
    message: dict[str, Any] = {"reasoning_content": "".join(reasoning), "content": "".join(content)}
    if calls:
        message["tool_calls"] = calls
    return completion_turns({"choices": [{"message": message}]}, scope)


async def responses(proxy: _Proxy, request: web.Request) -> web.StreamResponse:
    """Answers one ``POST /v1/responses``."""

    rec = _RECORD.get()
    raw = await proxy._read_body(request)
    tenant = request.headers.get("Authorization", "")
    plan = await proxy._on_thread(_Plan, proxy, raw, tenant)
    rec.stream = plan.stream
    body = plan.raw
    if plan.restore is not None and proxy.reasoning is not None:
        body, rec.restored = await proxy.reasoning.restore(body, plan.restore, proxy._on_thread)
        plan.restore = None
    headers = proxy._forward_headers(request)
    headers["Content-Type"] = "application/json"
    async with proxy._post_chat(rec, body, headers) as resp:
        if resp.status // 100 != 2:
            return await proxy._passed_on(rec, resp)
        if resp.content_type == "text/event-stream":
            rec.stream = True
            return await _stream(proxy, request, resp, plan, rec)
        rec.stream = False
        return await _complete(proxy, resp, plan, rec)


async def _complete(
    proxy: _Proxy, resp: aiohttp.ClientResponse, plan: _Plan, rec: _Record
) -> web.StreamResponse:
    from aiohttp import web

    raw = await resp.read()
    what = "the response"
    if resp.content_type != "application/json":
        what += f" ({shorten(resp.content_type, 60)})"
    try:
        completion = upstream_document(raw, what, "message")
        machine = plan.machine()
        start = time.perf_counter()
        try:
            machine.feed(completion_chunk(completion))
            machine.finish()
        finally:
            rec.parsed(time.perf_counter() - start)
    except Exception as e:
        if not isinstance(e, Malformed):
            logger.warning("translating an upstream response failed", exc_info=True)
        raise ProxyError(
            502, f"malformed upstream response: {shorten(str(e))}", "upstream_malformed_response"
        ) from None
    rec.tool_calls += machine.tool_calls
    if proxy.reasoning is not None:
        await proxy.reasoning.remember(_turns(machine.response, plan.scope))
    return web.json_response(machine.response, status=resp.status)


async def _stream(
    proxy: _Proxy,
    request: web.Request,
    resp: aiohttp.ClientResponse,
    plan: _Plan,
    rec: _Record,
) -> web.StreamResponse:
    import aiohttp
    from aiohttp import web

    out = web.StreamResponse(status=resp.status)
    out.content_type = "text/event-stream"
    out.headers["Cache-Control"] = "no-cache"
    sender = _Sender(out)
    machine = plan.machine()
    proxy.metrics.open_streams.inc()

    async def send(events: list[dict[str, Any]]) -> None:
        await sender.send(b"".join(sse(e) for e in events))

    async def fail(kind: str, message: str) -> None:
        proxy._count(rec, kind)
        await send(machine.finish(error=message))

    try:
        await sender.prepare(request)
        await send(machine.start())
        try:
            async with aclosing(_sse_events(resp)) as events:
                ended = await _relay(proxy, events, machine, sender, rec)
            if ended:
                await send(machine.finish())
                if proxy.reasoning is not None and machine.response["status"] == "completed":
                    await proxy.reasoning.remember(_turns(machine.response, plan.scope))
            else:
                await fail("upstream_error", "upstream stream ended before a finish reason")
        except asyncio.TimeoutError:
            await fail("upstream_timeout", f"upstream timed out after {proxy.timeout:g} s")
        except aiohttp.ClientError as e:
            await fail("upstream_error", f"upstream stream failed: {e}")
        except _ClientGone:
            raise
        except Exception:
            logger.exception("relaying the upstream stream failed")
            await fail("internal_error", "internal error in the proxy (see its log)")
        rec.tool_calls += machine.tool_calls
        await sender.end()
    except _ClientGone:
        rec.client_gone = True
        proxy._count(rec, "client_disconnected")
        resp.close()
    finally:
        proxy.metrics.open_streams.dec()
    return out


async def _relay(
    proxy: _Proxy,
    events: AsyncIterator[tuple[str | None, str | None]],
    machine: ResponsesStream,
    sender: _Sender,
    rec: _Record,
) -> bool:
    """Feeds the upstream events to ``machine`` until ``[DONE]`` or the end; whether the
    stream ended properly (``[DONE]``, or an end after a finish reason)."""
    finished = False
    async for _event, data in events:
        if data is None:
            await sender.send(KEEP_ALIVE)
            continue
        if data.strip() == "[DONE]":
            return True
        try:
            chunk = upstream_chunk(_event, data)
        except Malformed as e:
            logger.warning("skipping a malformed upstream chunk: %s", e)
            proxy._count(rec, "upstream_malformed_chunk")
            continue
        start = time.perf_counter()
        try:
            out = machine.feed(chunk)
        finally:
            rec.parsed(time.perf_counter() - start)
        for choice in chunk.get("choices") or []:
            finished = finished or (choice.get("index", 0) == 0 and choice.get("finish_reason"))
        await sender.send(b"".join(sse(e) for e in out))
    return finished
