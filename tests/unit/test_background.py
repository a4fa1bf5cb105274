"""The per-capture threading helpers: order, back-pressure, errors and early stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from portraitmatch._background import OrderedWorker, prefetch


def test_prefetch_yields_every_item_in_order_from_another_thread() -> None:
    producers: set[int] = set()

    def items() -> Iterator[int]:
        for k in range(50):
            producers.add(threading.get_ident())
            yield k

    assert list(prefetch(items(), ahead=3)) == list(range(50))
    assert producers and threading.get_ident() not in producers


def test_prefetch_reraises_the_producers_error_where_it_happened() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("bad frame")

    got = []
    with pytest.raises(ValueError, match="bad frame"):
        for k in prefetch(items()):
            got.append(k)
    assert got == [1, 2]


def test_prefetch_stops_and_closes_the_source_when_the_consumer_stops() -> None:
    closed = threading.Event()
    produced = []

    def items() -> Iterator[int]:
        try:
            for k in range(1000):
                produced.append(k)
                yield k
        finally:
            closed.set()

    stream = prefetch(items(), ahead=2)
    assert next(stream) == 0
    stream.close()
    assert closed.is_set()  # close() joined the producer, which closed the source
    assert len(produced) <= 5  # bounded read-ahead: it never ran far past the consumer


def test_prefetch_checks_its_argument() -> None:
    with pytest.raises(ValueError):
        next(prefetch(iter([1]), ahead=0))


def test_ordered_worker_handles_items_in_order_on_one_other_thread() -> None:
    seen: list[int] = []
    threads: set[int] = set()

    def handle(k: int) -> None:
        threads.add(threading.get_ident())
        time.sleep(0.001 if k % 7 == 0 else 0)
        seen.append(k)

    with OrderedWorker(handle, depth=2) as worker:
        for k in range(40):
            worker.submit(k)
    assert seen == list(range(40))  # every item handled before the block is left
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_ordered_worker_reraises_the_first_failure() -> None:
    handled: list[int] = []

    def handle(k: int) -> None:
        if k == 3:
            raise RuntimeError("item 3 failed")
        handled.append(k)

    with pytest.raises(RuntimeError, match="item 3"), OrderedWorker(handle) as worker:
        for k in range(10):
            worker.submit(k)
            time.sleep(0.001)
    assert handled[:3] == [0, 1, 2] and 3 not in handled
    assert all(k < 3 for k in handled)  # nothing after the failure was handled


def test_ordered_worker_stops_without_finishing_when_the_caller_fails() -> None:
    release = threading.Event()
    handled: list[int] = []

    def handle(k: int) -> None:
        release.wait(5)
        handled.append(k)

    timer = threading.Timer(0.2, release.set)  # item 0 finishes only after the caller failed
    timer.start()
    with pytest.raises(KeyError), OrderedWorker(handle, depth=8) as worker:
        for k in range(5):
            worker.submit(k)
        raise KeyError("caller failed")
    timer.join()
    assert len(handled) <= 1  # at most the item already being handled when the caller failed
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(99)


def test_ordered_worker_checks_its_argument() -> None:
    with pytest.raises(ValueError):
        OrderedWorker(lambda _: None, depth=0)
