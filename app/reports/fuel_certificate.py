"""Fuel dispenser 检定证书 (pass) or 检定结果通知书 (fail) to JJG 443-2023, as a PDF.

One page per nozzle: the dispenser and nozzle, the standard (metal measure or
flowmeter) with its certificate, the checks before the error test, every run (the
dispenser's display, the standard's reading, both temperatures, the corrected standard
volume, the error), per flow point the largest error and the repeatability against
their limits, the conclusion, 有效期至, the inspector and the signed record's key and
digest. Until the record is signed the page is marked as a draft.

Like the pile certificate it is a legal document in Chinese whatever the UI language
(``lang="en"`` prints an English reading copy). It reuses the A4 drawing of
``app.reports.page`` and the boxed text/table helpers of the pile certificate
(``app.reports.certificate._Page``, generic: the lead may move it to page.py).

Needs a QGuiApplication (fonts); paints only on a QPdfWriter.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from PySide6.QtGui import QColor

from app.models.fuel import verification as fv
from app.reports.certificate import _EN as PILE_LABELS_EN
from app.reports.certificate import CertificateInfo, _Page
from app.reports.page import PAGE_W
from app.reports.verification_pages import (
    GREEN,
    GREY,
    MARGIN,
    RED,
    draw_checks,
    draw_conclusion,
    draw_facts,
    draw_foot,
    draw_head,
    write_pdf,
)

__all__ = ["FuelCertificateInfo", "write_fuel_certificate"]


_CHECKS_ZH = {
    "nameplate": "铭牌和标志",
    "display": "体积、金额、单价显示",
    "price_display": "显示单价与公示价格",
    "seals": "封印",
    "software_id": "软件标识",
    "hose_nozzle": "油枪、胶管及自封",
}
_PRODUCT_ZH = {"0": "0# 柴油", "-10": "-10# 柴油", "-20": "-20# 柴油", "-35": "-35# 柴油"}
_KIND_ZH = {"first": "首次检定", "periodic": "后续检定", "triggered": "使用中检查（异常触发）"}
_KIND_EN = {"first": "first", "periodic": "subsequent", "triggered": "in-service (anomaly)"}
_EN = {
    **PILE_LABELS_EN,  # 检定证书, 证书编号, 有效期至, 合格 … as the pile certificate words them
    "燃油加油机": "Fuel dispenser",
    "加油机编号 / 油枪": "Dispenser / nozzle",
    "油品": "Product",
    "型号 / 出厂编号": "Model / serial",
    "加油站": "Station",
    "流量范围": "Flow range",
    "计量标准器": "Standard",
    "环境温度": "Ambient",
    "检定前检查": "Checks",
    "流量点": "Point",
    "次": "Run",
    "示值 mL": "Shown mL",
    "标准读数 mL": "Std read mL",
    "油温 标/机 ℃": "°C std/disp",
    "标准值 mL": "Std corr. mL",
    "误差 %": "Error %",
    "最大误差 %": "Max err %",
    "重复性 %": "Repeat %",
    "结论": "Result",
    "全部符合": "all conform",
    "标准金属量器": "standard metal measure",
    "标准流量计": "standard flowmeter",
}


FuelCertificateInfo = CertificateInfo
"""Who issues and signs: the pile certificate's own info (issuer, inspector, number,
signature key and record digest, language)."""


def write_fuel_certificate(
    result: fv.FuelResult, path: Path, info: FuelCertificateInfo | None = None
) -> Path:
    """Render the certificate (pass) or notice (fail) of one nozzle to ``path`` (atomic)."""
    info = info or FuelCertificateInfo()
    title = "检定证书" if result.passed else "检定结果通知书"
    return write_pdf(
        path,
        f"{title} {result.plan.dispenser.dispenser_id}",
        lambda pg: _draw(pg, result, info, title),
    )


def _pct(value: Decimal) -> str:
    shown = Decimal(value).quantize(Decimal("0.01"))
    return f"{abs(shown) if shown == 0 else shown:+.2f}"


def _temp(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):.1f}"


def _draw(pg: _Page, result: fv.FuelResult, info: FuelCertificateInfo, title: str) -> None:
    en = info.lang == "en"

    def t(zh: str) -> str:
        return _EN.get(zh, zh) if en else zh

    d = result.plan.dispenser
    x0, w = MARGIN, PAGE_W - 2 * MARGIN
    number = info.certificate_no or fv.certificate_number(result)
    label = t("证书编号") if result.passed else t("通知书编号")
    y = draw_head(pg, info, t(title), label, number)

    day = result.day
    due = result.valid_until()
    std = dict(result.standard or {})
    cert, until = ("certificate", "valid until") if en else ("证书", "有效期至")
    sep = ", " if en else "，"
    if std.get("type") == "flowmeter":
        standard = sep.join(
            (
                f"{t('标准流量计')} {std.get('identity', '—')}",
                f"{std.get('accuracy', '—')} %",
                f"{cert} {std.get('certificate_no', '—')}",
                f"{until} {std.get('expiry', '—')}",
            )
        )
    else:
        standard = sep.join(
            (
                f"{t('标准金属量器')} {std.get('serial') or '—'}",
                f"{cert} {std.get('certificate_no', '—')}",
                f"{until} {std.get('expiry', '—')}",
            )
        )
    conditions = dict(result.conditions or {})
    ambient = conditions.get("ambient_temp_dc")
    product = _PRODUCT_ZH.get(d.product, f"{d.product}# 汽油")
    if en:
        product = f"{d.product} {'diesel' if d.product in _PRODUCT_ZH else 'petrol'}"
    facts = [
        ("计量器具名称", t("燃油加油机")),
        (
            "加油机编号 / 油枪",
            f"{d.dispenser_id} / " + (f"nozzle {d.nozzle}" if en else f"{d.nozzle} 号枪"),
        ),
        ("油品", product),
        ("型号 / 出厂编号", f"{d.model or '—'} / {d.serial or '—'}"),
        ("制造单位", d.maker or "—"),
        ("加油站", d.station or "—"),
        ("流量范围", f"{d.qmin_l_min:g} ～ {d.qmax_l_min:g} L/min"),
        ("检定依据", fv.REGULATION + (" Fuel dispensers" if en else " 燃油加油机检定规程")),
        ("检定类别", (_KIND_EN if en else _KIND_ZH).get(result.plan.kind, result.plan.kind)),
        ("检定日期", f"{day:%Y-%m-%d}"),
        ("有效期至", due.isoformat() if due else ("— (failed)" if en else "—（不合格）")),
        ("计量标准器", standard),
        ("环境温度", "—" if ambient is None else f"{Decimal(ambient) / 10:.1f} ℃"),
        ("封印编号", str(conditions.get("seal_no") or "—")),
    ]
    y = draw_facts(pg, y, facts, t)
    y += 2
    y = draw_checks(pg, y, result.checklist, _CHECKS_ZH, t, en)

    pg.text(x0, y, w, 7, t("检定结果"), 12, bold=True)
    y += 7.5
    header = [t(h) for h in ("流量点", "L/min", "次", "示值 mL", "标准读数 mL", "油温 标/机 ℃",
                             "标准值 mL", "误差 %", "最大误差 %", "重复性 %", "结论")]  # fmt: skip
    rows = [header]
    colors: dict[tuple[int, int], QColor] = {}
    for pr in result.points:
        for j, run in enumerate(pr.runs):
            first = j == 0
            r = len(rows)
            rows.append(
                [
                    pr.point.label if first else "",
                    f"{Decimal(pr.point.flow_ml_min) / 1000:g}" if first else "",
                    str(j + 1),
                    str(run.indicated_ml),
                    f"{Decimal(run.reading_ml):.1f}",
                    f"{_temp(run.standard_temp_c)}/{_temp(run.dispenser_temp_c)}",
                    f"{run.standard_ml(d.product):.1f}",
                    _pct(pr.errors_percent[j]),
                    _pct(pr.worst_percent) if first else "",
                    f"{pr.repeat_percent:.2f}" if first else "",
                    (t("合格") if pr.passed else t("不合格")) if first else "",
                ]
            )
            if abs(pr.errors_percent[j]) > fv.MPE_PERCENT:
                colors[(r, 7)] = RED
            if first:
                colors[(r, 10)] = GREEN if pr.passed else RED
                if not pr.repeat_passed:
                    colors[(r, 9)] = RED
    widths = [14, 12, 8, 18, 21, 22, 20, 15, 18, 16, 14]
    scale = w / sum(widths)
    y = pg.table(x0, y, [c * scale for c in widths], rows, row_h=6.6, size=8.5, colors=colors)
    y += 2
    corrected = any(
        r.standard_temp_c is not None and r.dispenser_temp_c is not None
        for pr in result.points
        for r in pr.runs
    )
    limits = (
        f"最大允许误差 ±{fv.MPE_PERCENT} %；重复性（同一流量点各次误差之差）不大于 "
        f"{fv.REPEATABILITY_MAX_PERCENT} %；误差按 {fv.ROUNDING_STEP_PERCENT} % 修约。"
        + ("标准值已按体积膨胀系数修正到加油机处油温。" if corrected else "未作温度修正。")
    )
    if en:
        limits = (
            f"MPE ±{fv.MPE_PERCENT} %; repeatability (max − min of the runs' errors) ≤ "
            f"{fv.REPEATABILITY_MAX_PERCENT} %; errors rounded to {fv.ROUNDING_STEP_PERCENT} %. "
            + (
                "Standard volumes corrected to the fuel temperature at the dispenser."
                if corrected
                else "No temperature correction."
            )
        )
    h = pg.height(w, limits, 8.5, 5.5)
    pg.text(x0, y, w, h, limits, 8.5, color=GREY)
    y += h + 3

    reasons = "; ".join(result.reasons) if en else "；".join(_reason_zh(r) for r in result.reasons)
    y = draw_conclusion(pg, y, result.passed, reasons, t)
    draw_foot(pg, y, info, dt.date.isoformat(result.day), t)


def _reason_zh(reason: str) -> str:
    """The model's English reason as the notice prints it."""
    if reason.startswith("check failed: "):
        key = reason.removeprefix("check failed: ")
        return f"检定前检查不符合（{_CHECKS_ZH.get(key, key)}）"
    label, _, rest = reason.partition(": ")
    if rest.startswith("repeatability"):
        return f"{label} 重复性 {rest.split()[1]} 超过 {fv.REPEATABILITY_MAX_PERCENT}%"
    if rest.startswith("error"):
        return f"{label} 示值误差 {rest.split()[1]} 超出 ±{fv.MPE_PERCENT}%"
    return reason
