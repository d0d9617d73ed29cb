"""Answering a consumer's dispute: find a charging session and check its bill.

Three ways in, as a complaint arrives: the session ID on the receipt; the pile and the
time the consumer remembers; the station and the day. The chosen session shows its
signed record, the operator's bill, the tariff in force and the fair amount recomputed
from the tariff and the meter's own power profile (see
:class:`app.models.charging.queries.FairCharge`), with overbilling highlighted.

Signature status is stated as what it is: the store only ever holds entries whose
signatures the sync verified (against the registered meter and operator keys) and whose
inclusion in a signed checkpoint it checked, so "verified at sync" is a fact about this
store, not a fresh check. A fresh, portable inclusion proof for a court file comes from
the pluggable ``prove`` callable the main window supplies (the log client); offline it
is ``None`` and the panel says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QDate,
    QDateTime,
    QLocale,
    QStringListModel,
    Qt,
    QTimeZone,
    Signal,
    Slot,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QDateEdit,
    QDateTimeEdit,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.charging import queries
from app.views.log_names import entry_text
from app.views.table_models import CST, StoreReader, format_kwh, format_ms, format_yuan

Prover = Callable[[int], tuple[str, Sequence[str], bool]]
"""``prove(entry_index) -> (checkpoint text, proof hashes, verified)``, supplied by the
main window; it may block (network), so it runs on a worker thread."""

HANGZHOU = QTimeZone(8 * 3600)
OVERBILLED_STYLE = "background: #ffebee; color: #b71c1c; border: 1px solid #e57373;"
FAIR_STYLE = "background: #e8f5e9; color: #1b5e20; border: 1px solid #81c784;"
UNDERBILLED_STYLE = "background: #fff8e1; color: #8d6e00; border: 1px solid #ffd54f;"


def tr(text: str) -> str:
    return QCoreApplication.translate("SessionLookupView", text)


def _price(e4: int) -> str:
    """0.0001 yuan/kWh as "¥0.9000/kWh" (four decimals: the tariff's own precision)."""
    return f"¥{e4 // 10_000}.{e4 % 10_000:04d}/kWh"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class SessionLookupView(QWidget):
    """Find a session three ways; show record, bill, tariff, fair amount and proofs.

    Main-window API: :meth:`set_prover` (``None`` = offline), :meth:`show_entry` (from the
    pile detail's ``session_activated``), :meth:`lookup_session_id`,
    :meth:`lookup_pile_time`, :meth:`lookup_station_day`. Signals: ``detail_shown(entry)``,
    ``results_shown(count)``, ``pile_requested(pile_id, at_ms)`` when the user asks to see
    the session on the pile's plots.
    """

    detail_shown = Signal("qint64")  # an entry key: (log << 40) | index, beyond 32 bits
    results_shown = Signal(int)
    pile_requested = Signal(str, "qint64")
    proof_shown = Signal(int)

    RESULT_COLUMNS = 5

    def __init__(
        self, reader: StoreReader, prover: Prover | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._reader = reader
        self._prover = prover
        self._origins: dict[int, str] = {}
        self._generation = 0
        self.results: list[queries.SessionRef] = []
        self.detail: queries.SessionDetail | None = None

        search = self._build_search()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.result_table = QTableWidget(0, self.RESULT_COLUMNS)
        self.result_table.setHorizontalHeaderLabels(
            [tr("Session ID"), tr("Pile"), tr("Start"), tr("Stop"), tr("Energy")]
        )
        self.result_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.result_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.result_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.result_table.verticalHeader().hide()
        self.result_table.setWordWrap(False)
        self.result_table.setAlternatingRowColors(True)
        header = self.result_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.result_table.itemSelectionChanged.connect(self._on_result_selected)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(search)
        left_layout.addWidget(self.message)
        left_layout.addWidget(self.result_table, 1)

        self.detail_panel = self._build_detail()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.detail_panel)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([620, 980])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)
        self._show_detail(None)

    # ---- construction ----------------------------------------------------------------

    def _build_search(self) -> QGroupBox:
        box = QGroupBox(tr("Find a charging session"))
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(8)
        self.session_edit = QLineEdit()
        self.session_edit.setPlaceholderText(tr("Session ID from the receipt"))
        self.session_edit.returnPressed.connect(self._find_by_id)
        by_id = QPushButton(tr("Find"))
        by_id.clicked.connect(self._find_by_id)

        self.pile_edit = QLineEdit()
        self.pile_edit.setPlaceholderText(tr("Pile ID"))
        self.pile_time = QDateTimeEdit()
        self.pile_time.setTimeZone(HANGZHOU)
        self.pile_time.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.pile_time.setCalendarPopup(True)
        self.pile_time.setDateTime(QDateTime.currentDateTime(HANGZHOU))
        by_pile = QPushButton(tr("Find"))
        by_pile.clicked.connect(self._find_by_pile)

        self.station_edit = QLineEdit()
        self.station_edit.setPlaceholderText(tr("Station ID or name"))
        # "ST1  文三路快充站": typing part of a name finds the station; the ID is the first word
        self.station_model = QStringListModel([], self)
        self.station_completer = QCompleter(self.station_model, self.station_edit)
        self.station_completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.station_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.station_edit.setCompleter(self.station_completer)
        self._reader.submit(queries.stations_list, self._on_stations)
        self.station_day = QDateEdit()
        self.station_day.setDisplayFormat("yyyy-MM-dd")
        self.station_day.setCalendarPopup(True)
        self.station_day.setDate(QDate.currentDate())
        by_station = QPushButton(tr("Find"))
        by_station.clicked.connect(self._find_by_station)

        rows = [
            (tr("Session ID"), self.session_edit, None, by_id),
            (tr("Pile and time"), self.pile_edit, self.pile_time, by_pile),
            (tr("Station and day"), self.station_edit, self.station_day, by_station),
        ]
        for r, (caption, edit, when, button) in enumerate(rows):
            grid.addWidget(QLabel(caption), r, 0)
            if when is None:
                grid.addWidget(edit, r, 1, 1, 2)
            else:
                grid.addWidget(edit, r, 1)
                grid.addWidget(when, r, 2)
            grid.addWidget(button, r, 3)
        grid.setColumnStretch(1, 1)
        return box

    def _on_stations(self, stations: list[tuple[str, str]]) -> None:
        # One model for the view's lifetime: replacing it would delete the old one
        # under anyone holding it (the completer owns its model).
        self.station_model.setStringList([f"{sid}  {name}" for sid, name in stations])

    def _section(self, title: str) -> tuple[QGroupBox, QGridLayout]:
        box = QGroupBox(title)
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        return box, grid

    def _fields(self, grid: QGridLayout, items: list[tuple[str, str]], columns: int = 2) -> None:
        for i, (key, caption) in enumerate(items):
            row, col = i // columns, (i % columns) * 2
            cap = QLabel(caption)
            cap.setStyleSheet("color: #616161;")
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(cap, row, col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, col + 1)
            self.values[key] = value

    def _build_detail(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(4, 0, 4, 0)
        self.values: dict[str, QLabel] = {}

        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setMargin(10)
        font = QFont(self.verdict.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.verdict.setFont(font)
        layout.addWidget(self.verdict)

        record, grid = self._section(tr("Metering record (signed by the meter)"))
        self._fields(
            grid,
            [
                ("session_id", tr("Session ID")),
                ("entry_index", tr("Log entry")),
                ("pile_id", tr("Pile")),
                ("station_id", tr("Station")),
                ("meter_id", tr("Energy meter")),
                ("connector", tr("Connector")),
                ("start", tr("Start")),
                ("stop", tr("Stop")),
                ("start_wh", tr("Register at start")),
                ("stop_wh", tr("Register at stop")),
                ("energy", tr("Metered energy")),
                ("samples", tr("Power samples")),
            ],
        )
        self.open_pile_button = QPushButton(tr("Show on the pile's plots"))
        self.open_pile_button.clicked.connect(self._request_pile)
        grid.addWidget(self.open_pile_button, grid.rowCount(), 3, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(record)

        bill, grid = self._section(tr("Bill (signed by the operator)"))
        self._fields(
            grid,
            [
                ("billed_energy", tr("Billed energy")),
                ("energy_diff", tr("Billed − metered")),
                ("energy_fee", tr("Energy fee")),
                ("service_fee", tr("Service fee")),
                ("amount", tr("Amount charged")),
                ("bill_entry", tr("Log entry")),
                ("tariff_id", tr("Tariff named")),
                ("bill_count", tr("Bills for this session")),
            ],
        )
        layout.addWidget(bill)

        tariff, grid = self._section(tr("Tariff in force and fair amount"))
        self.values_tariff = QLabel()
        self.values_tariff.setWordWrap(True)
        grid.addWidget(self.values_tariff, 0, 0, 1, 4)
        self.tariff_table = QTableWidget(0, 5)
        self.tariff_table.setHorizontalHeaderLabels(
            [tr("Period"), tr("Energy price"), tr("Service price"), tr("Energy"), tr("Charge")]
        )
        self.tariff_table.verticalHeader().hide()
        self.tariff_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tariff_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tariff_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.tariff_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        grid.addWidget(self.tariff_table, 1, 0, 1, 4)
        start = grid.rowCount()
        items = [
            ("fair_energy", tr("Fair energy fee")),
            ("fair_service", tr("Fair service fee")),
            ("fair_amount", tr("Fair amount")),
            ("billed_amount", tr("Amount charged")),
        ]
        for i, (key, caption) in enumerate(items):
            row, col = start + i // 2, (i % 2) * 2
            cap = QLabel(caption)
            cap.setStyleSheet("color: #616161;")
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(cap, row, col, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(value, row, col + 1)
            self.values[key] = value
        note = QLabel(
            tr(
                "Fair amount: the metered energy split across time-of-use periods by the "
                "meter's power profile, priced at the posted energy and service prices, "
                "each fee rounded half up to the fen."
            )
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #616161;")
        grid.addWidget(note, grid.rowCount(), 0, 1, 4)
        layout.addWidget(tariff)

        sigs, grid = self._section(tr("Signatures and inclusion"))
        self.signature_label = QLabel()
        self.signature_label.setWordWrap(True)
        self.signature_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(self.signature_label, 0, 0, 1, 4)
        self.proof_button = QPushButton(tr("Fetch inclusion proofs"))
        self.proof_button.clicked.connect(self.fetch_proofs)
        self.proof_status = QLabel()
        self.proof_status.setWordWrap(True)
        grid.addWidget(self.proof_button, 1, 0)
        grid.addWidget(self.proof_status, 1, 1, 1, 3)
        self.proof_text = QPlainTextEdit()
        self.proof_text.setReadOnly(True)
        self.proof_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        mono.setPointSizeF(self.font().pointSizeF() * 0.9)
        self.proof_text.setFont(mono)
        self.proof_text.setMinimumHeight(self.fontMetrics().height() * 8)
        grid.addWidget(self.proof_text, 2, 0, 1, 4)
        layout.addWidget(sigs)
        layout.addStretch(1)
        return panel

    # ---- lookups ---------------------------------------------------------------------

    def set_prover(self, prover: Prover | None) -> None:
        """Installs the log client's proof function (None when offline)."""
        self._prover = prover
        self._update_proof_panel()

    def set_log_origins(self, origins: dict[int, str]) -> None:
        """Log numbers → origins (a store following several logs): entries are shown as
        their index in their log, named (`app.views.log_names`)."""
        self._origins = dict(origins)
        if self.detail is not None:
            self._show_detail(self.detail)

    @Slot()
    def _find_by_id(self) -> None:
        self.lookup_session_id(self.session_edit.text())

    @Slot()
    def _find_by_pile(self) -> None:
        at_ms = self.pile_time.dateTime().toMSecsSinceEpoch()
        self.lookup_pile_time(self.pile_edit.text(), at_ms)

    @Slot()
    def _find_by_station(self) -> None:
        qd = self.station_day.date()
        self.lookup_station_day(self.station_edit.text(), dt.date(qd.year(), qd.month(), qd.day()))

    def lookup_session_id(self, session_id: str) -> None:
        session_id = session_id.strip()
        self.session_edit.setText(session_id)
        if session_id:
            self._lookup(lambda conn: queries.sessions_by_id(conn, session_id))

    def lookup_pile_time(self, pile_id: str, at_ms: int) -> None:
        """Sessions of ``pile_id`` in progress at ``at_ms`` (Unix ms)."""
        pile_id = pile_id.strip()
        self.pile_edit.setText(pile_id)
        self.pile_time.setDateTime(QDateTime.fromMSecsSinceEpoch(at_ms, HANGZHOU))
        if pile_id:
            self._lookup(lambda conn: queries.sessions_at(conn, pile_id, at_ms))

    def lookup_station_day(self, station_id: str, day: dt.date) -> None:
        """Sessions started at the station on ``day`` (Hangzhou calendar day)."""
        station_id = (station_id.split() or [""])[0]  # "ST1  name" from the completer
        self.station_edit.setText(station_id)
        self.station_day.setDate(QDate(day.year, day.month, day.day))
        if station_id:
            self._lookup(lambda conn: queries.sessions_on_day(conn, station_id, day))

    def _lookup(self, fn: Callable[[Any], list[queries.SessionRef]]) -> None:
        self._generation += 1
        generation = self._generation
        self.message.setText(tr("Searching…"))
        self._reader.submit(
            fn,
            lambda refs: self._on_results(generation, refs),
            lambda exc: self._on_error(generation, exc),
        )

    def _on_error(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self.message.setText(tr("Lookup failed: %1").replace("%1", str(exc)))

    def _on_results(self, generation: int, refs: list[queries.SessionRef]) -> None:
        if generation != self._generation:
            return
        self.results = refs
        table = self.result_table
        table.blockSignals(True)
        table.setRowCount(len(refs))
        for row, ref in enumerate(refs):
            cells = [
                ref.session_id,
                ref.pile_id,
                format_ms(ref.start_ms),
                format_ms(ref.stop_ms),
                format_kwh(ref.energy_wh),
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 4:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                table.setItem(row, col, item)
        table.blockSignals(False)
        if not refs:
            self.message.setText(tr("No session found."))
        elif len(refs) == 1:
            self.message.setText(tr("One session found."))
        else:
            self.message.setText(
                tr("%1 sessions found; choose one.").replace("%1", QLocale().toString(len(refs)))
            )
        self.results_shown.emit(len(refs))
        if refs:
            table.selectRow(0)

    @Slot()
    def _on_result_selected(self) -> None:
        rows = self.result_table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.results):
            self.show_entry(self.results[rows[0].row()].entry_index)

    def show_entry(self, entry_index: int) -> None:
        """Shows the session logged at ``entry_index`` (e.g. clicked in the pile detail)."""
        self._generation += 1
        generation = self._generation
        self._reader.submit(
            lambda conn: queries.session_detail(conn, entry_index),
            lambda detail: self._on_detail(generation, detail),
            lambda exc: self._on_error(generation, exc),
        )

    def _on_detail(self, generation: int, detail: queries.SessionDetail) -> None:
        if generation != self._generation:
            return
        self._show_detail(detail)
        self._prefill_search(detail.session)
        self.detail_shown.emit(int(detail.session["entry_index"]))

    def _prefill_search(self, session: dict[str, Any]) -> None:
        """Fills the other search rows from the shown session, so the regulator can pivot
        ("what else happened at this pile / station that day") with one click."""
        start = int(session["start_ms"])
        self.session_edit.setText(str(session["session_id"]))
        self.pile_edit.setText(str(session["pile_id"]))
        self.pile_time.setDateTime(QDateTime.fromMSecsSinceEpoch(start, HANGZHOU))
        if session.get("station_id"):
            self.station_edit.setText(str(session["station_id"]))
        day = dt.datetime.fromtimestamp(start / 1000, CST).date()
        self.station_day.setDate(QDate(day.year, day.month, day.day))

    # ---- display ---------------------------------------------------------------------

    def _show_detail(self, detail: queries.SessionDetail | None) -> None:
        self.detail = detail
        self.proof_text.clear()
        self.detail_panel.setEnabled(detail is not None)
        if detail is None:
            for label in self.values.values():
                label.clear()
            self.verdict.setText(tr("Find a session to check its bill."))
            self.verdict.setStyleSheet("")
            self.values_tariff.clear()
            self.tariff_table.setRowCount(0)
            self.signature_label.clear()
            self._update_proof_panel()
            return
        s, v = detail.session, self.values
        v["session_id"].setText(str(s["session_id"]))
        v["entry_index"].setText(entry_text(s["entry_index"], self._origins))
        v["pile_id"].setText(str(s["pile_id"]))
        v["station_id"].setText(str(s["station_id"] or tr("unknown")))
        v["meter_id"].setText(str(s["meter_id"]))
        v["connector"].setText(str(s["connector"]))
        v["start"].setText(format_ms(s["start_ms"], seconds=True))
        v["stop"].setText(format_ms(s["stop_ms"], seconds=True))
        v["start_wh"].setText(format_kwh(s["start_wh"]))
        v["stop_wh"].setText(format_kwh(s["stop_wh"]))
        v["energy"].setText(format_kwh(s["energy_wh"]))
        v["samples"].setText(
            tr("%1 × %2 s")
            .replace("%1", str(len(s["power_w"])))
            .replace("%2", str(s["interval_s"]))
        )
        if detail.duplicates:
            v["session_id"].setText(
                tr("%1 (and %2 more entries with this ID)")
                .replace("%1", str(s["session_id"]))
                .replace("%2", str(detail.duplicates))
            )
        self._show_bill(detail)
        self._show_tariff(detail)
        self._show_verdict(detail)
        self._show_signatures(detail)
        self._update_proof_panel()

    def _show_bill(self, detail: queries.SessionDetail) -> None:
        v, bill = self.values, detail.bill
        v["bill_count"].setText(str(len(detail.billing)))
        if bill is None:
            for key in ("billed_energy", "energy_diff", "energy_fee", "service_fee", "amount"):
                v[key].setText("—")
            v["bill_entry"].setText(tr("no bill in the log"))
            v["tariff_id"].setText("—")
            return
        metered = int(detail.session["energy_wh"])
        diff = int(bill["billed_wh"]) - metered
        v["billed_energy"].setText(format_kwh(bill["billed_wh"]))
        pct = f" ({diff / metered * 100:+.2f} %)" if metered else ""
        v["energy_diff"].setText(f"{diff:+,d} Wh{pct}")
        v["energy_diff"].setStyleSheet("color: #b71c1c; font-weight: bold;" if diff > 0 else "")
        v["energy_fee"].setText(format_yuan(bill["energy_fen"]))
        v["service_fee"].setText(format_yuan(bill["service_fen"]))
        v["amount"].setText(format_yuan(bill["amount_fen"]))
        v["bill_entry"].setText(entry_text(bill["entry_index"], self._origins))
        named = str(bill["tariff_id"])
        if detail.tariff is not None and detail.tariff.tariff_id != named:
            named += "  " + tr("(differs from the tariff in force: %1)").replace(
                "%1", detail.tariff.tariff_id
            )
        v["tariff_id"].setText(named)

    def _show_tariff(self, detail: queries.SessionDetail) -> None:
        table, tariff, fair = self.tariff_table, detail.tariff, detail.fair
        v = self.values
        if tariff is None or fair is None:
            self.values_tariff.setText(tr("No posted tariff covers this session's start."))
            table.setRowCount(0)
            for key in ("fair_energy", "fair_service", "fair_amount"):
                v[key].setText("—")
            v["billed_amount"].setText(
                format_yuan(detail.bill["amount_fen"]) if detail.bill else "—"
            )
            return
        self.values_tariff.setText(
            tr("Tariff %1 of station %2, valid from %3 (log entry %4); times are Hangzhou time.")
            .replace("%1", tariff.tariff_id)
            .replace("%2", tariff.station_id)
            .replace("%3", format_ms(tariff.valid_from_ms))
            .replace("%4", entry_text(tariff.entry_index, self._origins))
        )
        table.setRowCount(len(fair.periods))
        self._fit_rows(table)
        for row, period in enumerate(fair.periods):
            cells = [
                f"{_hhmm(period.start_min)}–{_hhmm(period.end_min)}",
                _price(period.energy_e4),
                _price(period.service_e4),
                format_kwh(period.wh) if period.wh else "—",
                f"¥{period.fen / 100:.4f}" if period.wh else "—",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                align = Qt.AlignmentFlag.AlignRight if col else Qt.AlignmentFlag.AlignLeft
                item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
                if not period.wh:
                    item.setForeground(Qt.GlobalColor.gray)
                table.setItem(row, col, item)
        v["fair_energy"].setText(format_yuan(fair.energy_fen))
        v["fair_service"].setText(format_yuan(fair.service_fen))
        v["fair_amount"].setText(format_yuan(fair.amount_fen))
        v["fair_amount"].setStyleSheet("font-weight: bold;")
        v["billed_amount"].setText(format_yuan(detail.bill["amount_fen"]) if detail.bill else "—")

    @staticmethod
    def _fit_rows(table: QTableWidget) -> None:
        """Shows every tariff period without an inner scrollbar (the panel scrolls)."""
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        height = table.horizontalHeader().height() + rows + 2 * table.frameWidth() + 2
        table.setMinimumHeight(height)
        table.setMaximumHeight(height)

    def _show_verdict(self, detail: queries.SessionDetail) -> None:
        over = detail.overbilled_fen
        if detail.bill is None:
            text, style = tr("No bill for this session in the log."), UNDERBILLED_STYLE
        elif over is None:
            text, style = tr("No posted tariff: the bill cannot be checked."), UNDERBILLED_STYLE
        elif over > 0:
            text = (
                tr("Overbilled by %1: charged %2, fair amount %3.")
                .replace("%1", format_yuan(over))
                .replace("%2", format_yuan(detail.bill["amount_fen"]))
                .replace("%3", format_yuan(detail.fair.amount_fen if detail.fair else 0))
            )
            style = OVERBILLED_STYLE
        elif over < 0:
            text = tr("Charged %1 less than the fair amount.").replace("%1", format_yuan(-over))
            style = UNDERBILLED_STYLE
        else:
            text = tr("The bill matches the fair amount (%1).").replace(
                "%1", format_yuan(detail.bill["amount_fen"])
            )
            style = FAIR_STYLE
        self.verdict.setText(text)
        self.verdict.setStyleSheet(style)

    def _show_signatures(self, detail: queries.SessionDetail) -> None:
        meter = detail.meter_key_id or tr("unknown")
        if detail.bill is None:
            text = tr(
                "Metering record: verified at sync (meter key %1). There is no bill to check."
            ).replace("%1", meter)
        else:
            text = (
                tr("Verified at sync (meter key %1, operator key %2).")
                .replace("%1", meter)
                .replace("%2", detail.operator_key_id or tr("unknown"))
            )
        text += "\n" + tr(
            "This store only holds log entries whose signatures and inclusion in a signed "
            "checkpoint the sync verified; it does not re-check them here."
        )
        self.signature_label.setText(text)

    # ---- inclusion proofs ------------------------------------------------------------

    def _entries_to_prove(self) -> list[int]:
        if self.detail is None:
            return []
        entries = [int(self.detail.session["entry_index"])]
        if self.detail.bill is not None:
            entries.append(int(self.detail.bill["entry_index"]))
        return entries

    def _update_proof_panel(self) -> None:
        available = self._prover is not None
        self.proof_button.setEnabled(available and self.detail is not None)
        if not available:
            self.proof_status.setText(tr("Inclusion proofs are not available offline."))
            self.proof_status.setStyleSheet("color: #616161;")
        else:
            self.proof_status.setText(tr("Proofs are fetched from the log on request."))
            self.proof_status.setStyleSheet("")

    @Slot()
    def fetch_proofs(self) -> None:
        """Asks the log for inclusion proofs of the session and its bill (worker thread)."""
        prover, entries = self._prover, self._entries_to_prove()
        if prover is None or not entries:
            return
        generation = self._generation
        self.proof_status.setText(tr("Fetching proofs…"))

        def prove_all() -> list[tuple[int, str, Sequence[str], bool]]:
            return [(entry, *prover(entry)) for entry in entries]

        self._reader.submit_call(
            prove_all,
            lambda proofs: self._on_proofs(generation, proofs),
            lambda exc: self._on_proof_error(generation, exc),
        )

    def _on_proof_error(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self.proof_status.setText(tr("Proof failed: %1").replace("%1", str(exc)))
            self.proof_status.setStyleSheet("color: #b71c1c;")

    def _on_proofs(
        self, generation: int, proofs: list[tuple[int, str, Sequence[str], bool]]
    ) -> None:
        if generation != self._generation:
            return
        lines: list[str] = []
        all_ok = all(ok for *_, ok in proofs)
        for entry, checkpoint, hashes, ok in proofs:
            state = tr("verified") if ok else tr("FAILED")
            where = entry_text(entry, self._origins)
            lines.append(tr("Entry %1: %2").replace("%1", where).replace("%2", state))
            lines.append(checkpoint.rstrip("\n"))
            lines.extend(str(h) for h in hashes)
            lines.append("")
        self.proof_text.setPlainText("\n".join(lines))
        if all_ok:
            self.proof_status.setText(tr("All inclusion proofs verify against the checkpoint."))
            self.proof_status.setStyleSheet("color: #1b5e20; font-weight: bold;")
        else:
            self.proof_status.setText(tr("An inclusion proof does not verify."))
            self.proof_status.setStyleSheet("color: #b71c1c; font-weight: bold;")
        self.proof_shown.emit(len(proofs))

    @Slot()
    def _request_pile(self) -> None:
        if self.detail is not None:
            s = self.detail.session
            self.pile_requested.emit(str(s["pile_id"]), int(s["start_ms"]))
