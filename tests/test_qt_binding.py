"""Guards the Qt binding pin: PySide6 6.12's abi3 wheel under-counts references to None
on CPython 3.11 on every void method call, which crashes the app ("none_dealloc").
6.11.3 is pinned for that reason; this test fails if a future pin brings the bug back."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QPointF


def test_void_qt_calls_do_not_leak_references_to_none():
    obj, point = QObject(), QPointF()
    before = sys.getrefcount(None)
    for _ in range(2000):
        obj.setObjectName("pile")
        point.setX(1.0)
    assert sys.getrefcount(None) - before >= -10
