"""Reasoning continuity in the proxy: what it remembers of the assistant turns it serves, and how it
puts that reasoning back into later requests whose history lost it.

* :class:`TurnCollector` (:func:`completion_turns`) gathers, from the chunks (the
  ``chat.completion``) sent to a client, each choice's reasoning and keys
  (:func:`~minimax_parser.reasoning_store.turn_keys`): what the proxy stores once the response
  is complete.
* :func:`restore_plan` finds, in a parsed request body, the assistant messages without reasoning
  (no non-empty ``reasoning_content``/``reasoning``, no think block in ``content``) and their keys;
  it runs on a worker thread with the request checks (it hashes content).
* :func:`restored_body` writes the reasoning found back into those messages (``inline``: the
  dialect's think block (:func:`~minimax_parser.render.think_block`) before the content, as the
  chat template renders it; ``field``: ``reasoning_content``) and serialises the body again; it
  too runs on a worker thread.
* :class:`ReasoningKeeper` is the proxy's side of the store: lookups and writes that never fail a
  request, and their metrics.

No aiohttp here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .metrics import Gauge, Registry
from .reasoning_store import (
    CALL_PREFIX,
    MemoryReasoningStore,
    ReasoningStore,
    content_text,
    scoped_content_key,
    turn_keys,
    turn_scope,
)
from .render import Dialect, think_block

__all__ = [
    "DEFAULT_RESTORE",
    "RESTORE_MODES",
    "STORE_WARNING_INTERVAL",
    "ReasoningKeeper",
    "RestorePlan",
    "TurnCollector",
    "completion_turns",
    "restore_plan",
    "restored_body",
]

#: ``--restore-reasoning``: ``inline`` puts the think block back into ``content`` (every official
#: MiniMax template splits it out again, any other template passes it through), ``field`` sets
#: ``reasoning_content``, ``off`` neither remembers nor restores.
RESTORE_MODES = ("inline", "field", "off")
RestoreMode = Literal["inline", "field", "off"]
DEFAULT_RESTORE: RestoreMode = "inline"
#: Seconds between two warnings about a store that raises.
STORE_WARNING_INTERVAL = 60.0

logger = logging.getLogger("minimax_parser.proxy")

#: Fields in which a client sends an assistant turn's reasoning back.
_REASONING_FIELDS = ("reasoning_content", "reasoning")
#: What shows that a message's content already holds the dialect's think block.
_THINK_END = {"m2": "</think>", "m3": "</mm:think>"}


# -- remembering what was served -----------------------------------------------------------------


class _Turn:
    """One choice of a streamed response, as far as the store needs it."""

    __slots__ = ("call_ids", "content", "reasoning")

    def __init__(self) -> None:
        self.reasoning: list[str] = []
        self.content: Any = None  # a running SHA-256 of the content, once there is some
        self.call_ids: list[str] = []


class TurnCollector:
    """Collects the reasoning and keys of each choice of one response, from what the client is
    sent: :meth:`add` per batch of rewritten chunks (O(size of the chunks): reasoning is kept,
    content only hashed), then :meth:`turns` when the response is complete
    (:func:`completion_turns` does the same for a whole ``chat.completion``)."""

    def __init__(self, scope: str) -> None:
        self._turns: dict[int, _Turn] = {}
        self._scope = scope

    def _turn(self, choice: dict[str, Any]) -> _Turn:
        index = choice.get("index", 0)
        turn = self._turns.get(index)
        if turn is None:
            turn = self._turns[index] = _Turn()
        return turn

    def add(self, chunks: Sequence[dict[str, Any]]) -> None:
        """Notes the deltas of ``chunks`` (``chat.completion.chunk`` dicts as sent)."""
        for chunk in chunks:
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta")
                if not delta:
                    continue
                turn = self._turn(choice)
                reasoning = _reasoning(delta)
                if reasoning:
                    turn.reasoning.append(reasoning)
                text = delta.get("content")
                if isinstance(text, str) and text:
                    if turn.content is None:
                        turn.content = hashlib.sha256()
                    turn.content.update(text.encode("utf-8", "surrogatepass"))
                for call in delta.get("tool_calls") or []:
                    call_id = call.get("id") if isinstance(call, dict) else None
                    if isinstance(call_id, str) and call_id:
                        turn.call_ids.append(call_id)

    def turns(self) -> Iterator[tuple[list[str], str]]:
        """``(keys, reasoning)`` of each choice that had reasoning and a key (its calls' ids; its
        content's hash when it made no call)."""
        for turn in self._turns.values():
            if not turn.reasoning:
                continue
            if turn.call_ids:
                keys = list(dict.fromkeys(CALL_PREFIX + i for i in turn.call_ids))
            elif turn.content is not None:
                keys = [scoped_content_key(turn.content.hexdigest(), self._scope)]
            else:
                continue
            yield keys, "".join(turn.reasoning)


def completion_turns(completion: dict[str, Any], scope: str) -> list[tuple[list[str], str]]:
    """``(keys, reasoning)`` of each choice of a whole ``chat.completion`` (as sent to the client
    for a request whose turns are in ``scope``) that had reasoning and a key."""
    out = []
    for choice in completion.get("choices") or []:
        message = choice.get("message") or {}
        reasoning = _reasoning(message)
        keys = turn_keys(message, scope) if reasoning else []
        if keys:
            out.append((keys, reasoning))
    return out


def _reasoning(message: dict[str, Any]) -> str:
    for name in _REASONING_FIELDS:
        value = message.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


# -- restoring -----------------------------------------------------------------------------------


@dataclass
class RestorePlan:
    """The assistant messages of a request that lack reasoning: ``(index in messages, keys)``,
    and the parsed body they belong to (dropped once the plan is carried out)."""

    body: dict[str, Any] = field(repr=False)
    wanted: list[tuple[int, list[str]]]


def _has_reasoning(message: dict[str, Any], dialect: Dialect) -> bool:
    if any(message.get(name) for name in _REASONING_FIELDS):
        return True
    return _THINK_END[dialect] in content_text(message.get("content"))


def restore_plan(body: dict[str, Any], dialect: Dialect, tenant: str = "") -> RestorePlan | None:
    """The plan for a checked request body (``messages`` a list of dicts) sent by ``tenant``, or
    ``None`` when no assistant message lacks reasoning and has a key."""
    wanted = []
    messages = body["messages"]
    for index, message in enumerate(messages):
        if message.get("role") != "assistant" or _has_reasoning(message, dialect):
            continue
        keys = turn_keys(message, turn_scope(messages[index - 1] if index else None, tenant))
        if keys:
            wanted.append((index, keys))
    return RestorePlan(body, wanted) if wanted else None


def restored_body(
    plan: RestorePlan, found: Sequence[tuple[int, str]], mode: RestoreMode, dialect: Dialect
) -> bytes:
    """The request body with ``found`` (``(message index, reasoning)``) restored by ``mode``, as
    compact JSON (UTF-8; escaped ASCII if the body holds a lone surrogate). Empty reasoning fields
    of those messages are dropped, so that a template splits the think block out of ``content``
    (vLLM reads ``reasoning`` before ``reasoning_content``)."""
    messages = plan.body["messages"]
    for index, reasoning in found:
        message = messages[index]
        for name in _REASONING_FIELDS:
            message.pop(name, None)  # empty or null: _has_reasoning said so
        if mode == "field":
            message["reasoning_content"] = reasoning
            continue
        block = think_block(reasoning, dialect)
        content = message.get("content")
        if isinstance(content, list):
            message["content"] = [{"type": "text", "text": block}, *content]
        else:
            message["content"] = block + (content if isinstance(content, str) else "")
    try:
        return json.dumps(plan.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(plan.body, separators=(",", ":")).encode("ascii")


# -- the proxy's side of the store ---------------------------------------------------------------


class ReasoningKeeper:
    """Remembers served turns in ``store`` and restores them into requests by ``mode``, for a
    proxy reading ``dialect``. A store that raises costs only the restore (counted, and warned
    about once per :data:`STORE_WARNING_INTERVAL`); ``owns_store``: :meth:`close` closes it. Its
    metrics go into ``registry``."""

    def __init__(
        self,
        store: ReasoningStore,
        mode: RestoreMode,
        dialect: Dialect,
        owns_store: bool,
        registry: Registry,
    ) -> None:
        self.store = store
        self.mode = mode
        self.dialect = dialect
        self.owns_store = owns_store
        self._warned = -math.inf
        self._failures = 0  # operations that raised
        r = registry
        self.stored = r.counter(
            "minimax_proxy_reasoning_stored_total",
            "Assistant turns served whose reasoning was handed to the store (one per choice).",
        )
        self.restored = r.counter(
            "minimax_proxy_reasoning_restored_total",
            "Assistant messages of requests that went upstream with their reasoning restored.",
        )
        self.not_found = r.counter(
            "minimax_proxy_reasoning_not_found_total",
            "Assistant messages of requests without reasoning that the store did not know.",
        )
        self.errors = r.counter(
            "minimax_proxy_reasoning_store_errors_total",
            "Reasoning store operations that failed (the request went on without them): those "
            "that raised, and those the store counts itself (Redis unreachable, ...).",
        )
        self.entries: Gauge | None = None
        self.bytes: Gauge | None = None
        if isinstance(store, MemoryReasoningStore):
            self.entries = r.gauge(
                "minimax_proxy_reasoning_store_entries",
                f"Keys in the memory reasoning store (at most {store.max_entries}).",
            )
            self.bytes = r.gauge(
                "minimax_proxy_reasoning_store_bytes",
                "Bytes of keys and reasoning in the memory reasoning store (at most "
                f"{store.max_bytes}).",
            )

    def update_metrics(self) -> None:
        """Brings the gauges and the error count up to date (before ``GET /metrics``)."""
        reported = getattr(self.store, "errors", 0)  # RedisReasoningStore counts its failures
        if isinstance(reported, bool) or not isinstance(reported, int):
            reported = 0
        self.errors.values[()] = float(self._failures + reported)
        if isinstance(self.store, MemoryReasoningStore):
            if self.entries is not None and self.bytes is not None:
                self.entries.set(len(self.store))
                self.bytes.set(self.store.nbytes)

    def plan(self, body: dict[str, Any], tenant: str) -> RestorePlan | None:
        """:func:`restore_plan` for this proxy's dialect (on a worker thread)."""
        return restore_plan(body, self.dialect, tenant)

    def _failed(self) -> None:
        self._failures += 1
        now = time.monotonic()
        if now - self._warned >= STORE_WARNING_INTERVAL:
            self._warned = now
            logger.warning("the reasoning store failed; going on without it", exc_info=True)

    async def _get(self, key: str) -> str | None:
        try:
            reasoning = await self.store.get(key)
        except Exception:
            self._failed()
            return None
        return reasoning if isinstance(reasoning, str) and reasoning else None

    async def _put(self, key: str, reasoning: str) -> bool:
        try:
            await self.store.put(key, reasoning)
        except Exception:
            self._failed()
            return False
        return True

    async def remember(self, turns: Iterable[tuple[list[str], str]]) -> None:
        """Stores each served turn's reasoning under its keys. The proxy calls it before the
        client has the end of the response, so that the client's next request finds it."""
        for keys, reasoning in turns:
            stored = [await self._put(key, reasoning) for key in keys]
            if all(stored):
                self.stored.inc()

    async def restore(
        self,
        raw: bytes,
        plan: RestorePlan,
        on_thread: Callable[..., Awaitable[bytes]],
    ) -> tuple[bytes, int]:
        """The body to forward and how many messages it restored: ``plan``'s body with the
        reasoning the store knows put back (serialised by ``on_thread(restored_body, ...)``, off
        the event loop), or ``(raw, 0)`` when the store knows none."""
        found: list[tuple[int, str]] = []
        for index, keys in plan.wanted:
            for key in keys:  # the first key found wins
                reasoning = await self._get(key)
                if reasoning is not None:
                    found.append((index, reasoning))
                    break
        self.not_found.inc(len(plan.wanted) - len(found))
        if not found:
            return raw, 0
        try:
            body = await on_thread(restored_body, plan, found, self.mode, self.dialect)
        except Exception:  # a bug here must not cost the request: forward it as it came
            logger.exception("restoring reasoning into a request failed")
            return raw, 0
        self.restored.inc(len(found))
        return body, len(found)

    async def close(self) -> None:
        """Closes the store if the proxy opened it."""
        if not self.owns_store:
            return
        try:
            await self.store.close()
        except Exception:
            logger.warning("closing the reasoning store failed", exc_info=True)
