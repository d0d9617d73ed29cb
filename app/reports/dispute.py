"""Consumer dispute report (one page, Chinese or English) and the bundle's verification
report (bilingual), rendered with Qt's QPdfWriter; plus the headless CLI that glues
store -> bundle -> independent verification -> PDFs -> zip::

    python -m app.reports.dispute --db URL --platform URL --log-key VKEY \\
        --session ID --out FILE.zip|FILE.pdf

Why Qt: the bundled CJK font is a CFF OpenType subset that Qt embeds as-is and
reportlab cannot. Why the reports are drawn from the *verifier's* result
(`ledger.bundle_verify`) rather than from the store: a report must never state
more than the bundle it travels with proves, and the consumer can re-run the
very same check with the command printed on the page.

The QR code encodes the session ID and the SHA-256 of the session's
tlog-proof, so a counter clerk can match a paper report to a bundle file.
Needs a QGuiApplication (the CLI makes an offscreen one).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QPainter,
    QPdfWriter,
)

from app.models.evidence import DisputeFacts, dispute_facts
from app.reports.page import PAGE_H, PAGE_W, Page, font_family, pdf_writer
from ledger import bundle_verify
from ledger.bundle import BundleInputs, build_bundle

__all__ = [
    "bundle_with_reports",
    "main",
    "qr_png",
    "render_bundle_report",
    "render_dispute",
]

MARGIN = 16.0
GRID = QColor("#777777")
CST = timezone(timedelta(hours=8))
OK_COLOR, BAD_COLOR, NOTE_COLOR = QColor("#1b7f3a"), QColor("#b3261e"), QColor("#8a6d00")
GREY = QColor("#555555")
# The font subset is GB 2312 + ASCII: "√" and "×" are in it, "✓" is not.
MARK = {True: "√", False: "×", None: "!"}


class _Page(Page):
    """Text flowing down the page from a cursor ``y``, breaking pages as it goes."""

    def __init__(self, writer: QPdfWriter, painter: QPainter, family: str) -> None:
        super().__init__(painter, family)
        self.writer = writer
        self.y = MARGIN

    def text(
        self,
        x: float,
        y: float,
        w: float,
        text: str,
        size: float = 10,
        *,
        bold: bool = False,
        mono: bool = False,
        color: QColor | None = None,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
    ) -> float:
        """Wrapped text at (x, y); returns its height in mm."""
        self.font(size, bold, mono)
        self.p.setPen(color or QColor("#000000"))
        wrap = Qt.TextFlag.TextWrapAnywhere if mono else Qt.TextFlag.TextWordWrap
        flags = int(align | Qt.AlignmentFlag.AlignTop | wrap)
        bound = self.p.boundingRect(self.rect(x, y, w, 500), flags, text)
        self.p.drawText(bound, flags, text)
        return self.mm(bound.height())

    def flow(self, text: str, size: float = 10, gap: float = 1.2, x: float = MARGIN, **kw) -> None:
        """Text at the cursor, full width from ``x``; moves the cursor; breaks pages."""
        self.font(size, kw.get("bold", False), kw.get("mono", False))
        wrap = Qt.TextFlag.TextWrapAnywhere if kw.get("mono") else Qt.TextFlag.TextWordWrap
        flags = int(Qt.AlignmentFlag.AlignTop | wrap)
        w = PAGE_W - MARGIN - x
        need = self.mm(self.p.boundingRect(self.rect(x, 0, w, 500), flags, text).height())
        if self.y + need > PAGE_H - MARGIN:
            self.writer.newPage()
            self.y = MARGIN
        self.y += self.text(x, self.y, w, text, size, **kw) + gap

    def rule(self, gap: float = 2.0) -> None:
        self.line(MARGIN, self.y, PAGE_W - MARGIN, self.y, color=GRID)
        self.y += gap

    def table(
        self,
        x: float,
        widths: Sequence[float],
        rows: Sequence[Sequence[str]],
        *,
        row_h: float = 6.5,
        size: float = 9.5,
        colors: dict[tuple[int, int], QColor] | None = None,
        bold_rows: Sequence[int] = (0,),
    ) -> None:
        """A ruled table at the cursor (header row shaded); moves the cursor below it."""
        colors = colors or {}
        y0, total = self.y, sum(widths)
        for r, row in enumerate(rows):
            top = y0 + r * row_h
            if r == 0:
                self.p.fillRect(self.rect(x, top, total, row_h), QColor("#eeeeee"))
            cx = x
            for c, (w, cell) in enumerate(zip(widths, row, strict=True)):
                self.font(size, r in bold_rows)
                self.p.setPen(colors.get((r, c), QColor("#000000")))
                align = Qt.AlignmentFlag.AlignLeft if c == 0 else Qt.AlignmentFlag.AlignRight
                flags = int(align | Qt.AlignmentFlag.AlignVCenter)
                self.p.drawText(self.rect(cx + 1.5, top, w - 3, row_h), flags, cell)
                cx += w
        bottom = y0 + len(rows) * row_h
        for r in range(len(rows) + 1):
            self.line(x, y0 + r * row_h, x + total, y0 + r * row_h, 0.15, GRID)
        cx = x
        for w in (*widths, 0):
            self.line(cx, y0, cx, bottom, 0.15, GRID)
            cx += w
        self.y = bottom + 2.5


def _pdf(title: str, draw: Callable[[_Page], None]) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = pdf_writer(buffer, title)
    painter = QPainter(writer)
    try:
        draw(_Page(writer, painter, font_family()))
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def qr_png(text: str) -> bytes:
    """A QR code (error correction M) as PNG bytes, via the qrcode package."""
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(out)
    return out.getvalue()


def _yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _kwh(wh: int | None) -> str:
    return "—" if wh is None else f"{wh / 1000:,.3f}"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, CST).strftime("%Y-%m-%d %H:%M:%S")


def _price(e4: int) -> str:
    return f"{e4 / 10000:.4f}"


_TEXT = {
    "zh_CN": {
        "title": "充电费用争议核查报告",
        "sub": "杭州市市场监督管理局 · 安心充电监管平台（数据来自公开可验证的计量日志）",
        "session": "充电记录",
        "pile": "充电桩",
        "meter": "计量表",
        "time": "充电时间（北京时间）",
        "item": "项目",
        "metered": "计量表记录",
        "billed": "运营商账单",
        "fair": "按公示电价应付",
        "energy": "电量（kWh）",
        "efee": "电费（元）",
        "sfee": "服务费（元）",
        "total": "合计（元）",
        "over": "多收 {} 元（{:+.2f}%）",
        "under": "少收 {} 元",
        "same": "账单金额与按计量电量和公示电价计算的金额一致",
        "tariff": "公示电价 {}（元/kWh）",
        "period": "时段",
        "eprice": "电价",
        "sprice": "服务费",
        "checks": "核验结果",
        "sig": "签名有效：计量记录由计量表签名，账单和电价由运营商签名，密钥均经日志中的登记链核实",
        "incl": "已包含在日志中：{} 第 {} 条（日志共 {} 条），包含证明已验证",
        "bundle": "证据包全部检查通过",
        "sig_bad": "未通过：签名未能全部验证（见证据包核验报告）",
        "incl_bad": "未通过：包含证明未能验证，不能证明该记录在日志中",
        "bundle_bad": "未通过：证据包检查有未通过项（见 report.pdf）",
        "no session record": "充电记录",
        "no billing record": "账单记录",
        "no tariff record": "电价记录",
        "howto": "如何自行复核",
        "howto_text": "下载证据包后运行（仅需 Python 3 与 cryptography 库，无需联网）：",
        "rule": "应付金额计算规则：按运营商公示的分时电价（电价与服务费），以计量表签名记录的电量"
        "计算，分时段电量按功率曲线分摊，四舍五入到分（ledger/fleet/tariff.py compute_charge）。",
        "qr": "二维码：充电记录编号与包含证明的 SHA-256 摘要",
        "digest": "包含证明摘要 SHA-256",
        "missing": "缺少：{}",
    },
    "en": {
        "title": "Charging dispute check report",
        "sub": "Hangzhou Administration for Market Regulation · EV charging metrology "
        "(data from a publicly verifiable metering log)",
        "session": "Session",
        "pile": "Pile",
        "meter": "Meter",
        "time": "Time (UTC+8)",
        "item": "Item",
        "metered": "Meter record",
        "billed": "Operator's bill",
        "fair": "Fair (posted tariff)",
        "energy": "Energy (kWh)",
        "efee": "Energy fee (CNY)",
        "sfee": "Service fee (CNY)",
        "total": "Total (CNY)",
        "over": "Overcharged by CNY {} ({:+.2f} %)",
        "under": "Undercharged by CNY {}",
        "same": "The bill equals the amount computed from the metered energy at the posted tariff",
        "tariff": "Posted tariff {} (CNY/kWh)",
        "period": "Period",
        "eprice": "Energy",
        "sprice": "Service",
        "checks": "What was verified",
        "sig": "Signatures valid: the metering record is signed by the meter, the bill and tariff "
        "by the operator; each key is vouched for by registry entries in the log",
        "incl": "Included in the log: {} entry #{} (log size {}), inclusion proof verified",
        "bundle": "All checks of the evidence bundle passed",
        "sig_bad": "FAILED: not all signatures verify (see the bundle report)",
        "incl_bad": "FAILED: the inclusion proof does not verify; the record is not shown "
        "to be in the log",
        "bundle_bad": "FAILED: some checks of the evidence bundle failed (see report.pdf)",
        "howto": "How to re-check it yourself",
        "howto_text": "With the evidence bundle, run (needs only Python 3 and the cryptography "
        "package, works offline):",
        "rule": "Fair amount rule: the operator's posted time-of-use tariff (energy and service "
        "prices) applied to the energy in the meter-signed record, split across periods by the "
        "power curve, rounded half-up to the fen (ledger/fleet/tariff.py compute_charge).",
        "qr": "QR code: session ID and SHA-256 of the inclusion proof",
        "digest": "Inclusion proof SHA-256",
        "missing": "Missing: {}",
    },
}


def render_dispute(
    facts: DisputeFacts, lang: str = "zh_CN", *, log_key: str = "", bundle_name: str = ""
) -> bytes:
    """The consumer's one-page report as PDF bytes (``lang`` zh_CN or en)."""
    t = _TEXT["en" if lang == "en" else "zh_CN"]

    def draw(pg: _Page) -> None:
        qr = QImage.fromData(qr_png(facts.qr_text), "PNG")
        qr_mm = 36.0
        pg.p.drawImage(pg.rect(PAGE_W - MARGIN - qr_mm, MARGIN - 2, qr_mm, qr_mm), qr)
        text_w = PAGE_W - 2 * MARGIN - qr_mm - 4
        pg.y += pg.text(MARGIN, pg.y, text_w, t["title"], 18, bold=True) + 2
        pg.y += pg.text(MARGIN, pg.y, text_w, t["sub"], 8.5, color=GREY) + 3
        for label, value in (
            (t["session"], facts.session_id),
            (t["pile"], facts.pile_id),
            (t["meter"], facts.meter_id),
            (
                t["time"],
                f"{_when(facts.start_ms)} – {_when(facts.stop_ms)[11:]}" if facts.start_ms else "—",
            ),
        ):
            label_h = pg.text(MARGIN, pg.y, 40, label, 9.5, color=GREY)
            value_h = pg.text(MARGIN + 40, pg.y, text_w - 40, value or "—", 9.5, bold=True)
            pg.y += max(label_h, value_h) + 1  # an unknown pile or meter still takes a line
        pg.y = max(pg.y, MARGIN + qr_mm + 1)
        pg.text(
            PAGE_W - MARGIN - qr_mm - 6, MARGIN + qr_mm - 1, qr_mm + 6, t["qr"], 6.5,
            color=GREY, align=Qt.AlignmentFlag.AlignHCenter,
        )  # fmt: skip
        pg.y += 5
        pg.rule(3)
        rows = [
            [t["item"], t["metered"], t["billed"], t["fair"]],
            [t["energy"], _kwh(facts.metered_wh), _kwh(facts.billed_wh), _kwh(facts.metered_wh)],
            [t["efee"], "—", _yuan(facts.energy_fen), _yuan(facts.fair_energy_fen)],
            [t["sfee"], "—", _yuan(facts.service_fen), _yuan(facts.fair_service_fen)],
            [t["total"], "—", _yuan(facts.amount_fen), _yuan(facts.fair_amount_fen)],
        ]
        diff = facts.difference_fen
        colors = {}
        if diff:
            colors[(4, 2)] = BAD_COLOR
        metered, billed = facts.metered_wh, facts.billed_wh
        if metered is not None and billed is not None and billed != metered:
            colors[(1, 2)] = BAD_COLOR
        pg.table(MARGIN, [50, 40, 42, 46], rows, colors=colors, bold_rows=(0, 4))
        if diff is not None:
            fair = facts.fair_amount_fen or 1
            if diff > 0:
                verdict, color = t["over"].format(_yuan(diff), 100 * diff / fair), BAD_COLOR
            elif diff < 0:
                verdict, color = t["under"].format(_yuan(-diff)), NOTE_COLOR
            else:
                verdict, color = t["same"], OK_COLOR
            pg.flow(verdict, 12, 3, bold=True, color=color)
        if facts.problems:
            names = ", ".join(t.get(p, p) for p in facts.problems)
            pg.flow(t["missing"].format(names), 9.5, color=BAD_COLOR)
        if facts.periods:
            pg.flow(t["tariff"].format(facts.tariff_id), 10, 1.5, bold=True)
            rows = [[t["period"], t["eprice"], t["sprice"]]] + [
                [
                    f"{p['start_min'] // 60:02d}:{p['start_min'] % 60:02d}–"
                    f"{p['end_min'] // 60:02d}:{p['end_min'] % 60:02d}",
                    _price(p["energy_e4"]),
                    _price(p["service_e4"]),
                ]
                for p in facts.periods
            ]
            pg.table(MARGIN, [40, 30, 30], rows, row_h=5.2, size=8.5)
        pg.rule(3)
        pg.flow(t["checks"], 11, 2, bold=True)
        for ok, line, bad in (
            (facts.signatures_ok, t["sig"], t["sig_bad"]),
            (
                facts.inclusion_ok,
                t["incl"].format(facts.origin, facts.session_index, facts.tree_size),
                t["incl_bad"],
            ),
            (facts.all_ok, t["bundle"], t["bundle_bad"]),
        ):
            color = OK_COLOR if ok else BAD_COLOR
            pg.text(MARGIN, pg.y, 8, MARK[bool(ok)], 10, bold=True, color=color)
            pg.flow(line if ok else bad, 9.5, 1.5, x=MARGIN + 8, color=None if ok else color)
        pg.flow(f"{t['digest']}: {facts.proof_sha256}", 8, 3, mono=True, color=GREY)
        pg.rule(3)
        pg.flow(t["howto"], 11, 2, bold=True)
        pg.flow(t["howto_text"], 9.5, 1.5)
        command = f"python -m ledger verify-bundle {bundle_name or 'BUNDLE.zip'} --log-key log.vkey"
        pg.flow(command, 8.5, 1.5, mono=True)
        if log_key:
            pg.flow(f"log.vkey = {log_key}", 7.5, 3, mono=True, color=GREY)
        pg.flow(t["rule"], 8, 1.5, color=GREY)

    return _pdf(f"{t['title']} {facts.session_id}", draw)


def render_bundle_report(
    result: bundle_verify.Result, *, log_key: str = "", bundle_name: str = ""
) -> bytes:
    """The bilingual report of what the verifier checked and how to re-check it."""

    def draw(pg: _Page) -> None:
        pg.flow("证据包核验报告", 17, 1, bold=True)
        pg.flow("Evidence bundle verification report", 12, 3, color=GREY)
        subject = ", ".join(f"{k}={v}" for k, v in result.subject.items() if k != "entries")
        cp = result.checkpoint
        for zh, en, value in (
            ("证据主题", "Subject", subject),
            ("日志", "Log", cp.origin if cp else "—"),
            ("检查点大小", "Checkpoint size", str(cp.size) if cp else "—"),
            ("日志公钥", "Log key", log_key or "—"),
            (
                "生成时间",
                "Made at",
                datetime.now(UTC).astimezone(CST).isoformat(timespec="seconds"),
            ),
        ):
            pg.flow(f"{zh} / {en}: {value}", 9, 1)
        ok = result.ok
        pg.y += 2
        pg.flow(
            "结论：全部检查通过 / VERDICT: all checks passed"
            if ok
            else "结论：验证失败 / VERDICT: verification FAILED",
            13, 3, bold=True, color=OK_COLOR if ok else BAD_COLOR,
        )  # fmt: skip
        pg.rule(3)
        pg.flow("检查项目 / What was checked", 11, 2, bold=True)
        for check in _report_checks(result):
            color = {True: OK_COLOR, False: BAD_COLOR, None: NOTE_COLOR}[check.ok]
            if pg.y > PAGE_H - MARGIN - 14:
                pg.writer.newPage()
                pg.y = MARGIN
            pg.text(MARGIN, pg.y, 6, MARK[check.ok], 10, bold=True, color=color)
            pg.flow(check.zh, 8.5, 0.3, x=MARGIN + 6)
            pg.flow(check.en, 8, 1.8, x=MARGIN + 6, color=GREY)
        pg.rule(3)
        pg.flow("如何复核 / How to re-check", 11, 2, bold=True)
        name = bundle_name or "BUNDLE.zip"
        for line in (
            "1. 从杭州市市场监督管理局官方渠道取得日志公钥（不要只用证据包内的 log.vkey）。",
            "   Get the log's verifier key from the bureau's official channel "
            "(do not rely on the bundle's own log.vkey).",
            "2. 运行 / run:",
        ):
            pg.flow(line, 9, 1)
        pg.flow(f"python -m ledger verify-bundle {name} --log-key log.vkey", 8.5, 1, mono=True)
        for line in (
            "   可加 --since-checkpoint 早先保存的检查点，以证明日志未被改写。",
            "   Add --since-checkpoint YOUR.checkpoint to prove the log was not rewritten "
            "since the checkpoint you kept.",
            "3. 每条记录也可单独验证（C2SP tlog-proof 通用格式）/ each entry alone:",
        ):
            pg.flow(line, 9, 1)
        pg.flow(
            "python -m ledger verify-bundle --tlog-proof proofs/N.tlog-proof "
            "--leaf entries/N.entry --log-key log.vkey",
            8.5, 2, mono=True,
        )  # fmt: skip
        pg.flow(
            "OCMF 记录仅验证计量表签名，不在日志中。报告 PDF 与 README 不属于证据，仅供阅读。\n"
            "OCMF records are checked by the meter's signature only; they are not in the log. "
            "The report PDFs and README are not evidence, only reading aids.",
            8, 1, color=GREY,
        )  # fmt: skip

    return _pdf("Evidence bundle verification report", draw)


MAX_LISTED_PASSES = 60
"""Beyond this many entries the report summarises the passed ones (failures are all listed)."""


def _report_checks(result: bundle_verify.Result) -> list[bundle_verify.Check]:
    """The verdict lines for the PDF: a pile's year would otherwise fill a thousand pages."""
    entry_lines = [c for c in result.checks if c.en.startswith("entry #")]
    if len(entry_lines) <= MAX_LISTED_PASSES:
        return list(result.checks)
    passed = sum(c.ok is True for c in entry_lines)
    listed = {id(c) for c in entry_lines}
    out = [c for c in result.checks if id(c) not in listed or c.ok is not True]
    out.insert(
        2,
        bundle_verify.Check(
            True,
            f"另有 {passed} 条日志条目全部通过（已包含在日志中且签名有效；"
            "逐条结果见 verify-bundle 输出）",
            f"{passed} further log entries all passed (included in the log, signature valid; "
            "run verify-bundle for the per-entry lines)",
        ),
    )
    return out


README = """Evidence bundle / 证据包 ({format})

Check it offline / 离线核验:
    python -m ledger verify-bundle {name} --log-key LOG.vkey
Get LOG.vkey from the regulator's official channel, not from this zip.
日志公钥请从监管部门官方渠道取得，不要只用本包内的 log.vkey。

Layout: manifest.json (SHA-256 of every file), checkpoint (signed), entries/ (raw log
entries), proofs/ (C2SP tlog-proofs), consistency/ (optional), ocmf/ (optional,
signature only), report.pdf and dispute-*.pdf (reading aids, not evidence).
"""


def bundle_with_reports(
    inputs: BundleInputs, *, name: str = "bundle.zip", dispute_session: str | None = None
) -> tuple[bytes, bundle_verify.Result]:
    """The final bundle: evidence, plus the reports drawn from verifying that evidence.

    The evidence is verified *before* the reports are written, by the same
    independent verifier the recipient will run; adding the PDFs changes no
    evidence file, so the verdict holds for the final zip too.
    """
    draft = build_bundle(inputs)
    result = bundle_verify.verify_bundle(draft, inputs.log_vkey)
    extra = {
        "README.txt": README.format(format="evmetrology-evidence-bundle/v1", name=name).encode(),
        "report.pdf": render_bundle_report(result, log_key=inputs.log_vkey, bundle_name=name),
    }
    if dispute_session is not None:
        facts = dispute_facts(result, dispute_session)
        for lang, suffix in (("zh_CN", "zh"), ("en", "en")):
            extra[f"dispute-{suffix}.pdf"] = render_dispute(
                facts, lang, log_key=inputs.log_vkey, bundle_name=name
            )
    return build_bundle(inputs, extra), result


def _parse_day(text: str) -> int:
    day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=CST)
    return int(day.timestamp() * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.reports.dispute",
        description="Build an evidence bundle (.zip) or a consumer dispute report (.pdf).",
    )
    parser.add_argument("--db", help="workstation store URL (default: the user's store)")
    parser.add_argument("--platform", required=True, help="platform URL (or a tiles directory)")
    parser.add_argument("--log-key", required=True, help="log verifier key, or a file with it")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--session", help="a charging session ID")
    what.add_argument("--pile", help="a pile ID (with --from/--to)")
    what.add_argument("--alarm", type=int, help="an alarm number")
    parser.add_argument("--from", dest="from_day", help="pile history from YYYY-MM-DD (CST)")
    parser.add_argument("--to", dest="to_day", help="pile history to YYYY-MM-DD, exclusive")
    parser.add_argument("--since-checkpoint", type=Path, help="recipient's earlier checkpoint")
    parser.add_argument(
        "--ocmf", action="append", default=[], metavar="RECORD:KEY",
        help="add an OCMF record file and its public-key file (signature-only evidence)",
    )  # fmt: skip
    parser.add_argument("--lang", choices=("zh_CN", "en"), default="zh_CN", help="for .pdf")
    parser.add_argument("--out", required=True, type=Path, help="FILE.zip or FILE.pdf")
    args = parser.parse_args(argv)
    if args.out.suffix not in (".zip", ".pdf"):
        parser.error("--out must end in .zip or .pdf")
    if args.out.suffix == ".pdf" and not args.session:
        parser.error("a .pdf dispute report is for one --session")
    if args.pile and not (args.from_day and args.to_day):
        parser.error("--pile needs --from and --to")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])

    from app.models import evidence
    from app.models.store import Store
    from ledger.client import LogClient
    from ledger.ocmf import ocmf_to_bundle_entries

    key_path = Path(args.log_key)
    vkey = key_path.read_text().strip() if key_path.is_file() else args.log_key.strip()
    since = args.since_checkpoint.read_bytes() if args.since_checkpoint else None
    pairs = []
    for spec in args.ocmf:
        record, _, key = spec.partition(":")
        pairs.append((Path(record).read_bytes(), Path(key).read_text().strip()))
    client = LogClient(args.platform, vkey)
    try:
        with Store.open(args.db) as store:
            if args.session:
                inputs = evidence.session_evidence(
                    store, client, args.session, since_note=since,
                    ocmf=ocmf_to_bundle_entries(pairs),
                )  # fmt: skip
            elif args.pile:
                inputs = evidence.pile_evidence(
                    store, client, args.pile, _parse_day(args.from_day),
                    _parse_day(args.to_day), since_note=since,
                )  # fmt: skip
            else:
                inputs = evidence.alarm_evidence(store, client, args.alarm, since_note=since)
    except (LookupError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    if args.out.suffix == ".pdf":
        result = bundle_verify.verify_bundle(build_bundle(inputs), vkey)
        data = render_dispute(dispute_facts(result, args.session), args.lang, log_key=vkey)
    else:
        data, result = bundle_with_reports(inputs, name=args.out.name, dispute_session=args.session)
    args.out.write_bytes(data)
    print(result.text())
    print(f"wrote {args.out} ({len(data):,} bytes)")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
