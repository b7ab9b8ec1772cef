"""Real aiohttp servers on 127.0.0.1 (port 0) for the proxy, client and README tests, served by an
event loop on a background thread so that synchronous clients (the OpenAI SDK, urllib, raw
sockets) can talk to them from the test's thread."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
S = TypeVar("S", bound="LoopbackServers")


class LoopbackServers:
    """An event loop on a background thread serving aiohttp applications on loopback ports."""

    def __init__(self, name: str = "servers", wait: float = 10.0) -> None:
        self.wait = wait  # seconds: the bound on waiting for the loop's thread
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Runs `coro` on the servers' loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, app: web.Application, handler_cancellation: bool = True) -> int:
        """Serves `app` on 127.0.0.1 and returns its port."""

        async def start() -> int:
            runner = web.AppRunner(
                app,
                handler_cancellation=handler_cancellation,
                access_log=None,
                shutdown_timeout=1.0,
            )
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.runners.append(runner)
            host, port = runner.addresses[0][:2]
            assert host == "127.0.0.1"
            return int(port)

        return self.call(start())

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops every server, then the loop."""

        async def stop() -> None:
            for runner in reversed(self.runners):
                await runner.cleanup()

        try:
            self.call(stop(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(self.wait)
            self.loop.close()


def chunk(delta: dict[str, Any], finish: str | None = None, model: str = "m") -> dict[str, Any]:
    """A ``chat.completion.chunk`` with one choice."""
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class RawUpstream(LoopbackServers):
    """Loopback servers with an upstream like a server that passes MiniMax markup through: it
    answers ``POST /v1/chat/completions`` with the raw text :meth:`answer` gives for the request
    body, in ``content`` (SSE in pieces of ``piece`` characters when the request streams, else one
    ``chat.completion``), and records every request body it receives."""

    def __init__(self, name: str, wait: float, piece: int) -> None:
        super().__init__(name, wait=wait)
        self.piece = piece
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self.upstream_port = self.serve(app)

    @property
    def upstream_url(self) -> str:
        return f"http://127.0.0.1:{self.upstream_port}/v1"

    def answer(self, body: dict[str, Any]) -> tuple[str, bool]:
        """The raw text for a request, and whether the stream ends properly (a finish reason
        and ``[DONE]``) or is cut off after the text."""
        raise NotImplementedError

    def mark(self) -> int:
        with self.lock:
            return len(self.bodies)

    def since(self, mark: int) -> list[bytes]:
        """The bodies received since ``mark``."""
        with self.lock:
            return self.bodies[mark:]

    def last_body(self) -> dict[str, Any]:
        with self.lock:
            body: dict[str, Any] = json.loads(self.bodies[-1])
        return body

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        with self.lock:
            self.bodies.append(raw)
        body = json.loads(raw)
        text, complete = self.answer(body)
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            return web.json_response(
                {
                    "id": "chatcmpl-up",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        chunks = [chunk({"role": "assistant", "content": ""})]
        step = self.piece
        chunks += [chunk({"content": text[i : i + step]}) for i in range(0, len(text), step)]
        if complete:
            chunks.append(chunk({}, "stop"))
        for c in chunks:
            await resp.write(f"data: {json.dumps(c)}\n\n".encode())
        if complete:
            await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
