"""An OpenAI-compatible proxy in front of a server that passes MiniMax-M2 markup through in
``content`` (``minimax-parser proxy --upstream URL``).

``POST /v1/chat/completions`` is forwarded to ``{upstream}/chat/completions`` with the client's
body (unchanged) and ``Authorization`` header; the answer comes back parsed by
:class:`~minimax_parser.openai_stream.StreamRewriter` (server-sent events) or
:func:`~minimax_parser.openai_stream.wrap_completion` (one JSON ``chat.completion``), typed by the
request's ``tools``. ``GET /v1/models`` is passed through. Point any OpenAI client's base URL at it.

Failures, as a client sees them:

* upstream answers non-2xx: the same status, body and content type;
* upstream unreachable: 502, ``{"error": {"type": "upstream_unreachable", ...}}``;
* upstream slower than ``timeout`` (total per request): 504 ``upstream_timeout`` before the
  response started, an SSE ``data: {"error": {...}}`` event and the end of the stream after;
* an upstream chunk that is not a JSON object: an SSE error event
  (``upstream_malformed_chunk``), then the stream goes on with the next chunk;
* the client disconnects: the upstream response is closed, nothing more is read from it.

Each request is logged as one line on the ``minimax_parser.proxy`` logger (INFO). aiohttp is
imported only when a proxy is built: ``pip install 'minimax-parser[proxy]'``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from .openai_stream import StreamRewriter, wrap_completion

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web

__all__ = ["make_app", "run"]

logger = logging.getLogger("minimax_parser.proxy")

#: Largest request body accepted (agent conversations with long histories are big).
MAX_REQUEST_BYTES = 256 * 1024 * 1024

#: Headers never copied from an upstream response (hop-by-hop, or recomputed by the proxy: aiohttp
#: decompresses the upstream body and sets its own length and encoding).
_SKIP_RESPONSE_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "date",
        "server",
    }
)
#: Request headers forwarded upstream.
_FORWARD_REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept")


def _require_aiohttp() -> None:
    try:
        import aiohttp  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "the minimax-parser proxy needs aiohttp: pip install 'minimax-parser[proxy]'"
        ) from e


def _error_body(message: str, type_: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_}}


def _sse(data: Mapping[str, Any] | str, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def _copy_headers(headers: Mapping[str, str], *skip: str) -> dict[str, str]:
    drop = _SKIP_RESPONSE_HEADERS | {s.lower() for s in skip}
    return {k: v for k, v in headers.items() if k.lower() not in drop}


def _count_calls(message: Any) -> int:
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    return len(calls) if isinstance(calls, list) else 0


def _function_tools(tools: Any) -> Any:
    """The request's function tools (OpenAI or bare form); other tool kinds have no schema here."""
    if not isinstance(tools, list):
        return tools
    return [t for t in tools if not isinstance(t, dict) or t.get("type", "function") == "function"]


class _ClientGone(Exception):
    """The client closed the connection while the proxy was writing to it."""


class _Log:
    """What the one log line of a request says."""

    def __init__(self, request: web.Request) -> None:
        self.start = time.monotonic()
        self.started_at = time.time()
        self.method = request.method
        self.path = request.path
        self.status = 0
        self.stream = False
        self.tool_calls = 0
        self.note = ""

    def emit(self) -> None:
        ms = round((time.monotonic() - self.start) * 1000)
        fields = {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "stream": self.stream,
            "duration_ms": ms,
            "tool_calls": self.tool_calls,
            "note": self.note,
            "started_at": self.started_at,
        }
        logger.info(
            "%s %s status=%d stream=%s duration_ms=%d tool_calls=%d%s",
            self.method,
            self.path,
            self.status,
            "true" if self.stream else "false",
            ms,
            self.tool_calls,
            f" note={self.note}" if self.note else "",
            extra={"proxy": fields},
        )


class _Lines:
    """Splits a byte stream into lines (``\\n`` or ``\\r\\n``), in linear time."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        start = len(self._buf)
        self._buf += data
        lines: list[bytes] = []
        begin = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end < 0:
                break
            line = bytes(self._buf[begin:end])
            lines.append(line[:-1] if line.endswith(b"\r") else line)
            begin = start = end + 1
        del self._buf[:begin]
        return lines

    def rest(self) -> list[bytes]:
        line = bytes(self._buf).rstrip(b"\r")
        self._buf.clear()
        return [line] if line else []


async def _sse_events(
    response: aiohttp.ClientResponse,
) -> AsyncGenerator[tuple[str | None, str], None]:
    """Yields ``(event name, data)`` per server-sent event and ``(":", line)`` per comment line (a
    keep-alive); ``id:`` and ``retry:`` fields are dropped."""
    lines = _Lines()
    event: str | None = None
    data: list[str] = []
    eof = False
    chunks = response.content.iter_any()
    while not eof:
        try:
            batch = lines.feed(await chunks.__anext__())
        except StopAsyncIteration:
            batch, eof = [*lines.rest(), b""], True
        for raw in batch:
            line = raw.decode("utf-8", errors="replace")
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = None, []
            elif line.startswith(":"):
                yield ":", line
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    data.append(value)
                elif field == "event":
                    event = value


class _Proxy:
    def __init__(self, upstream: str, timeout: float, parser_options: dict[str, Any]) -> None:
        self.upstream = upstream.rstrip("/")
        self.timeout = timeout
        self.parser_options = parser_options
        self._session: aiohttp.ClientSession | None = None

    async def session_context(self, app: web.Application) -> AsyncIterator[None]:
        import aiohttp

        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout), auto_decompress=True
        ) as session:
            self._session = session
            yield
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "the proxy's client session starts with the app"
        return self._session

    def _forward_headers(self, request: web.Request) -> dict[str, str]:
        return {h: request.headers[h] for h in _FORWARD_REQUEST_HEADERS if h in request.headers}

    # -- GET /v1/models ------------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.StreamResponse:
        log = _Log(request)
        try:
            return await self._models(request, log)
        except asyncio.CancelledError:
            log.status = log.status or 499
            log.note = log.note or "client_disconnected"
            raise
        finally:
            log.emit()

    async def _models(self, request: web.Request, log: _Log) -> web.StreamResponse:
        import aiohttp
        from aiohttp import web

        url = self.upstream + request.path_qs.removeprefix("/v1")
        try:
            async with self.session.get(url, headers=self._forward_headers(request)) as resp:
                raw = await resp.read()
                log.status = resp.status
                return web.Response(
                    body=raw, status=resp.status, headers=_copy_headers(resp.headers)
                )
        except asyncio.TimeoutError:
            return self._fail(
                log, 504, f"upstream timed out after {self.timeout:g} s", "upstream_timeout"
            )
        except aiohttp.ClientError as e:
            return self._fail(log, 502, f"upstream unreachable: {e}", "upstream_unreachable")

    def _fail(self, log: _Log, status: int, message: str, type_: str) -> web.Response:
        from aiohttp import web

        log.status = status
        log.note = type_
        return web.json_response(_error_body(message, type_), status=status)

    # -- POST /v1/chat/completions ---------------------------------------------------------------

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        log = _Log(request)
        try:
            return await self._chat(request, log)
        except asyncio.CancelledError:
            log.status = log.status or 499  # nginx's "client closed request"
            log.note = log.note or "client_disconnected"
            raise
        finally:
            log.emit()

    async def _chat(self, request: web.Request, log: _Log) -> web.StreamResponse:
        import aiohttp
        from aiohttp import web

        raw = await request.read()
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
        except ValueError as e:
            log.status = 400
            return web.json_response(
                _error_body(f"request body is not a JSON object: {e}", "invalid_request_error"),
                status=400,
            )
        log.stream = bool(body.get("stream"))
        tools = _function_tools(body.get("tools"))
        try:
            rewriter = StreamRewriter(tools=tools, **self.parser_options)
        except (TypeError, ValueError) as e:
            log.status = 400
            return web.json_response(
                _error_body(f"invalid tools: {e}", "invalid_request_error"), status=400
            )
        headers = self._forward_headers(request)
        headers.setdefault("Content-Type", "application/json")
        try:
            async with self.session.post(
                self.upstream + "/chat/completions", data=raw, headers=headers
            ) as resp:
                log.status = resp.status
                if resp.status // 100 != 2:
                    return web.Response(
                        body=await resp.read(),
                        status=resp.status,
                        headers=_copy_headers(resp.headers),
                    )
                if resp.content_type == "text/event-stream":
                    log.stream = True
                    return await self._stream(request, resp, rewriter, log)
                log.stream = False
                return await self._complete(resp, tools, log)
        except asyncio.TimeoutError:
            return self._fail(
                log, 504, f"upstream timed out after {self.timeout:g} s", "upstream_timeout"
            )
        except aiohttp.ClientError as e:
            return self._fail(log, 502, f"upstream unreachable: {e}", "upstream_unreachable")

    async def _complete(
        self, resp: aiohttp.ClientResponse, tools: Any, log: _Log
    ) -> web.StreamResponse:
        from aiohttp import web

        raw = await resp.read()
        if resp.content_type != "application/json":
            return web.Response(body=raw, status=resp.status, headers=_copy_headers(resp.headers))
        try:
            completion = json.loads(raw)
            if not isinstance(completion, dict):
                raise ValueError("expected a JSON object")
            parsed = wrap_completion(completion, tools=tools, **self.parser_options)
        except (AttributeError, TypeError, ValueError, RuntimeError) as e:
            return self._fail(
                log, 502, f"malformed upstream response: {e}", "upstream_malformed_response"
            )
        log.tool_calls = sum(
            _count_calls(c.get("message"))
            for c in parsed.get("choices") or []
            if isinstance(c, dict)
        )
        return web.json_response(
            parsed, status=resp.status, headers=_copy_headers(resp.headers, "content-type")
        )

    async def _stream(
        self,
        request: web.Request,
        resp: aiohttp.ClientResponse,
        rewriter: StreamRewriter,
        log: _Log,
    ) -> web.StreamResponse:
        import aiohttp
        from aiohttp import web

        out = web.StreamResponse(status=resp.status, headers=_copy_headers(resp.headers))
        out.headers["Cache-Control"] = "no-cache"
        sender = _Sender(out, log)
        try:
            try:
                await out.prepare(request)
            except ConnectionError as e:
                raise _ClientGone from e
            try:
                async with aclosing(_sse_events(resp)) as events:
                    await self._relay(events, rewriter, sender, log)
            except asyncio.TimeoutError:
                log.note = "upstream_timeout"
                message = f"upstream timed out after {self.timeout:g} s"
                await sender.send(_sse(_error_body(message, "upstream_timeout")))
            except aiohttp.ClientError as e:
                log.note = "upstream_error"
                message = f"upstream stream failed: {e}"
                await sender.send(_sse(_error_body(message, "upstream_error")))
            try:
                await out.write_eof()
            except ConnectionError as e:
                raise _ClientGone from e
        except _ClientGone:
            log.note = "client_disconnected"
            resp.close()  # stop reading upstream: drop its connection
        return out

    async def _relay(
        self,
        events: AsyncIterator[tuple[str | None, str]],
        rewriter: StreamRewriter,
        sender: _Sender,
        log: _Log,
    ) -> None:
        """Rewrites the upstream events into the client's stream until ``[DONE]`` or the end."""
        async for event, data in events:
            if event == ":":  # a comment: pass keep-alives on
                await sender.send(f"{data}\n\n".encode())
                continue
            if data.strip() == "[DONE]":
                await sender.chunks(rewriter.finish())
                await sender.send(_sse("[DONE]", event))
                return
            try:
                chunk = json.loads(data)
                if not isinstance(chunk, dict):
                    raise ValueError("expected a JSON object")
                outs = rewriter.process(chunk)
            except (AttributeError, TypeError, ValueError, RuntimeError) as e:
                shown = data if len(data) <= 200 else data[:200] + "…"
                log.note = "upstream_malformed_chunk"
                message = f"malformed upstream chunk: {e}: {shown!r}"
                await sender.send(_sse(_error_body(message, "upstream_malformed_chunk")))
                continue
            await sender.chunks(outs, event)
        await sender.chunks(rewriter.finish())  # the stream ended without [DONE]


class _Sender:
    """Writes to the client; a failed write (the client went away) raises :class:`_ClientGone`."""

    def __init__(self, out: web.StreamResponse, log: _Log) -> None:
        self.out = out
        self.log = log

    async def send(self, data: bytes) -> None:
        try:
            await self.out.write(data)
        except ConnectionError as e:  # aiohttp raises ClientConnectionResetError
            raise _ClientGone from e

    async def chunks(self, chunks: list[dict[str, Any]], event: str | None = None) -> None:
        for chunk in chunks:
            for choice in chunk.get("choices") or []:
                calls = (choice.get("delta") or {}).get("tool_calls") or []
                self.log.tool_calls += sum(1 for c in calls if c.get("id"))
            await self.send(_sse(chunk, event))


def make_app(upstream: str, *, timeout: float = 600, **parser_options: Any) -> web.Application:
    """The proxy as an aiohttp application forwarding to ``upstream`` (a base URL including
    ``/v1``, e.g. ``http://127.0.0.1:11434/v1``).

    ``timeout`` is the total time allowed per upstream request, in seconds. ``parser_options``
    are the parser's (``reasoning``, ``start_in_reasoning``, ``tool_calls_in_reasoning``); the
    tools come from each request. Serve it with ``handler_cancellation=True`` (as :func:`run`
    does) so a client that disconnects while the upstream is silent is noticed at once, not at
    the next write."""
    _require_aiohttp()
    from aiohttp import web

    if not upstream.startswith(("http://", "https://")):
        raise ValueError(f"--upstream must be an http:// or https:// URL, got {upstream!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    StreamRewriter(**parser_options)  # fail on bad options now, not at the first request
    proxy = _Proxy(upstream, timeout, dict(parser_options))
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.cleanup_ctx.append(proxy.session_context)
    app.router.add_post("/v1/chat/completions", proxy.chat_completions)
    app.router.add_get("/v1/models", proxy.models)
    app.router.add_get("/v1/models/{model:.+}", proxy.models)
    return app


def run(
    upstream: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    timeout: float = 600,
    **parser_options: Any,
) -> None:
    """Serves :func:`make_app` on ``host:port`` until interrupted."""
    app = make_app(upstream, timeout=timeout, **parser_options)
    from aiohttp import web

    logger.info("serving on http://%s:%d/v1, upstream %s", host, port, upstream)
    web.run_app(
        app,
        host=host,
        port=port,
        handler_cancellation=True,
        access_log=None,
        print=None,
    )
