"""Releasing a model adapter's native resources when the garbage collector drops it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def release_on_new_thread(release: Callable[..., Any], *args: Any, name: str) -> None:
    """Run ``release(*args)`` on a new thread: the finalizer `weakref.finalize` calls for a dropped
    adapter. The collector may run while this thread holds a lock that releasing needs
    (concurrent.futures' global lock, inside another MediaPipe call or a pool's submit); releasing
    inline there deadlocked the test suite. While the interpreter shuts down no new thread can
    start and nothing else runs, so it releases inline."""
    try:
        threading.Thread(target=release, args=args, name=name, daemon=True).start()
    except RuntimeError:
        release(*args)
