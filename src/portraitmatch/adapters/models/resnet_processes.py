"""dlib's ResNet face descriptor computed in worker processes.

dlib holds the GIL for the whole of a ResNet pass (≈90 ms on the 2-core reference machine), so in
one process the passes run one after another whatever the number of threads: the six passes of a
live match (three frames, each with its mirror image) kept one core busy and left the other idle.
Worker processes each hold their own copy of the network and compute the same descriptors, bit
for bit; only the aligned 150x150 chips (67 KB each) travel to them.

The workers run ``resnet_worker.py`` as a plain script (numpy and dlib only, not this package) and
talk over a socket pair. They are not `multiprocessing` children: those re-run the caller's main
script on start, which breaks any script without an ``if __name__ == "__main__"`` guard, and
forking a process whose MediaPipe and ONNX Runtime threads are running copies their locks mid-use.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from portraitmatch.adapters.models._finalizing import release_on_new_thread
from portraitmatch.errors import ModelError

WORKER_SCRIPT = Path(__file__).with_name("resnet_worker.py")
START_TIMEOUT_S = 60.0
# A pass takes about 0.1 s; a worker that has not answered in this long is stuck (stopped, swapped
# out): it is replaced rather than left to hang the request.
ANSWER_TIMEOUT_S = 30.0


class _Worker:
    """One worker process and this side of its socket."""

    def __init__(self, model_path: Path) -> None:
        if not Path(sys.executable or "").name.lower().startswith("python"):
            # embedded interpreters (uWSGI, a frozen app) report their own binary here
            raise OSError(f"no Python interpreter to start a worker with (sys.executable={sys.executable!r})")
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT), str(theirs.fileno()), str(model_path)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())

    def wait_ready(self) -> None:
        if not self.conn.poll(START_TIMEOUT_S):
            raise ModelError(f"a ResNet worker did not start within {START_TIMEOUT_S:.0f} s")
        hello = self.conn.recv()
        if hello != "ready":
            raise ModelError(f"a ResNet worker failed to load the network: {hello}")

    def describe(self, chip: np.ndarray, num_jitters: int) -> np.ndarray:
        self.conn.send((chip, num_jitters))
        if not self.conn.poll(ANSWER_TIMEOUT_S):
            raise TimeoutError(f"a ResNet worker gave no answer in {ANSWER_TIMEOUT_S:.0f} s")
        answer = self.conn.recv()
        if isinstance(answer, str):
            raise ModelError(f"a ResNet worker could not describe a chip: {answer}")
        return np.asarray(answer, dtype=np.float64)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()  # the worker exits when its socket closes
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()  # also ends a stopped (SIGSTOP) worker
            self.process.wait()
        except ChildProcessError:  # a forked copy: the worker is the parent's child, not ours
            pass


class ResNetProcesses:
    """``processes`` worker processes, each with dlib's ResNet loaded from ``model_path``.

    Safe to call from several threads: each chip borrows an idle worker. A worker that dies
    (killed, out of memory) is replaced and its chip tried once more; `ModelError` if that fails.
    """

    def __init__(self, model_path: Path, processes: int) -> None:
        if processes < 1:
            raise ValueError("processes must be >= 1")
        self.model_path = model_path
        self.processes = processes
        self._pid = os.getpid()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        # The workers start here and load while the caller loads its other models (`wait_ready`).
        try:
            for _ in range(processes):
                self._all.append(_Worker(model_path))
        except BaseException:
            for worker in self._all:
                worker.stop()
            raise
        # One sending thread per worker: each waits on its socket outside the GIL.
        self._senders = ThreadPoolExecutor(processes, thread_name_prefix="portraitmatch-resnet")
        self._finalizer = weakref.finalize(
            self, release_on_new_thread, _stop, self._all, self._senders, name="resnet-stop"
        )

    def wait_ready(self) -> None:
        """Wait until every worker has loaded the network; raises `ModelError` if one did not."""
        try:
            for worker in self._all:
                worker.wait_ready()
        except (EOFError, OSError) as exc:
            self.close()
            raise ModelError(f"a ResNet worker process exited while starting: {exc!r}") from exc
        except ModelError:
            self.close()
            raise
        for worker in self._all:
            self._idle.put(worker)

    def describe(self, chips: Sequence[np.ndarray], num_jitters: int = 0) -> list[np.ndarray]:
        """dlib's descriptor of each chip, computed in parallel; same order as `chips`."""
        if not self._finalizer.alive:
            raise ModelError("the ResNet worker processes have been stopped")
        if os.getpid() != self._pid:
            # A forked copy shares the parent's sockets: two processes would read each other's answers.
            raise ModelError(
                "these ResNet workers belong to the process that forked this one: load the engine here"
            )
        return list(self._senders.map(lambda chip: self._describe_one(chip, num_jitters), chips))

    def _describe_one(self, chip: np.ndarray, num_jitters: int) -> np.ndarray:
        for attempt in (1, 2):
            with self._borrow() as worker:
                try:
                    return worker.describe(chip, num_jitters)
                except (EOFError, OSError) as exc:
                    self._replace(worker)
                    if attempt == 2:
                        raise ModelError(f"the ResNet worker processes keep failing: {exc!r}") from exc
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _borrow(self) -> Iterator[_Worker]:
        worker = self._idle.get()
        try:
            yield worker
        finally:
            if worker in self._all:
                self._idle.put(worker)

    def _replace(self, dead: _Worker) -> None:
        dead.stop()
        fresh = _Worker(self.model_path)
        fresh.wait_ready()
        self._all[self._all.index(dead)] = fresh
        self._idle.put(fresh)

    def close(self) -> None:
        """Stop the workers. Only when no other thread is inside `describe`."""
        if self._finalizer.detach() is not None:
            _stop(self._all, self._senders)


def _stop(workers: list[_Worker], senders: ThreadPoolExecutor) -> None:
    senders.shutdown(wait=False)
    for worker in workers:
        worker.stop()
