"""The verification due list: overdue piles, piles due within 30/90 days, anomaly triggers.

Thin on purpose: :func:`app.models.charging.planning.due_list` computes everything (Qt-free) and
runs on the :class:`~app.views.table_models.StoreReader` pool; this widget shows the
rows, filters them (group, free text), exports CSV/XLSX (on the pool as well: a city's
list is 12k rows) and hands the checked piles to the work-order dialog through
:attr:`DueListView.create_order_requested`. Whether the "create work order" button is
enabled is the session's role, but the model layer checks again.

Two dates per pile, each with the rule set behind it: the certificate's validity (the
regulation's verification cycle) and the due date (Hangzhou's supervision policy, the
regulation, or an anomaly alert). Explanations come from the model as codes with
arguments and are translated here, so no English reaches the Chinese UI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.charging import planning
from app.models.charging.planning import Deadline, PileDue
from app.models.due_sources import DUE_SOURCES, DueRow, due_rows, write_csv
from app.models.users import Session
from app.views.table_models import StoreReader

AnyIndex = QModelIndex | QPersistentModelIndex


def tr(text: str) -> str:
    return QCoreApplication.translate("DueListView", text)


def reason_label(code: str) -> str:
    return {
        "first": tr("First verification missing"),
        "rotation": tr("Rotation period ends"),
        "failed": tr("Last verification failed"),
        "anomaly": tr("Anomaly: offline re-verification"),
        "expiry": tr("Certificate expires"),
        "manual": tr("Added by the regulator"),
        "reassigned": tr("Re-assigned"),
        # fuel dispensers (JJG 443) and taxi meters (JJG 517)
        "seal_open": tr("Seal opened (F08)"),
        "seal_broken": tr("Seal broken"),
        "expired": tr("Validity expired"),
        "expiring": tr("Validity ends soon"),
        "unverified": tr("Never verified"),
        "drift_suspected": tr("Drift suspected"),
    }.get(code, code)


def kind_label(kind: str) -> str:
    """An instrument kind's name in the UI language (literal tr() for the extractor)."""
    return {
        "charging": tr("Charging piles"),
        "fuel": tr("Fuel dispensers"),
        "taxi": tr("Taxi meters"),
    }.get(kind, kind)


def instrument_label(kind: str) -> str:
    """One instrument of a kind (a work order's item), where `kind_label` names the kind."""
    return {
        "charging": tr("Charging pile"),
        "fuel": tr("Fuel dispenser"),
        "taxi": tr("Taxi meter"),
    }.get(kind, kind)


def status_label(code: str) -> str:
    return {
        "overdue": tr("Overdue"),
        "due_30": tr("Due within 30 days"),
        "due_90": tr("Due within 90 days"),
        "ok": tr("Valid"),
    }.get(code, code)


def rule_label(code: str) -> str:
    """The rule set that set a date."""
    return {
        "regulation": tr("Regulation"),
        "supervision": tr("Supervision policy"),
        "anomaly": tr("Anomaly alert"),
    }.get(code, code)


def severity_label(code: str) -> str:
    return {
        "critical": tr("critical"),
        "high": tr("high"),
        "warning": tr("warning"),
    }.get(code, code)


def validity_label(years: int | None) -> str:
    if years is None:
        return ""
    return tr("Regulation cycle, {years} years").format(years=years)


def explanation(deadline: Deadline) -> str:
    """The deadline's explanation in the UI language (model codes -> literal templates)."""
    templates = {
        "no_meter": tr("no meter registered for the pile"),
        "no_certificate": tr("meter {meter}: no certificate"),
        "failed": tr("meter {meter}: verification {number} failed"),
        "certificate": tr("meter {meter}: certificate {number} of {date}"),
        "undated": tr("meter {meter}: certificate {number} has no date; from installation"),
        "anomaly": tr("{severity} anomaly {rule} (#{id})"),
        "alarm": tr("{severity} alarm {kind} (#{id})"),
    }
    template = templates.get(deadline.code)
    if template is None:
        return deadline.detail
    args = dict(deadline.args)
    if "severity" in args:
        args["severity"] = severity_label(args["severity"])
    try:
        return template.format(**args)
    except (KeyError, IndexError):  # a translation naming a field the model did not send
        return deadline.detail


STATUS_COLORS = {
    "overdue": QColor("#f8d7da"),
    "due_30": QColor("#ffe5c2"),
    "due_90": QColor("#fff6c8"),
}
TRIGGER_COLOR = QColor("#b42318")


class _CheckableRows(QAbstractTableModel):
    """A due list's table: ``rows`` under ``COLUMNS`` titled by ``headers()``, the first
    column checkable (the instruments picked for a work order)."""

    COLUMNS: tuple[str, ...] = ()
    rows: list[Any]

    def headers(self) -> list[str]:
        raise NotImplementedError

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers()[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else base


class DueListModel(_CheckableRows):
    """Rows of :class:`PileDue`; column 0 is checkable (piles for a work order)."""

    COLUMNS = (
        "pile",
        "station",
        "district",
        "kind",
        "valid",
        "valid_rule",
        "due",
        "due_rule",
        "days",
        "status",
        "reason",
        "detail",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[PileDue] = []
        self.checked: set[str] = set()

    def headers(self) -> list[str]:
        return [
            tr("Pile"),
            tr("Station"),
            tr("District"),
            tr("Type"),
            tr("Certificate valid until"),
            tr("Validity set by"),
            tr("Due date"),
            tr("Due date set by"),
            tr("Days left"),
            tr("Status"),
            tr("Reason"),
            tr("Detail"),
        ]

    def set_rows(self, rows: Sequence[PileDue]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.checked &= {r.pile_id for r in self.rows}
        self.endResetModel()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return {
                "due": row.due_date.toordinal(),
                "days": row.days_left,
                "valid": row.valid_until.toordinal() if row.valid_until else 0,
            }.get(column, self._text(row, column))
        if role == Qt.ItemDataRole.CheckStateRole and column == "pile":
            return Qt.CheckState.Checked if row.pile_id in self.checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.BackgroundRole and row.status in STATUS_COLORS:
            return QBrush(STATUS_COLORS[row.status])
        if role == Qt.ItemDataRole.ForegroundRole and column == "reason" and row.triggered:
            return QBrush(TRIGGER_COLOR)
        if role == Qt.ItemDataRole.ForegroundRole and column == "valid" and not self._valid(row):
            return QBrush(TRIGGER_COLOR)  # no valid certificate today, whatever the plan says
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("days", "due", "kind", "valid"):
            return Qt.AlignmentFlag.AlignCenter
        if role == Qt.ItemDataRole.ToolTipRole and column in ("reason", "detail", "due_rule"):
            return "\n".join(
                f"{d.due}  [{rule_label(d.rule)}] {reason_label(d.reason)}: {explanation(d)}"
                for d in row.deadlines
            )
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        pile_id = self.rows[index.row()].pile_id
        state = value.value if isinstance(value, Qt.CheckState) else value
        if state == Qt.CheckState.Checked.value:
            self.checked.add(pile_id)
        else:
            self.checked.discard(pile_id)
        self.dataChanged.emit(index, index, [role])
        return True

    @staticmethod
    def _valid(row: PileDue) -> bool:
        today = row.due_date - dt.timedelta(days=row.days_left)  # the register's "today"
        return row.valid_until is not None and row.valid_until >= today

    def _text(self, row: PileDue, column: str) -> str:
        if column == "pile":
            return row.pile_id
        if column == "station":
            return row.station_name
        if column == "district":
            return row.district
        if column == "kind":
            return row.kind
        if column == "valid":
            return row.valid_until.isoformat() if row.valid_until else tr("none valid")
        if column == "valid_rule":
            return validity_label(row.validity_years)
        if column == "due":
            return row.due_date.isoformat()
        if column == "due_rule":
            return rule_label(row.due_rule)
        if column == "days":
            return str(row.days_left)
        if column == "status":
            return status_label(row.status)
        if column == "reason":
            return reason_label(row.reason) + (
                " ⚠" if row.triggered and row.reason != "anomaly" else ""
            )
        return explanation(row.winner)


class KindDueModel(_CheckableRows):
    """Rows of the core's :class:`DueRow` for a kind other than charging (fuel
    dispensers, taxi meters); column 0 is checkable (instruments for a work order)."""

    COLUMNS = (
        "instrument",
        "extra",
        "site",
        "district",
        "operator",
        "valid",
        "due",
        "days",
        "status",
        "reason",
        "evidence",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = ""
        self.rows: list[DueRow] = []
        self.checked: set[str] = set()

    def headers(self) -> list[str]:
        ident, extra = {
            "fuel": (tr("Dispenser"), tr("Serial")),
            "taxi": (tr("Plate"), tr("Meter serial")),
        }.get(self.kind, (tr("Instrument"), tr("Serial")))
        site = {"fuel": tr("Fuel station"), "taxi": tr("Verification site")}.get(
            self.kind, tr("Station")
        )
        return [
            ident,
            extra,
            site,
            tr("District"),
            tr("Operator"),
            tr("Certificate valid until"),
            tr("Due date"),
            tr("Days left"),
            tr("Status"),
            tr("Reason"),
            tr("Evidence"),
        ]

    def set_rows(self, kind: str, rows: Sequence[DueRow]) -> None:
        self.beginResetModel()
        if kind != self.kind:
            self.checked = set()
        self.kind, self.rows = kind, list(rows)
        self.checked &= {r.instrument_id for r in self.rows}
        self.endResetModel()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.COLUMNS) - 1)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, column)
        if role == Qt.ItemDataRole.UserRole:  # sort key: the kind's own order by default
            if column in ("instrument", "status", "reason"):
                return f"{row.priority:02d} {index.row():07d}"
            if column in ("due", "valid", "days"):
                value = {"due": row.due_date, "valid": row.valid_until}.get(column)
                if column == "days":
                    return -(10**9) if row.days_left is None else row.days_left
                return value.toordinal() if value else 0
            return self.text(row, column)
        if role == Qt.ItemDataRole.CheckStateRole and column == "instrument":
            checked = row.instrument_id in self.checked
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.BackgroundRole and row.status in STATUS_COLORS:
            return QBrush(STATUS_COLORS[row.status])
        if role == Qt.ItemDataRole.ForegroundRole and column == "reason" and row.flagged:
            return QBrush(TRIGGER_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("days", "due", "valid"):
            return Qt.AlignmentFlag.AlignCenter
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        instrument = self.rows[index.row()].instrument_id
        state = value.value if isinstance(value, Qt.CheckState) else value
        if state == Qt.CheckState.Checked.value:
            self.checked.add(instrument)
        else:
            self.checked.discard(instrument)
        self.dataChanged.emit(index, index, [role])
        return True

    @staticmethod
    def text(row: DueRow, column: str) -> str:
        if column == "instrument":
            return row.instrument_id
        if column == "extra":
            return row.extra
        if column == "site":
            return row.site_name if row.site_id else tr("Summoned to the station")
        if column == "district":
            return row.district
        if column == "operator":
            return row.operator_id
        if column == "valid":
            return row.valid_until.isoformat() if row.valid_until else tr("none valid")
        if column == "due":
            return row.due_date.isoformat() if row.due_date else ""
        if column == "days":
            return "" if row.days_left is None else str(row.days_left)
        if column == "status":
            return status_label(row.status)
        if column == "reason":
            return reason_label(row.reason)
        return row.evidence


class _Filter(QSortFilterProxyModel):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.group: str | None = None
        self.text = ""
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, DueListModel | KindDueModel)
        row = model.rows[source_row]
        if isinstance(row, PileDue):
            flagged = row.triggered
            hay = f"{row.pile_id} {row.station_name} {row.district} {row.operator_id}"
        else:
            flagged = row.flagged
            hay = (
                f"{row.instrument_id} {row.extra} {row.site_name} {row.district} {row.operator_id}"
            )
        if self.group == "triggered" and not flagged:
            return False
        if self.group not in (None, "triggered") and row.status != self.group:
            return False
        if self.text:
            return self.text.lower() in hay.lower()
        return True


class DueListView(QWidget):
    """The due list with group filter, search, exports and "create work order"."""

    create_order_requested = Signal(object, object)
    """Checked instruments and their reasons for the work-order dialog: pile IDs and
    ``{pile: (reason, ISO due date)}`` for charging, ``(kind, ID)`` pairs and
    ``{(kind, ID): (reason, ISO due date or None)}`` for the other kinds."""
    status_message = Signal(str)
    pile_activated = Signal(str)
    """Double-click on a row: the main window opens the pile detail."""
    instrument_activated = Signal(str, str)
    """Double-click on a row of another kind: (kind, instrument ID)."""

    def __init__(
        self,
        reader: StoreReader,
        session: Session | None = None,
        parent: QWidget | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        super().__init__(parent)
        self.reader, self.session = reader, session
        self._today = today
        self._generation = 0
        self.model = DueListModel(self)
        self.proxy = _Filter(self)
        self.proxy.setSourceModel(self.model)
        self.kind_model = KindDueModel(self)
        self.kind_proxy = _Filter(self)
        self.kind_proxy.setSourceModel(self.kind_model)

        self.kind = QComboBox()
        for name in DUE_SOURCES:  # charging first: the composition root registers it first
            self.kind.addItem(kind_label(name), name)

        self.group = QComboBox()
        # Literal tr() calls, so the extractor sees every label.
        self.group.addItem(tr("All due"), None)
        self.group.addItem(tr("Overdue"), "overdue")
        self.group.addItem(tr("Due within 30 days"), "due_30")
        self.group.addItem(tr("Due within 90 days"), "due_90")
        self.group.addItem(tr("Triggered by anomalies"), "triggered")
        self.search = QLineEdit(placeholderText=tr("Search pile, station, district…"))
        self.summary = QLabel()
        self.export_csv_button = QPushButton(tr("Export CSV…"))
        self.export_xlsx_button = QPushButton(tr("Export Excel…"))
        self.order_button = QPushButton(tr("Create work order…"))
        self.order_button.setEnabled(bool(session and session.can("workorders.edit")))
        if not self.order_button.isEnabled():
            self.order_button.setToolTip(tr("Only regulators create work orders"))
        bar = QHBoxLayout()
        bar.addWidget(self.kind)
        bar.addWidget(QLabel(tr("Show")))
        bar.addWidget(self.group)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.export_csv_button)
        bar.addWidget(self.export_xlsx_button)
        bar.addWidget(self.order_button)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(DueListModel.COLUMNS.index("due"), Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((100, 160, 70, 50, 150, 190, 100, 130, 70, 110, 170)):
            self.table.setColumnWidth(column, width)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.group.currentIndexChanged.connect(self._refilter)
        self.search.textChanged.connect(self._refilter)
        self.export_csv_button.clicked.connect(lambda: self._ask_export("csv"))
        self.export_xlsx_button.clicked.connect(lambda: self._ask_export("xlsx"))
        self.order_button.clicked.connect(self._request_order)
        self.table.doubleClicked.connect(self._activated)

    @property
    def today(self) -> dt.date:
        return self._today or dt.datetime.now(planning.CST).date()

    @property
    def current_kind(self) -> str:
        return str(self.kind.currentData() or "charging")

    def set_kind(self, kind: str) -> None:
        """Shows one kind's due list (``charging``, ``fuel``, ``taxi``)."""
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))

    @Slot()
    def _kind_changed(self) -> None:
        charging = self.current_kind == "charging"
        proxy = self.proxy if charging else self.kind_proxy
        if self.table.model() is not proxy:
            self.table.setModel(proxy)
            columns = DueListModel.COLUMNS if charging else KindDueModel.COLUMNS
            first = "due" if charging else "instrument"
            self.table.sortByColumn(columns.index(first), Qt.SortOrder.AscendingOrder)
            widths = (
                (100, 160, 70, 50, 150, 190, 100, 130, 70, 110, 170)
                if charging
                else (110, 110, 150, 70, 70, 150, 100, 70, 130, 170)
            )
            for column, width in enumerate(widths):
                self.table.setColumnWidth(column, width)
        self.export_xlsx_button.setEnabled(charging)
        self.search.setPlaceholderText(
            tr("Search pile, station, district…")
            if charging
            else tr("Search instrument, serial, station, company…")
        )
        self._refilter()
        self.refresh()

    def refresh(self) -> None:
        """Re-reads the shown kind's due list on the reader's pool (call after a sync)."""
        self._generation += 1
        generation, today, kind = self._generation, self.today, self.current_kind
        if kind == "charging":
            self.reader.submit(
                lambda conn: planning.due_list(conn, today),
                lambda rows: self._loaded(generation, rows),
                lambda exc: self.status_message.emit(str(exc)),
            )
            return
        self.reader.submit(
            lambda conn: due_rows(conn, kind, today),
            lambda rows: self._kind_loaded(generation, kind, rows),
            lambda exc: self.status_message.emit(str(exc)),
        )

    def _loaded(self, generation: int, rows: list[PileDue]) -> None:
        if generation != self._generation:
            return
        self.model.set_rows(rows)
        self._update_summary()

    def _kind_loaded(self, generation: int, kind: str, rows: list[DueRow]) -> None:
        if generation != self._generation:
            return
        self.kind_model.set_rows(kind, rows)
        self._update_summary()

    def _update_summary(self) -> None:
        charging = self.current_kind == "charging"
        rows: Sequence[PileDue | DueRow] = self.model.rows if charging else self.kind_model.rows
        checked_count = len(self.model.checked if charging else self.kind_model.checked)
        counts = {
            key: sum(1 for r in rows if r.status == key) for key in ("overdue", "due_30", "due_90")
        }
        triggered = sum(1 for r in rows if (r.triggered if isinstance(r, PileDue) else r.flagged))
        text = tr("{overdue} overdue · {due30} due ≤30 d · {due90} ≤90 d · {triggered} anomaly")
        checked = tr("{checked} checked")
        self.summary.setText(
            text.format(
                overdue=counts["overdue"],
                due30=counts["due_30"],
                due90=counts["due_90"],
                triggered=triggered,
            )
            + " · "
            + checked.format(checked=checked_count)
        )

    @Slot()
    def _refilter(self) -> None:
        for proxy in (self.proxy, self.kind_proxy):
            proxy.group = self.group.currentData()
            proxy.text = self.search.text().strip()
            proxy.invalidate()

    def visible_rows(self) -> list[PileDue]:
        """The charging rows as filtered (what the CSV/Excel export writes)."""
        return [
            self.model.rows[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
            for r in range(self.proxy.rowCount())
        ]

    def set_checked(self, pile_ids: Sequence[str]) -> None:
        if self.current_kind != "charging":
            self.kind_model.checked = set(pile_ids) & {
                r.instrument_id for r in self.kind_model.rows
            }
            self.kind_model.dataChanged.emit(
                self.kind_model.index(0, 0),
                self.kind_model.index(self.kind_model.rowCount() - 1, 0),
            )
            self._update_summary()
            return
        self.model.checked = set(pile_ids) & {r.pile_id for r in self.model.rows}
        self.model.dataChanged.emit(
            self.model.index(0, 0), self.model.index(self.model.rowCount() - 1, 0)
        )
        self._update_summary()

    def _ask_export(self, kind: str) -> None:
        pattern = tr("CSV (*.csv)") if kind == "csv" else tr("Excel (*.xlsx)")
        name, _ = QFileDialog.getSaveFileName(
            self, tr("Export due list"), f"due-{self.today.isoformat()}.{kind}", pattern
        )
        if name:
            self.export(Path(name), kind)

    def visible_kind_rows(self) -> list[DueRow]:
        """The shown kind's rows as filtered and sorted (not charging)."""
        proxy = self.kind_proxy
        return [
            self.kind_model.rows[proxy.mapToSource(proxy.index(r, 0)).row()]
            for r in range(proxy.rowCount())
        ]

    def export(self, path: Path, kind: str) -> None:
        """Writes the visible rows (as filtered) on the pool; reports in the status bar.
        Fuel and taxi lists are written as shown (CSV, the UI's language)."""
        if self.current_kind != "charging":
            shown = self.visible_kind_rows()
            header = self.kind_model.headers()
            table = [[KindDueModel.text(r, c) for c in KindDueModel.COLUMNS] for r in shown]
            self.reader.submit_call(
                lambda: write_csv(path, header, table),
                lambda _none: self.status_message.emit(
                    tr("Exported {n} rows to {path}").format(n=len(shown), path=path)
                ),
                lambda exc: self.status_message.emit(str(exc)),
            )
            return
        rows = self.visible_rows()
        lang = "en" if QCoreApplication.translate("DueListView", "Overdue") == "Overdue" else "zh"
        writer = planning.export_csv if kind == "csv" else planning.export_xlsx
        self.reader.submit_call(
            lambda: writer(rows, path, lang=lang),
            lambda _none: self.status_message.emit(
                tr("Exported {n} rows to {path}").format(n=len(rows), path=path)
            ),
            lambda exc: self.status_message.emit(str(exc)),
        )

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        if self.current_kind != "charging":
            other = self.kind_model.rows[self.kind_proxy.mapToSource(index).row()]
            self.instrument_activated.emit(other.kind, other.instrument_id)
            return
        row = self.model.rows[self.proxy.mapToSource(index).row()]
        self.pile_activated.emit(row.pile_id)

    @Slot()
    def _request_order(self) -> None:
        if self.current_kind != "charging":
            picked = [r for r in self.kind_model.rows if r.instrument_id in self.kind_model.checked]
            if not picked:
                self.status_message.emit(tr("Check the instruments to put on the work order first"))
                return  # the kind's order is its urgency: keep it
            self.create_order_requested.emit(
                [r.key for r in picked],
                {r.key: (r.reason, r.due_date.isoformat() if r.due_date else None) for r in picked},
            )
            return
        chosen = [r for r in self.model.rows if r.pile_id in self.model.checked]
        if not chosen:
            self.status_message.emit(tr("Check the piles to put on the work order first"))
            return
        chosen.sort(key=lambda r: (r.due_date, r.pile_id))  # the most urgent station first
        self.create_order_requested.emit(
            [r.pile_id for r in chosen],
            {r.pile_id: (r.reason, r.due_date.isoformat()) for r in chosen},
        )
