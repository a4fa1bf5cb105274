"""Small threading helpers that let a capture's stages overlap on a 2-core machine.

The model runtimes do their heavy work outside Python's GIL (MediaPipe on its own graph thread,
onnxruntime, OpenCV's decoder, dlib's HOG scan), so a second thread can use the second core while
the first waits in one of them. Two shapes are needed:

* `prefetch`: run an iterator (the video decoder) a few items ahead on a background thread;
* `OrderedWorker`: hand items to one background thread that processes them strictly in order
  (the per-frame steps after the landmarker: identity sampling, PAD measurements, frame selection).

Both are per-capture objects with bounded queues (frames are large), propagate the background
thread's exception to the caller, and stop their thread when the caller stops early.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.05  # how often a blocked producer checks whether the consumer went away
_DONE = object()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(
    items: Iterator[T], *, ahead: int = 4, name: str = "portraitmatch-prefetch"
) -> Generator[T, None, None]:
    """Yield what `items` yields, produced on a background thread at most `ahead` items early.

    An exception raised by `items` is re-raised here, at the item where it happened. When the
    consumer stops early (``close()``, an exception, garbage collection), the producer thread
    stops and `items` is closed if it is a generator.
    """
    if ahead < 1:
        raise ValueError("ahead must be >= 1")
    buffer: queue.Queue[object] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(entry: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            entry = buffer.get()
            if entry is _DONE:
                return
            if isinstance(entry, _Failure):
                raise entry.error
            yield entry  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


class OrderedWorker(Generic[T]):
    """Runs ``handle(item)`` for every submitted item, in submission order, on one thread.

    Use it as a context manager: leaving the block normally waits until every item is handled and
    re-raises the first exception `handle` raised; leaving it with an exception stops the thread
    without handling the items still queued. `submit` blocks while ``depth`` items are waiting.
    """

    def __init__(
        self, handle: Callable[[T], None], *, depth: int = 4, name: str = "portraitmatch-worker"
    ) -> None:
        if depth < 1:
            raise ValueError("depth must be >= 1")
        self._handle = handle
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE or self._cancelled.is_set():
                return
            if self._error is not None:
                continue  # drain without handling: the caller learns of the error at submit/close
            try:
                self._handle(item)  # type: ignore[arg-type]
            except BaseException as exc:
                self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, item: T) -> None:
        """Queue `item`; raises the worker's exception if an earlier item failed."""
        self._raise_if_failed()
        if not self._thread.is_alive():
            raise RuntimeError("the worker has been closed")
        self._queue.put(item)

    def close(self) -> None:
        """Wait for every queued item to be handled; re-raise the first failure."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        self._raise_if_failed()

    def cancel(self) -> None:
        """Stop after the item being handled; queued items are dropped."""
        self._cancelled.set()
        while self._thread.is_alive():
            try:
                self._queue.put(_DONE, timeout=_POLL_S)
            except queue.Full:
                continue
            self._thread.join()

    def __enter__(self) -> OrderedWorker[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.cancel()
