"""An OpenAI-compatible proxy in front of a server that passes MiniMax-M2 or MiniMax-M3 markup
through in ``content`` (``minimax-parser proxy --upstream URL [--dialect m3]``).

Routes (nothing else reaches the upstream; every other path is a 404 JSON error):

* ``POST /v1/chat/completions`` is forwarded to ``{upstream}/chat/completions`` with the client's
  body (unchanged once it passed the checks below, unless reasoning is restored into it: see
  below) and ``Authorization`` header; the answer comes back parsed by
  :class:`~minimax_parser.openai_stream.StreamRewriter` (server-sent events) or
  :func:`~minimax_parser.openai_stream.wrap_completion` (one JSON ``chat.completion``), typed by
  the request's ``tools``. ``tool_choice="none"`` drops the parsed calls (the markup does not leak
  into ``content``), as the vLLM plugin does; ``"required"`` and named choices are forwarded for
  the upstream to enforce and parsed like ``"auto"``. The markup is read in the proxy's
  ``dialect``; with ``"m3"``, a request's ``chat_template_kwargs.thinking_mode`` (a string) sets
  where the response starts, as M3's template renders the prompt: inside reasoning for
  ``"enabled"``, in content for any other mode; a request without it gets the proxy's
  ``start_in_reasoning`` (default: the dialect's, in content).
* ``POST /v1/messages``: the Anthropic Messages API, translated to and from a chat completion
  (:mod:`minimax_parser.proxy_anthropic`; errors there are Anthropic error objects).
* ``POST /v1/responses``: the OpenAI Responses API, translated to and from a chat completion
  (:mod:`minimax_parser.proxy_responses`).
* ``GET /v1/models`` and ``GET /v1/models/{id}`` are passed through; each segment of ``{id}`` is
  decoded, checked (no ``.``/``..``, no encoded ``/`` or ``\\``, no control characters) and
  re-encoded under the upstream base.
* ``GET /health``: 200 when the upstream answers ``GET {upstream}/models`` within
  :data:`HEALTH_TIMEOUT` seconds with a status below 500, else 503.
* ``GET /metrics``: Prometheus text exposition (:mod:`minimax_parser.metrics`).

Reasoning continuity (``restore_reasoning``, default ``"inline"``): the proxy remembers the
reasoning of each assistant turn it serves (under its tool-call ids, or its content's hash for
a turn without calls; :mod:`minimax_parser.reasoning_store`) once the response is complete, and
when a later request's history holds such a turn without reasoning (no ``reasoning_content``
or ``reasoning``, no think block in ``content``), that turn goes upstream restored: the
dialect's think block before its content (``"inline"``) or in ``reasoning_content``
(``"field"``). Only then is the body serialised again (:mod:`minimax_parser.proxy_reasoning`);
a request with nothing to restore goes upstream byte for byte. ``"off"`` does neither.

Failures, as a client sees them (every error the proxy makes is
``{"error": {"message": ..., "type": ...}}``, and the same ``type`` is the ``kind`` label of
``minimax_proxy_errors_total``, except ``invalid_request_error``, counted as ``bad_request``):

* a request body that cannot be read (``Content-Encoding: gzip`` on a body that is not gzip), is
  not a JSON object with a ``messages`` list, has wrong-typed ``tools``, ``stream`` or
  ``tool_choice``, or tools the parser rejects: 400 ``invalid_request_error`` (the checks are in
  :mod:`minimax_parser.proxy_checks`; they run on worker threads, at most :data:`CHECK_THREADS`
  at once, so a large body does not stall the event loop);
* another path: 404 ``not_found``; another method: 405 ``method_not_allowed`` (with ``Allow``);
* a body over ``max_body_bytes``: 413 ``request_too_large``;
* all ``max_connections`` upstream slots busy for ``timeout`` seconds: 503 ``upstream_busy``
  (waiting for a slot does not count against the upstream's ``timeout``);
* upstream answers non-2xx: the same status, body and content type;
* upstream unreachable: 502 ``upstream_unreachable``;
* upstream slower than ``timeout`` (total per upstream request, from the moment it is sent): 504
  ``upstream_timeout`` before the response started, an SSE ``data: {"error": {...}}`` event and the
  end of the stream after;
* a 2xx upstream body that is not SSE and not a well-formed ``chat.completion`` (whatever its
  content type: plain text, ndjson, empty): 502 ``upstream_malformed_response``;
* an upstream SSE event that is not a well-formed ``chat.completion.chunk`` (not UTF-8, not JSON,
  NaN/Infinity, too deeply nested, a lone surrogate in any string, an event name with a control
  character, a field of the wrong type): an SSE error event (``upstream_malformed_chunk``), then
  the stream goes on with the next event;
* the upstream connection failing mid-stream, or the upstream stream ending before ``[DONE]``
  while a choice has no finish reason: what the parser held back, an ``upstream_error`` event and
  the end of the stream (the same flush comes before an ``upstream_timeout`` event);
* the client disconnects: the upstream response is closed, nothing more is read from it; the
  request counts as status 499.

Upstream SSE lines end at CRLF, LF or a lone CR (the SSE specification, as the ``openai`` SDK
reads it); an upstream comment is answered with :data:`KEEP_ALIVE`, never echoed. ``upstream``
must not hold credentials, a query or a fragment (``ValueError`` from :func:`make_app`).

Each API request is logged as one line on the ``minimax_parser.proxy`` logger (INFO; ``/health``
and ``/metrics`` at DEBUG). aiohttp is imported only when a proxy is built:
``pip install 'minimax-parser[proxy]'``.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import math
import os
import re
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
)
from contextlib import aclosing, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .metrics import CONTENT_TYPE, Registry
from .openai_stream import StreamRewriter, _carries, wrap_completion
from .proxy_checks import (
    MAX_JSON_DEPTH,
    BadRequest,
    ChatRequest,
    Malformed,
    NotFound,
    chat_request_body,
    event_name_ok,
    models_path,
    shorten,
    upstream_chunk,
    upstream_document,
)
from .proxy_reasoning import (
    DEFAULT_RESTORE,
    RESTORE_MODES,
    ReasoningKeeper,
    RestoreMode,
    RestorePlan,
    TurnCollector,
    completion_turns,
)
from .reasoning_store import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_TTL,
    ReasoningStore,
    open_store,
    turn_scope,
)

if TYPE_CHECKING:
    import aiohttp
    import yarl
    from aiohttp import web

__all__ = [
    "CHECK_THREADS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_RESTORE",
    "DEFAULT_TIMEOUT",
    "HEALTH_TIMEOUT",
    "KEEP_ALIVE",
    "MAX_JSON_DEPTH",
    "RESTORE_MODES",
    "make_app",
    "run",
]

logger = logging.getLogger("minimax_parser.proxy")
T = TypeVar("T")

#: Seconds allowed per upstream request (``--timeout``).
DEFAULT_TIMEOUT = 600.0
#: Upstream requests in flight at once (``--max-connections``): 2 sockets each (client and
#: upstream), well inside the usual 1,024 open files, and the default batch of vLLM
#: (``max_num_seqs``), which queues the rest itself anyway.
DEFAULT_MAX_CONNECTIONS = 256
#: Largest request body accepted (``--max-body-bytes``). Agent histories with whole files in
#: them reach a few MiB; while the proxy checks a body it holds it 3 to 5 times over (bytes,
#: text, parsed JSON), so 32 MiB bounds one request at roughly 100 to 160 MB.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
#: Seconds ``GET /health`` waits for the upstream's ``/models``.
HEALTH_TIMEOUT = 5.0
#: Request bodies checked at once (strict JSON, depth, tools: CPU work done on worker threads, so
#: that a large body does not stall the event loop); more wait their turn. One per CPU: more
#: would not go faster, and each check holds its body several times over in memory.
CHECK_THREADS = os.cpu_count() or 1
#: What the proxy sends for each comment line (keep-alive) of the upstream stream: a fixed
#: comment, never the upstream's text.
KEEP_ALIVE = b": keep-alive\n\n"

#: What ``minimax_proxy_errors_total`` counts (listed at 0 before the first occurrence).
ERROR_KINDS = (
    "bad_request",
    "request_too_large",
    "not_found",
    "method_not_allowed",
    "upstream_busy",
    "upstream_unreachable",
    "upstream_timeout",
    "upstream_http_error",
    "upstream_malformed_response",
    "upstream_malformed_chunk",
    "upstream_error",
    "client_disconnected",
    "internal_error",
)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_PARSE_BUCKETS = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1)

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


# -- errors --------------------------------------------------------------------------------------


class ProxyError(Exception):
    """An error answered as ``{"error": {"message", "type"}}`` (plus ``extra`` fields) with
    ``status``; ``kind`` is its label in ``minimax_proxy_errors_total``."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str,
        kind: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.kind = kind or type_
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {**self.extra, "error": {"message": self.message, "type": self.type}}


def _bad_request(message: str) -> ProxyError:
    return ProxyError(400, message, "invalid_request_error", "bad_request")


def _from_http_exception(e: web.HTTPException, request: web.Request) -> ProxyError:
    """aiohttp's own refusals (no route, wrong method) as JSON errors. (A body over the limit
    never gets here: :meth:`_Proxy._read_body` answers it.)"""
    where = f"{request.method} {shorten(request.path, 200)}"
    if e.status == 404:
        return ProxyError(
            404,
            f"not found: {where}; the proxy serves POST /v1/chat/completions, POST /v1/messages, "
            "POST /v1/responses, GET /v1/models, GET /v1/models/{id}, GET /health and GET /metrics",
            "not_found",
        )
    if e.status == 405:
        allow = {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None
        return ProxyError(405, f"method not allowed: {where}", "method_not_allowed", headers=allow)
    if e.status < 500:
        return ProxyError(e.status, f"{e.reason}: {where}", "invalid_request_error", "bad_request")
    return ProxyError(e.status, f"{e.reason}: {where}", "internal_error")


# -- rewriting -----------------------------------------------------------------------------------


def _sse(data: Mapping[str, Any] | str, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def _copy_headers(headers: Mapping[str, str], *skip: str) -> dict[str, str]:
    drop = _SKIP_RESPONSE_HEADERS | {s.lower() for s in skip}
    return {k: v for k, v in headers.items() if k.lower() not in drop}


def _stream_calls(chunks: list[dict[str, Any]]) -> int:
    """Tool calls started in ``chunks`` (entries with an ``id``)."""
    n = 0
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            calls = (choice.get("delta") or {}).get("tool_calls") or []
            n += sum(1 for c in calls if isinstance(c, dict) and c.get("id"))
    return n


def _message_calls(completion: dict[str, Any]) -> int:
    n = 0
    for choice in completion.get("choices") or []:
        calls = (choice.get("message") or {}).get("tool_calls")
        n += len(calls) if isinstance(calls, list) else 0
    return n


def _without_calls(chunks: list[dict[str, Any]], part: str) -> list[dict[str, Any]]:
    """``tool_choice="none"``: the chunks (or completions) without tool calls; a finish reason
    ``tool_calls`` becomes ``stop``, and a chunk left with nothing to carry is dropped."""
    kept = []
    for chunk in chunks:
        choices = chunk.get("choices") or []
        for choice in choices:
            (choice.get(part) or {}).pop("tool_calls", None)
            if choice.get("finish_reason") == "tool_calls":
                choice["finish_reason"] = "stop"
        if (
            part == "message"
            or chunk.get("usage")
            or not choices
            or any(c.get("finish_reason") is not None or _carries(c["delta"]) for c in choices)
        ):
            kept.append(chunk)
    return kept


_LINE_END = re.compile(rb"\r\n|\r|\n")


class _Lines:
    """Splits a byte stream into lines ended by CRLF, LF or a lone CR (the line ends of the SSE
    specification, as the OpenAI SDK's decoder reads them), in linear time. A CR at the end of a
    read ends its line at once; an LF at the start of the next read is then the rest of that
    CRLF, not an empty line."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._after_cr = False

    def feed(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        if self._after_cr and data[:1] == b"\n":
            data = data[1:]
        self._after_cr = False
        start = len(self._buf)  # what is buffered holds no line end
        self._buf += data
        lines: list[bytes] = []
        begin = 0
        for m in _LINE_END.finditer(self._buf, start):
            lines.append(bytes(self._buf[begin : m.start()]))
            begin = m.end()
        self._after_cr = begin == len(self._buf) and self._buf[begin - 1 : begin] == b"\r"
        del self._buf[:begin]
        return lines

    def rest(self) -> list[bytes]:
        line = bytes(self._buf)
        self._buf.clear()
        return [line] if line else []


async def _sse_events(
    response: aiohttp.ClientResponse,
) -> AsyncGenerator[tuple[str | None, str | None], None]:
    """Yields ``(event name, data)`` per server-sent event and ``(None, None)`` per comment line
    (a keep-alive; its text is dropped); ``id:`` and ``retry:`` fields are dropped. Data and event
    names keep undecodable bytes as surrogates (``surrogateescape``) so that the chunk check can
    refuse them."""
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
            if not raw:
                if data:
                    yield event, "\n".join(data)
                event, data = None, []
            elif raw.startswith(b":"):
                yield None, None
            else:
                line = raw.decode("utf-8", errors="surrogateescape")
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    data.append(value)
                elif field == "event":
                    event = value


# -- the proxy -----------------------------------------------------------------------------------


class _Metrics:
    """The proxy's metrics (``GET /metrics``); the reasoning metrics are the
    :class:`~minimax_parser.proxy_reasoning.ReasoningKeeper`'s."""

    def __init__(self) -> None:
        r = self.registry = Registry()
        self.requests = r.counter(
            "minimax_proxy_requests_total",
            "HTTP requests answered, by route and status (499: the client left first).",
            ("path", "status"),
        )
        self.errors = r.counter(
            "minimax_proxy_errors_total",
            "Errors reported to clients (error responses and SSE error events), by kind.",
            ("kind",),
        )
        for kind in ERROR_KINDS:
            self.errors.declare(kind=kind)
        self.duration = r.histogram(
            "minimax_proxy_request_duration_seconds",
            "Time from request to the end of the response (streams: the last event), by route.",
            _LATENCY_BUCKETS,
            ("path",),
        )
        self.parse = r.histogram(
            "minimax_proxy_parse_duration_seconds",
            "Time spent in the parser per chat completion that reached it.",
            _PARSE_BUCKETS,
        )
        self.tool_calls = r.counter("minimax_proxy_tool_calls_total", "Tool calls sent to clients.")
        self.open_streams = r.gauge(
            "minimax_proxy_open_streams", "Server-sent event streams open to clients."
        )
        self.in_flight = r.gauge(
            "minimax_proxy_upstream_requests_in_flight",
            "Requests holding one of the --max-connections upstream slots.",
        )
        self.waiting = r.gauge(
            "minimax_proxy_upstream_requests_waiting",
            "Requests waiting for a free upstream slot (all --max-connections busy).",
        )
        self.checks = r.gauge(
            "minimax_proxy_request_checks_in_progress",
            "Request bodies being checked (or rewritten to restore reasoning) on worker "
            f"threads (at most {CHECK_THREADS} at once).",
        )


class _Record:
    """What the log line and the metrics of one request say."""

    def __init__(self, request: web.Request) -> None:
        self.start = time.monotonic()
        self.started_at = time.time()
        self.method = request.method
        self.path = request.path
        resource = request.match_info.route.resource
        self.route = resource.canonical if resource is not None else "unmatched"
        self.status = 0
        self.client_gone = False
        self.stream = False
        self.tool_calls = 0
        self.restored = 0  # assistant messages whose reasoning went upstream restored
        self.note = ""
        self.parse_seconds: float | None = None

    def parsed(self, seconds: float) -> None:
        self.parse_seconds = (self.parse_seconds or 0.0) + seconds

    def emit(self) -> None:
        ms = round((time.monotonic() - self.start) * 1000)
        fields = {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "stream": self.stream,
            "duration_ms": ms,
            "tool_calls": self.tool_calls,
            "reasoning_restored": self.restored,
            "note": self.note,
            "started_at": self.started_at,
        }
        quiet = self.route in ("/health", "/metrics")
        logger.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s %s status=%d stream=%s duration_ms=%d tool_calls=%d%s%s",
            self.method,
            shorten(self.path, 200),
            self.status,
            "true" if self.stream else "false",
            ms,
            self.tool_calls,
            f" reasoning_restored={self.restored}" if self.restored else "",
            f" note={self.note}" if self.note else "",
            extra={"proxy": fields},
        )


_RECORD: contextvars.ContextVar[_Record] = contextvars.ContextVar("minimax_proxy_record")


class _ClientGone(Exception):
    """The client closed the connection while the proxy was writing to it."""


class _Sender:
    """Writes to the client; a failed write (the client went away) raises :class:`_ClientGone`."""

    def __init__(self, out: web.StreamResponse) -> None:
        self.out = out

    async def prepare(self, request: web.Request) -> None:
        try:
            await self.out.prepare(request)
        except ConnectionError as e:
            raise _ClientGone from e

    async def send(self, data: bytes) -> None:
        if not data:
            return
        try:
            await self.out.write(data)
        except ConnectionError as e:  # aiohttp raises ClientConnectionResetError
            raise _ClientGone from e

    async def end(self) -> None:
        try:
            await self.out.write_eof()
        except ConnectionError as e:
            raise _ClientGone from e


class _Proxy:
    def __init__(
        self,
        upstream: yarl.URL,
        timeout: float,
        max_connections: int,
        max_body_bytes: int,
        parser_options: dict[str, Any],
        restore: RestoreMode,
        store: ReasoningStore | None,
        owns_store: bool,
    ) -> None:
        self.upstream = str(upstream).rstrip("/")
        self.timeout = timeout
        self.max_connections = max_connections
        self.max_body_bytes = max_body_bytes
        self.parser_options = parser_options
        self.metrics = _Metrics()
        self.reasoning = (  # None when restore is "off"
            None
            if store is None
            else ReasoningKeeper(
                store,
                restore,
                parser_options.get("dialect", "m2"),
                owns_store,
                self.metrics.registry,
            )
        )
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._checks: asyncio.Semaphore | None = None
        self._probe: asyncio.Future[tuple[ProxyError | None, int]] | None = None

    async def session_context(self, app: web.Application) -> AsyncIterator[None]:
        import aiohttp

        # The connector never makes a request wait: the slots below bound the upstream requests
        # (health probes, one at a time, come on top), so the timeout starts when a request is
        # sent, not while it queues for a connection.
        connector = aiohttp.TCPConnector(limit=self.max_connections + 1, limit_per_host=0)
        self._slots = asyncio.Semaphore(self.max_connections)
        self._checks = asyncio.Semaphore(CHECK_THREADS)
        try:
            async with aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=True,
            ) as session:
                self._session = session
                yield
                self._session = None
        finally:
            if self.reasoning is not None:
                await self.reasoning.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "the proxy's client session starts with the app"
        return self._session

    def _forward_headers(self, request: web.Request) -> dict[str, str]:
        return {h: request.headers[h] for h in _FORWARD_REQUEST_HEADERS if h in request.headers}

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the ``max_connections`` upstream slots, waited for at most ``timeout``."""
        assert self._slots is not None
        m = self.metrics
        m.waiting.inc()
        try:
            await asyncio.wait_for(self._slots.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise ProxyError(
                503,
                f"all {self.max_connections} upstream connections stayed busy for "
                f"{self.timeout:g} s (--max-connections)",
                "upstream_busy",
            ) from None
        finally:
            m.waiting.dec()
        m.in_flight.inc()
        try:
            yield
        finally:
            self._slots.release()
            m.in_flight.dec()

    @contextmanager
    def _upstream_errors(self) -> Iterator[None]:
        """A timeout or a connection failure of the upstream request as a 504 or a 502."""
        import aiohttp

        try:
            yield
        except asyncio.TimeoutError:
            raise ProxyError(
                504, f"upstream timed out after {self.timeout:g} s", "upstream_timeout"
            ) from None
        except aiohttp.ClientError as e:
            raise ProxyError(502, f"upstream unreachable: {e}", "upstream_unreachable") from None

    @asynccontextmanager
    async def _post_chat(
        self, rec: _Record, body: bytes, headers: dict[str, str]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """``body`` POSTed to the upstream's chat completions, in an upstream slot, its timeout or
        connection failure a 504 or a 502; the answer's status recorded. Every route that asks the
        upstream (chat completions, messages, responses) goes through here."""
        async with self._slot():
            with self._upstream_errors():
                async with self.session.post(
                    self.upstream + "/chat/completions",
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                ) as resp:
                    rec.status = resp.status
                    yield resp

    async def _passed_on(self, rec: _Record, resp: aiohttp.ClientResponse) -> web.Response:
        """The upstream's non-2xx answer, passed on as it is (counted)."""
        from aiohttp import web

        self._count(rec, "upstream_http_error")
        return web.Response(
            body=await resp.read(), status=resp.status, headers=_copy_headers(resp.headers)
        )

    def _count(self, rec: _Record, kind: str) -> None:
        rec.note = kind
        self.metrics.errors.inc(kind=kind)

    def _error_event(self, rec: _Record, kind: str, message: str) -> bytes:
        self._count(rec, kind)
        return _sse(ProxyError(200, message, kind).body())

    # -- every request ---------------------------------------------------------------------------

    async def dispatch(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Runs a handler (or aiohttp's 404/405) with error conversion, log line and metrics."""
        from aiohttp import web

        rec = _Record(request)
        token = _RECORD.set(rec)
        try:
            try:
                response = await handler(request)
            except ProxyError as e:
                response = self._error_response(rec, e)
            except web.HTTPException as e:
                response = self._error_response(rec, _from_http_exception(e, request))
            except (asyncio.CancelledError, ConnectionError):
                rec.status = 499  # nginx's "client closed request"
                self._count(rec, "client_disconnected")
                raise
            except Exception:
                logger.exception("internal error on %s %s", request.method, rec.path)
                message = "internal error in the proxy (see its log)"
                response = self._error_response(rec, ProxyError(500, message, "internal_error"))
            rec.status = 499 if rec.client_gone else response.status
            return response
        finally:
            _RECORD.reset(token)
            self._done(rec)

    def _error_response(self, rec: _Record, e: ProxyError) -> web.Response:
        from aiohttp import web

        self._count(rec, e.kind)
        return web.json_response(e.body(), status=e.status, headers=e.headers or None)

    def _done(self, rec: _Record) -> None:
        m = self.metrics
        m.requests.inc(path=rec.route, status=str(rec.status))
        m.duration.observe(time.monotonic() - rec.start, path=rec.route)
        if rec.parse_seconds is not None:
            m.parse.observe(rec.parse_seconds)
        if rec.tool_calls:
            m.tool_calls.inc(rec.tool_calls)
        rec.emit()

    # -- GET /health, GET /metrics ---------------------------------------------------------------

    async def health(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        if self._probe is None or self._probe.done():  # one probe at a time, shared
            self._probe = asyncio.ensure_future(self._probe_upstream())
        error, status = await asyncio.shield(self._probe)
        if error is not None:
            raise error
        return web.json_response({"status": "ok", "upstream": {"status": status}})

    async def _probe_upstream(self) -> tuple[ProxyError | None, int]:
        """``GET {upstream}/models``: ``(None, status)`` when it answers below 500, else the 503
        to answer."""
        import aiohttp

        limit = min(HEALTH_TIMEOUT, self.timeout)
        down = {"status": "unavailable"}
        try:
            async with self.session.get(
                self.upstream + "/models",
                timeout=aiohttp.ClientTimeout(total=limit),
                allow_redirects=False,
            ) as resp:
                await resp.read()
        except asyncio.TimeoutError:
            message = f"upstream did not answer GET /models within {limit:g} s"
            return ProxyError(503, message, "upstream_timeout", extra=down), 0
        except aiohttp.ClientError as e:
            return ProxyError(
                503, f"upstream unreachable: {e}", "upstream_unreachable", extra=down
            ), 0
        if resp.status >= 500:
            message = f"upstream answered GET /models with status {resp.status}"
            return ProxyError(503, message, "upstream_http_error", extra=down), resp.status
        return None, resp.status

    async def metrics_page(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        if self.reasoning is not None:
            self.reasoning.update_metrics()
        return web.Response(
            body=self.metrics.registry.render().encode(), headers={"Content-Type": CONTENT_TYPE}
        )

    # -- GET /v1/models[/{id}] -------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.StreamResponse:
        import yarl
        from aiohttp import web

        rec = _RECORD.get()
        try:
            path = models_path(request.raw_path)
        except NotFound as e:
            raise ProxyError(404, str(e), "not_found") from None
        url = yarl.URL(self.upstream + path, encoded=True)
        async with self._slot():
            with self._upstream_errors():
                async with self.session.get(
                    url, headers=self._forward_headers(request), allow_redirects=False
                ) as resp:
                    raw = await resp.read()
                    if resp.status >= 400:
                        self._count(rec, "upstream_http_error")
                    return web.Response(
                        body=raw, status=resp.status, headers=_copy_headers(resp.headers)
                    )

    # -- POST /v1/chat/completions ---------------------------------------------------------------

    async def _read_body(self, request: web.Request) -> bytes:
        from aiohttp import web

        too_large = ProxyError(
            413,
            f"request body larger than {self.max_body_bytes} bytes (--max-body-bytes)",
            "request_too_large",
        )
        if (request.content_length or 0) > self.max_body_bytes:
            raise too_large
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise too_large from None
        except web.RequestPayloadError as e:  # e.g. Content-Encoding: gzip on a body that is not
            raise _bad_request(f"the request body could not be read: {shorten(str(e))}") from None

    def _options(self, req: ChatRequest) -> dict[str, Any]:
        """The parser options for ``req``: the proxy's, except that for MiniMax-M3 a request's
        ``thinking_mode`` decides the start state, as it decides how the template ends the
        prompt (``"enabled"``: inside ``<mm:think>``; "adaptive", "disabled" and any other
        string: outside reasoning)."""
        if req.thinking_mode is None or self.parser_options.get("dialect") != "m3":
            return self.parser_options
        return {**self.parser_options, "start_in_reasoning": req.thinking_mode == "enabled"}

    def _check(
        self, raw: bytes, tenant: str
    ) -> tuple[ChatRequest, StreamRewriter, RestorePlan | None, str]:
        """The checked request, its rewriter (typed by its tools), the assistant messages whose
        reasoning could be restored, and the scope of the turn it asks for (for storing that
        turn's reasoning when it has no calls); runs on a worker thread."""
        try:
            req, body = chat_request_body(raw)
        except BadRequest as e:
            raise _bad_request(str(e)) from None
        try:
            rewriter = StreamRewriter(tools=req.tools, **self._options(req))
        except Exception as e:  # the parser refuses these tools (ValueError, TypeError)
            if not isinstance(e, (TypeError, ValueError)):
                logger.warning("the parser failed on a request's tools", exc_info=True)
            raise _bad_request(f"invalid tools: {shorten(str(e))}") from None
        plan = self.reasoning.plan(body, tenant) if self.reasoning is not None else None
        messages = body["messages"]
        scope = turn_scope(messages[-1] if messages else None, tenant)
        return req, rewriter, plan, scope

    async def _on_thread(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` off the event loop, at most :data:`CHECK_THREADS` at once (work whose
        client leaves runs to its end on its thread, after its turn was handed on)."""
        assert self._checks is not None
        async with self._checks:
            self.metrics.checks.inc()
            try:
                return await asyncio.to_thread(work, *args)
            finally:
                self.metrics.checks.dec()

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:

        rec = _RECORD.get()
        raw = await self._read_body(request)
        # Turns without calls are remembered per client (its Authorization) and per message they
        # answer, so one conversation's reasoning never reaches another's.
        tenant = request.headers.get("Authorization", "")
        req, rewriter, plan, scope = await self._on_thread(self._check, raw, tenant)
        rec.stream = req.stream
        if plan is not None and self.reasoning is not None:
            raw, rec.restored = await self.reasoning.restore(raw, plan, self._on_thread)
            del plan  # the parsed body: not held while the response streams
        headers = self._forward_headers(request)
        headers.setdefault("Content-Type", "application/json")
        async with self._post_chat(rec, raw, headers) as resp:
            if resp.status // 100 != 2:
                return await self._passed_on(rec, resp)
            if resp.content_type == "text/event-stream":
                rec.stream = True
                return await self._stream(request, resp, rewriter, req, rec, scope)
            rec.stream = False
            return await self._complete(resp, req, rec, scope)

    async def _complete(
        self, resp: aiohttp.ClientResponse, req: ChatRequest, rec: _Record, scope: str
    ) -> web.StreamResponse:
        from aiohttp import web

        raw = await resp.read()
        # Whatever the content type says: a chat.completion is parsed, anything else is a 502.
        what = "the response"
        if resp.content_type != "application/json":
            what += f" ({shorten(resp.content_type, 60)})"
        try:
            completion = upstream_document(raw, what, "message")
            start = time.perf_counter()
            try:
                parsed = wrap_completion(completion, tools=req.tools, **self._options(req))
            finally:
                rec.parsed(time.perf_counter() - start)
            if req.tool_choice == "none":
                _without_calls([parsed], "message")
            body = json.dumps(parsed).encode()
            turns = completion_turns(parsed, scope) if self.reasoning is not None else []
        except Exception as e:  # whatever the upstream sent, the client gets a clear 502
            if not isinstance(e, Malformed):
                logger.warning("rewriting an upstream response failed", exc_info=True)
            raise ProxyError(
                502,
                f"malformed upstream response: {shorten(str(e))}",
                "upstream_malformed_response",
            ) from None
        rec.tool_calls += _message_calls(parsed)
        if self.reasoning is not None:
            await self.reasoning.remember(turns)
        return web.Response(
            body=body,
            status=resp.status,
            headers=_copy_headers(resp.headers, "content-type"),
            content_type="application/json",
        )

    async def _stream(
        self,
        request: web.Request,
        resp: aiohttp.ClientResponse,
        rewriter: StreamRewriter,
        req: ChatRequest,
        rec: _Record,
        scope: str,
    ) -> web.StreamResponse:
        import aiohttp
        from aiohttp import web

        out = web.StreamResponse(status=resp.status, headers=_copy_headers(resp.headers))
        out.headers["Cache-Control"] = "no-cache"
        sender = _Sender(out)
        turns = TurnCollector(scope) if self.reasoning is not None else None
        self.metrics.open_streams.inc()
        try:
            await sender.prepare(request)
            try:
                async with aclosing(_sse_events(resp)) as events:
                    await self._relay(events, rewriter, req, sender, rec, turns)
            except asyncio.TimeoutError:
                # What the parser holds back goes out first, as at the end of a stream.
                await sender.send(self._rewrite(rec, req, rewriter.finish, None, None))
                message = f"upstream timed out after {self.timeout:g} s"
                await sender.send(self._error_event(rec, "upstream_timeout", message))
            except aiohttp.ClientError as e:
                await sender.send(self._rewrite(rec, req, rewriter.finish, None, None))
                message = f"upstream stream failed: {e}"
                await sender.send(self._error_event(rec, "upstream_error", message))
            except _ClientGone:
                raise
            except Exception:  # a bug here: say so in the stream and end it cleanly
                logger.exception("relaying the upstream stream failed")
                message = "internal error in the proxy (see its log)"
                await sender.send(self._error_event(rec, "internal_error", message))
            await sender.end()
        except _ClientGone:
            rec.client_gone = True
            self._count(rec, "client_disconnected")
            resp.close()  # stop reading upstream: drop its connection
        finally:
            self.metrics.open_streams.dec()
        return out

    async def _relay(
        self,
        events: AsyncIterator[tuple[str | None, str | None]],
        rewriter: StreamRewriter,
        req: ChatRequest,
        sender: _Sender,
        rec: _Record,
        turns: TurnCollector | None,
    ) -> None:
        """Rewrites the upstream events into the client's stream until ``[DONE]`` or the end. An
        end without ``[DONE]`` while a choice has no finish reason is an ``upstream_error``. A
        complete stream's turns are stored before its end goes out."""
        open_choices: dict[int, bool] = {}  # choice index -> no finish reason yet
        async for event, data in events:
            if data is None:  # a comment: a keep-alive of our own
                await sender.send(KEEP_ALIVE)
                continue
            if data.strip() == "[DONE]":
                await sender.send(self._rewrite(rec, req, rewriter.finish, None, None, turns=turns))
                if turns is not None and self.reasoning is not None:
                    await self.reasoning.remember(turns.turns())
                await sender.send(_sse("[DONE]", event if event_name_ok(event) else None))
                return
            await sender.send(
                self._rewrite(rec, req, rewriter.process, event, data, open_choices, turns)
            )
        await sender.send(self._rewrite(rec, req, rewriter.finish, None, None, turns=turns))
        if any(open_choices.values()):
            message = "upstream stream ended before [DONE]"
            await sender.send(self._error_event(rec, "upstream_error", message))
        elif turns is not None and self.reasoning is not None:
            await self.reasoning.remember(turns.turns())

    def _rewrite(
        self,
        rec: _Record,
        req: ChatRequest,
        step: Callable[..., list[dict[str, Any]]],
        event: str | None,
        data: str | None,
        open_choices: dict[int, bool] | None = None,
        turns: TurnCollector | None = None,
    ) -> bytes:
        """The client's bytes for one upstream event (``data``) or the final flush (``None``):
        the rewritten chunks, or an error event when anything about the event is wrong.
        ``open_choices`` records which choices the event left without a finish reason, ``turns``
        what the chunks sent carry for the reasoning store."""
        try:
            args = () if data is None else (upstream_chunk(event, data),)
            start = time.perf_counter()
            try:
                chunks = step(*args)
            finally:
                rec.parsed(time.perf_counter() - start)
            if open_choices is not None and args:
                for choice in args[0].get("choices") or []:
                    index = choice.get("index", 0)
                    if choice.get("finish_reason") is not None:
                        open_choices[index] = False
                    else:
                        open_choices.setdefault(index, True)
            if req.tool_choice == "none":
                chunks = _without_calls(chunks, "delta")
            out = b"".join(_sse(chunk, event) for chunk in chunks)
            calls = _stream_calls(chunks)
        except Exception as e:
            if data is None:
                logger.warning("flushing the parser failed", exc_info=True)
                return self._error_event(rec, "internal_error", f"flushing the parser failed: {e}")
            if not isinstance(e, Malformed):
                logger.warning("rewriting an upstream chunk failed", exc_info=True)
            message = f"malformed upstream chunk: {shorten(str(e))}: {shorten(data, 200)!r}"
            return self._error_event(rec, "upstream_malformed_chunk", message)
        if turns is not None:
            turns.add(chunks)
        rec.tool_calls += calls
        return out


def _positive(name: str, value: Any, kind: type[int] | type[float]) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        flag = "--" + name.replace("_", "-")
        wanted = "integer" if kind is int else "number"
        raise ValueError(f"{name} ({flag}) must be a positive {wanted}, got {value!r}")


def make_app(
    upstream: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    dialect: Literal["m2", "m3"] = "m2",
    restore_reasoning: RestoreMode = DEFAULT_RESTORE,
    reasoning_store: str | ReasoningStore = "memory",
    reasoning_store_entries: int = DEFAULT_MAX_ENTRIES,
    reasoning_store_bytes: int = DEFAULT_MAX_BYTES,
    reasoning_store_ttl: float = DEFAULT_TTL,
    **parser_options: Any,
) -> web.Application:
    """The proxy as an aiohttp application forwarding to ``upstream`` (a base URL including
    ``/v1``, e.g. ``http://127.0.0.1:11434/v1``).

    ``timeout`` is the total time allowed per upstream request, in seconds, counted from when
    it is sent; ``max_connections`` bounds the upstream requests in flight (more wait for a slot,
    at most ``timeout`` seconds, then get a 503); ``max_body_bytes`` is the largest request body
    accepted (413 beyond). ``dialect`` is the upstream model's format (``"m2"`` or ``"m3"``) and
    ``parser_options`` the parser's other options (``reasoning``, ``start_in_reasoning``,
    ``tool_calls_in_reasoning``); the tools come from each request, and for ``"m3"`` the start
    state from a request's ``chat_template_kwargs.thinking_mode`` when it has one.

    ``restore_reasoning`` (``"inline"``, ``"field"`` or ``"off"``) says how reasoning the proxy
    served goes back upstream when a later request's history lacks it; ``reasoning_store`` is
    where it is kept: ``"memory"`` (bounded by ``reasoning_store_entries`` keys and
    ``reasoning_store_bytes`` bytes, least recently used out, entries expiring
    ``reasoning_store_ttl`` seconds after their last use), ``"redis://HOST:PORT/DB"`` (shared
    between replicas; the TTL applies), or a :class:`~minimax_parser.reasoning_store.ReasoningStore`
    object, which the app uses but does not close. The app closes a store it opened when it stops.
    Serve it with ``handler_cancellation=True`` (as :func:`run` does) so a client that
    disconnects while the upstream is silent is noticed at once, not at the next write.
    ``upstream`` with credentials (``user:password@``), a query or a fragment raises
    ``ValueError`` (its message does not repeat the URL)."""
    _require_aiohttp()
    import yarl
    from aiohttp import web

    if not upstream.startswith(("http://", "https://")):
        raise ValueError(f"--upstream must be an http:// or https:// URL, got {upstream!r}")
    try:
        base = yarl.URL(upstream)
    except ValueError as e:
        raise ValueError(f"--upstream is not a valid URL: {e}") from None
    # Neither is echoed: the message would show a password or an API key.
    if "@" in base.raw_authority:
        raise ValueError(
            "--upstream must not hold credentials (user:password@): clients send theirs in the "
            "Authorization header, which the proxy forwards"
        )
    if "?" in upstream:
        raise ValueError("--upstream must not have a query (?...): give the base URL only")
    if "#" in upstream:
        raise ValueError("--upstream must not have a fragment (#...): give the base URL only")
    if not base.host:
        raise ValueError(f"--upstream has no host: {upstream!r}")
    if isinstance(timeout, int) and not isinstance(timeout, bool):
        timeout = float(timeout)
    _positive("timeout", timeout, float)
    if not math.isfinite(timeout):
        raise ValueError(f"timeout must be finite, got {timeout!r}")
    _positive("max_connections", max_connections, int)
    _positive("max_body_bytes", max_body_bytes, int)
    if restore_reasoning not in RESTORE_MODES:
        raise ValueError(
            f"restore_reasoning (--restore-reasoning) must be one of {', '.join(RESTORE_MODES)}, "
            f"got {shorten(repr(restore_reasoning), 60)}"
        )
    _positive("reasoning_store_entries", reasoning_store_entries, int)
    _positive("reasoning_store_bytes", reasoning_store_bytes, int)
    if isinstance(reasoning_store_ttl, int) and not isinstance(reasoning_store_ttl, bool):
        reasoning_store_ttl = float(reasoning_store_ttl)
    _positive("reasoning_store_ttl", reasoning_store_ttl, float)
    if not math.isfinite(reasoning_store_ttl):
        raise ValueError(
            "reasoning_store_ttl (--reasoning-store-ttl) must be finite, "
            f"got {reasoning_store_ttl!r}"
        )
    if not isinstance(reasoning_store, (str, ReasoningStore)):
        raise ValueError(
            "reasoning_store must be 'memory', a redis:// URL or a ReasoningStore, got "
            f"{type(reasoning_store).__name__}"
        )
    options = {"dialect": dialect, **parser_options}
    StreamRewriter(**options)  # fail on bad options now, not at the first request
    store: ReasoningStore | None = None
    owns_store = False
    if restore_reasoning != "off":
        if isinstance(reasoning_store, str):
            store = open_store(
                reasoning_store,
                max_entries=reasoning_store_entries,
                max_bytes=reasoning_store_bytes,
                ttl=reasoning_store_ttl,
            )
            owns_store = True
        else:
            store = reasoning_store
    proxy = _Proxy(
        base,
        timeout,
        max_connections,
        max_body_bytes,
        options,
        restore_reasoning,
        store,
        owns_store,
    )

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        return await proxy.dispatch(request, handler)

    app = web.Application(client_max_size=max_body_bytes, middlewares=[middleware])
    app.cleanup_ctx.append(proxy.session_context)
    app.router.add_post("/v1/chat/completions", proxy.chat_completions)
    from .proxy_anthropic import messages as anthropic_messages

    async def messages(request: web.Request) -> web.StreamResponse:
        return await anthropic_messages(proxy, request)

    app.router.add_post("/v1/messages", messages)
    from .proxy_responses import responses as responses_api

    async def responses(request: web.Request) -> web.StreamResponse:
        return await responses_api(proxy, request)

    app.router.add_post("/v1/responses", responses)
    app.router.add_get("/v1/models", proxy.models)
    app.router.add_get("/v1/models/{model:.+}", proxy.models)
    app.router.add_get("/health", proxy.health)
    app.router.add_get("/metrics", proxy.metrics_page)
    return app


def run(
    upstream: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    restore_reasoning: RestoreMode = DEFAULT_RESTORE,
    reasoning_store: str = "memory",
    reasoning_store_entries: int = DEFAULT_MAX_ENTRIES,
    reasoning_store_bytes: int = DEFAULT_MAX_BYTES,
    reasoning_store_ttl: float = DEFAULT_TTL,
    **parser_options: Any,
) -> None:
    """Serves :func:`make_app` on ``host:port`` until interrupted. Bad settings raise
    ``ValueError`` before anything is served; a port that cannot be bound raises ``OSError``."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {port!r}")
    app = make_app(
        upstream,
        timeout=timeout,
        max_connections=max_connections,
        max_body_bytes=max_body_bytes,
        restore_reasoning=restore_reasoning,
        reasoning_store=reasoning_store,
        reasoning_store_entries=reasoning_store_entries,
        reasoning_store_bytes=reasoning_store_bytes,
        reasoning_store_ttl=reasoning_store_ttl,
        **parser_options,
    )
    from aiohttp import web

    def started(message: str) -> None:  # aiohttp's "Running on ...", once the port is bound
        dialect = parser_options.get("dialect", "m2")
        # The store's kind only: a redis:// URL may hold a password.
        kind = "redis" if reasoning_store != "memory" else "memory"
        restore = f"{restore_reasoning} ({kind} store)" if restore_reasoning != "off" else "off"
        logger.info(
            "serving on http://%s:%d/v1, upstream %s, dialect %s, restore-reasoning %s",
            host,
            port,
            upstream,
            dialect,
            restore,
        )

    web.run_app(
        app,
        host=host,
        port=port,
        handler_cancellation=True,
        access_log=None,
        print=started,
    )
