"""The "Logs" panel: every log of the signed log list this office follows, and how each
one's sync stands (issue 17 item 1, UI side).

At province scale the ledger is many logs (shards by region and half-year); a regulator
must see at a glance which of them are verified up to where, which one is offline and
which one is halted because its platform misbehaved — one bad log does not stop the
others, so a single "synced" light would hide it. Rows come from the store (`logs`,
`sync_state`, `log_lists`, read on the StoreReader's threads by `load_logs`) and are kept
current by the `ListSyncWorker`'s signals; the panel only displays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget
from sqlalchemy import Connection, select

from app.models import store as st
from app.models.logs import followed_logs
from app.views.table_models import CST, format_date

OFFLINE_BG = QColor("#fff3e0")
HALTED_BG = QColor("#ffebee")
OFFLINE_FG = QColor("#e65100")
HALTED_FG = QColor("#b71c1c")
OK_FG = QColor("#1b5e20")


def tr(text: str) -> str:
    return QCoreApplication.translate("LogsPanel", text)


def state_label(state: str) -> str:
    """The list's word on a log (stored language-neutral) as the regulator reads it."""
    return {
        "usable": tr("usable"),
        "read-only": tr("read-only"),
        "retired": tr("retired"),
    }.get(state, state)


def status_label(status: str) -> str:
    """A log's sync status; misbehaviour and a halt read the same to the regulator."""
    return {
        "syncing": tr("syncing"),
        "ok": tr("ok"),
        "offline": tr("offline"),
        "halted": tr("halted — platform misbehaviour"),
        "misbehaviour": tr("halted — platform misbehaviour"),
        "error": tr("error, retrying"),
        "idle": tr("not synced yet"),
        "retired": tr("not followed (retired)"),
    }.get(status, status)


@dataclass(frozen=True)
class LogRow:
    """One followed log as the panel shows it."""

    log_no: int
    origin: str
    region: str = ""
    shard_start_ms: int | None = None
    shard_end_ms: int | None = None
    state: str = "usable"
    size: int | None = None
    """Entries verified and applied (the store's sync state), None before the first sync."""
    status: str = "idle"
    message: str = ""
    last_success: float | None = None
    """Unix seconds of the last successful sync of this log."""
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class LogsSnapshot:
    sequence: int | None = None
    accepted_at: float | None = None
    rows: tuple[LogRow, ...] = field(default=())


def load_logs(conn: Connection, region: str = "") -> LogsSnapshot:
    """Worker-thread function (StoreReader): the logs of ``region`` the store knows from
    the accepted list, with their sync state, and the newest accepted list's sequence."""
    newest = conn.execute(
        select(st.log_lists.c.sequence, st.log_lists.c.accepted_at)
        .order_by(st.log_lists.c.sequence.desc())
        .limit(1)
    ).first()
    states = {row.origin: row for row in conn.execute(select(st.sync_state))}
    rows = []
    for log in followed_logs(conn):
        if region and not (log.region or "").startswith(region):
            continue
        state = states.get(log.origin)
        status = "retired" if log.state == "retired" else "idle"
        if state is not None and log.state != "retired":
            status = state.status or "idle"
        rows.append(
            LogRow(
                log.log_no,
                log.origin,
                log.region or "",
                log.shard_start_ms,
                log.shard_end_ms,
                log.state,
                None if state is None else int(state.size),
                status,
                (state.last_error or "") if state is not None and status != "ok" else "",
                _seconds(state.last_success_at) if state is not None else None,
            )
        )
    return LogsSnapshot(
        None if newest is None else int(newest.sequence),
        None if newest is None else _seconds(newest.accepted_at),
        tuple(rows),
    )


def _seconds(moment: dt.datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return dt.datetime.fromtimestamp(seconds, CST).strftime("%Y-%m-%d %H:%M:%S")


def shard_text(start_ms: int | None, end_ms: int | None) -> str:
    """The shard's half-open entry-time interval as dates (Hangzhou time)."""
    if start_ms is None or end_ms is None:
        return "—"
    return f"{format_date(start_ms)} – {format_date(end_ms)}"


COLUMNS = ("origin", "region", "shard", "state", "size", "status", "last_success")


class LogsTableModel(QAbstractTableModel):
    """Rows by origin; a worker's signal updates one row, a store read replaces all."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[LogRow] = []

    def headers(self) -> list[str]:
        return [
            tr("Log (origin)"),
            tr("Region"),
            tr("Shard interval"),
            tr("State"),
            tr("Verified size"),
            tr("Sync status"),
            tr("Last success"),
        ]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        return None

    def row_of(self, origin: str) -> int | None:
        for number, row in enumerate(self.rows):
            if row.origin == origin:
                return number
        return None

    def set_rows(self, rows: list[LogRow]) -> None:
        """A fresh read from the store. The store's sync state is written by each log's
        sync as it goes, so it is taken, except a live "syncing" (never stored) and a size
        or success time the worker reported before the read was made."""
        live = {r.origin: r for r in self.rows}
        merged = []
        for row in rows:
            known = live.get(row.origin)
            if known is not None and row.state != "retired":
                syncing = known.status == "syncing"
                row = replace(
                    row,
                    status=known.status if syncing else row.status,
                    message=known.message if syncing else row.message,
                    size=max(row.size or 0, known.size or 0)
                    if known.size is not None
                    else row.size,
                    last_success=max(row.last_success or 0, known.last_success or 0) or None,
                    done=known.done,
                    total=known.total,
                )
            merged.append(row)
        self.beginResetModel()
        self.rows = merged
        self.endResetModel()

    def update(self, origin: str, **changes: Any) -> bool:
        """Changes one row's fields; False when the origin has no row (yet)."""
        number = self.row_of(origin)
        if number is None:
            return False
        self.rows[number] = replace(self.rows[number], **changes)
        self.dataChanged.emit(self.index(number, 0), self.index(number, len(COLUMNS) - 1))
        return True

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row, column = self.rows[index.row()], COLUMNS[index.column()]
        bad = row.status in ("offline", "halted", "misbehaviour", "error")
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if bad and row.message:
                return row.message
            if column == "shard":
                return (
                    tr("Entries from %1 up to (not including) %2, Hangzhou time")
                    .replace("%1", format_date(row.shard_start_ms) if row.shard_start_ms else "—")
                    .replace("%2", format_date(row.shard_end_ms) if row.shard_end_ms else "—")
                )
            return None
        if role == Qt.ItemDataRole.BackgroundRole and bad:
            return QBrush(OFFLINE_BG if row.status in ("offline", "error") else HALTED_BG)
        if role == Qt.ItemDataRole.ForegroundRole:
            if bad:
                return QBrush(OFFLINE_FG if row.status in ("offline", "error") else HALTED_FG)
            if row.state == "retired":
                return QBrush(QColor("#757575"))
            if column == "status" and row.status == "ok":
                return QBrush(OK_FG)
        if role == Qt.ItemDataRole.FontRole and bad and column == "status":
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "size":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    @staticmethod
    def _text(row: LogRow, column: str) -> str:
        if column == "origin":
            return row.origin
        if column == "region":
            return row.region or "—"
        if column == "shard":
            return shard_text(row.shard_start_ms, row.shard_end_ms)
        if column == "state":
            return state_label(row.state)
        if column == "size":
            return "—" if row.size is None else f"{row.size:,}"
        if column == "status":
            if row.status == "syncing" and row.total:
                return (
                    tr("syncing %1 / %2")
                    .replace("%1", f"{row.done:,}")
                    .replace("%2", f"{row.total:,}")
                )
            return status_label(row.status)
        return format_seconds(row.last_success)


class LogsPanel(QWidget):
    """The followed logs and the list they come from. ``summary_changed`` carries the
    status bar's line ("4 logs · 1 offline")."""

    summary_changed = Signal(str)

    def __init__(self, reader, region: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LogsPanel")
        self.reader, self.region = reader, region
        self.sequence: int | None = None
        self.list_status, self.list_message = "idle", ""
        self.none_followed = False
        """The last pass found no log of the list for this region (a wrong region code?)."""
        self._generation = 0
        self.header = QLabel(tr("No log list accepted yet."))
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = LogsTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("logs-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.table, 1)

    # ---- from the store ------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-reads the logs from the store (on the reader's threads)."""
        self._generation += 1
        generation, region = self._generation, self.region
        self.reader.submit(
            lambda conn: load_logs(conn, region), lambda snap: self._loaded(generation, snap)
        )

    def _loaded(self, generation: int, snapshot: LogsSnapshot) -> None:
        if generation != self._generation:
            return
        if snapshot.sequence is not None:
            self.sequence = snapshot.sequence
        self.model.set_rows(list(snapshot.rows))
        self._changed()

    # ---- from the ListSyncWorker ----------------------------------------------------------
    def on_state(self, origin: str, status: str, message: str) -> None:
        if not origin:  # the list itself
            self.list_status, self.list_message = status, message
        elif not self.model.update(origin, status=status, message=message):
            self.refresh()  # a log the store numbered after our last read
        self._changed()

    def on_progress(self, origin: str, done: int, total: int, _rate: float) -> None:
        self.model.update(origin, status="syncing", done=done, total=total)

    def on_synced(self, info: dict) -> None:
        self.sequence = info.get("sequence", self.sequence)
        self.none_followed = not info.get("logs")
        unknown = False
        for log in info.get("logs", ()):
            changes: dict[str, Any] = {"status": log["status"], "message": log["message"]}
            if log["size"] is not None:
                changes.update(size=log["size"], last_success=info["at"], done=0, total=0)
            unknown |= not self.model.update(log["origin"], **changes)
        if unknown or len(info.get("logs", ())) > self.model.rowCount():
            self.refresh()
        self._changed()

    # ---- summary -------------------------------------------------------------------------
    def counts(self) -> tuple[int, int, int]:
        """(logs followed, offline, halted) among the non-retired rows."""
        followed = [r for r in self.model.rows if r.state != "retired"]
        offline = sum(r.status in ("offline", "error") for r in followed)
        halted = sum(r.status in ("halted", "misbehaviour") for r in followed)
        return len(followed), offline, halted

    def summary(self) -> str:
        followed, offline, halted = self.counts()
        parts = [tr("%1 logs").replace("%1", str(followed))]
        if offline:
            parts.append(tr("%1 offline").replace("%1", str(offline)))
        if halted:
            parts.append(tr("%1 halted").replace("%1", str(halted)))
        return " · ".join(parts)

    def _changed(self) -> None:
        if self.sequence is None:
            text = tr("No log list accepted yet.")
        else:
            text = tr("Signed log list no. %1").replace("%1", str(self.sequence))
            if self.region:
                text += " · " + tr("region %1").replace("%1", self.region)
            if self.none_followed:
                text += "\n" + tr("No log of this list is followed for this region.")
        if self.list_status == "halted":
            text += "\n" + tr("The log list was refused: %1").replace("%1", self.list_message)
        elif self.list_status in ("offline", "error") and self.list_message:
            text += "\n" + tr("Log list: %1").replace("%1", self.list_message)
        self.header.setText(text)
        colour = {"halted": HALTED_FG, "offline": OFFLINE_FG, "error": OFFLINE_FG}.get(
            self.list_status
        )
        self.header.setStyleSheet(f"color: {colour.name()};" if colour is not None else "")
        self.summary_changed.emit(self.summary())
