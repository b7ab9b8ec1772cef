"""A reasoning store in Redis, shared by every proxy replica that points at the same server
(``minimax-parser proxy --reasoning-store redis://HOST:PORT/DB``): a turn served by one replica
is restored by another.

The store holds only what the in-memory store holds: the reasoning text of each assistant turn,
under the turn's keys (``call:<id>``, ``content:<sha256>``), each prefixed with :data:`KEY_PREFIX`,
written with ``SET key value EX ttl`` and read with ``GETEX key EX ttl`` (Redis 6.2 or newer), so
that, as in the memory store, an entry is forgotten ``ttl`` seconds after it was last stored or
restored. A reasoning longer than ``max_entry_bytes`` (UTF-8; default
:data:`DEFAULT_MAX_ENTRY_BYTES`) is not stored. Redis's own memory policy (``maxmemory``) bounds
the whole.

Redis is a cache here, never a dependency of serving: when it is unreachable, slow or answers
with an error, :meth:`RedisReasoningStore.get` returns ``None`` and
:meth:`RedisReasoningStore.put` does nothing; neither raises. Each operation waits at most
``timeout`` seconds to connect and ``timeout`` seconds for the answer, and is never retried;
after a failure the store does not call Redis for ``retry_after`` seconds, so an unreachable
server costs one timeout per interval rather than one per assistant message. A warning
(``minimax_parser.reasoning_store``) is logged at most once per ``warn_interval`` seconds,
counting the failures it stands for, and one line when Redis answers again.

redis-py (``redis.asyncio``) is imported only when a store is built:
``pip install 'minimax-parser[redis]'``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import SplitResult, unquote, urlsplit

from .reasoning_store import DEFAULT_TTL

__all__ = [
    "DEFAULT_MAX_ENTRY_BYTES",
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TTL",
    "DEFAULT_WARN_INTERVAL",
    "KEY_PREFIX",
    "MAX_KEY_CHARS",
    "RedisReasoningStore",
    "parse_url",
]

logger = logging.getLogger("minimax_parser.reasoning_store")

T = TypeVar("T")

#: Prefix of every key the store writes, so that it can share a Redis database with others.
KEY_PREFIX = "minimax-parser:reasoning:"
#: Largest reasoning stored per entry, in bytes of UTF-8 (1 MiB: far more than a turn's thinking,
#: which runs to a few thousand tokens); a longer one is not stored, and its turn is not restored.
DEFAULT_MAX_ENTRY_BYTES = 2**20
#: Seconds allowed to connect, and then for each answer.
DEFAULT_TIMEOUT = 0.5
#: Seconds without calling Redis after a failure.
DEFAULT_RETRY_AFTER = 5.0
#: Seconds between two warnings about Redis failing.
DEFAULT_WARN_INTERVAL = 60.0
#: Keys longer than this (a client's tool-call id can be anything) are stored under their SHA-256.
MAX_KEY_CHARS = 256

_DB = re.compile(r"/(?:[0-9]{1,9})?\Z")
_USAGE = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (or rediss:// for TLS)"


def _import_redis() -> tuple[Any, Any]:
    try:
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError as e:
        raise ImportError(
            "the Redis reasoning store needs redis-py: pip install 'minimax-parser[redis]'"
        ) from e
    return redis.asyncio.Redis, Retry(NoBackoff(), 0)


def _redacted(parts: SplitResult) -> str:
    """The URL without its password, for messages."""
    if parts.password is None:
        return parts.geturl()
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{netloc}").geturl()


def parse_url(url: str) -> dict[str, Any]:
    """The connection settings in ``url`` (``redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]``,
    ``rediss://`` for TLS; port 6379 and database 0 by default): ``host``, ``port``, ``db``,
    ``username``, ``password``, ``ssl``. Anything else (another scheme, a path that is not a
    database number, a query, a fragment) raises ``ValueError``, whose message never shows
    the password."""
    if not isinstance(url, str):
        raise ValueError(f"the reasoning store URL must be a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"the reasoning store URL is not valid ({e}): use {_USAGE}") from None
    shown = _redacted(parts)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"the reasoning store URL must be {_USAGE}, got {shown!r}")
    if not parts.hostname:
        raise ValueError(f"the reasoning store URL has no host: {shown!r}; use {_USAGE}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError(
            f"the reasoning store URL must not have a query or a fragment: {shown!r}; use {_USAGE}"
        )
    if parts.path and not _DB.match(parts.path):
        raise ValueError(
            f"the reasoning store URL's path must be a database number (/0, /1, ...), got "
            f"{parts.path!r}; use {_USAGE}"
        )
    return {
        "host": parts.hostname,
        "port": 6379 if port is None else port,
        "db": int(parts.path[1:] or 0),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password is not None else None,
        "ssl": parts.scheme == "rediss",
    }


def _positive(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not value > 0
    ):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _key(key: str) -> str:
    if len(key) > MAX_KEY_CHARS:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return KEY_PREFIX + key


class RedisReasoningStore:
    """The reasoning of assistant turns in Redis at ``url`` (see the module's description):
    ``await get(key)``, ``await put(key, reasoning)``, ``await close()``; none of them raises
    because of Redis. ``ttl``: seconds an entry lives; ``max_entry_bytes``: the largest reasoning
    stored; ``timeout``: seconds to connect and for each answer; ``retry_after``: seconds
    without calling Redis after a failure; ``warn_interval``: seconds between warnings; ``clock``
    (monotonic seconds) is there for tests. A bad ``url`` or setting raises ``ValueError``, a
    missing redis-py ``ImportError``.

    ``errors`` counts the operations that failed in Redis or were not tried because it was
    failing, and ``skipped`` the reasoning not stored for being longer than ``max_entry_bytes``."""

    def __init__(
        self,
        url: str,
        *,
        ttl: float = DEFAULT_TTL,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        warn_interval: float = DEFAULT_WARN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = parse_url(url)
        self.ttl = _positive("ttl", ttl)
        if (
            isinstance(max_entry_bytes, bool)
            or not isinstance(max_entry_bytes, int)
            or max_entry_bytes <= 0
        ):
            raise ValueError(f"max_entry_bytes must be a positive integer, got {max_entry_bytes!r}")
        self.max_entry_bytes = max_entry_bytes
        # EX in whole seconds, PX (milliseconds) for a fractional TTL.
        self._expiry = (
            {"ex": int(self.ttl)}
            if self.ttl.is_integer()
            else {"px": max(1, round(self.ttl * 1000))}
        )
        self.timeout = _positive("timeout", timeout)
        self.retry_after = _positive("retry_after", retry_after)
        self.warn_interval = _positive("warn_interval", warn_interval)
        self.errors = 0
        self.skipped = 0
        self._clock = clock
        self._down_until: float | None = None  # set while Redis is failing: no call before it
        self._warned_at: float | None = None
        self._unreported = 0  # failures since the last warning
        redis_class, no_retry = _import_redis()
        self._client: Any = redis_class(
            **settings,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=no_retry,
        )
        # For messages: where the store is, without credentials.
        self.where = f"{settings['host']}:{settings['port']}/{settings['db']}"

    async def get(self, key: str) -> str | None:
        """The reasoning stored under ``key``, whose ``ttl`` starts again (``GETEX``), or
        ``None`` (none stored, expired, or Redis failing)."""
        value = await self._call(self._client.getex, _key(key), **self._expiry)
        if not isinstance(value, bytes):
            return None
        return value.decode("utf-8", "surrogatepass")

    async def put(self, key: str, reasoning: str) -> None:
        """Stores ``reasoning`` under ``key`` for ``ttl`` seconds, unless it is longer than
        ``max_entry_bytes`` (or Redis is failing: then nothing is stored)."""
        value = reasoning.encode("utf-8", "surrogatepass")
        if len(value) > self.max_entry_bytes:
            self.skipped += 1
            logger.debug(
                "reasoning of %d bytes not stored (limit %d)", len(value), self.max_entry_bytes
            )
            return
        await self._call(self._client.set, _key(key), value, **self._expiry)

    async def close(self) -> None:
        """Closes the connections (a failure to close them is logged, not raised)."""
        try:
            close = getattr(self._client, "aclose", None) or self._client.close
            await close()
        except Exception:
            logger.debug("closing the Redis reasoning store failed", exc_info=True)

    async def _call(self, command: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T | None:
        now = self._clock()
        if self._down_until is not None and now < self._down_until:
            self.errors += 1
            self._unreported += 1
            return None
        try:
            result = await command(*args, **kw)
        except Exception as e:  # whatever went wrong, serving goes on without the store
            self._failed(e)
            return None
        if self._down_until is not None:
            self._down_until = None
            logger.info("reasoning store: Redis at %s answers again", self.where)
        return result

    def _failed(self, error: Exception) -> None:
        now = self._clock()
        self.errors += 1
        self._unreported += 1
        self._down_until = now + self.retry_after
        if self._warned_at is not None and now - self._warned_at < self.warn_interval:
            return
        since = ""
        if self._warned_at is not None:
            since = f"; {self._unreported} failures since the last warning"
        logger.warning(
            "reasoning store: Redis at %s failed (%s: %s); reasoning is neither stored nor "
            "restored until it answers (tried again every %g s)%s",
            self.where,
            type(error).__name__,
            error,
            self.retry_after,
            since,
        )
        self._warned_at = now
        self._unreported = 0
