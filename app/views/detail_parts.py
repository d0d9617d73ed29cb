"""The nameplate header every instrument detail opens with (pile, dispenser, taxi).

Why shared: the regulator reads the same block in the same place whatever the instrument —
a large selectable title, then caption/value pairs in grey and black — and the three detail
views had each built it by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel


def title_label(text: str = "") -> QLabel:
    """The detail's title: 1.35 × the font, bold, selectable (IDs get copied)."""
    title = QLabel(text)
    font = QFont(title.font())
    font.setPointSizeF(font.pointSizeF() * 1.35)
    font.setBold(True)
    title.setFont(font)
    title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return title


def caption_value(caption: str, colon: str) -> tuple[QLabel, QLabel]:
    """A grey caption (with the language's colon, ``：`` in Chinese) and a selectable,
    wrapping value label."""
    cap = QLabel(caption + colon)
    cap.setStyleSheet("color: #616161;")
    value = QLabel()
    value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    value.setWordWrap(True)
    return cap, value


def nameplate(
    names: Sequence[tuple[str, str]], colon: str, title: str = ""
) -> tuple[QFrame, QLabel, dict[str, QLabel]]:
    """A framed header: the title across, then ``(key, caption)`` pairs two per row.
    Returns the frame, the title label and the value labels by key."""
    header = QFrame()
    header.setFrameShape(QFrame.Shape.StyledPanel)
    grid = QGridLayout(header)
    grid.setContentsMargins(10, 8, 10, 8)
    grid.setHorizontalSpacing(14)
    grid.setVerticalSpacing(4)
    title_widget = title_label(title)
    grid.addWidget(title_widget, 0, 0, 1, 4)
    fields: dict[str, QLabel] = {}
    for i, (key, caption) in enumerate(names):
        cap, value = caption_value(caption, colon)
        fields[key] = value
        row, col = 1 + i // 2, (i % 2) * 2
        grid.addWidget(cap, row, col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        grid.addWidget(value, row, col + 1)
    grid.setColumnStretch(1, 1)
    grid.setColumnStretch(3, 1)
    return header, title_widget, fields
