"""Installed taximeter 检定证书 (pass) or 检定结果通知书 (fail) to JJG 517-2016, as a PDF.

One page per taxi: the vehicle and meter (plate, serial, model, K constant), the method
(roller or road) and the standard with its certificate, the checks before the error test,
every distance run (standard distance, meter distance, error) and the waiting-time run
against their limits, the conclusion, 有效期至 (one year), the inspector and the signed
record's key and digest. A draft until the record is signed. The frame (head, facts,
conclusion, foot) is the kind-free ``app.reports.verification_pages`` the fuel
certificate uses; a legal document in Chinese (``lang="en"``: an English reading copy).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from PySide6.QtGui import QColor

from app.models.taxi import verification as tv
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

__all__ = ["TaxiCertificateInfo", "write_taxi_certificate"]

_CHECKS_ZH = {
    "appearance": "外观与结构",
    "nameplate": "铭牌",
    "display": "显示屏",
    "sensor": "里程测量传感器",
    "hire_switch": "空重车转换装置",
    "clock": "永久（实时）时钟",
    "printing": "打印功能",
    "seals": "封印",
}
_METHOD_ZH = {"roller": "滚轮测距法", "road": "行车测距法"}
_METHOD_EN = {"roller": "roller bench", "road": "road course"}
_KIND_ZH = {"first": "首次检定", "periodic": "后续检定", "triggered": "使用中检查（异常触发）"}
_KIND_EN = {"first": "first", "periodic": "subsequent", "triggered": "in-service (anomaly)"}
_EN = {
    **PILE_LABELS_EN,
    "出租汽车计价器（装车后）": "Taximeter (installed)",
    "车牌号": "Plate",
    "计价器出厂编号": "Meter serial",
    "型号 / 制造单位": "Model / maker",
    "计价器常数 K": "K constant",
    "检定方法": "Method",
    "计量标准器": "Standard",
    "检定前检查": "Checks",
    "项目": "Item",
    "标准值": "Standard",
    "计价器示值": "Meter",
    "误差 %": "Error %",
    "最大允许误差 %": "MPE %",
    "结论": "Result",
    "全部符合": "all conform",
    "计程": "Distance",
    "计时": "Waiting time",
}

TaxiCertificateInfo = CertificateInfo
"""Who issues and signs (issuer, inspector, number, signature key and digest, language)."""


def write_taxi_certificate(
    result: tv.TaxiResult, path: Path, info: TaxiCertificateInfo | None = None
) -> Path:
    """Render the certificate (pass) or notice (fail) of one taximeter to ``path`` (atomic)."""
    info = info or TaxiCertificateInfo()
    title = "检定证书" if result.passed else "检定结果通知书"
    return write_pdf(
        path, f"{title} {result.plan.taxi.plate}", lambda pg: _draw(pg, result, info, title)
    )


def _pct(value: Decimal, places: int) -> str:
    shown = Decimal(value).quantize(Decimal(1).scaleb(-places))
    return f"{abs(shown) if shown == 0 else shown:+.{places}f}"


def _draw(pg: _Page, result: tv.TaxiResult, info: TaxiCertificateInfo, title: str) -> None:
    en = info.lang == "en"

    def t(zh: str) -> str:
        return _EN.get(zh, zh) if en else zh

    taxi = result.plan.taxi
    x0, w = MARGIN, PAGE_W - 2 * MARGIN
    number = info.certificate_no or tv.certificate_number(result)
    y = draw_head(pg, info, t(title), t("证书编号" if result.passed else "通知书编号"), number)
    due = result.valid_until()
    std = dict(result.standard or {})
    sep = ", " if en else "，"
    cert, until = ("certificate", "valid until") if en else ("证书", "有效期至")
    standard = (
        sep.join(
            (
                std.get("identity", "—"),
                f"{std.get('accuracy', '—')} %",
                f"{cert} {std.get('certificate_no', '—')}",
                f"{until} {std.get('expiry', '—')}",
            )
        )
        if std
        else ("readings typed by the inspector" if en else "检定员录入读数")
    )
    method = result.plan.method
    facts = [
        ("计量器具名称", t("出租汽车计价器（装车后）")),
        ("车牌号", taxi.plate),
        ("计价器出厂编号", taxi.meter_serial),
        ("型号 / 制造单位", f"{taxi.model or '—'} / {taxi.maker or '—'}"),
        ("计价器常数 K", f"{taxi.k_constant} " + ("pulses/km" if en else "脉冲/km")),
        ("检定依据", tv.REGULATION + (" Taximeters" if en else " 出租汽车计价器检定规程")),
        ("检定类别", (_KIND_EN if en else _KIND_ZH).get(result.plan.kind, result.plan.kind)),
        ("检定方法", (_METHOD_EN if en else _METHOD_ZH).get(method, method)),
        ("检定日期", f"{result.day:%Y-%m-%d}"),
        ("有效期至", due.isoformat() if due else ("— (failed)" if en else "—（不合格）")),
        ("计量标准器", standard),
    ]
    y = draw_facts(pg, y, facts, t) + 2
    y = draw_checks(pg, y, result.checklist, _CHECKS_ZH, t, en)

    pg.text(x0, y, w, 7, t("检定结果"), 12, bold=True)
    y += 7.5
    low, high = tv.DISTANCE_MPE_PERCENT
    rows = [[t(h) for h in ("项目", "标准值", "计价器示值", "误差 %", "最大允许误差 %", "结论")]]
    colors: dict[tuple[int, int], QColor] = {}
    k = taxi.k_constant
    for run, error in zip(result.distance, result.distance_errors, strict=True):
        ok = low <= error <= high
        r = len(rows)
        rows.append(
            [
                f"{t('计程')} {run.run_index + 1}",
                f"{Decimal(run.standard_m):.1f} m",
                f"{run.meter_distance(k):.0f} m",
                _pct(error, 1),
                f"{low:+.1f} … +{high:.1f}",
                t("合格") if ok else t("不合格"),
            ]
        )
        colors[(r, 5)] = GREEN if ok else RED
        if not ok:
            colors[(r, 3)] = RED
    ok = abs(result.time_error) <= tv.TIME_MPE_PERCENT
    rows.append(
        [
            t("计时"),
            f"{Decimal(result.time.standard_s):.2f} s",
            f"{Decimal(result.time.meter_s):.1f} s",
            _pct(result.time_error, 2),
            f"±{tv.TIME_MPE_PERCENT}",
            t("合格") if ok else t("不合格"),
        ]
    )
    colors[(len(rows) - 1, 5)] = GREEN if ok else RED
    widths = [22, 30, 30, 20, 30, 18]
    scale = w / sum(widths)
    y = pg.table(x0, y, [c * scale for c in widths], rows, row_h=7, size=9.5, colors=colors)
    y += 2
    limits = (
        f"计程误差 E = (S计价器 − S标准)/S标准，最大允许误差 {low} % ～ +{high} %；"
        f"误差按 {tv.DISTANCE_ROUNDING_PERCENT} % 修约。计时误差限 ±{tv.TIME_MPE_PERCENT} %。"
        f"检定周期 1 年。"
    )
    if en:
        limits = (
            f"Distance error E = (S_meter − S_std)/S_std, MPE {low} % … +{high} %, rounded to "
            f"{tv.DISTANCE_ROUNDING_PERCENT} %. Waiting-time limit ±{tv.TIME_MPE_PERCENT} %. "
            "Verification cycle 1 year."
        )
    h = pg.height(w, limits, 8.5, 5.5)
    pg.text(x0, y, w, h, limits, 8.5, color=GREY)
    y += h + 3
    reasons = "; ".join(result.reasons) if en else "；".join(_reason_zh(r) for r in result.reasons)
    y = draw_conclusion(pg, y, result.passed, reasons, t)
    draw_foot(pg, y, info, f"{result.day:%Y-%m-%d}", t)


def _reason_zh(reason: str) -> str:
    """The model's English reason as the notice prints it."""
    if reason.startswith("check failed: "):
        key = reason.removeprefix("check failed: ")
        return f"检定前检查不符合（{_CHECKS_ZH.get(key, key)}）"
    if reason.startswith("distance run "):
        run, figure = reason.split()[2].rstrip(":"), reason.split()[4]
        low, high = tv.DISTANCE_MPE_PERCENT
        return f"计程 {run} 误差 {figure} 超出 {low}% ～ +{high}%"
    if reason.startswith("waiting time"):
        return f"计时误差 {reason.split()[3]} 超出 ±{tv.TIME_MPE_PERCENT}%"
    return reason
