"""The Redis reasoning store (``minimax_parser.reasoning_store_redis``) against a real
``redis-server``, and proxy replicas sharing it.

The server is the one at ``MINIMAX_PARSER_REDIS_URL`` (``scripts/test.sh`` and CI start one on a
free loopback port), and the tests that stop and restart a server start their own
``redis-server`` from ``PATH``. Without them these tests fail, saying what to install;
``MINIMAX_PARSER_SKIP_REDIS=1``, and nothing else, skips them. The URL and settings checks and
the unreachable-server tests need no server and always run."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import openai
import pytest
import redis
from aiohttp import web

from minimax_parser.proxy import make_app
from minimax_parser.reasoning_store_redis import (
    DEFAULT_MAX_ENTRY_BYTES,
    KEY_PREFIX,
    MAX_KEY_CHARS,
    RedisReasoningStore,
    parse_url,
)

from loopback import LoopbackServers

SKIP_VARIABLE = "MINIMAX_PARSER_SKIP_REDIS"
URL_VARIABLE = "MINIMAX_PARSER_REDIS_URL"
SKIPPED = os.environ.get(SKIP_VARIABLE) == "1"
SKIP_REASON = f"{SKIP_VARIABLE}=1: the tests against a real redis-server were skipped"
HOW = (
    "install redis-server (Debian: apt-get install redis-server) and run bash scripts/test.sh, "
    f"which starts one and sets {URL_VARIABLE}, or set {URL_VARIABLE}=redis://HOST:PORT/DB, "
    f"or set {SKIP_VARIABLE}=1 to skip these tests"
)
WAIT = 10.0  # seconds: the bound on every wait for a server or an expiry
LOGGER = "minimax_parser.reasoning_store"


# -- servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A ``redis-server`` of our own on a loopback port, without persistence, that a test can
    stop and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(f"redis-server is not on PATH: {HOW}")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None
        cmd = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        cmd += ["--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + WAIT
        while not ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "redis.log").read_text(errors="replace")
                self.stop()
                pytest.fail(f"redis-server did not start on port {self.port}:\n{log[-2000:]}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(WAIT)
            self.process = None


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    if SKIPPED:
        pytest.skip(SKIP_REASON)
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_url() -> str:
    """The URL of the suite's Redis (``MINIMAX_PARSER_REDIS_URL``)."""
    if SKIPPED:
        pytest.skip(SKIP_REASON)
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.fail(f"{URL_VARIABLE} is not set: {HOW}")
    try:
        raw(url).ping()
    except redis.RedisError as e:
        pytest.fail(f"the Redis at {URL_VARIABLE} does not answer PING: {e}")
    return url


def raw(url: str) -> redis.Redis:
    """A plain synchronous client, to look at what the store wrote."""
    return redis.Redis.from_url(url, socket_timeout=WAIT)


def unique(name: str) -> str:
    """A key no other test (or earlier run) uses."""
    return f"{name}:{uuid.uuid4().hex}"


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    return free_port()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING
    ]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- against the suite's Redis ---------------------------------------------------------------------


def test_put_then_get(redis_url: str) -> None:
    key = unique("call:call_a")
    reasoning = "I should call get_weather.\nUnicode: é, 中文, 🙂; a lone surrogate: \ud800"

    async def go() -> tuple[str | None, str | None]:
        store = RedisReasoningStore(redis_url)
        try:
            missing = await store.get(key)
            await store.put(key, reasoning)
            return missing, await store.get(key)
        finally:
            await store.close()

    assert run(go()) == (None, reasoning)
    # The bytes in Redis are the reasoning's UTF-8, under the prefixed key, and nothing else.
    value = raw(redis_url).get(KEY_PREFIX + key)
    assert value == reasoning.encode("utf-8", "surrogatepass")
    assert raw(redis_url).get(key) is None


def test_replicas_share_entries(redis_url: str) -> None:
    """Two stores (two replicas) on one Redis see each other's entries; a put replaces."""
    key = unique("content:" + "ab" * 32)

    async def go() -> list[str | None]:
        a, b = RedisReasoningStore(redis_url), RedisReasoningStore(redis_url)
        try:
            await a.put(key, "first")
            seen = [await b.get(key)]
            await b.put(key, "second")
            return [*seen, await a.get(key)]
        finally:
            await a.close()
            await b.close()

    assert run(go()) == ["first", "second"]


def test_whole_seconds_ttl_is_set_with_ex_and_expires(redis_url: str) -> None:
    key = unique("call:ttl")
    r = raw(redis_url)

    async def put() -> None:
        store = RedisReasoningStore(redis_url, ttl=1)
        await store.put(key, "short-lived")
        await store.close()

    run(put())
    assert r.ttl(KEY_PREFIX + key) == 1  # SET ... EX 1
    deadline = time.monotonic() + WAIT
    while r.exists(KEY_PREFIX + key) and time.monotonic() < deadline:
        time.sleep(0.05)

    async def get() -> str | None:
        store = RedisReasoningStore(redis_url, ttl=1)
        try:
            return await store.get(key)
        finally:
            await store.close()

    assert run(get()) is None


def test_fractional_ttl_is_set_in_milliseconds(redis_url: str) -> None:
    key = unique("call:pttl")

    async def go() -> tuple[int, str | None, str | None]:
        store = RedisReasoningStore(redis_url, ttl=0.4)
        try:
            await store.put(key, "shorter-lived")
            pttl = raw(redis_url).pttl(KEY_PREFIX + key)
            before = await store.get(key)
            await asyncio.sleep(0.6)
            return pttl, before, await store.get(key)
        finally:
            await store.close()

    pttl, before, after = run(go())
    assert 0 < pttl <= 400
    assert (before, after) == ("shorter-lived", None)


def test_a_restore_starts_the_ttl_again(redis_url: str) -> None:
    """As in the memory store, an entry lives ``ttl`` seconds after it was last restored."""
    key = unique("call:refresh")
    r = raw(redis_url)

    async def go() -> str | None:
        store = RedisReasoningStore(redis_url, ttl=60)
        try:
            await store.put(key, "kept")
            r.pexpire(KEY_PREFIX + key, 5000)
            assert 0 < r.pttl(KEY_PREFIX + key) <= 5000
            return await store.get(key)
        finally:
            await store.close()

    assert run(go()) == "kept"
    assert r.ttl(KEY_PREFIX + key) == 60


def test_default_ttl_is_an_hour(redis_url: str) -> None:
    key = unique("call:default")

    async def go() -> None:
        store = RedisReasoningStore(redis_url)
        await store.put(key, "r")
        await store.close()

    run(go())
    assert 3590 <= raw(redis_url).ttl(KEY_PREFIX + key) <= 3600


def test_database_number_is_used(redis_url: str) -> None:
    base, db = redis_url.rsplit("/", 1)
    other = f"{base}/{(int(db or 0) + 1) % 16}"  # a server has 16 databases by default
    key = unique("call:db")

    async def go() -> None:
        store = RedisReasoningStore(other)
        await store.put(key, "in the other database")
        await store.close()

    run(go())
    assert raw(other).get(KEY_PREFIX + key) == b"in the other database"
    assert raw(redis_url).get(KEY_PREFIX + key) is None


def test_long_keys_are_stored_under_their_hash(redis_url: str) -> None:
    short = "call:" + "x" * (MAX_KEY_CHARS - 5)
    long = unique("call:" + "y" * MAX_KEY_CHARS)

    async def go() -> tuple[str | None, str | None]:
        store = RedisReasoningStore(redis_url)
        try:
            await store.put(short, "short key")
            await store.put(long, "long key")
            return await store.get(short), await store.get(long)
        finally:
            await store.close()

    assert run(go()) == ("short key", "long key")
    r = raw(redis_url)
    assert r.get(KEY_PREFIX + short) == b"short key"
    assert r.get(KEY_PREFIX + long) is None
    hashed = KEY_PREFIX + "sha256:" + hashlib.sha256(long.encode()).hexdigest()
    assert r.get(hashed) == b"long key"


def test_oversize_reasoning_is_not_stored(redis_url: str) -> None:
    keys = [unique(f"call:size{i}") for i in range(4)]

    async def go() -> tuple[list[str | None], int, int]:
        small = RedisReasoningStore(redis_url, max_entry_bytes=10)
        default = RedisReasoningStore(redis_url)
        try:
            await small.put(keys[0], "a" * 10)  # exactly the limit: stored
            await small.put(keys[1], "é" * 6)  # 6 characters, 12 bytes: not stored
            await default.put(keys[2], "r" * DEFAULT_MAX_ENTRY_BYTES)
            await default.put(keys[3], "r" * (DEFAULT_MAX_ENTRY_BYTES + 1))
            got = [await small.get(keys[0]), await small.get(keys[1])]
            got += [await default.get(keys[2]), await default.get(keys[3])]
            return got, small.skipped, default.skipped
        finally:
            await small.close()
            await default.close()

    got, small_skipped, default_skipped = run(go())
    assert got == ["a" * 10, None, "r" * DEFAULT_MAX_ENTRY_BYTES, None]
    assert (small_skipped, default_skipped) == (1, 1)
    assert DEFAULT_MAX_ENTRY_BYTES == 2**20
    assert raw(redis_url).exists(*(KEY_PREFIX + k for k in (keys[1], keys[3]))) == 0


def test_a_redis_error_is_a_miss_and_a_warning(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis answering with an error (here WRONGTYPE: the key holds a list) is a miss for get
    and nothing for put; the store goes on once the key is usable again."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    key = unique("call:wrongtype")
    raw(redis_url).rpush(KEY_PREFIX + key, "not a string")
    clock = Clock()

    async def go() -> tuple[str | None, str | None]:
        store = RedisReasoningStore(redis_url, clock=clock)
        try:
            got = await store.get(key)
            assert store.errors == 1
            raw(redis_url).delete(KEY_PREFIX + key)
            clock.now += store.retry_after
            await store.put(key, "fine")
            return got, await store.get(key)
        finally:
            await store.close()

    assert run(go()) == (None, "fine")
    [warning] = warnings(caplog)
    assert "WRONGTYPE" in warning
    assert any("answers again" in r.getMessage() for r in caplog.records if r.name == LOGGER)


# -- Redis going away and coming back --------------------------------------------------------------


def test_unreachable_redis_is_a_no_op_with_one_warning_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    port = closed_port()
    clock = Clock()

    async def go() -> RedisReasoningStore:
        store = RedisReasoningStore(f"redis://127.0.0.1:{port}/0", clock=clock)
        assert await store.get("call:a") is None  # refused: a warning
        await store.put("call:a", "r")
        assert len(warnings(caplog)) == 1
        for _ in range(5):  # within retry_after: Redis is not even tried
            clock.now += 0.5
            assert await store.get("call:a") is None
        clock.now += store.retry_after  # tried again, refused again, within the interval
        assert await store.get("call:a") is None
        await store.put("call:a", "r")
        assert len(warnings(caplog)) == 1
        clock.now += store.warn_interval  # the next warning counts what happened meanwhile
        await store.put("call:a", "r")
        await store.close()
        return store

    store = run(go())
    first, second = warnings(caplog)
    assert f"127.0.0.1:{port}/0" in first and "ConnectionError" in first
    assert "since the last warning" not in first
    assert second.endswith("(tried again every 5 s); 9 failures since the last warning")
    assert store.errors == 10


def test_silent_redis_times_out(caplog: pytest.LogCaptureFixture) -> None:
    """A server that accepts connections and never answers costs one timeout, then nothing
    until retry_after has passed."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with socket.socket() as listener:  # the kernel accepts; nobody reads or answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]

        async def go() -> list[float]:
            store = RedisReasoningStore(f"redis://127.0.0.1:{port}/0", timeout=0.2)
            times = []
            try:
                for _ in range(3):
                    start = time.monotonic()
                    assert await store.get("call:a") is None
                    times.append(time.monotonic() - start)
            finally:
                await store.close()
            return times

        first, *rest = run(go())
    assert 0.15 < first < WAIT
    assert all(t < 0.1 for t in rest), rest  # within retry_after: not tried
    [warning] = warnings(caplog)
    assert "Timeout" in warning


def test_restarted_redis_is_used_again(
    own_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A store whose pooled connections died with the server fails over to a no-op, then
    reconnects once the server is back (its entries are gone: no persistence)."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = Clock()

    async def go() -> list[str | None]:
        store = RedisReasoningStore(own_server.url, clock=clock)
        got: list[str | None] = []
        try:
            await store.put("call:a", "before")
            got.append(await store.get("call:a"))
            own_server.stop()
            got.append(await store.get("call:a"))
            await store.put("call:b", "while down")
            own_server.start()
            got.append(await store.get("call:a"))  # not tried yet: retry_after not over
            clock.now += store.retry_after
            await store.put("call:a", "after")
            got.append(await store.get("call:a"))
            got.append(await store.get("call:b"))
        finally:
            await store.close()
        return got

    assert run(go()) == ["before", None, None, "after", None]
    [warning] = warnings(caplog)
    assert "ConnectionError" in warning
    again = [r for r in caplog.records if r.name == LOGGER and "answers again" in r.getMessage()]
    assert len(again) == 1


# -- settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("redis://127.0.0.1", ("127.0.0.1", 6379, 0, None, None, False)),
        ("redis://127.0.0.1:6380/", ("127.0.0.1", 6380, 0, None, None, False)),
        ("redis://redis.internal:6380/15", ("redis.internal", 6380, 15, None, None, False)),
        ("rediss://user:p%40ss@cache:1/2", ("cache", 1, 2, "user", "p@ss", True)),
        ("redis://:secret@[::1]:7/3", ("::1", 7, 3, None, "secret", False)),
    ],
)
def test_urls(url: str, want: tuple[Any, ...]) -> None:
    got = parse_url(url)
    keys = ("host", "port", "db", "username", "password", "ssl")
    assert tuple(got[k] for k in keys) == want


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memory", "must be redis://"),
        ("http://127.0.0.1:6379/0", "must be redis://"),
        ("unix:///run/redis.sock", "must be redis://"),
        ("127.0.0.1:6379", "must be redis://"),
        ("redis://", "has no host"),
        ("redis://:6379/0", "has no host"),
        ("redis://127.0.0.1:99999/0", "not valid"),
        ("redis://127.0.0.1:port/0", "not valid"),
        ("redis://127.0.0.1:6379/db", "must be a database number"),
        ("redis://127.0.0.1:6379/0/1", "must be a database number"),
        ("redis://127.0.0.1:6379/-1", "must be a database number"),
        ("redis://127.0.0.1:6379//", "must be a database number"),
        ("redis://127.0.0.1:6379/0?timeout=1", "query or a fragment"),
        ("redis://127.0.0.1:6379/0?", "query or a fragment"),
        ("redis://127.0.0.1:6379/0#x", "query or a fragment"),
        ("redis://:hunter2@127.0.0.1:6379/zero", "must be a database number"),
        ("http://:hunter2@127.0.0.1:6379/0", "must be redis://"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        RedisReasoningStore(url)
    assert "hunter2" not in str(info.value), "a password is never shown"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ttl", 0),
        ("ttl", -1.0),
        ("ttl", float("nan")),
        ("ttl", float("inf")),
        ("ttl", True),
        ("ttl", "60"),
        ("max_entry_bytes", 0),
        ("max_entry_bytes", 1.5),
        ("timeout", 0.0),
        ("retry_after", -1),
        ("warn_interval", 0),
    ],
)
def test_bad_settings(setting: str, value: Any) -> None:
    with pytest.raises(ValueError, match=setting):
        RedisReasoningStore("redis://127.0.0.1:6379/0", **{setting: value})


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_redis_is_imported_only_by_the_store() -> None:
    r = _python(
        "import sys, minimax_parser, minimax_parser.reasoning_store_redis as m\n"
        "assert 'redis' not in sys.modules, 'imported too early'\n"
        "m.RedisReasoningStore('redis://127.0.0.1:6379/0')\n"
        "assert 'redis' in sys.modules\n"
    )
    assert r.returncode == 0, r.stderr


def test_missing_redis_says_what_to_install() -> None:
    r = _python(
        "import sys\nsys.modules['redis'] = None  # as if it were not installed\n"
        "from minimax_parser.reasoning_store_redis import RedisReasoningStore\n"
        "try:\n    RedisReasoningStore('redis://127.0.0.1:6379/0')\n"
        "except ImportError as e:\n    print(e)\n"
    )
    assert r.returncode == 0, r.stderr
    assert "pip install 'minimax-parser[redis]'" in r.stdout


def test_skip_variable_is_the_only_way_to_skip() -> None:
    """Without a server the suite's tests fail with what to do; with the variable they are
    skipped, the reason shown. (Run in a child pytest with no Redis in its environment.)"""
    here = Path(__file__)
    env = {k: v for k, v in os.environ.items() if k not in (URL_VARIABLE, SKIP_VARIABLE)}
    env["PATH"] = os.path.dirname(sys.executable)  # no redis-server either
    cmd = [sys.executable, "-m", "pytest", str(here), "--rootdir", str(here.parent.parent)]
    cmd += ["-p", "no:cacheprovider", "--noconftest", "-q", "-rs"]
    cmd += ["-k", "test_put_then_get or test_restarted_redis_is_used_again"]
    failing = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert failing.returncode == 1, failing.stdout
    assert f"{URL_VARIABLE} is not set: install redis-server" in failing.stdout
    assert "redis-server is not on PATH" in failing.stdout
    assert f"set {SKIP_VARIABLE}=1 to skip these tests" in failing.stdout
    skipping = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env={**env, SKIP_VARIABLE: "1"},
        timeout=120,
        check=False,
    )
    assert skipping.returncode == 0, skipping.stdout
    assert "2 skipped" in skipping.stdout
    assert SKIP_REASON in skipping.stdout


# -- proxy replicas sharing the store --------------------------------------------------------------

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
        },
    }
]
Dialect = Literal["m2", "m3"]
M3_SEP = "]<]minimax[>["
#: The reasoning of each turn the upstream answers (by the number of assistant turns before it).
REASONING = [
    "The user wants the weather: call get_weather for Paris.",
    "The tool said sunny; answer briefly.",
    "They said thanks; say goodbye.",
]
CONTENT = ["", "It is sunny in Paris.", "Goodbye!"]  # the first turn calls a tool


def raw_output(dialect: Dialect, turn: int) -> str:
    """What the model writes for ``turn`` (the first calls the tool), in ``dialect``'s markup;
    the prompt ends inside reasoning (M3: requests enable thinking)."""
    end = "</think>\n\n" if dialect == "m2" else "</mm:think>"
    if turn > 0:
        return REASONING[turn] + end + CONTENT[turn]
    if dialect == "m2":
        call = (
            '<minimax:tool_call>\n<invoke name="get_weather">\n'
            '<parameter name="location">Paris</parameter>\n</invoke>\n</minimax:tool_call>'
        )
    else:
        s = M3_SEP
        call = (
            f'{s}<tool_call>{s}<invoke name="get_weather">{s}<location>Paris{s}</location>'
            f"{s}</invoke>{s}</tool_call>"
        )
    return REASONING[0] + end + call


class RecordingUpstream:
    """An OpenAI-compatible server that passes the model's raw markup through in ``content``
    (streamed in small pieces, or whole) and records every request body it gets."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.bodies: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        return app

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        self.bodies.append(body)
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        text = raw_output(self.dialect, turn)
        head = {"id": "chatcmpl-up", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return web.json_response({**head, "object": "chat.completion", "choices": [choice]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"content": text[i : i + 5]} for i in range(0, len(text), 5)]
        for i, delta in enumerate([*deltas, {}]):
            finish = "stop" if i == len(deltas) else None
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            chunk = {**head, "object": "chat.completion.chunk", "choices": [choice]}
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


class Replicas:
    """One recording upstream and proxy replicas in front of it, on loopback."""

    def __init__(self, dialect: Dialect) -> None:
        self.servers = LoopbackServers("replicas")
        self.upstream = RecordingUpstream(dialect)
        self.upstream_url = f"http://127.0.0.1:{self.servers.serve(self.upstream.app())}/v1"
        self.dialect = dialect

    def proxy(self, **options: Any) -> openai.OpenAI:
        """An ``openai`` client of a new proxy replica with these options."""
        app = make_app(self.upstream_url, dialect=self.dialect, **options)
        port = self.servers.serve(app)
        return openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0, timeout=20
        )

    def close(self) -> None:
        self.servers.close()


@pytest.fixture
def replicas(request: pytest.FixtureRequest) -> Iterator[Replicas]:
    r = Replicas(request.param)
    try:
        yield r
    finally:
        r.close()


def ask(
    client: openai.OpenAI, dialect: Dialect, messages: list[dict[str, Any]], stream: bool
) -> dict[str, Any]:
    """One turn through a proxy with the ``openai`` client; the assistant message as a client that
    drops ``reasoning_content`` (LangChain's ``ChatOpenAI``) puts it into the history, and the
    reasoning it was sent, under ``"_reasoning"``."""
    extra = {"chat_template_kwargs": {"thinking_mode": "enabled"}} if dialect == "m3" else {}
    args: dict[str, Any] = {
        "model": "minimax",
        "messages": messages,
        "tools": TOOLS,
        "extra_body": extra,
    }
    reasoning, content = "", ""
    calls: dict[int, dict[str, str]] = {}
    if stream:
        with client.chat.completions.create(**args, stream=True) as chunks:
            for chunk in chunks:
                for choice in chunk.choices:
                    delta = choice.delta
                    reasoning += getattr(delta, "reasoning_content", None) or ""
                    content += delta.content or ""
                    for call in delta.tool_calls or []:
                        entry = calls.setdefault(call.index, {"arguments": ""})
                        if call.id:
                            entry.update(id=call.id, name=call.function.name)
                        entry["arguments"] += call.function.arguments or ""
        tool_calls = [calls[i] for i in sorted(calls)]
    else:
        message = client.chat.completions.create(**args).choices[0].message
        reasoning = getattr(message, "reasoning_content", None) or ""
        content = message.content or ""
        tool_calls = [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
            for c in message.tool_calls or []
        ]
    turn: dict[str, Any] = {"role": "assistant", "content": content or None}
    if tool_calls:
        turn["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in tool_calls
        ]
    return {**turn, "_reasoning": reasoning}


def history(turn: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in turn.items() if k != "_reasoning"}


def think(dialect: Dialect, reasoning: str) -> str:
    """The think block the chat template renders (SPEC §8)."""
    if dialect == "m2":
        return f"<think>\n{reasoning}\n</think>\n\n"
    return f"<mm:think>{reasoning}</mm:think>"


def three_turns(a: openai.OpenAI, b: openai.OpenAI, dialect: Dialect) -> list[dict[str, Any]]:
    """A tool loop served by replica ``a``, then ``b``, then ``a`` again, each turn's reasoning
    dropped from the history; the assistant turns the client saw."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = ask(a, dialect, messages, stream=True)
    assert first["_reasoning"] == REASONING[0]
    assert first["tool_calls"][0]["function"]["arguments"] == '{"location": "Paris"}'
    messages += [history(first)]
    call_id = first["tool_calls"][0]["id"]
    messages += [{"role": "tool", "tool_call_id": call_id, "content": '{"sky": "sunny"}'}]
    second = ask(b, dialect, messages, stream=False)
    assert (second["_reasoning"], second["content"]) == (REASONING[1], CONTENT[1])
    messages += [history(second), {"role": "user", "content": "Thanks!"}]
    third = ask(a, dialect, messages, stream=True)
    assert (third["_reasoning"], third["content"]) == (REASONING[2], CONTENT[2])
    return [first, second, third]


def check_restored(bodies: list[dict[str, Any]], dialect: Dialect) -> None:
    """What the upstream got in :func:`three_turns`, restoring inline."""
    first, second, third = bodies
    assert [m["role"] for m in first["messages"]] == ["user"]
    # Through b: the turn a served (known by its call id) carries its think block.
    restored = second["messages"][1]
    assert restored["content"] == think(dialect, REASONING[0])
    assert "reasoning_content" not in restored
    assert restored["tool_calls"][0]["function"]["name"] == "get_weather"
    # Through a: that turn again, and the one b served (known by its content's hash).
    assert third["messages"][1] == restored
    assert third["messages"][3]["content"] == think(dialect, REASONING[1]) + CONTENT[1]
    # Nothing else changed.
    assert third["messages"][2] == {
        "role": "tool",
        "tool_call_id": restored["tool_calls"][0]["id"],
        "content": '{"sky": "sunny"}',
    }
    assert third["messages"][4] == {"role": "user", "content": "Thanks!"}


@pytest.mark.parametrize("replicas", ["m2", "m3"], indirect=True)
def test_a_turn_served_by_one_replica_is_restored_by_another(
    replicas: Replicas, redis_url: str
) -> None:
    a = replicas.proxy(reasoning_store=redis_url)
    b = replicas.proxy(reasoning_store=redis_url)
    three_turns(a, b, replicas.dialect)
    check_restored(replicas.upstream.bodies, replicas.dialect)


@pytest.mark.parametrize("replicas", ["m2", "m3"], indirect=True)
def test_replicas_in_separate_processes(replicas: Replicas, redis_url: str) -> None:
    """Replica b is ``minimax-parser proxy --reasoning-store URL``, a process of its own."""
    port = free_port()
    cmd = [sys.executable, "-m", "minimax_parser", "proxy", "--upstream", replicas.upstream_url]
    cmd += ["--port", str(port), "--dialect", replicas.dialect, "--reasoning-store", redis_url]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, "the proxy exited"
                assert time.monotonic() < deadline, "the proxy did not start"
                time.sleep(0.05)
        b = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0, timeout=20
        )
        three_turns(replicas.proxy(reasoning_store=redis_url), b, replicas.dialect)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=WAIT)
    check_restored(replicas.upstream.bodies, replicas.dialect)
    [line] = [line for line in stderr.splitlines() if "POST /v1/chat/completions" in line]
    assert "reasoning_restored=1" in line, stderr


@pytest.mark.parametrize("replicas", ["m2"], indirect=True)
def test_replicas_restore_into_the_reasoning_field(replicas: Replicas, redis_url: str) -> None:
    a = replicas.proxy(reasoning_store=redis_url, restore_reasoning="field")
    b = replicas.proxy(reasoning_store=redis_url, restore_reasoning="field")
    first, _, _ = three_turns(a, b, "m2")
    second, third = replicas.upstream.bodies[1:]
    assert second["messages"][1] == {**history(first), "reasoning_content": REASONING[0]}
    assert third["messages"][3] == {
        "role": "assistant",
        "content": CONTENT[1],
        "reasoning_content": REASONING[1],
    }


@pytest.mark.parametrize("replicas", ["m2", "m3"], indirect=True)
def test_replicas_keep_serving_while_redis_is_down(
    replicas: Replicas, own_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stops after the first turn: the next turns are served as usual, without restore;
    once Redis is back (and ``retry_after`` has passed) the replicas share reasoning again."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    dialect = replicas.dialect
    clock = Clock()
    stores = [RedisReasoningStore(own_server.url, clock=clock) for _ in range(2)]
    a, b = (replicas.proxy(reasoning_store=store) for store in stores)
    try:
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
        first = ask(a, dialect, messages, stream=True)
        own_server.stop()
        messages += [history(first)]
        tool = {"role": "tool", "tool_call_id": first["tool_calls"][0]["id"], "content": "sunny"}
        messages += [tool]
        second = ask(b, dialect, messages, stream=False)  # served, without the reasoning
        assert (second["_reasoning"], second["content"]) == (REASONING[1], CONTENT[1])
        assert replicas.upstream.bodies[-1]["messages"][1] == history(first)
        messages += [history(second), {"role": "user", "content": "Thanks!"}]
        third = ask(a, dialect, messages, stream=True)  # a's store fails too: still served
        assert third["content"] == CONTENT[2]
        assert replicas.upstream.bodies[-1]["messages"][1:4] == messages[1:4]
        assert [len(warnings(caplog)), stores[0].errors > 0, stores[1].errors > 0] == [2, 1, 1]

        own_server.start()  # empty: no persistence
        clock.now += stores[0].retry_after
        first = ask(a, dialect, messages[:1], stream=True)
        second = ask(b, dialect, [*messages[:1], history(first), tool], stream=False)
        assert replicas.upstream.bodies[-1]["messages"][1]["content"] == think(
            dialect, REASONING[0]
        )
        assert second["content"] == CONTENT[1]
    finally:
        for store in stores:
            replicas.servers.call(store.close())
