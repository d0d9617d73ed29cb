"""The verification certificate (检定证书) or result notice (检定结果通知书) as a PDF.

Why Qt's QPdfWriter and not reportlab: the bundled CJK font is a CFF-flavoured
OpenType subset (``resources/fonts/NotoSansSC-GB2312-*.otf``), which Qt
renders and embeds as-is while reportlab can only embed TrueType outlines.
The document is in Chinese whatever the UI language: it is a legal document
issued under Chinese regulations, so its text is written here directly and
not routed through the UI translations.

Needs a QGuiApplication (fonts); runs on any thread that has none of the
GUI's widgets, e.g. a worker, because it only paints on a QPdfWriter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QColor,
    QPainter,
)

from app.models.verification import CST, VerificationResult, certificate_number
from app.reports.page import PAGE_H, PAGE_W, Page, font_family, pdf_writer

__all__ = ["CertificateInfo", "write_certificate"]

PAGE_W_MM = PAGE_W
PAGE_H_MM = PAGE_H
MARGIN_MM = 18.0

CHECKLIST_ZH = {
    "nameplate": "铭牌和标志完整（型号、编号、准确度等级、常数）",
    "housing": "外壳、连接器及电缆无损伤",
    "display": "显示电能、金额、时间清晰",
    "seals": "计量封印完好",
    "pulse_output": "电能脉冲输出及试验端子可用",
    "communication": "电能表通信（RS-485）接口正常",
}
KIND_ZH = {
    "first": "首次检定",
    "periodic": "后续检定（周期检定）",
    "triggered": "后续检定（异常复检）",
}
INSTRUMENT_ZH = {"DC": "电动汽车非车载充电机", "AC": "电动汽车交流充电桩"}
REGULATION_ZH = {
    "DC": "JJG 1149-2022《电动汽车非车载充电机检定规程》",
    "AC": "JJG 1148-2022《电动汽车交流充电桩检定规程》",
}
POINT_ZH = {"Imax": "Imax", "0.5Imax": "0.5Imax", "Imin": "Imin"}


@dataclass(frozen=True)
class CertificateInfo:
    """Who issues and signs; what the result itself does not know."""

    issuer: str = "杭州市计量检定测试院（示例）"
    inspector_name: str = ""
    inspector_id: str = ""
    certificate_no: str | None = None
    signature_key_id: str = ""
    record_digest: str = ""  # leaf hash of the signed ledger record, hex


def _ok(passed: bool | None) -> str:
    if passed is None:
        return "—"
    return "合格" if passed else "不合格"


def _pct(value: Decimal | None, places: int = 3) -> str:
    return "—" if value is None else f"{value:+.{places}f}"


class _Page(Page):
    """Boxes at fixed places on the certificate's single page."""

    def text(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        text: str,
        size: float = 10.5,
        *,
        bold: bool = False,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
        color: QColor | None = None,
    ) -> None:
        self.font(size, bold)
        self.p.setPen(color or QColor("#000000"))
        flags = align | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap
        self.p.drawText(self.rect(x, y, w, h), int(flags), text)

    def height(self, w: float, text: str, size: float, min_h: float) -> float:
        """Height (mm) that ``text`` needs when wrapped to ``w`` mm, at least ``min_h``."""
        self.font(size)
        bound = self.p.boundingRect(self.rect(0, 0, w, 1000), int(Qt.TextFlag.TextWordWrap), text)
        return max(min_h, self.mm(bound.height()) + 1.6)

    def table(
        self,
        x: float,
        y: float,
        widths: Sequence[float],
        rows: Sequence[Sequence[str]],
        *,
        row_h: float = 7.0,
        header: bool = True,
        size: float = 9.5,
        colors: dict[tuple[int, int], QColor] | None = None,
    ) -> float:
        """A ruled table; returns the y below it."""
        colors = colors or {}
        total_w = sum(widths)
        for r, row in enumerate(rows):
            top = y + r * row_h
            if header and r == 0:
                self.p.fillRect(self.rect(x, top, total_w, row_h), QColor("#eeeeee"))
            cx = x
            for c, (width, cell) in enumerate(zip(widths, row, strict=True)):
                self.text(cx + 1, top, width - 2, row_h, cell, size,
                          bold=header and r == 0, align=Qt.AlignmentFlag.AlignCenter,
                          color=colors.get((r, c)))  # fmt: skip
                cx += width
        bottom = y + len(rows) * row_h
        for r in range(len(rows) + 1):
            self.line(x, y + r * row_h, x + total_w, y + r * row_h, 0.2)
        cx = x
        for width in (*widths, 0):
            self.line(cx, y, cx, bottom, 0.2)
            cx += width
        return bottom


def write_certificate(
    result: VerificationResult, path: Path, info: CertificateInfo | None = None
) -> Path:
    """Render the certificate (pass) or result notice (fail) of ``result`` to ``path``."""
    info = info or CertificateInfo()
    pile = result.plan.pile
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    title = "检定证书" if result.passed else "检定结果通知书"
    writer = pdf_writer(str(tmp), f"{title} {pile.pile_id}")
    painter = QPainter(writer)
    try:
        _draw(_Page(painter, font_family()), result, info, title)
    finally:
        painter.end()
    tmp.replace(path)
    return path


def _draw(pg: _Page, result: VerificationResult, info: CertificateInfo, title: str) -> None:
    pile = result.plan.pile
    plan = result.plan
    x0, w = MARGIN_MM, PAGE_W_MM - 2 * MARGIN_MM
    finished = dt.datetime.fromtimestamp(result.finished_ms / 1000, CST)
    number = info.certificate_no or certificate_number(result)
    red = QColor("#b3261e")
    green = QColor("#1b7f3b")

    pg.text(x0, 14, w, 8, info.issuer, 12, align=Qt.AlignmentFlag.AlignCenter)
    pg.text(x0, 23, w, 14, title, 24, bold=True, align=Qt.AlignmentFlag.AlignCenter)
    pg.text(x0, 38, w, 6, f"证书编号：{number}", 10.5, align=Qt.AlignmentFlag.AlignRight)
    pg.line(x0, 45, x0 + w, 45, 0.5)

    due = result.next_due()
    rating = (
        f"{pile.model}  {pile.rated_power_w / 1000:g} kW / {pile.rated_voltage_v} V"
        f" / Imax {pile.imax_a:.1f} A"
    )
    facts = [
        ("计量器具名称", INSTRUMENT_ZH[pile.kind]),
        ("型号规格", rating.strip()),
        ("充电桩编号", pile.pile_id),
        ("制造单位", pile.maker or "—"),
        ("运营单位", pile.operator or "—"),
        ("安装地点", pile.station or "—"),
        ("电能表编号（通信地址）", f"{pile.meter_id}（{pile.meter_address}）"),
        ("准确度等级 / 仪表常数", f"{pile.accuracy_class} 级 / {pile.meter_constant} imp/kWh"),
        ("检定依据", REGULATION_ZH[pile.kind]),
        ("检定类别", KIND_ZH.get(plan.config.kind, plan.config.kind)),
        ("检定结论", _ok(result.passed)),
        ("检定日期", f"{finished:%Y年%m月%d日}"),
        ("有效期至", f"{due:%Y年%m月%d日}" if due else "—（不合格，修复后须重新检定）"),
    ]
    y = 48.0
    for label, value in facts:
        pg.text(x0, y, 52, 5.8, label + "：", 10.5)
        color = None
        if label == "检定结论":
            color = green if result.passed else red
        pg.text(x0 + 52, y, w - 52, 5.8, value, 10.5, bold=label == "检定结论", color=color)
        y += 5.8

    y += 2
    pg.text(x0, y, w, 7, "计量标准器及检定条件", 11.5, bold=True)
    y += 7
    identity = result.rig_identity.split(",")
    rig_text = (
        f"虚拟负载检定装置 {identity[0]} {identity[1]}，编号 {identity[2]}，固件 {identity[3]}"
        if len(identity) == 4
        else result.rig_identity
    )
    conditions = [
        ("标准器", rig_text + "，内置标准电能表 0.05 级"),
        ("检定方法", "虚拟负载法：电压、电流分别施加，比较被检电能表脉冲与标准电能"),
        ("检定地点", f"现场（{pile.station or pile.pile_id}）"),
        (
            "负载条件",
            f"额定电压 {pile.rated_voltage_v} V，每点 {plan.config.readings_per_point} "
            f"次读数取平均，每次不少于 {plan.points[0].target_pulses} 个脉冲",
        ),
    ]
    for label, value in conditions:
        h = pg.height(w - 24, value, 10, 6.2)
        pg.text(x0, y, 24, 6.2, label + "：", 10)
        pg.text(x0 + 24, y, w - 24, h, value, 10)
        y += h

    y += 2
    pg.text(x0, y, w, 7, "检定结果", 11.5, bold=True)
    y += 7
    failed = [CHECKLIST_ZH.get(k, k) for k, ok in result.checklist.items() if not ok]
    items = [
        (
            "1. 外观及功能检查",
            "全部符合要求" if not failed else "不符合：" + "；".join(failed),
            not failed,
        ),
        (
            "2. 绝缘电阻",
            "—"
            if result.insulation_mohm is None
            else f"{result.insulation_mohm} MΩ"
            f"（试验电压 {result.insulation_test_v} V，要求 ≥ 5 MΩ）",
            result.insulation_passed,
        ),
    ]
    for label, value, passed in items:
        h = pg.height(w - 60, value, 10, 6.4)
        pg.text(x0, y, 40, 6.4, label, 10)
        pg.text(x0 + 40, y, w - 60, h, value, 10)
        pg.text(x0 + w - 20, y, 20, 6.4, _ok(passed), 10, align=Qt.AlignmentFlag.AlignRight,
                color=green if passed else red)  # fmt: skip
        y += h
    pg.text(x0, y, w, 6.4, "3. 工作误差", 10)
    y += 7
    limit = plan.limit_percent
    header = [
        "负载点",
        "电压/V",
        "电流/A",
        "读数1/%",
        "读数2/%",
        "平均值/%",
        "化整值/%",
        "允许误差/%",
        "结论",
    ]
    rows = [header]
    colors: dict[tuple[int, int], QColor] = {}
    for i, point in enumerate(result.points, start=1):
        readings = [_pct(r.error_percent) for r in point.readings]
        readings += ["—"] * (2 - len(readings))
        rows.append(
            [
                POINT_ZH.get(point.point.label, point.point.label),
                f"{point.point.voltage_v:.0f}",
                f"{point.point.current_a:.1f}",
                *readings[:2],
                _pct(point.mean_error_percent),
                _pct(point.rounded_error_percent, 1),
                f"±{limit:.1f}",
                _ok(point.passed),
            ]
        )
        colors[(i, 8)] = green if point.passed else red
    y = pg.table(x0, y, [18, 16, 16, 18, 18, 19, 19, 25, 25], rows, colors=colors) + 3

    clock = result.clock
    clock_text = (
        "—"
        if clock is None
        else f"{clock.error_s:+.1f} s（最大允许 ±{clock.limit_s:g} s，"
        f"电能表 {clock.meter_time:%H:%M:%S}，北京时间 {clock.reference_time:%H:%M:%S}）"
    )
    more = [("4. 时钟示值误差", clock_text, None if clock is None else clock.passed)]
    if result.payment is not None:
        pay = result.payment
        more.append(
            (
                "5. 付费金额误差",
                f"{pay.error_yuan:+.2f} 元（显示 {pay.amount_yuan} 元，电能 {pay.energy_kwh} kWh × "
                f"{pay.unit_price_yuan} 元/kWh，允许 ±0.01 元）",
                pay.passed,
            )
        )
    seal = {True: "闭合", False: "开启", None: "—"}[result.seal_closed]
    more.append(("电子封印状态", seal, None))
    for label, value, passed in more:
        h = pg.height(w - 60, value, 10, 6.4)
        pg.text(x0, y, 40, 6.4, label, 10)
        pg.text(x0 + 40, y, w - 60, h, value, 10)
        if passed is not None:
            pg.text(x0 + w - 20, y, 20, 6.4, _ok(passed), 10, align=Qt.AlignmentFlag.AlignRight,
                    color=green if passed else red)  # fmt: skip
        y += h
    if not result.passed:
        y += 2
        reasons = "不合格项：" + "；".join(_reasons_zh(result))
        h = pg.height(w, reasons, 10, 6.4)
        pg.text(x0, y, w, h, reasons, 10, bold=True, color=red)
        y += h

    # signatures and the ledger reference
    y = max(y + 4, 236.0)
    pg.line(x0, y, x0 + w, y, 0.3)
    y += 3
    inspector = info.inspector_name or "—"
    if info.inspector_id:
        inspector += f"（{info.inspector_id}）"
    pg.text(x0, y, w / 3, 7, f"检定员：{inspector}", 10.5)
    pg.text(x0 + w / 3, y, w / 3, 7, "核验员：__________", 10.5)
    pg.text(x0 + 2 * w / 3, y, w / 3, 7, "批准人：__________", 10.5)
    y += 10
    if info.signature_key_id or info.record_digest:
        pg.text(x0, y, w, 5.5, f"电子签名密钥 ID：{info.signature_key_id}", 8.5)
        y += 5.5
        pg.text(
            x0, y, w, 5.5, f"检定记录摘要（SHA-256，透明日志叶哈希）：{info.record_digest}", 8.5
        )
        y += 5.5
    pg.text(
        x0,
        PAGE_H_MM - 16,
        w,
        6,
        "本证书（通知书）仅对本次检定结果负责；未经检定机构书面批准，不得部分复制。第 1 页 共 1 页",
        8.5,
        align=Qt.AlignmentFlag.AlignCenter,
        color=QColor("#444444"),
    )


def _reasons_zh(result: VerificationResult) -> list[str]:
    out = []
    if any(not ok for ok in result.checklist.values()):
        out.append("外观及功能检查")
    if result.insulation_passed is False:
        out.append("绝缘电阻")
    for point in result.points:
        if point.passed is False:
            out.append(f"工作误差（{point.point.label}）")
        elif point.passed is None:
            out.append(f"工作误差（{point.point.label}）未检")
    if result.clock is not None and not result.clock.passed:
        out.append("时钟示值误差")
    if result.payment is not None and not result.payment.passed:
        out.append("付费金额误差")
    return out
