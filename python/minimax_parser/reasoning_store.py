"""Where the proxy keeps the reasoning of the assistant turns it served, so that it can put it back
when a client sends such a turn again without it (LangChain's ``ChatOpenAI`` and many other clients
drop ``reasoning_content`` from the history they send, and the MiniMax chat templates feed that
reasoning to the model on the next turn).

A store maps keys to reasoning text and holds nothing else: :func:`turn_keys` names a turn by its
tool-call ids (``call:<id>``), or, for a turn without calls, by the SHA-256 of its content
(``content:<hex>``). :class:`MemoryReasoningStore` is the default and lives in the proxy's process;
``open_store("redis://HOST:PORT/DB")`` gives a store shared by several proxy replicas
(:mod:`minimax_parser.reasoning_store_redis`, imported only then:
``pip install 'minimax-parser[redis]'``).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_TTL",
    "MemoryReasoningStore",
    "ReasoningStore",
    "content_key",
    "content_text",
    "open_store",
    "scoped_content_key",
    "turn_keys",
    "turn_scope",
]

#: Keys the memory store holds at most (``--reasoning-store-entries``). An agent turn with calls
#: takes one key per call; 10,000 keys cover a few hundred busy agent sessions.
DEFAULT_MAX_ENTRIES = 10_000
#: Bytes of keys and reasoning (UTF-8) the memory store holds at most
#: (``--reasoning-store-bytes``): 64 MiB, a few thousand long reasonings.
DEFAULT_MAX_BYTES = 64 * 2**20
#: Seconds an entry is kept after it was last stored or restored (``--reasoning-store-ttl``): an
#: hour, longer than the pause between two turns of an agent loop.
DEFAULT_TTL = 3600.0

CALL_PREFIX = "call:"
CONTENT_PREFIX = "content:"


@runtime_checkable
class ReasoningStore(Protocol):
    """What the proxy needs of a store. ``get`` and ``put`` never raise for an unavailable
    backend (a store that cannot answer returns ``None`` and drops the write); ``close`` releases
    the store's resources when the proxy stops."""

    async def get(self, key: str) -> str | None:
        """The reasoning stored under ``key``, or ``None``."""
        ...

    async def put(self, key: str, reasoning: str) -> None:
        """Stores ``reasoning`` under ``key`` (replacing what was there)."""
        ...

    async def close(self) -> None:
        """Releases the store's resources."""
        ...


# -- keys ----------------------------------------------------------------------------------------


def content_text(content: Any) -> str:
    """The text of a message's ``content``: the string itself, or the ``text`` of each text part
    of a list of parts, joined; anything else is ``""``."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(
        p["text"]
        for p in content
        if isinstance(p, dict)
        and p.get("type", "text") == "text"
        and isinstance(p.get("text"), str)
    )


def content_key(digest: str) -> str:
    """The key of a turn without calls whose content has this SHA-256 ``digest`` (hex)."""
    return CONTENT_PREFIX + digest


def _sha256(text: str) -> str:
    # surrogatepass: a request may hold a lone surrogate (a JSON escape); it still hashes.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def turn_scope(previous: Mapping[str, Any] | None, tenant: str = "") -> str:
    """The scope of a turn without calls: a digest of who asked (``tenant``, e.g. the request's
    ``Authorization`` header) and of the message the turn answers (``previous``: its role and
    text). Content alone would be no key: two conversations that both end with "Done." must not
    share a reasoning, and one client's reasoning must never reach another's request."""
    role = previous.get("role") if previous is not None else None
    text = content_text(previous.get("content")) if previous is not None else ""
    return _sha256(f"{tenant}\x00{role if isinstance(role, str) else ''}\x00{text}")


def scoped_content_key(content_digest: str, scope: str) -> str:
    """The key of a turn without calls whose content has this SHA-256 ``content_digest`` (hex),
    in ``scope`` (:func:`turn_scope`)."""
    return content_key(_sha256(f"{scope}:{content_digest}"))


def turn_keys(message: Mapping[str, Any], scope: str) -> list[str]:
    """The keys of an assistant message (``to_openai()`` shape, as served or as a client sends it
    back): ``call:<id>`` for each tool call with an id, when it has calls (ids are unique);
    otherwise one ``content:`` key for its content text in ``scope`` (:func:`turn_scope`), when it
    has content; otherwise none."""
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        keys: list[str] = []
        for call in calls:
            call_id = call.get("id") if isinstance(call, dict) else None
            if isinstance(call_id, str) and call_id and CALL_PREFIX + call_id not in keys:
                keys.append(CALL_PREFIX + call_id)
        return keys
    text = content_text(message.get("content"))
    return [scoped_content_key(_sha256(text), scope)] if text else []


# -- the memory store ----------------------------------------------------------------------------


def _positive(name: str, value: Any, kind: type[int] | type[float]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        raise ValueError(f"{name} must be a positive {'number' if kind is float else 'integer'}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")


class MemoryReasoningStore:
    """A bounded store in the process: at most ``max_entries`` keys and ``max_bytes`` bytes (the
    UTF-8 size of each key plus its reasoning; a turn with several calls counts once per call),
    least recently used first out; an entry expires ``ttl`` seconds after it was last stored or
    restored. Every operation is O(1) amortised (an ordered dict; expired entries leave from the
    old end), so it runs on the event loop. A reasoning larger than ``max_bytes`` is not kept.
    ``clock`` (seconds, monotonic) is injectable for tests."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _positive("max_entries (--reasoning-store-entries)", max_entries, int)
        _positive("max_bytes (--reasoning-store-bytes)", max_bytes, int)
        _positive("ttl (--reasoning-store-ttl)", ttl, float)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl = float(ttl)
        self._clock = clock
        # key -> (reasoning, size in bytes, expiry time); oldest use first, so that expiry order
        # is this order too (the TTL is the same for every entry).
        self._entries: OrderedDict[str, tuple[str, int, float]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes held (keys and reasoning, UTF-8)."""
        return self._bytes

    def _drop(self, key: str) -> None:
        _, size, _ = self._entries.pop(key)
        self._bytes -= size

    def _expire(self, now: float) -> None:
        while self._entries:
            key, (_, _, expires) = next(iter(self._entries.items()))
            if expires > now:
                return
            self._drop(key)

    def get_nowait(self, key: str) -> str | None:
        """:meth:`get` without the coroutine."""
        now = self._clock()
        self._expire(now)
        entry = self._entries.get(key)
        if entry is None:
            return None
        reasoning, size, _ = entry
        self._entries[key] = (reasoning, size, now + self.ttl)
        self._entries.move_to_end(key)
        return reasoning

    def put_nowait(self, key: str, reasoning: str) -> None:
        """:meth:`put` without the coroutine."""
        now = self._clock()
        self._expire(now)
        if key in self._entries:
            self._drop(key)
        size = len(key.encode("utf-8", "surrogatepass"))
        size += len(reasoning.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            return
        while self._entries and (
            len(self._entries) >= self.max_entries or self._bytes + size > self.max_bytes
        ):
            self._drop(next(iter(self._entries)))
        self._entries[key] = (reasoning, size, now + self.ttl)
        self._bytes += size

    async def get(self, key: str) -> str | None:
        """The reasoning under ``key`` (now the most recently used), or ``None``."""
        return self.get_nowait(key)

    async def put(self, key: str, reasoning: str) -> None:
        """Stores ``reasoning`` under ``key``, evicting the least recently used entries as the
        bounds require."""
        self.put_nowait(key, reasoning)

    async def close(self) -> None:
        """Forgets everything."""
        self._entries.clear()
        self._bytes = 0


def open_store(
    url: str,
    *,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    ttl: float = DEFAULT_TTL,
) -> ReasoningStore:
    """The store ``url`` names: ``"memory"`` (a :class:`MemoryReasoningStore` with these
    bounds) or ``"redis://HOST:PORT/DB"`` (``rediss://`` for TLS; a
    :class:`~minimax_parser.reasoning_store_redis.RedisReasoningStore` with this ``ttl``; Redis
    applies its own memory policy, so ``max_entries`` and ``max_bytes`` do not apply). Anything
    else raises ``ValueError`` (without repeating the URL, which may hold a password)."""
    if url == "memory":
        return MemoryReasoningStore(max_entries=max_entries, max_bytes=max_bytes, ttl=ttl)
    if url.startswith(("redis://", "rediss://")):
        _positive("ttl (--reasoning-store-ttl)", ttl, float)
        from .reasoning_store_redis import RedisReasoningStore

        return RedisReasoningStore(url, ttl=float(ttl))
    scheme = url.partition("://")[0] if "://" in url else ""
    got = f"a {scheme}:// URL" if scheme and len(scheme) <= 20 else "something else"
    raise ValueError(
        f"--reasoning-store must be 'memory' or redis://HOST:PORT/DB (rediss:// for TLS), got {got}"
    )
