"""Work orders: the list (inspectors see their own), the selected order's route, and the
dialog that turns checked due piles into an order.

Everything that touches the store runs on the :class:`StoreReader` pool through
``app.models.workorders`` (which also enforces the roles); the widgets show results.
"Take offline" asks for a file name and emits :attr:`WorkOrdersView.export_requested`:
the main window runs :func:`app.models.field_package.export_field_package` on a worker
with its log client (the export fetches inclusion proofs over the network).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models import users as users_model
from app.models import workorders as wo
from app.models.field_package import FieldUploadReport
from app.models.store import Store
from app.models.users import Session
from app.views.due_list import instrument_label, kind_label, reason_label
from app.views.table_models import StoreReader

AnyIndex = QModelIndex | QPersistentModelIndex
DONE_COLOR = QColor("#d9f2e0")


def tr(text: str) -> str:
    return QCoreApplication.translate("WorkOrdersView", text)


def state_label(state: str) -> str:
    return {"open": tr("Open"), "done": tr("Closed"), "cancelled": tr("Cancelled")}.get(
        state, state
    )


def format_minutes(minutes: int) -> str:
    return (
        tr("{h} h {m} min").format(h=minutes // 60, m=minutes % 60)
        if minutes >= 60
        else tr("{m} min").format(m=minutes)
    )


class _Table(QAbstractTableModel):
    """A read-only table of rows given as lists of display values."""

    def __init__(self, headers: Callable[[], list[str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._headers = headers
        self.rows: list[list[Any]] = []
        self.keys: list[Any] = []
        self.done: list[bool] = []

    def set_rows(
        self, rows: list[list[Any]], keys: list[Any], done: list[bool] | None = None
    ) -> None:
        self.beginResetModel()
        self.rows, self.keys = rows, keys
        self.done = done or [False] * len(rows)
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers())

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers()[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.BackgroundRole and self.done[index.row()]:
            return QBrush(DONE_COLOR)
        return None


def _table(model: QAbstractTableModel, widths: Sequence[int]) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)
    return view


class WorkOrdersView(QWidget):
    """Orders visible to the session, and the route of the selected one."""

    export_requested = Signal(int, str)
    """Order ID and the chosen package file name."""
    upload_requested = Signal()
    """The inspector asks to upload the queued results (the window runs it on a worker)."""
    release_requested = Signal(str)
    """Upload this held-back verification ID despite the conflict."""
    verify_requested = Signal(str, str)
    """(kind, instrument ID) of the selected item: the window opens that kind's wizard."""
    status_message = Signal(str)

    def __init__(
        self, reader: StoreReader, session: Session, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.reader, self.session = reader, session
        self._generation = 0
        self.orders: list[wo.OrderSummary] = []
        self.orders_model = _Table(
            lambda: [
                tr("No."),
                tr("Title"),
                tr("Inspector"),
                tr("State"),
                tr("Progress"),
                tr("Estimated time"),
                tr("Travel"),
            ],
            self,
        )
        self.items_model = _Table(
            lambda: [
                tr("#"),
                tr("Kind"),
                tr("Instrument"),
                tr("Site"),
                tr("Reason"),
                tr("Due date"),
                tr("Done"),
            ],
            self,
        )
        self.items: list[wo.OrderItem] = []
        self.orders_table = _table(self.orders_model, (60, 220, 90, 70, 80, 110))
        self.items_table = _table(self.items_model, (40, 120, 120, 220, 170, 100))
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.progress = QProgressBar()
        self.progress.setFormat(tr("%v of %m instruments verified"))
        self.estimate = QLabel()
        self.offline_button = QPushButton(tr("Take offline…"))
        self.offline_button.setEnabled(False)
        self.offline_button.setVisible(session.can("package.export"))
        self.upload_button = QPushButton(tr("Upload results"))
        self.upload_button.setVisible(session.can("results.upload"))
        self.conflicts = QListWidget()
        self.conflicts.setVisible(False)
        self.conflicts.setMaximumHeight(110)
        self.conflicts.setStyleSheet("color: #b42318;")
        self.release_button = QPushButton(tr("Upload anyway"))
        self.release_button.setVisible(False)
        self.upload_status = QLabel()
        self.verify_button = QPushButton(tr("Verify selected item…"))
        self.verify_button.setEnabled(False)
        self.verify_button.setToolTip(
            tr("Opens the verification wizard of the item's kind with the item chosen")
        )

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.estimate)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.items_table, 1)
        right_layout.addWidget(self.conflicts)
        buttons = QHBoxLayout()
        buttons.addWidget(self.upload_status, 1)
        buttons.addWidget(self.release_button)
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.upload_button)
        buttons.addWidget(self.offline_button)
        right_layout.addLayout(buttons)

        split = QSplitter()
        split.addWidget(self.orders_table)
        split.addWidget(right)
        split.setSizes([760, 840])
        heading = QLabel(
            tr("All work orders") if session.can("workorders.view_all") else tr("My work orders")
        )
        heading.setStyleSheet("font-size: 16px; font-weight: 600;")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(split, 1)

        self.orders_table.selectionModel().currentRowChanged.connect(self._order_selected)
        self.offline_button.clicked.connect(self._ask_offline)
        self.upload_button.clicked.connect(self.upload_requested)
        self.release_button.clicked.connect(self._release)
        self.items_table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.verify_button.setEnabled(current.isValid())
        )
        self.verify_button.clicked.connect(self._verify_selected)

    def refresh(self) -> None:
        self._generation += 1
        generation, session = self._generation, self.session
        self.reader.submit(
            lambda conn: wo.list_orders(conn, session),
            lambda orders: self._orders_loaded(generation, orders),
            lambda exc: self.status_message.emit(str(exc)),
        )

    def _orders_loaded(self, generation: int, orders: list[wo.OrderSummary]) -> None:
        if generation != self._generation:
            return
        self.orders = orders
        self.orders_model.set_rows(
            [
                [
                    o.id,
                    o.title,
                    o.inspector,
                    state_label(o.state),
                    f"{o.done}/{o.piles}",
                    format_minutes(o.estimated_min),
                    f"{o.travel_m / 1000:.1f} km",
                ]
                for o in orders
            ],
            [o.id for o in orders],
            [o.piles > 0 and o.done == o.piles for o in orders],
        )
        if orders:
            self.orders_table.selectRow(0)

    @Slot(QModelIndex, QModelIndex)
    def _order_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        order = self.orders[current.row()]
        self.title.setText(tr("Work order {id}: {title}").format(id=order.id, title=order.title))
        self.estimate.setText(
            tr("Items: {n} · estimated {time} (verification time + {km} km at 30 km/h)").format(
                n=order.piles,
                time=format_minutes(order.estimated_min),
                km=f"{order.travel_m / 1000:.1f}",
            )
        )
        self.progress.setMaximum(max(order.piles, 1))
        self.progress.setValue(order.done)
        self.offline_button.setEnabled(order.state == "open")
        session, order_id = self.session, order.id
        self.reader.submit(
            lambda conn: wo.order_items(conn, session, order_id),
            self._items_loaded,
            lambda exc: self.status_message.emit(str(exc)),
        )

    def _items_loaded(self, items: list[wo.OrderItem]) -> None:
        self.items = items
        self.verify_button.setEnabled(False)
        self.items_model.set_rows(
            [
                [
                    i.seq,
                    instrument_label(i.kind),
                    i.pile_id,
                    i.station_name if i.station_id else tr("Summon to the verification station"),
                    reason_label(i.reason),
                    i.due_date or "",
                    tr("Verified") if i.done else "",
                ]
                for i in items
            ],
            [i.pile_id for i in items],
            [i.done for i in items],
        )

    @Slot()
    def _verify_selected(self) -> None:
        index = self.items_table.currentIndex()
        if index.isValid():
            item = self.items[index.row()]
            self.verify_requested.emit(item.kind, item.pile_id)

    def show_upload_report(self, report: FieldUploadReport) -> None:
        """Shows what an upload did; conflicts stay listed until released or re-uploaded."""
        parts = [
            tr("{n} uploaded").format(n=len(report.uploaded) + len(report.already_there)),
            tr("{n} waiting").format(n=report.pending),
        ]
        if report.offline:
            parts.append(tr("platform unreachable"))
        if report.rejected:
            parts.append(tr("{n} refused").format(n=len(report.rejected)))
        self.upload_status.setText(" · ".join(parts))
        self.conflicts.clear()
        for conflict in report.conflicts:
            where = (
                tr("work order {id}").format(id=conflict.current_order)
                if conflict.current_order
                else tr("no open work order")
            )
            item = QListWidgetItem(
                tr(
                    "Pile {pile} was moved to {where} while you were offline: {vid} not uploaded"
                ).format(pile=conflict.pile_id, where=where, vid=conflict.entry_id)
            )
            item.setData(Qt.ItemDataRole.UserRole, conflict.entry_id)
            self.conflicts.addItem(item)
        has = bool(report.conflicts)
        self.conflicts.setVisible(has)
        self.release_button.setVisible(has)
        if has:
            self.conflicts.setCurrentRow(0)

    @Slot()
    def _release(self) -> None:
        item = self.conflicts.currentItem()
        if item is not None:
            self.release_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def selected_order(self) -> int | None:
        index = self.orders_table.currentIndex()
        return self.orders[index.row()].id if index.isValid() else None

    @Slot()
    def _ask_offline(self) -> None:
        order_id = self.selected_order()
        if order_id is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self,
            tr("Take work order offline"),
            f"work-order-{order_id}.sqlite",
            tr("Field package (*.sqlite)"),
        )
        if name:
            self.export_requested.emit(order_id, name)


class CreateWorkOrderDialog(QDialog):
    """Pick an inspector for the checked instruments; shows the planned route (and the
    taxis to summon) and the time first. ``pile_ids``: pile IDs or ``(kind, ID)`` pairs."""

    def __init__(
        self,
        store: Store,
        reader: StoreReader,
        session: Session,
        pile_ids: Sequence[str | tuple[str, str]],
        reasons: Mapping[Any, tuple[str, str | None]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("New work order"))
        self.store, self.reader, self.session = store, reader, session
        self.pile_ids, self.reasons = list(pile_ids), dict(reasons or {})
        self.order_id: int | None = None
        self.inspector = QComboBox()
        self.title_edit = QLineEdit()
        self.route = QListWidget()
        self.estimate = QLabel()
        self.error = QLabel()
        self.error.setStyleSheet("color: #b42318;")
        form = QFormLayout()
        form.addRow(tr("Inspector"), self.inspector)
        form.addRow(tr("Title"), self.title_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Create"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(tr("Route (nearest station next):")))
        layout.addWidget(self.route, 1)
        layout.addWidget(self.estimate)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._create)
        self.buttons.rejected.connect(self.reject)
        self.setMinimumSize(560, 460)
        self.reader.submit(self._load, self._loaded, lambda exc: self.error.setText(str(exc)))

    def _load(self, conn: Any) -> tuple[list[tuple[str, str]], wo.Route]:
        return users_model.inspectors(conn), wo.route_for_items(conn, self.pile_ids)

    def _loaded(self, result: tuple[list[tuple[str, str]], wo.Route]) -> None:
        inspectors, route = result
        for username, display in inspectors:
            self.inspector.addItem(f"{display} ({username})", username)
        for n, stop in enumerate(route.stops, 1):
            piles = ", ".join(stop.pile_ids)
            if n == 1:
                text = tr("{n}. {station} — {piles} (start)").format(
                    n=n, station=stop.name, piles=piles
                )
            else:
                text = tr("{n}. {station} — {piles} (+{km} km)").format(
                    n=n, station=stop.name, piles=piles, km=f"{stop.travel_m / 1000:.1f}"
                )
            self.route.addItem(text)
        if route.summoned:
            self.route.addItem(
                tr("Summon to the verification station: {items}").format(
                    items=", ".join(f"{i} ({kind_label(k)})" for k, i in route.summoned)
                )
            )
        self.estimate.setText(
            tr("Items: {n} · estimated {time}").format(
                n=route.pile_count, time=format_minutes(route.estimated_min)
            )
        )

    @Slot()
    def _create(self) -> None:
        inspector = self.inspector.currentData()
        if not inspector:
            self.error.setText(tr("Choose an inspector"))
            return
        title = self.title_edit.text().strip()

        def create() -> int:
            with self.store.transaction() as conn:
                return wo.create_work_order(
                    conn, self.session, self.pile_ids, inspector, title=title, reasons=self.reasons
                )

        self.buttons.setEnabled(False)
        self.reader.submit_call(create, self._created, self._failed)

    def _created(self, order_id: int) -> None:
        self.order_id = order_id
        self.accept()

    def _failed(self, exc: Exception) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(str(exc))
