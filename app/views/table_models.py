"""Store reads off the GUI thread, and thin paged table models for a city's registry.

Two pieces, both small on purpose:

* :class:`StoreReader` runs a Qt-free query function (``fn(conn) -> value``, see
  :mod:`app.models.charging.queries`) on a worker thread and hands the value back on the GUI
  thread. Views submit work and display results; they never run SQL themselves, and no
  worker ever touches a widget (the anti-patterns of pyqtgraph #1398 / Electrum #6914).
* :class:`PagedListModel` is an Anki-browser-style ``QAbstractTableModel``: it knows the
  list's row count and caches pages of rows only where the view paints. A row not yet
  loaded shows a placeholder and asks for its page; pages come back asynchronously and
  emit ``dataChanged``. Requests are served newest first and the queue is capped, so
  dragging the scrollbar through a million piles loads the page you stop on, not the
  thousands you flew past. Sorting and filtering happen in SQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor
from sqlalchemy import Connection, Engine

from app.models.charging import queries
from app.models.store import Store

CST = dt.timezone(dt.timedelta(hours=8))
"""Ledger times are shown in Hangzhou's wall-clock time (UTC+8, no DST)."""
PLACEHOLDER = "…"
NUMERIC_COLUMNS = frozenset({"rated_power_w", "stations", "piles"})

Index = QModelIndex | QPersistentModelIndex


def format_ms(ms: int | float | None, seconds: bool = False) -> str:
    """A ledger timestamp as Hangzhou local time, ISO-like (unambiguous in both languages)."""
    if ms is None:
        return ""
    moment = dt.datetime.fromtimestamp(float(ms) / 1000.0, CST)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_date(ms: int | None) -> str:
    return "" if ms is None else dt.datetime.fromtimestamp(ms / 1000.0, CST).strftime("%Y-%m-%d")


def format_yuan(fen: int | float | None) -> str:
    """Fen as yuan with two decimals ("¥12.34"); empty for a missing amount."""
    if fen is None or fen != fen:  # NaN: no bill
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


def format_kwh(wh: int | float | None) -> str:
    if wh is None or wh != wh:
        return ""
    return f"{wh / 1000.0:,.3f} kWh"


# ---- worker --------------------------------------------------------------------------


class _Cancel:
    """A read's cancellation: skip it if it has not started, interrupt its statement if
    it is running. A plain object shared by the GUI thread and the pool thread (the
    QRunnable itself is deleted by the pool whenever it is done)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._running_on: Any = None  # the DBAPI connection while the read runs

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            # SQLite's interrupt() is thread-safe and stops the running statement, or
            # is a no-op between statements. Under the lock, the connection cannot have
            # gone back to the pool (and to another read) in between.
            interrupt = getattr(self._running_on, "interrupt", None)
            if interrupt is not None:
                interrupt()

    def start(self, dbapi_connection: Any) -> bool:
        """Registers the connection the read is about to use; False if cancelled."""
        with self._lock:
            if self._cancelled:
                return False
            self._running_on = dbapi_connection
            return True

    def finish(self) -> None:
        with self._lock:
            self._running_on = None


class _Query(QRunnable):
    """One read on a pool thread. Holds no widget; reports through the reader's signal."""

    def __init__(
        self,
        reader: StoreReader,
        ticket: int,
        fn: Callable[[Connection], Any],
        fn_no_conn: Callable[[], Any] | None = None,
        cancel: _Cancel | None = None,
    ) -> None:
        super().__init__()
        self._reader = reader
        self._engine = reader.engine
        self._ticket = ticket
        self._fn = fn
        self._fn_no_conn = fn_no_conn
        self._cancel = cancel or _Cancel()

    def run(self) -> None:
        if self._cancel.cancelled:
            return  # superseded while queued: not worth a connection
        try:
            if self._fn_no_conn is not None:
                result = self._fn_no_conn()
            elif self._engine is None:
                raise queries.QueryError("no store is open")
            else:
                with self._engine.connect() as conn:
                    if not self._cancel.start(conn.connection.dbapi_connection):
                        return
                    try:
                        result = self._fn(conn)
                    finally:
                        self._cancel.finish()
        except Exception as exc:  # reported to the caller on the GUI thread
            self._report(None, exc)
            return
        self._report(result, None)

    def _report(self, result: Any, exc: Exception | None) -> None:
        try:
            self._reader._deliver.emit(self._ticket, result, exc)
        except RuntimeError as gone:
            # The window closed while this read ran and took the reader with it:
            # nobody is left to want the answer.
            if "deleted" not in str(gone):
                raise


class StoreReader(QObject):
    """Runs Qt-free read queries on its own small thread pool; answers on the GUI thread.

    One per main window, shared by the views. Callbacks run on the GUI thread in the
    order results arrive; a caller that may have moved on (a new filter, another pile)
    compares its own generation counter and drops stale answers.
    """

    failed = Signal(str)
    """A query raised: the message, for the status bar."""
    _deliver = Signal(int, object, object)

    def __init__(
        self, store: Store | Engine | None, parent: QObject | None = None, threads: int = 2
    ) -> None:
        super().__init__(parent)
        self.engine: Engine | None = store.engine if isinstance(store, Store) else store
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._tickets = itertools.count(1)
        self._callbacks: dict[
            int, tuple[Callable[[Any], None], Callable[[Exception], None] | None]
        ] = {}
        self._cancels: dict[int, _Cancel] = {}
        self._closed = False
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    def submit(
        self,
        fn: Callable[[Connection], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[Exception], None] | None = None,
    ) -> int:
        """Queues ``fn(conn)``; ``on_done(result)`` or ``on_error(exc)`` runs on the GUI thread.

        Returns a ticket for :meth:`cancel`.
        """
        ticket = next(self._tickets)
        if self._closed:
            return ticket  # the window is closing: nobody will want the answer
        self._callbacks[ticket] = (on_done, on_error)
        self._cancels[ticket] = cancel = _Cancel()
        self._pool.start(_Query(self, ticket, fn, cancel=cancel))
        return ticket

    def cancel(self, ticket: int) -> None:
        """Drops a read whose answer is no longer wanted (the user typed on): skipped if
        still queued, its statement interrupted if running (SQLite), and its callbacks
        never called. A text filter's full scan of a million piles no longer holds a
        worker for the filter that replaced it."""
        self._callbacks.pop(ticket, None)
        cancel = self._cancels.pop(ticket, None)
        if cancel is not None:
            cancel.cancel()

    def submit_call(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[Exception], None] | None = None,
    ) -> int:
        """Like :meth:`submit` for blocking work that needs no store connection (a log
        client's inclusion proof over the network, say)."""
        ticket = next(self._tickets)
        if self._closed:
            return ticket
        self._callbacks[ticket] = (on_done, on_error)
        self._pool.start(_Query(self, ticket, lambda _conn: None, fn))
        return ticket

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def wait(self, msecs: int = 10_000) -> bool:
        """Blocks until the pool is idle (tests and shutdown); True if it is."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Drops queued reads and waits for running ones: call before the window closes.
        Reads submitted afterwards (a late timer or signal) are not run."""
        self._closed = True
        self._pool.clear()
        for cancel in self._cancels.values():
            cancel.cancel()
        self._pool.waitForDone(30_000)
        self._callbacks.clear()
        self._cancels.clear()

    @Slot(int, object, object)
    def _on_deliver(self, ticket: int, result: Any, error: Exception | None) -> None:
        self._cancels.pop(ticket, None)
        callbacks = self._callbacks.pop(ticket, None)
        if callbacks is None:
            return
        on_done, on_error = callbacks
        if error is None:
            on_done(result)
        elif on_error is not None:
            on_error(error)
        else:
            self.failed.emit(str(error))


# ---- labels --------------------------------------------------------------------------


def column_label(name: str) -> str:
    """Display label of a list column (stored names stay language-neutral)."""
    labels = {
        "operator_id": QCoreApplication.translate("PagedListModel", "Operator ID"),
        "name": QCoreApplication.translate("PagedListModel", "Name"),
        "credit_code": QCoreApplication.translate("PagedListModel", "Credit code"),
        "stations": QCoreApplication.translate("PagedListModel", "Stations"),
        "piles": QCoreApplication.translate("PagedListModel", "Piles"),
        "station_id": QCoreApplication.translate("PagedListModel", "Station ID"),
        "station": QCoreApplication.translate("PagedListModel", "Station"),
        "operator": QCoreApplication.translate("PagedListModel", "Operator"),
        "district": QCoreApplication.translate("PagedListModel", "District"),
        "address": QCoreApplication.translate("PagedListModel", "Address"),
        "pile_id": QCoreApplication.translate("PagedListModel", "Pile ID"),
        "kind": QCoreApplication.translate("PagedListModel", "Type"),
        "rated_power_w": QCoreApplication.translate("PagedListModel", "Rated power"),
        "status": QCoreApplication.translate("PagedListModel", "Status"),
        "commissioned_ms": QCoreApplication.translate("PagedListModel", "Commissioned"),
    }
    return labels.get(name, name)


def status_label(status: str | None) -> str:
    """Display label of a workstation pile status; unknown codes are shown as stored."""
    labels = {
        "normal": QCoreApplication.translate("PagedListModel", "Normal"),
        "alarm": QCoreApplication.translate("PagedListModel", "Alarm"),
        "anomaly": QCoreApplication.translate("PagedListModel", "Anomaly"),
        "seal_open": QCoreApplication.translate("PagedListModel", "Seal open"),
        "offline": QCoreApplication.translate("PagedListModel", "Offline"),
        "overdue": QCoreApplication.translate("PagedListModel", "Verification overdue"),
    }
    return labels.get(status or "", status or "")


def kind_label(kind: str | None) -> str:
    """Display label of a pile type (the ledger stores "AC"/"DC")."""
    labels = {
        "AC": QCoreApplication.translate("PagedListModel", "AC"),
        "DC": QCoreApplication.translate("PagedListModel", "DC"),
    }
    return labels.get(kind or "", kind or "")


STATUS_COLORS = {
    "alarm": QColor("#c62828"),
    "seal_open": QColor("#c62828"),
    "anomaly": QColor("#ef6c00"),
    "overdue": QColor("#8e6d00"),
    "offline": QColor("#616161"),
}


# ---- the model -----------------------------------------------------------------------


class PagedListModel(QAbstractTableModel):
    """A filtered, sorted registry list (operators, stations or piles) loaded by pages.

    Holds the row count and at most ``max_pages`` pages of rows (LRU). ``data()`` never
    blocks: a missing row shows :data:`PLACEHOLDER` and queues its page.
    """

    loaded = Signal(int)
    """The filtered row count is known (after every refresh)."""
    page_loaded = Signal(int)
    """A page arrived (its number): tests and benches wait on this."""

    KEY_ROLE = Qt.ItemDataRole.UserRole + 1
    SORT_ROLE = Qt.ItemDataRole.UserRole + 2

    def __init__(
        self,
        reader: StoreReader,
        list_name: str,
        parent: QObject | None = None,
        page_size: int = 200,
        max_pages: int = 64,
        max_pending: int = 6,
    ) -> None:
        super().__init__(parent)
        self._reader = reader
        self.spec = queries.LISTS[list_name]
        self.page_size = page_size
        self.max_pages = max_pages
        self.max_pending = max_pending
        self._filter = queries.ListFilter()
        self._sort: str | None = None
        self._descending = False
        self._count = 0
        self._generation = 0
        self._pages: OrderedDict[int, list[tuple[Any, ...]]] = OrderedDict()
        self._stale: OrderedDict[int, list[tuple[Any, ...]]] = OrderedDict()
        self._wanted: OrderedDict[int, None] = OrderedDict()
        self._in_flight: int | None = None
        self._reads: set[int] = set()
        """Tickets of this generation's reads still out (cancelled when it ends)."""
        self.counting = False

    # -- state --

    @property
    def list_name(self) -> str:
        return self.spec.name

    @property
    def list_filter(self) -> queries.ListFilter:
        return self._filter

    @property
    def total(self) -> int:
        return self._count

    def set_filter(self, flt: queries.ListFilter) -> None:
        """Applies a new filter (counts in SQL, then pages reload as painted)."""
        if flt != self._filter:
            self._filter = flt
            self._recount(soft=False)

    def refresh(self) -> None:
        """Re-reads the list after a sync: if the row count is unchanged the rows on screen
        stay (and keep the selection) while their pages reload in place; otherwise resets.

        Nothing is rebuilt up front (Electrum #6625): only pages the view paints reload.
        """
        self._recount(soft=True)

    def _recount(self, soft: bool) -> None:
        self._generation += 1
        generation = self._generation
        for ticket in self._reads:  # the last filter's count and pages: nobody waits
            self._reader.cancel(ticket)
        self._reads.clear()
        flt, name = self._filter, self.spec.name
        self.counting = True
        ticket = self._reader.submit(
            lambda conn: queries.count_rows(conn, name, flt),
            lambda count: self._on_count(generation, ticket, count, soft),
        )
        self._reads.add(ticket)

    def _on_count(self, generation: int, ticket: int, count: int, soft: bool) -> None:
        self._reads.discard(ticket)
        if generation != self._generation:
            return
        self._wanted.clear()
        self._in_flight = None
        if soft and count == self._count:
            # stale-while-revalidate: old rows are shown until their page is re-read
            self._stale = self._pages
            self._pages = OrderedDict()
            if count:
                last = self.index(count - 1, self.columnCount() - 1)
                self.dataChanged.emit(self.index(0, 0), last)
        else:
            self.beginResetModel()
            self._count = int(count)
            self._pages.clear()
            self._stale = OrderedDict()
            self.endResetModel()
        self.counting = False
        self.loaded.emit(self._count)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorts in SQL by a sortable column; other columns (counts, names) are ignored."""
        if not 0 <= column < len(self.spec.columns):
            return
        name = self.spec.columns[column]
        if name not in self.spec.sortable:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (name, descending) != (self._sort, self._descending):
            self._sort, self._descending = name, descending
            self._recount(soft=False)

    def is_sortable(self, column: int) -> bool:
        return 0 <= column < len(self.spec.columns) and (
            self.spec.columns[column] in self.spec.sortable
        )

    # -- rows --

    def row_values(self, row: int) -> tuple[Any, ...] | None:
        """The cached row or None (and its page queued)."""
        if not 0 <= row < self._count:
            return None
        page = row // self.page_size
        rows = self._pages.get(page)
        if rows is None:
            self._want(page)
            rows = self._stale.get(page)
            if rows is None:
                return None
        else:
            self._pages.move_to_end(page)
        offset = row - page * self.page_size
        return rows[offset] if offset < len(rows) else None

    def key_at(self, row: int) -> str | None:
        values = self.row_values(row)
        return None if values is None else str(values[self.spec.columns.index(self.spec.key)])

    def is_loaded(self, row: int) -> bool:
        return (row // self.page_size) in self._pages

    def _want(self, page: int) -> None:
        if page == self._in_flight:
            return
        self._wanted.pop(page, None)
        self._wanted[page] = None  # newest last
        while len(self._wanted) > self.max_pending:
            self._wanted.popitem(last=False)  # forget pages scrolled past long ago
        self._next()

    def _next(self) -> None:
        if self._in_flight is not None or not self._wanted:
            return
        page, _ = self._wanted.popitem(last=True)  # newest first: what is on screen now
        self._in_flight = page
        previous = self._pages.get(page - 1)
        after = (
            queries.sort_key_of(self.spec.name, self._sort, previous[-1])
            if previous and len(previous) == self.page_size
            else None
        )
        req = queries.PageRequest(
            self.spec.name,
            self._filter,
            self._sort,
            self._descending,
            offset=page * self.page_size,
            limit=self.page_size,
            after=after,
        )
        generation = self._generation
        ticket = self._reader.submit(
            lambda conn: queries.page_rows(conn, req),
            lambda rows: self._on_page(generation, ticket, page, rows),
            lambda exc: self._on_page_error(generation, ticket, exc),
        )
        self._reads.add(ticket)

    def _on_page(
        self, generation: int, ticket: int, page: int, rows: list[tuple[Any, ...]]
    ) -> None:
        self._reads.discard(ticket)
        if generation != self._generation:
            return
        self._in_flight = None
        self._pages[page] = rows
        self._stale.pop(page, None)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        first = page * self.page_size
        last = min(first + self.page_size, self._count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, self.columnCount() - 1))
        self.page_loaded.emit(page)
        self._next()

    def _on_page_error(self, generation: int, ticket: int, exc: Exception) -> None:
        self._reads.discard(ticket)
        if generation == self._generation:
            self._in_flight = None
            self._reader.failed.emit(str(exc))

    # -- Qt model API --

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.spec.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole:
                return section + 1
            return None
        if not 0 <= section < len(self.spec.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return column_label(self.spec.columns[section])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(self._alignment(self.spec.columns[section]))
        if role == Qt.ItemDataRole.ToolTipRole and not self.is_sortable(section):
            return QCoreApplication.translate("PagedListModel", "This column cannot be sorted")
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Cheap roles first: the view asks for many of them per cell (Orange itemmodels).
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.TextAlignmentRole,
            Qt.ItemDataRole.ForegroundRole,
            self.KEY_ROLE,
            self.SORT_ROLE,
        ):
            return None
        if not index.isValid() or index.parent().isValid():
            return None
        name = self.spec.columns[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(self._alignment(name))
        values = self.row_values(index.row())
        if values is None:
            return PLACEHOLDER if role == Qt.ItemDataRole.DisplayRole else None
        value = values[index.column()]
        if role == self.KEY_ROLE:
            return str(values[self.spec.columns.index(self.spec.key)])
        if role == self.SORT_ROLE:
            return value
        if role == Qt.ItemDataRole.ForegroundRole:
            if name == "status" and value in STATUS_COLORS:
                return QBrush(STATUS_COLORS[value])
            return None
        return self._display(name, value)

    @staticmethod
    def _alignment(name: str) -> Qt.AlignmentFlag:
        """Numbers right-aligned (header too, so the label sits over its digits)."""
        if name in NUMERIC_COLUMNS:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

    @staticmethod
    def _display(name: str, value: Any) -> str:
        if value is None:
            return ""
        if name == "rated_power_w":
            return f"{value / 1000:g} kW"
        if name == "commissioned_ms":
            return format_date(int(value))
        if name == "status":
            return status_label(value)
        if name == "kind":
            return kind_label(value)
        return str(value)
