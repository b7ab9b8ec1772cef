"""``POST /v1/messages`` on the proxy: the Anthropic Messages API in front of an OpenAI-compatible
upstream that passes MiniMax markup through (Claude Code with ``ANTHROPIC_BASE_URL``).

The request is translated by :func:`minimax_parser.anthropic_stream.to_chat_request` (the
proxy's ``--restore-reasoning`` mode says how thinking blocks go back: ``inline``, ``field``,
``off``) and sent to ``{upstream}/chat/completions`` with the client's ``Authorization`` (or its
``x-api-key`` as a bearer token); the answer is parsed and translated by
:class:`~minimax_parser.anthropic_stream.MessageStream`. A stream starts with ``message_start``
and a ``ping``; a ``ping`` follows each upstream keep-alive comment and every
:data:`PING_INTERVAL` seconds the upstream stays silent.

Errors are Anthropic error objects (``{"type": "error", "error": {"type", "message"}}``): a
request that cannot be translated is a 400 ``invalid_request_error``; an upstream non-2xx answer
keeps its status (its ``error.message`` when it has one); the proxy's own failures keep their
statuses (413, 502, 503, 504). All of them come before the stream starts; once it started, a
failure (the upstream's connection, its timeout, an end before a finish reason) is an ``error``
event and the end of the stream. A malformed upstream chunk is counted and skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from .anthropic_stream import (
    MessageStream,
    RequestError,
    completion_chunk,
    error_body,
    parser_tools,
    sse,
    to_chat_request,
)
from .proxy import (
    _RECORD,
    ProxyError,
    _ClientGone,
    _Proxy,
    _Record,
    _Sender,
    _sse_events,
)
from .proxy_checks import Malformed, loads, shorten, upstream_chunk, upstream_document

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web

__all__ = ["PING_INTERVAL", "AnthropicError", "messages"]

logger = logging.getLogger("minimax_parser.proxy")

#: Seconds of upstream silence after which a stream gets a ``ping`` event.
PING_INTERVAL = 10.0
_PING = {"type": "ping"}


class AnthropicError(ProxyError):
    """A :class:`~minimax_parser.proxy.ProxyError` answered as an Anthropic error object."""

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message)

    @classmethod
    def of(cls, e: ProxyError) -> AnthropicError:
        return cls(e.status, e.message, e.type, e.kind, e.extra, e.headers)


class _Plan:
    """A checked Messages request: the upstream body and how to read its answer."""

    def __init__(self, proxy: _Proxy, raw: bytes) -> None:
        try:
            body = loads(raw, "the request body")
            restore = proxy.reasoning.mode if proxy.reasoning is not None else "off"
            dialect = proxy.parser_options.get("dialect", "m2")
            chat = to_chat_request(body, dialect=dialect, restore=restore)
            tools = parser_tools(body)
        except (Malformed, RequestError) as e:
            raise AnthropicError(400, str(e), "invalid_request_error", "bad_request") from None
        self.stream = chat["stream"]
        self.model: str = body["model"]
        self.raw = json.dumps(chat, ensure_ascii=False).encode()
        options = dict(proxy.parser_options)
        mode = (chat.get("chat_template_kwargs") or {}).get("thinking_mode")
        if mode is not None and dialect == "m3":
            options["start_in_reasoning"] = mode == "enabled"
        self.options = {
            "model": self.model,
            "tools": tools,
            "drop_calls": chat.get("tool_choice") == "none",
            "stop_sequences": chat.get("stop", []),
            **options,
        }
        try:
            self.new_stream()
        except (TypeError, ValueError) as e:
            message = f"invalid tools: {shorten(str(e))}"
            raise AnthropicError(400, message, "invalid_request_error", "bad_request") from None

    def new_stream(self) -> MessageStream:
        return MessageStream(**self.options)


def _upstream_message(raw: bytes, status: int) -> str:
    """The message of an upstream error body (its ``error.message``, ``message`` or text)."""
    text = raw.decode("utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        error = doc.get("error")
        for found in (
            error.get("message") if isinstance(error, dict) else error,
            doc.get("message"),
        ):
            if isinstance(found, str) and found:
                return shorten(found, 2000)
    return shorten(text, 2000) or f"upstream answered with status {status}"


async def messages(proxy: _Proxy, request: web.Request) -> web.StreamResponse:
    """The ``POST /v1/messages`` handler (errors as Anthropic error objects)."""
    try:
        return await _messages(proxy, request, _RECORD.get())
    except AnthropicError:
        raise
    except ProxyError as e:
        raise AnthropicError.of(e) from None


async def _messages(proxy: _Proxy, request: web.Request, rec: _Record) -> web.StreamResponse:
    from aiohttp import web

    raw = await proxy._read_body(request)
    plan = await proxy._on_thread(_Plan, proxy, raw)
    rec.stream = plan.stream
    headers = {"Content-Type": "application/json"}
    if "Authorization" in request.headers:
        headers["Authorization"] = request.headers["Authorization"]
    elif "x-api-key" in request.headers:
        headers["Authorization"] = "Bearer " + request.headers["x-api-key"]
    async with proxy._post_chat(rec, plan.raw, headers) as resp:
        if resp.status // 100 != 2:
            proxy._count(rec, "upstream_http_error")
            message = _upstream_message(await resp.read(), resp.status)
            raise AnthropicError(resp.status, message, "upstream_http_error")
        if resp.content_type == "text/event-stream" and plan.stream:
            return await _stream(proxy, request, resp, plan, rec)
        stream = plan.new_stream()
        if resp.content_type == "text/event-stream":
            events = await _collect(proxy, resp, stream, rec)
        else:
            events = _complete(await resp.read(), resp.content_type, stream, rec)
        rec.tool_calls += _calls(stream)
        if plan.stream:  # the upstream answered a stream with one document
            return await _replay(request, events)
        return web.json_response(stream.message)


def _calls(stream: MessageStream) -> int:
    return sum(1 for b in stream.message["content"] if b["type"] == "tool_use")


def _parse(rec: _Record, stream: MessageStream, chunk: dict[str, Any]) -> list[dict[str, Any]]:
    start = time.perf_counter()
    try:
        return stream.process(chunk)
    finally:
        rec.parsed(time.perf_counter() - start)


def _complete(
    raw: bytes, content_type: str, stream: MessageStream, rec: _Record
) -> list[dict[str, Any]]:
    """A whole upstream ``chat.completion`` through ``stream``: its events."""
    what = "the response"
    if content_type != "application/json":
        what += f" ({shorten(content_type, 60)})"
    try:
        completion = upstream_document(raw, what, "message")
        return stream.start() + _parse(rec, stream, completion_chunk(completion)) + stream.finish()
    except Exception as e:
        if not isinstance(e, Malformed):
            logger.warning("translating an upstream response failed", exc_info=True)
        message = f"malformed upstream response: {shorten(str(e))}"
        raise ProxyError(502, message, "upstream_malformed_response") from None


async def _collect(
    proxy: _Proxy, resp: aiohttp.ClientResponse, stream: MessageStream, rec: _Record
) -> list[dict[str, Any]]:
    """A whole upstream stream through ``stream`` (a request that did not ask for a stream)."""
    done = False
    out = stream.start()
    async with aclosing(_sse_events(resp)) as events:
        async for event, data in events:
            if data is None:
                continue
            if data.strip() == "[DONE]":
                done = True
                break
            try:
                out += _parse(rec, stream, upstream_chunk(event, data))
            except Malformed:
                proxy._count(rec, "upstream_malformed_chunk")
    if not done and not stream.finished:
        raise ProxyError(502, "upstream stream ended before [DONE]", "upstream_error")
    return out + stream.finish()


async def _replay(request: web.Request, events: list[dict[str, Any]]) -> web.StreamResponse:
    """``events`` as one event stream (the upstream answered a stream with one document)."""
    from aiohttp import web

    out = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    out.headers["Cache-Control"] = "no-cache"
    await out.prepare(request)
    await out.write(b"".join(sse(e) for e in events))
    await out.write_eof()
    return out


async def _with_pings(
    events: AsyncIterator[tuple[str | None, str | None]], interval: float
) -> AsyncGenerator[tuple[str | None, str | None] | None, None]:
    """``events``, with ``None`` after each ``interval`` seconds without one."""
    pending: asyncio.Future[tuple[str | None, str | None]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(events.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            finally:
                if done:
                    pending = None
            yield item
    finally:
        if pending is not None:  # closed while waiting: stop reading, and wait for the read to end
            pending.cancel()
            await asyncio.wait({pending})
            if not pending.cancelled():
                pending.exception()  # retrieved: it ends with the stream, nobody else wants it


async def _stream(
    proxy: _Proxy,
    request: web.Request,
    resp: aiohttp.ClientResponse,
    plan: _Plan,
    rec: _Record,
) -> web.StreamResponse:
    import aiohttp
    from aiohttp import web

    out = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    out.headers["Cache-Control"] = "no-cache"
    sender = _Sender(out)
    stream = plan.new_stream()
    proxy.metrics.open_streams.inc()

    async def send(events: list[dict[str, Any]]) -> None:
        await sender.send(b"".join(sse(e) for e in events))

    async def fail(kind: str, message: str) -> None:
        proxy._count(rec, kind)
        await send([error_body(502 if kind != "upstream_timeout" else 504, message)])

    try:
        await sender.prepare(request)
        await send(stream.start())
        try:
            done = False
            async with (
                aclosing(_sse_events(resp)) as events,
                aclosing(_with_pings(events, PING_INTERVAL)) as items,
            ):
                async for item in items:
                    data = None if item is None else item[1]
                    if item is None or data is None:  # silence, or an upstream keep-alive
                        await send([_PING])
                        continue
                    event = item[0]
                    if data.strip() == "[DONE]":
                        done = True
                        break
                    try:
                        chunk = upstream_chunk(event, data)
                    except Malformed:
                        proxy._count(rec, "upstream_malformed_chunk")
                        continue
                    await send(_parse(rec, stream, chunk))
            if not done and not stream.finished:
                await fail("upstream_error", "upstream stream ended before a finish reason")
            else:
                await send(stream.finish())
                rec.tool_calls += _calls(stream)
        except asyncio.TimeoutError:
            await fail("upstream_timeout", f"upstream timed out after {proxy.timeout:g} s")
        except aiohttp.ClientError as e:
            await fail("upstream_error", f"upstream stream failed: {e}")
        except _ClientGone:
            raise
        except Exception:  # a bug here: say so in the stream and end it cleanly
            logger.exception("translating the upstream stream failed")
            await fail("internal_error", "internal error in the proxy (see its log)")
        await sender.end()
    except _ClientGone:
        rec.client_gone = True
        proxy._count(rec, "client_disconnected")
        resp.close()
    finally:
        proxy.metrics.open_streams.dec()
    return out
