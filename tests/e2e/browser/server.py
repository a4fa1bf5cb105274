"""A real HTTP server for browser tests: uvicorn in a thread on a free loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI


@dataclass
class Served:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Shut the server down now (a crash or a restart, seen from the browser)."""
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def serve(app: FastAPI, *, start_timeout_s: float = 60.0) -> Iterator[Served]:
    """Run ``app`` until the block ends (or ``stop()``); yields where it listens."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws_max_size=16 * 1024 * 1024
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("the test server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    served = Served(f"http://127.0.0.1:{port}", server, thread)
    try:
        yield served
    finally:
        served.stop()
