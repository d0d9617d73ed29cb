"""The verification certificate (检定证书) or result notice (检定结果通知书) as a PDF.

Content per JJF 1069 as issue 12 lists it: ambient temperature and humidity, the
reference standard with its certificate number and expiry, the verifying body's
计量标准考核证书 number, results per gun (充电枪) with every reading's pulses and
energies, the seal number, the inspector, the checker (核验员) and the approver
(批准人).  A certificate is final only when :class:`~app.models.signoff.SignOff`
says so; anything else is printed on every page as a draft.  A run whose
verification conditions were not met (不满足检定条件) gets neither a certificate
nor a notice of failed items: :func:`write_certificate` refuses it.

Why Qt's QPdfWriter and not reportlab: the bundled CJK font is a CFF-flavoured
OpenType subset (``resources/fonts/NotoSansSC-GB2312-*.otf``), which Qt
renders and embeds as-is while reportlab can only embed TrueType outlines.
The document is in Chinese whatever the UI language: it is a legal document
issued under Chinese regulations, so its text is written here directly and
not routed through the UI translations.  ``CertificateInfo.lang="en"`` prints
an English reading copy (labels translated, marked as a translation).

Needs a QGuiApplication (fonts); runs on any thread that has none of the
GUI's widgets, e.g. a worker, because it only paints on a QPdfWriter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import (
    QColor,
    QPainter,
)

from app.models.charging import metrology as m
from app.models.charging.verification import VerificationResult, certificate_number
from app.models.signoff import Countersignature, SignOff
from app.models.verification_parts import CST
from app.reports.page import PAGE_H, PAGE_W, Page, font_family, pdf_writer

__all__ = ["DRAFT_MARK", "CertificateInfo", "CertificateRefused", "write_certificate"]

DRAFT_MARK = "草稿 — 未经核验、批准，不作为正式证书"
DRAFT_MARK_EN = "DRAFT — not checked or approved, not a valid certificate"


class CertificateRefused(ValueError):
    """No certificate or notice can be issued for these results (say why)."""


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
    "periodic": "后续检定",
    "triggered": "后续检定（使用中异常复检）",
}
INSTRUMENT_ZH = {"DC": "电动汽车非车载充电机", "AC": "电动汽车交流充电桩"}
REGULATION_ZH = {
    "DC": "JJG 1149-2022《电动汽车非车载充电机检定规程》",
    "AC": "JJG 1148-2022《电动汽车交流充电桩检定规程》",
}
POINT_ZH = {"Imax": "Imax", "0.5Imax": "0.5Imax", "Imin": "Imin"}
STANDARD_KIND_ZH = {
    "DC": "JJG 1192-2023 电动汽车非车载充电机检定装置",
    "AC": "JJG 1193-2023 电动汽车交流充电桩检定装置",
    "ACDC": "JJG 1192-2023 / JJG 1193-2023 交直流充电桩检定装置",
}


@dataclass(frozen=True)
class CertificateInfo:
    """Who issues and signs; what the result itself does not know."""

    issuer: str = "杭州市计量检定测试院（示例）"
    inspector_name: str = ""
    inspector_id: str = ""
    certificate_no: str | None = None
    signature_key_id: str = ""
    record_digest: str = ""  # leaf hash of the signed ledger record, hex
    lang: str = "zh"  # "en": an English reading copy of the same document


def _ok(passed: bool | None) -> str:
    if passed is None:
        return "—"
    return "合格" if passed else "不合格"


def _signed(value: Decimal, places: int) -> str:
    """``+0.0``, never ``-0.0``: a value that rounds to zero has no sign on a certificate."""
    shown = Decimal(value).quantize(Decimal(1).scaleb(-places))
    return f"{abs(shown) if shown == 0 else shown:+.{places}f}"


def _pct(value: Decimal | None, places: int = 3) -> str:
    return "—" if value is None else _signed(value, places)


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
    result: VerificationResult | Sequence[VerificationResult],
    path: Path,
    info: CertificateInfo | None = None,
    *,
    signoff: SignOff | None = None,
) -> Path:
    """Render the certificate (every gun passed) or result notice (any gun failed) to ``path``.

    ``result`` is one run, or one run per gun of a multi-gun pile (same pile,
    guns in any order).  ``signoff`` names the checker and approver; without a
    final one every page is marked as a draft.  Raises :class:`CertificateRefused`
    when the verification conditions were not met or the runs do not belong together.
    """
    info = info or CertificateInfo()
    results = _per_gun(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    passed = all(r.passed for r in results)
    title = "检定证书" if passed else "检定结果通知书"
    family = font_family()
    # First pass into memory to count the pages ("第 x 页 共 y 页"), then the file.
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    pages = _render(pdf_writer(buffer, title), family, results, info, title, signoff, 0)
    buffer.close()
    _render(pdf_writer(str(tmp), f"{title} {results[0].plan.pile.pile_id}"), family, results,
            info, title, signoff, pages)  # fmt: skip
    tmp.replace(path)
    return path


def _per_gun(result: VerificationResult | Sequence[VerificationResult]) -> list[VerificationResult]:
    results = [result] if isinstance(result, VerificationResult) else list(result)
    if not results:
        raise CertificateRefused("no verification result to print")
    for r in results:
        if not r.conditions_met:
            raise CertificateRefused(
                "不满足检定条件（" + "；".join(r.reasons) + "）：未进行检定，不出具检定证书或"
                "检定结果通知书 / verification conditions not met: no certificate or notice"
            )
    piles = {r.plan.pile.pile_id for r in results}
    if len(piles) != 1:
        raise CertificateRefused(f"results of several piles cannot share a certificate: {piles}")
    guns = [r.connector for r in results]
    if len(set(guns)) != len(guns):
        raise CertificateRefused(f"a gun was given twice: {sorted(guns)}")
    return sorted(results, key=lambda r: r.connector)


def _render(
    writer: object,
    family: str,
    results: list[VerificationResult],
    info: CertificateInfo,
    title: str,
    signoff: SignOff | None,
    total_pages: int,
) -> int:
    painter = QPainter(writer)  # type: ignore[call-overload]
    try:
        doc = _Doc(_Page(painter, family), writer, info, signoff, total_pages)
        _draw(doc, results, info, title, signoff)
        doc.finish_page()
        return doc.page_no
    finally:
        painter.end()


_EN = {
    "检定证书": "Verification certificate",
    "检定结果通知书": "Verification result notice",
    "证书编号": "Certificate No.",
    "通知书编号": "Notice No.",
    "计量器具名称": "Instrument",
    "型号规格": "Model / rating",
    "充电桩编号": "Pile ID",
    "出厂编号": "Serial No.",
    "制造单位": "Manufacturer",
    "运营单位": "Operator",
    "安装地点": "Location",
    "充电枪数": "Guns",
    "电能表编号（通信地址）": "Meter (address)",
    "准确度等级 / 仪表常数": "Class / constant",
    "最大电流 / 最小电流": "Imax / Imin",
    "检定依据": "Regulation",
    "检定类别": "Kind",
    "检定结论": "Conclusion",
    "检定日期": "Date",
    "有效期至": "Valid until",
    "计量标准器及检定条件": "Reference standard and conditions",
    "标准器": "Standard",
    "标准器证书": "Its certificate",
    "计量标准考核证书": "Approval cert.",
    "检定方法": "Method",
    "环境条件": "Environment",
    "检定地点": "Place",
    "检定结果": "Results",
    "合格": "pass",
    "不合格": "fail",
    "不适用": "n/a",
    "封印编号": "Seal No.",
    "检定员": "Inspector",
    "核验员": "Checker",
    "批准人": "Approver",
    "工作误差": "Working error",
    "时钟时刻误差": "Clock time error",
    "外观及功能检查": "Appearance",
    "绝缘电阻（检定条件）": "Insulation (condition)",
    "不合格项": "Failed items",
    "充电枪": "Gun",
}


def _t(info: CertificateInfo, zh: str) -> str:
    """The label in the document's language (Chinese unless an English reading copy)."""
    return _EN.get(zh, zh) if info.lang == "en" else zh


class _Doc:
    """Flowing layout over A4 pages: page breaks, draft marks and page numbers."""

    TOP, BOTTOM = 16.0, PAGE_H_MM - 22.0

    def __init__(self, pg: _Page, writer: object, info: CertificateInfo, signoff: SignOff | None,
                 total_pages: int) -> None:  # fmt: skip
        self.pg, self.writer, self.info = pg, writer, info
        self.draft = signoff is None or not signoff.final
        self.total = total_pages
        self.page_no = 1
        self.y = self.TOP
        self._decorate()

    def need(self, h: float) -> None:
        if self.y + h > self.BOTTOM:
            self.finish_page()
            self.writer.newPage()  # type: ignore[attr-defined]
            self.page_no += 1
            self.y = self.TOP
            self._decorate()

    def _decorate(self) -> None:
        if not self.draft:
            return
        pg = self.pg
        red = QColor(179, 38, 30, 70)
        pg.p.save()
        pg.p.translate(pg.px(PAGE_W_MM / 2), pg.px(PAGE_H_MM / 2))
        pg.p.rotate(-35)
        pg.text(-110, -12, 220, 24, "草稿 DRAFT", 60, bold=True,
                align=Qt.AlignmentFlag.AlignCenter, color=red)  # fmt: skip
        pg.p.restore()
        mark = DRAFT_MARK_EN if self.info.lang == "en" else DRAFT_MARK + " / DRAFT"
        pg.text(MARGIN_MM, 6, PAGE_W_MM - 2 * MARGIN_MM, 7, mark, 10, bold=True,
                align=Qt.AlignmentFlag.AlignCenter, color=QColor("#b3261e"))  # fmt: skip

    def finish_page(self) -> None:
        pg = self.pg
        total = str(self.total) if self.total else "?"
        if self.info.lang == "en":
            foot = (f"English reading copy; the Chinese document prevails. Page {self.page_no} "
                    f"of {total}")  # fmt: skip
        else:
            foot = (
                "本证书（通知书）仅对本次检定结果负责；未经检定机构书面批准，不得部分复制。"
                f"第 {self.page_no} 页 共 {total} 页"
            )
        pg.text(MARGIN_MM, PAGE_H_MM - 16, PAGE_W_MM - 2 * MARGIN_MM, 6, foot, 8.5,
                align=Qt.AlignmentFlag.AlignCenter, color=QColor("#444444"))  # fmt: skip


def _signer(c: Countersignature | None) -> str:
    if c is None:
        return "__________"
    day = dt.datetime.fromtimestamp(c.signed_ms / 1000, CST)
    return f"{c.display_name or c.username}  {day:%Y-%m-%d}"


def _draw(
    doc: _Doc,
    results: list[VerificationResult],
    info: CertificateInfo,
    title: str,
    signoff: SignOff | None,
) -> None:
    pg = doc.pg
    first = results[0]
    pile = first.plan.pile
    plan = first.plan
    x0, w = MARGIN_MM, PAGE_W_MM - 2 * MARGIN_MM
    t = lambda zh: _t(info, zh)  # noqa: E731
    finished = dt.datetime.fromtimestamp(max(r.finished_ms for r in results) / 1000, CST)
    passed = all(r.passed for r in results)
    # A notice takes its number from a failed gun's run (…TZ…), a certificate from the first.
    number = info.certificate_no or certificate_number(
        next((r for r in results if not r.passed), first)
    )
    red = QColor("#b3261e")
    green = QColor("#1b7f3b")
    en = info.lang == "en"

    pg.text(x0, doc.y, w, 8, info.issuer, 12, align=Qt.AlignmentFlag.AlignCenter)
    doc.y += 9
    pg.text(x0, doc.y, w, 14, t(title), 22 if en else 24, bold=True,
            align=Qt.AlignmentFlag.AlignCenter)  # fmt: skip
    doc.y += 15
    number_label = t("证书编号") if passed else t("通知书编号")
    pg.text(x0, doc.y, w, 6, f"{number_label}：{number}", 10.5, align=Qt.AlignmentFlag.AlignRight)
    doc.y += 7
    pg.line(x0, doc.y, x0 + w, doc.y, 0.5)
    doc.y += 3

    due = first.valid_until() if passed else None
    if passed:
        due = min(r.valid_until() for r in results)  # type: ignore[type-var]
    power = f"{pile.rated_power_w / 1000:g} kW" if pile.rated_power_w > 0 else "—"  # unknown
    rating = f"{pile.model}  {power} / {pile.rated_voltage_v} V"
    imin_point = plan.points[-1]
    currents = (
        f"{pile.imax_a:.1f} A{'（由额定功率/标称电压导出）' if pile.imax_derived else ''} / "
        f"{imin_point.current_a:.1f} A{'（未标注，按 Imax/10 导出）' if imin_point.derived else ''}"
    )
    if en:
        currents = (
            f"{pile.imax_a:.1f} A{' (derived: rated power / voltage)' if pile.imax_derived else ''}"
            f" / {imin_point.current_a:.1f} A"
            + (" (not marked: Imax/10)" if imin_point.derived else "")
        )
    facts = [
        ("计量器具名称", INSTRUMENT_ZH[pile.kind]),
        ("型号规格", rating.strip()),
        ("充电桩编号", pile.pile_id),
        ("出厂编号", pile.serial_no or "—"),
        ("制造单位", pile.maker or "—"),
        ("运营单位", pile.operator or "—"),
        ("安装地点", pile.station or "—"),
        (
            "充电枪数",
            f"{pile.connectors}（本次检定：{'、'.join(str(r.connector) for r in results)} 号枪）",
        ),
        (
            "电能表编号（通信地址）",
            "；".join(
                (f"{r.connector} 号枪 " if pile.connectors > 1 else "")
                + "{}（{}）".format(*pile.meter_of(r.connector))
                for r in results
            ),
        ),
        ("准确度等级 / 仪表常数", f"{pile.accuracy_class} 级 / {pile.meter_constant} imp/kWh"),
        ("最大电流 / 最小电流", currents),
        ("检定依据", REGULATION_ZH[pile.kind]),
        ("检定类别", KIND_ZH.get(plan.config.kind, plan.config.kind)),
        ("检定结论", _ok(passed)),
        ("检定日期", f"{finished:%Y年%m月%d日}"),
        ("有效期至", f"{due:%Y年%m月%d日}" if due else "—（不合格，修复后须重新检定）"),
    ]
    for label, value in facts:
        if label == "有效期至" and not passed:
            continue  # a notice has no validity
        h = pg.height(w - 52, value, 10.5, 5.8)
        doc.need(h)
        pg.text(x0, doc.y, 52, 5.8, t(label) + "：", 10.5)
        color = (green if passed else red) if label == "检定结论" else None
        shown = t(value) if label == "检定结论" else value
        pg.text(x0 + 52, doc.y, w - 52, h, shown, 10.5, bold=label == "检定结论", color=color)
        doc.y += h

    doc.y += 2
    doc.need(14)
    pg.text(x0, doc.y, w, 7, t("计量标准器及检定条件"), 11.5, bold=True)
    doc.y += 7
    std = first.standard
    identity = first.rig_identity.split(",")
    rig_text = (
        f"虚拟负载检定装置 {identity[0]} {identity[1]}，编号 {identity[2]}，固件 {identity[3]}"
        if len(identity) == 4
        else first.rig_identity
    )
    if std is not None:
        rig_text += f"，准确度 {std.accuracy}（{STANDARD_KIND_ZH.get(std.kind, std.kind)}）"
        std_cert = (
            f"{std.certificate_no}，有效期至 {std.expiry:%Y年%m月%d日}，"
            f"检定/校准机构 {std.lab or '—'}"
            + ("（由检定员登记）" if std.source == "registered" else "（由装置报告）")
        )
    else:
        std_cert = "—"
    site = first.site
    environment = (
        "—" if site is None else f"温度 {site.temperature_c} °C，相对湿度 {site.humidity_pct} %"
    )
    insulation = (
        "—"
        if first.insulation_mohm is None
        else f"{first.insulation_mohm} MΩ（试验电压 {first.insulation_test_v or '—'} V，"
        f"要求 ≥ {m.INSULATION_MIN_MOHM} MΩ），满足"
    )
    conditions = [
        ("标准器", rig_text),
        ("标准器证书", std_cert),
        ("计量标准考核证书", plan.config.approval_certificate_no or "—"),
        (
            "检定方法",
            "虚拟负载法：电压、电流分别施加；以被检表脉冲沿门控，测量整数个脉冲间的标准电能",
        ),
        ("环境条件", environment),
        ("绝缘电阻（检定条件）", insulation),
        ("检定地点", f"现场（{pile.station or pile.pile_id}）"),
    ]
    for label, value in conditions:
        h = pg.height(w - 42, value, 10, 6.2)
        doc.need(h)
        pg.text(x0, doc.y, 42, 6.2, t(label) + "：", 10)
        pg.text(x0 + 42, doc.y, w - 42, h, value, 10)
        doc.y += h

    for result in results:
        _draw_gun(doc, result, info, len(results) > 1 or pile.connectors > 1)

    if not passed:
        reasons = "；".join(
            (f"{r.connector} 号枪：" if pile.connectors > 1 else "") + "、".join(_reasons_zh(r))
            for r in results
            if not r.passed
        )
        text = f"{t('不合格项')}：{reasons}"
        h = pg.height(w, text, 10, 6.4)
        doc.need(h + 2)
        doc.y += 2
        pg.text(x0, doc.y, w, h, text, 10, bold=True, color=red)
        doc.y += h

    # signatures and the ledger reference
    doc.need(30)
    doc.y += 4
    pg.line(x0, doc.y, x0 + w, doc.y, 0.3)
    doc.y += 3
    inspector = info.inspector_name or (signoff.inspector_name if signoff else "") or "—"
    if info.inspector_id:
        inspector += f"（{info.inspector_id}）"
    seal = site.seal_no if site is not None and site.seal_no else "—"
    pg.text(x0, doc.y, w / 3, 7, f"{t('检定员')}：{inspector}", 10)
    pg.text(x0 + w / 3, doc.y, w / 3, 7,
            f"{t('核验员')}：{_signer(signoff.checker if signoff else None)}", 10)  # fmt: skip
    pg.text(x0 + 2 * w / 3, doc.y, w / 3, 7,
            f"{t('批准人')}：{_signer(signoff.approver if signoff else None)}", 10)  # fmt: skip
    doc.y += 8
    pg.text(x0, doc.y, w, 6, f"{t('封印编号')}：{seal}", 10)
    doc.y += 7
    if info.signature_key_id or info.record_digest:
        pg.text(x0, doc.y, w, 5.5, f"电子签名密钥 ID：{info.signature_key_id}", 8.5)
        doc.y += 5.5
        pg.text(x0, doc.y, w, 5.5,
                f"检定记录摘要（SHA-256，透明日志叶哈希）：{info.record_digest}", 8.5)  # fmt: skip
        doc.y += 5.5


def _draw_gun(
    doc: _Doc, result: VerificationResult, info: CertificateInfo, label_gun: bool
) -> None:
    pg = doc.pg
    plan = result.plan
    x0, w = MARGIN_MM, PAGE_W_MM - 2 * MARGIN_MM
    t = lambda zh: _t(info, zh)  # noqa: E731
    red = QColor("#b3261e")
    green = QColor("#1b7f3b")
    doc.need(30)
    doc.y += 2
    heading = t("检定结果") + (f"（{t('充电枪')} {result.connector}）" if label_gun else "")
    pg.text(x0, doc.y, w, 7, heading, 11.5, bold=True)
    doc.y += 7
    failed = [CHECKLIST_ZH.get(k, k) for k, ok in result.checklist.items() if not ok]
    check_text = "全部符合要求" if not failed else "不符合：" + "；".join(failed)
    h = pg.height(w - 60, check_text, 10, 6.4)
    pg.text(x0, doc.y, 44, 6.4, "1. " + t("外观及功能检查"), 10)
    pg.text(x0 + 44, doc.y, w - 64, h, check_text, 10)
    pg.text(x0 + w - 20, doc.y, 20, 6.4, t(_ok(not failed)), 10,
            align=Qt.AlignmentFlag.AlignRight, color=green if not failed else red)  # fmt: skip
    doc.y += h
    doc.need(14)
    step = m.rounding_step(plan.limit_percent)
    pg.text(x0, doc.y, w, 6.4,
            f"2. {t('工作误差')}（每点 {plan.config.readings_per_point} 次门控读数取平均，"
            f"化整间距 {step:g} %）", 10)  # fmt: skip
    doc.y += 7
    header = ["负载点", "电流/A", "读数", "脉冲数", "标准电能/Wh", "被检电能/Wh", "误差/%",
              "平均值/%", "化整值/%", "允许误差/%", "结论"]  # fmt: skip
    if info.lang == "en":
        header = ["Point", "I/A", "#", "Pulses", "E std/Wh", "E pile/Wh", "Error/%", "Mean/%",
                  "Rounded/%", "MPE/%", "Result"]  # fmt: skip
    widths = [15, 14, 9, 13, 22, 22, 16, 16, 15, 18, 14]
    rows = [header]
    colors: dict[tuple[int, int], QColor] = {}
    for point in result.points:
        readings = list(point.readings) or [None]
        for k, r in enumerate(readings):
            lead = k == 0
            rows.append(
                [
                    POINT_ZH.get(point.point.label, point.point.label) if lead else "",
                    f"{point.point.current_a:.1f}" if lead else "",
                    "—" if r is None else str(r.reading_index + 1),
                    "—" if r is None else str(r.pulses),
                    "—" if r is None else f"{r.standard_energy_wh:.4f}",
                    "—" if r is None else f"{r.pile_energy_wh:.4f}",
                    "—" if r is None else _pct(r.error_percent, 4),
                    _pct(point.mean_error_percent, 3) if lead else "",
                    _pct(point.rounded_error_percent, 1) if lead else "",
                    f"±{plan.limit_percent:.1f}" if lead else "",
                    t(_ok(point.passed)) if lead else "",
                ]
            )
            if lead:
                colors[(len(rows) - 1, 10)] = green if point.passed else red
    row_h = 6.0
    doc.need(row_h * len(rows) + 2)
    doc.y = pg.table(x0, doc.y, widths, rows, row_h=row_h, size=8, colors=colors) + 2

    clock = result.clock
    if clock is None:
        clock_text, clock_ok = "—", None
    elif not clock.applicable:
        clock_text = f"不适用（无分时计费功能）；实测 {_signed(clock.error_s, 1)} s，仅作记录"
        clock_ok = None
    elif clock.meter_time is None or clock.reference_time is None:  # from a signed record
        clock_text = f"{_signed(clock.error_s, 1)} s（最大允许 ±{clock.limit_s:g} s）"
        clock_ok = clock.passed
    else:
        clock_text = (
            f"{_signed(clock.error_s, 1)} s（最大允许 ±{clock.limit_s:g} s；"
            "于电能表秒跳变时刻比对，"
            f"电能表 {clock.meter_time:%H:%M:%S}，北京时间 {clock.reference_time:%H:%M:%S.%f}"
        )[:-3] + "）"
        clock_ok = clock.passed
    more: list[tuple[str, str, bool | None]] = [("3. " + t("时钟时刻误差"), clock_text, clock_ok)]
    if result.payment is not None:
        pay = result.payment
        more.append(
            (
                "附：付费金额误差",
                "（可选核查，JJG 1149-2018 项目，非 2022 版检定项目）"
                f"{_signed(pay.error_yuan, 2)} 元"
                f"（显示 {pay.amount_yuan} 元，电能 {pay.energy_kwh} kWh × {pay.unit_price_yuan} "
                "元/kWh，允许 ±0.01 元）",
                pay.passed,
            )
        )
    seal = {True: "闭合", False: "开启", None: "—"}[result.seal_closed]
    more.append(("电子封印状态", seal, None))
    for label, value, ok in more:
        h = pg.height(w - 64, value, 10, 6.4)
        doc.need(h)
        pg.text(x0, doc.y, 44, 6.4, label, 10)
        pg.text(x0 + 44, doc.y, w - 64, h, value, 10)
        shown = (
            t(_ok(ok))
            if ok is not None
            else (t("不适用") if label.startswith("3.") and clock is not None else "")
        )
        if shown:
            pg.text(x0 + w - 20, doc.y, 20, 6.4, shown, 10, align=Qt.AlignmentFlag.AlignRight,
                    color=None if ok is None else (green if ok else red))  # fmt: skip
        doc.y += h


def _reasons_zh(result: VerificationResult) -> list[str]:
    out = []
    if any(not ok for ok in result.checklist.values()):
        out.append("外观及功能检查")
    for point in result.points:
        if point.passed is False:
            out.append(f"工作误差（{point.point.label}）")
        elif point.passed is None:
            out.append(f"工作误差（{point.point.label}）未检")
    if result.clock is not None and result.clock.passed is False:
        out.append("时钟时刻误差")
    if result.payment is not None and not result.payment.passed:
        out.append("付费金额误差（可选核查）")
    return out
