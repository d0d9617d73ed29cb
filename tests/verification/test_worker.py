"""The Qt glue on its own: the sample ring and the prompt hand-off between threads."""

from __future__ import annotations

import threading
from decimal import Decimal

from app.models.charging.verification import CHECKLIST, LiveSample, Question
from app.verification_worker import PromptRequest, QtInspectorPrompt, SampleRing


def sample(t: float, err: float | None = 0.5) -> LiveSample:
    return LiveSample(0, 0, t, 750.0, 160.0, 120_000.0, err, 10, 1001)


def test_ring_keeps_newest_in_time_order() -> None:
    ring = SampleRing(capacity=8)
    for i in range(20):
        ring.append(sample(float(i), None if i % 5 == 0 else 0.5))
    data = ring.snapshot()
    assert ring.count == 20 and data.shape == (8, 5)
    assert list(data[:, 0]) == [float(i) for i in range(12, 20)]
    assert (data[:, 4] != data[:, 4]).sum() == 1  # t=15 has no error yet (NaN)


def test_prompt_blocks_worker_until_gui_answers(qtbot) -> None:
    prompt = QtInspectorPrompt({"nameplate": True})
    answers: list[object] = []
    asked: list[PromptRequest] = []
    prompt.requested.connect(lambda request: (asked.append(request), prompt.answer(True)))

    def worker() -> None:
        answers.append(prompt.checklist(CHECKLIST))
        answers.append(prompt.confirm(Question("wiring", "ready?")))

    thread = threading.Thread(target=worker)
    thread.start()
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=5000)
    thread.join()
    assert answers[0]["nameplate"] is True and answers[0]["housing"] is False
    assert answers[1] is True and asked[0].kind == "confirm"


def test_cancel_releases_a_waiting_worker(qtbot) -> None:
    prompt = QtInspectorPrompt()
    got: list[Decimal | None] = []
    prompt.requested.connect(lambda _request: prompt.cancel())
    thread = threading.Thread(target=lambda: got.append(prompt.ask_number(Question("a", "?"))))
    thread.start()
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    thread.join()
    assert got == [None]
