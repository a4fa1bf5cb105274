"""Verification runs on the worker pool: the server keeps answering while it verifies."""

from __future__ import annotations

import threading
import time

from tests.e2e.api.conftest import Api, Clips


def test_health_answers_while_a_verification_runs(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait).json()
    result: dict[str, object] = {}

    def upload() -> None:
        result["response"] = api.upload(session, clips.bona_fide)

    worker = threading.Thread(target=upload)
    worker.start()
    # wait until the upload has claimed the session: verification is under way
    while api.get(f"/v1/sessions/{session['id']}").json()["state"] == "issued" and worker.is_alive():
        time.sleep(0.02)
    answered_while_busy = 0
    while worker.is_alive():
        r = api.client.get("/healthz")
        assert r.status_code == 200
        if worker.is_alive():
            answered_while_busy += 1
        time.sleep(0.05)
    worker.join()
    assert result["response"].status_code == 200  # type: ignore[union-attr]
    assert answered_while_busy >= 3, "the server did not answer while verifying"
