"""A ResNet worker process (started by `resnet_processes.ResNetProcesses`, not by hand).

Usage: ``python resnet_worker.py SOCKET_FD MODEL_PATH``. It imports only numpy and dlib (run as
a script, not as part of the package, to stay small), loads
dlib's network, answers ``"ready"``, then answers each ``(chip, num_jitters)`` with the descriptor
as a list of floats, or with an error message as a string; it exits when the socket closes.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection


def serve(conn: Connection, model_path: str) -> None:
    try:
        import dlib
        import numpy as np

        net = dlib.face_recognition_model_v1(model_path)
    except Exception as exc:  # reported to the parent, which raises ModelError
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send("ready")
    while True:
        try:
            chip, num_jitters = conn.recv()
        except (EOFError, OSError):
            return
        try:
            descriptor = net.compute_face_descriptor(np.ascontiguousarray(chip, dtype=np.uint8), num_jitters)
            conn.send(list(descriptor))
        except Exception as exc:  # a bad chip must not kill the worker
            conn.send(f"{type(exc).__name__}: {exc}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    conn = Connection(int(argv[0]))
    try:
        serve(conn, argv[1])
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
