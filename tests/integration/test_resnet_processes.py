"""dlib's ResNet in worker processes: the same descriptors as in this process, bit for bit; a
killed worker is replaced; a failed start falls back to this process; scripts need no main guard."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from portraitmatch.adapters.models import resnet_processes
from portraitmatch.adapters.models.dlib_models import RESNET_FILE, DlibEmbedder, DlibHogDetector
from portraitmatch.adapters.models.resnet_processes import ResNetProcesses
from portraitmatch.adapters.models.weights import verified_path
from portraitmatch.capture.image import load_image
from portraitmatch.errors import ModelError

FACES = [
    "verification/lfw_east_asian_gray/lfw/Jackie_Chan/Jackie_Chan_0003.jpg",
    "verification/lfw_east_asian_gray/lfw/Yao_Ming/Yao_Ming_0002.jpg",
    "verification/dlib_johns/images/John_Salley/000179_02159509.jpg",
]


@pytest.fixture(scope="module")
def in_process() -> DlibEmbedder:
    return DlibEmbedder.load(processes=0)


@pytest.fixture(scope="module")
def faces(dev_data: Path) -> list[tuple[np.ndarray, object]]:
    detector = DlibHogDetector.load(upsample=1)
    out = []
    for rel in FACES:
        frame = load_image(dev_data / rel, max_bytes=10_000_000, max_pixels=40_000_000)
        out.append((frame.pixels, detector.detect(frame.pixels)[0]))
    return out


def test_workers_give_the_same_vectors_bit_for_bit(in_process: DlibEmbedder, faces: list) -> None:
    with_workers = DlibEmbedder.load(processes=2)
    try:
        assert with_workers._workers is not None and with_workers._resnet is None
        for pixels, box in faces:
            a = in_process.embed(pixels, box).vector
            b = with_workers.embed(pixels, box).vector
            assert np.array_equal(a, b)
            assert np.array_equal(in_process.descriptor(pixels, box), with_workers.descriptor(pixels, box))
        # many threads at once: every answer still belongs to its own chip
        jobs = faces * 4
        with ThreadPoolExecutor(6) as pool:
            got = list(pool.map(lambda f: with_workers.embed(*f).vector, jobs))
        for (pixels, box), vector in zip(jobs, got, strict=True):
            assert np.array_equal(vector, in_process.embed(pixels, box).vector)
    finally:
        with_workers.close()


def test_a_killed_worker_is_replaced(in_process: DlibEmbedder, faces: list) -> None:
    embedder = DlibEmbedder.load(processes=1)
    try:
        workers = embedder._workers
        assert workers is not None
        first = workers._all[0].process
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        pixels, box = faces[0]
        assert np.array_equal(embedder.embed(pixels, box).vector, in_process.embed(pixels, box).vector)
        assert workers._all[0].process is not first and workers._all[0].process.poll() is None
    finally:
        embedder.close()
    assert all(w.process.poll() is not None for w in workers._all)  # close stops them
    with pytest.raises(ModelError, match="stopped"):
        workers.describe([np.zeros((150, 150, 3), np.uint8)])


def test_a_worker_that_cannot_start_falls_back_to_this_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, in_process: DlibEmbedder, faces: list
) -> None:
    monkeypatch.setattr(resnet_processes, "WORKER_SCRIPT", Path("/nonexistent/resnet_worker.py"))
    with pytest.raises(ModelError):
        ResNetProcesses(verified_path(RESNET_FILE), 1).wait_ready()
    with caplog.at_level(logging.WARNING):
        embedder = DlibEmbedder.load(processes=2)
    assert embedder._workers is None and "using this process" in caplog.text
    pixels, box = faces[1]
    assert np.array_equal(embedder.embed(pixels, box).vector, in_process.embed(pixels, box).vector)


def test_a_bad_chip_is_an_error_not_a_dead_worker() -> None:
    workers = ResNetProcesses(verified_path(RESNET_FILE), 1)
    workers.wait_ready()
    try:
        with pytest.raises(ModelError, match="could not describe"):
            workers.describe([np.zeros((3, 3), np.uint8)])
        assert len(workers.describe([np.zeros((150, 150, 3), np.uint8)])[0]) == 128
    finally:
        workers.close()


def test_a_script_without_a_main_guard_can_load_the_engine(tmp_path: Path) -> None:
    # multiprocessing's spawn would re-run this script in each child and fail; our workers do not
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from portraitmatch.adapters.models.dlib_models import DlibEmbedder\n"
        "import numpy as np\n"
        "e = DlibEmbedder.load(processes=2)\n"
        "assert e._workers is not None\n"
        "print(len(e._workers.describe([np.zeros((150, 150, 3), np.uint8)] * 3)))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"


def test_a_forked_copy_refuses_the_parents_workers() -> None:
    workers = ResNetProcesses(verified_path(RESNET_FILE), 1)
    workers.wait_ready()
    try:
        pid = os.fork()
        if pid == 0:  # the child: it must not talk over the parent's sockets
            try:
                workers.describe([np.zeros((150, 150, 3), np.uint8)])
                os._exit(1)
            except ModelError:
                os._exit(0)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert len(workers.describe([np.zeros((150, 150, 3), np.uint8)])[0]) == 128  # the parent's still work
    finally:
        workers.close()


def test_an_embedded_interpreter_falls_back_to_this_process(
    monkeypatch: pytest.MonkeyPatch, in_process: DlibEmbedder, faces: list
) -> None:
    monkeypatch.setattr(resnet_processes.sys, "executable", "/usr/bin/uwsgi")
    embedder = DlibEmbedder.load(processes=2)
    assert embedder._workers is None
    pixels, box = faces[2]
    assert np.array_equal(embedder.embed(pixels, box).vector, in_process.embed(pixels, box).vector)


def test_a_stuck_worker_is_replaced_instead_of_hanging_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resnet_processes, "ANSWER_TIMEOUT_S", 2.0)
    workers = ResNetProcesses(verified_path(RESNET_FILE), 1)
    workers.wait_ready()
    try:
        stuck = workers._all[0].process
        os.kill(stuck.pid, signal.SIGSTOP)
        (vector,) = workers.describe([np.zeros((150, 150, 3), np.uint8)])
        assert len(vector) == 128
        assert workers._all[0].process is not stuck and stuck.poll() is not None
    finally:
        workers.close()
