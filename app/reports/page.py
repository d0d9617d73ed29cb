"""A4 PDF pages drawn in millimetres with the bundled CJK font: what every report shares.

The certificate and the dispute/evidence reports lay out differently (boxes at fixed
places vs text flowing down the page) but draw with the same primitives, and both must
produce PDFs whose text a court clerk can search and copy, which took two font fixes
(see :meth:`Page.font` and :func:`font_family`); they live here once.
"""

from __future__ import annotations

from PySide6.QtCore import QIODevice, QMarginsF, QRectF
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

DPI = 300
PAGE_W, PAGE_H = 210.0, 297.0
CREATOR = "安心充电 regulator workstation"


def font_family() -> str:
    """Registers the bundled CJK font, on purpose for every document: registering
    refreshes Qt's font-engine cache, without which a second PDF in the same process
    loses the text mapping (ToUnicode) of glyphs already used by the first, so its
    digits no longer copy or search (seen with Qt 6.11)."""
    from app.application import load_fonts

    return load_fonts() or "Noto Sans SC"


def pdf_writer(target: str | QIODevice, title: str) -> QPdfWriter:
    """A 300-dpi, borderless A4 writer to a file path or an open device."""
    writer = QPdfWriter(target)
    writer.setResolution(DPI)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(0, 0, 0, 0),
        )
    )
    writer.setTitle(title)
    writer.setCreator(CREATOR)
    return writer


class Page:
    """Millimetre drawing helpers over a QPainter on a :func:`pdf_writer` page."""

    def __init__(self, painter: QPainter, family: str) -> None:
        self.p = painter
        self.family = family

    @staticmethod
    def px(mm: float) -> float:
        return mm * DPI / 25.4

    @staticmethod
    def mm(px: float) -> float:
        return px * 25.4 / DPI

    def rect(self, x: float, y: float, w: float, h: float) -> QRectF:
        return QRectF(self.px(x), self.px(y), self.px(w), self.px(h))

    def font(self, size: float, bold: bool = False, mono: bool = False) -> None:
        font = QFont("DejaVu Sans Mono" if mono else self.family)
        if mono:
            font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(size)
        font.setBold(bold)
        # Localised alternates ("locl"), composed glyphs ("ccmp") and ligatures ("liga":
        # "fi") have no cmap entry, so Qt's ToUnicode map would lose them: "HZ-P000123"
        # or "verifiable" would neither search nor copy out of the PDF.
        for feature in ("locl", "ccmp", "liga"):
            font.setFeature(QFont.Tag(feature), 0)
        self.p.setFont(font)

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        width_mm: float = 0.25,
        color: QColor | None = None,
    ) -> None:
        self.p.setPen(QPen(color or QColor("#000000"), self.px(width_mm)))
        self.p.drawLine(self.px(x1), self.px(y1), self.px(x2), self.px(y2))
