"""The parts every kind's 检定证书 / 检定结果通知书 shares (fuel JJG 443, taxi JJG 517):
the atomic PDF write, the head (draft mark, issuer, title, number), the label/value facts,
the conclusion with its reasons, and the inspector/signature foot.

Why one module: a certificate's frame is the same legal form whatever the instrument;
only its facts and its table of results differ. Kind-free: nothing here names an
instrument kind. Needs a QGuiApplication (fonts); paints only on a QPdfWriter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter

from app.reports.certificate import CertificateInfo, _Page
from app.reports.page import PAGE_H, PAGE_W, font_family, pdf_writer

__all__ = [
    "GREEN",
    "GREY",
    "LABEL_W",
    "MARGIN",
    "RED",
    "draw_checks",
    "draw_conclusion",
    "draw_facts",
    "draw_foot",
    "draw_head",
    "write_pdf",
]

MARGIN = 16.0
LABEL_W = 36.0
RED, GREEN, GREY = QColor("#b3261e"), QColor("#1b7f3b"), QColor("#444444")


def write_pdf(path: Path, doc_title: str, draw: Callable[[_Page], None]) -> Path:
    """Paint one A4 page with ``draw`` into ``path``, atomically (a crash leaves no half PDF)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    writer = pdf_writer(str(tmp), doc_title)
    painter = QPainter(writer)
    try:
        draw(_Page(painter, font_family()))
    finally:
        painter.end()
    tmp.replace(path)
    return path


def draw_head(
    pg: _Page, info: CertificateInfo, title: str, number_label: str, number: str
) -> float:
    """Draft mark (until signed), issuer, title, number, rule; returns the next y (mm)."""
    x0, w = MARGIN, PAGE_W - 2 * MARGIN
    y = 14.0
    if not info.signature_key_id:
        pg.text(x0, 6, w, 6, "草稿 — 检定记录未签名 / DRAFT — result not signed", 9.5,
                bold=True, align=Qt.AlignmentFlag.AlignCenter, color=RED)  # fmt: skip
    pg.text(x0, y, w, 7, info.issuer, 12, align=Qt.AlignmentFlag.AlignCenter)
    y += 8
    pg.text(x0, y, w, 13, title, 22, bold=True, align=Qt.AlignmentFlag.AlignCenter)
    y += 14
    pg.text(x0, y, w, 6, f"{number_label}：{number}", 10, align=Qt.AlignmentFlag.AlignRight)
    y += 7
    pg.line(x0, y, x0 + w, y, 0.5)
    return y + 2.5


def draw_facts(
    pg: _Page, y: float, facts: Sequence[tuple[str, str]], t: Callable[[str], str]
) -> float:
    """``label：value`` rows, values wrapped; returns the next y."""
    x0, w = MARGIN, PAGE_W - 2 * MARGIN
    for key, value in facts:
        h = pg.height(w - LABEL_W, value, 10, 6.0)
        pg.text(x0, y, LABEL_W, 6.0, t(key) + "：", 10)
        pg.text(x0 + LABEL_W, y, w - LABEL_W, h, value, 10)
        y += h
    return y


def draw_checks(
    pg: _Page,
    y: float,
    checklist: Mapping[str, bool],
    labels_zh: Mapping[str, str],
    t: Callable[[str], str],
    en: bool,
) -> float:
    """检定前检查：全部符合, or the items that did not conform (in red); returns the next y."""
    x0, w = MARGIN, PAGE_W - 2 * MARGIN
    failed = [k for k, ok in checklist.items() if not ok]
    if not failed:
        checks = t("全部符合")
    elif en:
        checks = "failed: " + ", ".join(failed)
    else:
        checks = "不符合项：" + "、".join(labels_zh.get(k, k) for k in failed)
    pg.text(x0, y, LABEL_W, 6.0, t("检定前检查") + "：", 10)
    pg.text(x0 + LABEL_W, y, w - LABEL_W, 6.0, checks, 10, color=RED if failed else None)
    return y + 8


def draw_conclusion(
    pg: _Page, y: float, passed: bool, reasons: str, t: Callable[[str], str]
) -> float:
    """结论：合格/不合格, and for a failure the reasons in red; returns the next y."""
    x0, w = MARGIN, PAGE_W - 2 * MARGIN
    verdict = t("合格") if passed else t("不合格")
    pg.text(x0, y, w, 9, f"{t('结论')}：{verdict}", 14, bold=True,
            color=GREEN if passed else RED)  # fmt: skip
    y += 10
    if not passed:
        text = f"{t('不合格项')}：{reasons}"
        h = pg.height(w, text, 10, 6.0)
        pg.text(x0, y, w, h, text, 10, color=RED)
        y += h + 2
    return y


def draw_foot(
    pg: _Page, y: float, info: CertificateInfo, day: str, t: Callable[[str], str]
) -> None:
    """Inspector and date, the signature key and record digest, the page's foot line."""
    en = info.lang == "en"
    x0, w = MARGIN, PAGE_W - 2 * MARGIN
    pg.line(x0, y, x0 + w, y, 0.3)
    y += 3
    inspector = info.inspector_name or "—"
    if info.inspector_id:
        inspector += f"（{info.inspector_id}）"
    pg.text(x0, y, w / 2, 7, f"{t('检定员')}：{inspector}", 10)
    pg.text(x0 + w / 2, y, w / 2, 7, f"{t('检定日期')}：{day}", 10)
    y += 8
    if info.signature_key_id:
        key_label, digest_label = (
            ("Signature key ID: ", "Record digest (SHA-256): ")
            if en
            else ("电子签名密钥 ID：", "检定记录摘要（SHA-256）：")
        )
        pg.text(x0, y, w, 5.5, key_label + info.signature_key_id, 8.5)
        y += 5.5
        pg.text(x0, y, w, 5.5, digest_label + info.record_digest, 8.5)
    foot = (
        "本证书（通知书）仅对本次检定结果负责；未经检定机构书面批准，不得部分复制。"
        if not en
        else "English reading copy; the Chinese document prevails."
    )
    pg.text(MARGIN, PAGE_H - 14, PAGE_W - 2 * MARGIN, 6, foot, 8.5,
            align=Qt.AlignmentFlag.AlignCenter, color=GREY)  # fmt: skip
