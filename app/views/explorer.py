"""The registry explorer: operators, stations and piles of the city in paged tables.

A filter bar (text, operator, district, type, status) drives three
:class:`~app.views.table_models.PagedListModel` tables; each filter is applied in SQL
to the lists that have that column. Drilling down is a double-click: an operator shows
its stations, a station its piles, a pile emits :attr:`ExplorerView.pile_activated` for
the main window to open the pile detail. All reads go through the shared
:class:`~app.views.table_models.StoreReader`, so the GUI thread never waits on SQL.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QLocale, QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.models.charging import queries
from app.views.table_models import PagedListModel, StoreReader, status_label

FILTER_DELAY_MS = 250
"""Typing pauses this long before the lists re-query (one query per word, not per key)."""

COLUMN_WIDTHS = {
    "operator_id": 110,
    "name": 220,
    "credit_code": 190,
    "stations": 80,
    "piles": 80,
    "station_id": 110,
    "station": 200,
    "operator": 160,
    "district": 90,
    "address": 260,
    "pile_id": 150,
    "kind": 60,
    "rated_power_w": 100,
    "status": 110,
    "commissioned_ms": 110,
}
STRETCH_COLUMN = {"operators": "name", "stations": "address", "piles": "operator"}


def tr(text: str) -> str:
    return QCoreApplication.translate("ExplorerView", text)


class RegistryTable(QTableView):
    """A table tuned for a paged model: fixed row heights, SQL sorting, no word wrap."""

    def __init__(self, model: PagedListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 10)
        vertical.hide()
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, name in enumerate(model.spec.columns):
            self.setColumnWidth(column, COLUMN_WIDTHS.get(name, 120))
        stretch = STRETCH_COLUMN.get(model.spec.name)
        if stretch is not None:
            # a text column takes the spare width, so counts stay next to their labels
            header.setStretchLastSection(False)
            column = model.spec.columns.index(stretch)
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.setSortIndicatorShown(True)
        header.sortIndicatorChanged.connect(self._on_sort_indicator)
        self._sorted_by = (0, Qt.SortOrder.AscendingOrder)

    @property
    def paged_model(self) -> PagedListModel:
        model = self.model()
        assert isinstance(model, PagedListModel)
        return model

    @Slot(int, Qt.SortOrder)
    def _on_sort_indicator(self, column: int, order: Qt.SortOrder) -> None:
        if not self.paged_model.is_sortable(column):
            # a name or count column: the indicator stays where the SQL sort is
            header = self.horizontalHeader()
            header.blockSignals(True)
            header.setSortIndicator(*self._sorted_by)
            header.blockSignals(False)
            return
        self._sorted_by = (column, order)
        self.paged_model.sort(column, order)


class ExplorerView(QWidget):
    """Operators, stations and piles with one filter bar.

    Signals for the main window: ``pile_activated(pile_id)`` on a double-clicked pile;
    ``station_activated`` / ``operator_activated`` when the user drills down (the view
    already filters itself; the window may also centre the map). Call :meth:`refresh`
    after a sync that changed the registry or statuses.
    """

    pile_activated = Signal(str)
    station_activated = Signal(str)
    operator_activated = Signal(str)

    LISTS = ("piles", "stations", "operators")

    def __init__(self, reader: StoreReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self._station_name: dict[str, str] = {}
        self.models: dict[str, PagedListModel] = {
            name: PagedListModel(reader, name, self) for name in self.LISTS
        }
        self.tables: dict[str, RegistryTable] = {}

        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText(tr("Search ID, name or address"))
        self.search.setMinimumWidth(240)
        self.operator_box = QComboBox()
        self.district_box = QComboBox()
        self.kind_box = QComboBox()
        self.status_box = QComboBox()
        for box in (self.operator_box, self.district_box, self.kind_box, self.status_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.setMinimumWidth(110)
        self._fill_static_boxes()
        self.station_chip = QToolButton()
        self.station_chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.station_chip.setToolTip(tr("Show piles of every station"))
        self.station_chip.hide()
        self.station_chip.clicked.connect(self.clear_station)
        self.reset_button = QPushButton(tr("Reset"))
        self.reset_button.clicked.connect(self.reset_filters)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.search, 2)
        bar = QHBoxLayout()  # second row: the filters, so the dock stays narrow
        bar.setContentsMargins(0, 0, 0, 0)
        for label, box in (
            (tr("Operator"), self.operator_box),
            (tr("District"), self.district_box),
            (tr("Type"), self.kind_box),
            (tr("Status"), self.status_box),
        ):
            caption = QLabel(label)
            caption.setBuddy(box)
            bar.addSpacing(6)
            bar.addWidget(caption)
            bar.addWidget(box)
        bar.addSpacing(6)
        top.addWidget(self.station_chip)
        top.addStretch(1)
        top.addWidget(self.reset_button)
        bar.addStretch(1)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        titles = {"piles": tr("Piles"), "stations": tr("Stations"), "operators": tr("Operators")}
        for name in self.LISTS:
            table = RegistryTable(self.models[name])
            # activated = double-click, or Enter on the keyboard
            table.activated.connect(lambda index, n=name: self._on_activated(n, index))
            self.tables[name] = table
            self.tabs.addTab(table, titles[name])
            self.models[name].loaded.connect(lambda count, n=name: self._on_loaded(n, count))
        self.tabs.currentChanged.connect(lambda _: self._update_count_label())
        self.count_label = QLabel()
        self.count_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.count_label)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _: self._filter_timer.start())
        for box in (self.operator_box, self.district_box, self.kind_box, self.status_box):
            box.currentIndexChanged.connect(lambda _: self.apply_filters())
        self.refresh()

    # -- filter state --

    def _fill_static_boxes(self) -> None:
        self.operator_box.addItem(tr("All operators"), None)
        self.district_box.addItem(tr("All districts"), None)
        self.kind_box.addItem(tr("All types"), None)
        self.kind_box.addItem(tr("AC"), "AC")
        self.kind_box.addItem(tr("DC"), "DC")
        self.status_box.addItem(tr("All statuses"), None)

    def _station_filter(self) -> str | None:
        value = self.station_chip.property("station_id")
        return str(value) if value else None

    def current_filter(self) -> queries.ListFilter:
        """The filter bar's state as the Qt-free filter the queries take."""
        return queries.ListFilter(
            text=self.search.text().strip(),
            operator_id=self.operator_box.currentData(),
            station_id=self._station_filter(),
            district=self.district_box.currentData(),
            kind=self.kind_box.currentData(),
            status=self.status_box.currentData(),
        )

    @Slot()
    def apply_filters(self) -> None:
        """Pushes the bar's filter into every list (each uses the fields it has)."""
        self._filter_timer.stop()
        flt = self.current_filter()
        for model in self.models.values():
            model.set_filter(flt)

    @Slot()
    def reset_filters(self) -> None:
        boxes = (self.operator_box, self.district_box, self.kind_box, self.status_box)
        for box in boxes:
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._set_station(None)
        self.apply_filters()

    def set_operator(self, operator_id: str | None) -> None:
        index = max(0, self.operator_box.findData(operator_id)) if operator_id else 0
        self.operator_box.setCurrentIndex(index)  # applies through currentIndexChanged
        self.apply_filters()

    def _set_station(self, station_id: str | None, name: str | None = None) -> None:
        self.station_chip.setProperty("station_id", station_id or "")
        if station_id:
            shown = name or station_id
            self.station_chip.setText(tr("Station: %1  ×").replace("%1", shown))
            self.station_chip.show()
        else:
            self.station_chip.hide()

    def set_station(self, station_id: str | None, name: str | None = None) -> None:
        """Shows the piles of one station (a removable chip in the filter bar)."""
        self._set_station(station_id, name)
        self.apply_filters()

    @Slot()
    def clear_station(self) -> None:
        self.set_station(None)

    def show_list(self, name: str) -> None:
        self.tabs.setCurrentIndex(self.LISTS.index(name))

    # -- loading --

    @Slot()
    def refresh(self) -> None:
        """Reloads filter choices and re-counts every list (after a sync changed them)."""

        def choices(conn: Any) -> tuple[list[tuple[str, str]], list[str], list[str]]:
            return (
                queries.operators_list(conn),
                queries.districts_list(conn),
                queries.statuses_list(conn),
            )

        self._reader.submit(choices, self._on_choices)
        for model in self.models.values():
            model.refresh()

    def _on_choices(self, result: tuple[list[tuple[str, str]], list[str], list[str]]) -> None:
        operators, districts, statuses = result
        self._refill(self.operator_box, [(name, op) for op, name in operators])
        self._refill(self.district_box, [(d, d) for d in districts])
        self._refill(self.status_box, [(status_label(s), s) for s in statuses])

    @staticmethod
    def _refill(box: QComboBox, items: list[tuple[str, str]]) -> None:
        """Replaces the choices after the "All" item, keeping the selection if it still exists."""
        current = box.currentData()
        box.blockSignals(True)
        while box.count() > 1:
            box.removeItem(1)
        for label, value in items:
            box.addItem(label, value)
        box.setCurrentIndex(max(0, box.findData(current)) if current else 0)
        box.blockSignals(False)

    def _on_loaded(self, name: str, count: int) -> None:
        if self.LISTS[self.tabs.currentIndex()] == name:
            self._update_count_label()

    def _update_count_label(self) -> None:
        name = self.LISTS[self.tabs.currentIndex()]
        model = self.models[name]
        text = {
            "piles": tr("%1 piles"),
            "stations": tr("%1 stations"),
            "operators": tr("%1 operators"),
        }[name]
        self.count_label.setText(text.replace("%1", QLocale().toString(model.total)))

    # -- drilling down --

    def _on_activated(self, name: str, index: QModelIndex) -> None:
        model = self.models[name]
        key = model.key_at(index.row())
        if key is None:
            return  # the row is still loading
        if name == "piles":
            self.pile_activated.emit(key)
        elif name == "stations":
            values = model.row_values(index.row())
            label = None
            if values is not None:
                label = str(values[model.spec.columns.index("name")])
            self.set_station(key, label)
            self.show_list("piles")
            self.station_activated.emit(key)
        else:
            self.set_operator(key)
            self.show_list("stations")
            self.operator_activated.emit(key)
