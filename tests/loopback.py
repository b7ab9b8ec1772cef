"""Real aiohttp servers on 127.0.0.1 (port 0) for the proxy, client and README tests, served by an
event loop on a background thread so that synchronous clients (the OpenAI SDK, urllib, raw
sockets) can talk to them from the test's thread."""

from __future__ import annotations

import asyncio
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
