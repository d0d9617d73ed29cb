"""The settings dialog's alarm policy: a regulator's choice reaches the shared database;
an inspector sees it locked (and the model layer would refuse anyway)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.models import rule_policy, users
from app.models.store import Store
from app.settings_dialog import ALWAYS, NEVER, AlarmPolicyBox
from app.views.table_models import StoreReader


def _box(qtbot: QtBot, store: Store, reader: StoreReader, role: str) -> AlarmPolicyBox:
    box = AlarmPolicyBox(reader, store, users.Session(1, f"{role}-1", role, role))
    qtbot.addWidget(box)
    reader.wait()
    qtbot.waitUntil(lambda: not reader.busy, timeout=5000)
    return box


def test_a_regulators_choice_is_stored_and_read_back(qtbot: QtBot, tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'w.sqlite'}") as store:
        reader = StoreReader(store)
        try:
            box = _box(qtbot, store, reader, "regulator")
            assert box.combos["R15"].isEnabled() and "R13" not in box.combos
            box.combos["R15"].setCurrentIndex(box.combos["R15"].findData(ALWAYS))
            box.combos["R07"].setCurrentIndex(box.combos["R07"].findData(NEVER))
            assert box.changes() == {"R15": True, "R07": False}
            box.save()
            reader.wait()
            qtbot.waitUntil(lambda: not reader.busy, timeout=5000)
            with store.engine.connect() as conn:
                assert rule_policy.load(conn) == {"R15": True, "R07": False}
            again = _box(qtbot, store, reader, "regulator")
            assert again.combos["R15"].currentData() == ALWAYS
            assert again.changes() == {}
        finally:
            reader.shutdown()


def test_an_inspector_sees_the_policy_locked(qtbot: QtBot, tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'w.sqlite'}") as store:
        reader = StoreReader(store)
        try:
            box = _box(qtbot, store, reader, "inspector")
            assert not any(c.isEnabled() for c in box.combos.values())
            assert box.save() is None
        finally:
            reader.shutdown()
