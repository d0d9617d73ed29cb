"""The workstation's main window: the city map in the centre, docks for the other
views, a status bar for sync state, checkpoint and open alarms.

The window owns no logic: workers (app.workers) sync and query on their own
threads; this class wires their signals to the views.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from app.models import store as st
from app.views.map_view import MapPanel
from app.workers import Call, ListSyncWorker, SyncWorker, start_in_thread


def tr(text: str) -> str:
    return QCoreApplication.translate("MainWindow", text)


def load_map(store_url: str | None):
    """Worker-thread function: the map's columns as MapData, the open alarm count, and the
    dispenser layer (empty on a store without the fuel tables)."""
    from sqlalchemy import func, select

    from app.models.map_query import OPEN_ALARM_STATES, load_map_columns
    from app.views.fuel.map_layer import load_dispenser_layer
    from app.views.map_data import MapData

    with st.Store.open(store_url) as store, store.engine.connect() as conn:
        cols = load_map_columns(conn)
        alarms = conn.execute(
            select(func.count())
            .select_from(st.alarms)
            .where(st.alarms.c.state.in_(OPEN_ALARM_STATES))
        ).scalar_one()
        dispensers = load_dispenser_layer(conn)
    return MapData(**cols.__dict__), alarms, dispensers


def _export_bundle(
    store_url, platform: str | None, vkey: str | None, session_id: str, path: str
) -> str:
    """Worker-thread function: builds, self-verifies and writes the bundle. Without a
    platform (the log list mode) the session's own log's client comes from the accepted
    list (`StoredLogClients`)."""
    from pathlib import Path

    from app.models.evidence import session_evidence
    from app.models.list_sync import StoredLogClients
    from app.reports.dispute import bundle_with_reports
    from ledger.client import LogClient

    client = LogClient(platform, vkey) if platform else None
    try:
        with st.Store.open(store_url) as store:
            clients = StoredLogClients(store) if client is None else None
            try:
                inputs = session_evidence(store, client or clients, session_id)
            finally:
                if clients is not None:
                    clients.close()
            data, result = bundle_with_reports(
                inputs, name=Path(path).name, dispute_session=session_id
            )
    finally:
        if client is not None:
            client.close()
    if not result.ok:
        failed = "; ".join(c.en for c in result.checks if c.ok is False)
        raise RuntimeError(f"the evidence does not verify, nothing written: {failed}")
    Path(path).write_bytes(data)
    return path


def prove_inclusion(store_url, platform: str, vkey: str, index: int):
    """Worker-thread function: the entry's inclusion proof against the newest checkpoint
    this store accepted, from the platform's tiles, verified here."""
    from ledger.client import LogClient

    client = LogClient(platform, vkey)
    try:
        return _prove_with(client, store_url, index)
    finally:
        client.close()


def prove_inclusion_in_list(store_url, key: int):
    """Worker-thread function, log list mode: the inclusion proof of the entry with store
    key ``key`` in its own log (numbered in the store, URL and key from the accepted list),
    against the newest checkpoint of that log this store accepted."""
    from app.models.list_sync import StoredLogClients
    from app.models.logs import origins_by_number, split_key

    log_no, index = split_key(key)
    with st.Store.open(store_url) as store:
        with store.engine.connect() as conn:
            origin = origins_by_number(conn).get(log_no)
        if origin is None:
            raise LookupError(f"log no. {log_no} is not in this store's accepted log list")
        clients = StoredLogClients(store)
        try:
            return _prove_with(clients(origin), store_url, index)
        finally:
            clients.close()


def _prove_with(client, store_url, index: int):
    """Entry ``index`` of ``client``'s log: (checkpoint text, proof hashes, verified)."""
    from sqlalchemy import select

    from ledger import merkle
    from ledger.note import open_checkpoint
    from ledger.tiles import TileHashReader

    with st.Store.open(store_url) as store, store.engine.connect() as conn:
        note = conn.execute(
            select(st.checkpoints.c.note)
            .where(st.checkpoints.c.origin == client.origin)
            .order_by(st.checkpoints.c.size.desc())
            .limit(1)
        ).scalar()
    if note is None:
        raise LookupError(f"no checkpoint of {client.origin} accepted yet")
    checkpoint, _ = open_checkpoint(note, client.verifier, client.origin)
    reader = TileHashReader(checkpoint.size, checkpoint.root, client.fetch)
    proof = reader.inclusion_proof(index)
    entry = client.bundle(index // 256, checkpoint.size)[index % 256]
    try:
        merkle.verify_inclusion(
            merkle.leaf_hash(entry), index, checkpoint.size, proof, checkpoint.root
        )
        verified = True
    except merkle.ProofError:
        verified = False
    return checkpoint.to_text(), [h.hex() for h in proof], verified


def _pile_specs(store_url, limit: int = 20000) -> list:
    """Worker-thread function: the registry's piles as the wizard's nameplate data, every
    gun with its own meter (app.models.charging.result_record.registry_pile_specs)."""
    from app.models.charging.result_record import registry_pile_specs

    with st.Store.open(store_url) as store, store.engine.connect() as conn:
        return registry_pile_specs(conn, limit=limit)


def _wizard_setup(store_url) -> tuple[list, str]:
    """Worker-thread function: the piles and the office's 计量标准考核证书 number."""
    from app.models.office_settings import approval_certificate_no

    with st.Store.open(store_url) as store, store.engine.connect() as conn:
        approval = approval_certificate_no(conn)
    return _pile_specs(store_url), approval


def _grab_alone(scroll: QScrollArea, settle: Callable[[], None]):
    """Renders a dock's view alone at 1600×1000 (for `main.py screenshot`), then puts it
    back in its dock. A view in a hidden tab has never painted, so its lazy tables have
    asked for no rows yet: a first grab paints (and asks), ``settle`` lets the reads come
    back, and the second grab shows the rows instead of placeholders."""
    widget = scroll.takeWidget()
    widget.resize(1600, 1000)
    widget.show()
    QCoreApplication.processEvents()
    widget.grab()
    settle()
    pixmap = widget.grab()
    scroll.setWidget(widget)
    return pixmap


class MainWindow(QMainWindow):
    sync_status = Signal(str)
    started = Signal()
    """Start-up is over (the map's first load came back): idle-time warm-ups may run."""

    def __init__(
        self,
        store_url: str | None = None,
        platform: str | None = None,
        vkey: str | None = None,
        session=None,
        log_list=None,
    ) -> None:
        """``log_list``: the log list mode's settings (`app.settings_dialog.LogListSettings`)
        — every log of the signed list is synced instead of ``platform``."""
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle(tr("Anxin Charging — Metrology Supervision Workstation"))
        self.store_url = store_url
        self.session = session  # the signed-in user (app.models.users.Session) or None
        self.rig_ports: list[str] = []  # explicit rig ports (the demo's simulated rig)
        self._threads: list[QThread] = []
        self._workers: list = []
        self._sync_worker: SyncWorker | ListSyncWorker | None = None
        self._log_list = log_list
        self._list_alerts: dict[str, QMessageBox] = {}
        self._list_sequence: int | None = None
        self._write_url = ""  # list mode: where new records go (ListSyncWorker says)
        self._last_sync: dict | None = None
        self._sync_state = ("idle", "")
        self._map_pending = False
        self._started = False
        self._platform: str | None = None
        self._vkey: str | None = None

        self.map_panel = MapPanel()
        self.setCentralWidget(self.map_panel)
        self.docks: dict[str, QDockWidget] = {}

        self.sync_label = QLabel(tr("Not synced"))
        self.checkpoint_label = QLabel("")
        self.alarm_label = QLabel("")
        for label in (self.sync_label, self.checkpoint_label, self.alarm_label):
            self.statusBar().addPermanentWidget(label)
        self._build_menus()
        self._build_docks()
        self.resize(1600, 1000)
        self._initial_sizes()

        self._age_timer = QTimer(self)
        self._age_timer.timeout.connect(self._update_status)
        self._age_timer.start(1000)
        self._map_timer = QTimer(self)
        self._map_timer.setSingleShot(True)
        self._map_timer.timeout.connect(self.reload_map)

        settings = QSettings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.restore_layout()
        if log_list is not None:
            self.start_list_sync(log_list)
        elif platform and vkey:
            self.start_sync(platform, vkey)
        self.reload_map()

    # ---- docks --------------------------------------------------------------------------
    def add_dock(
        self, name: str, title: str, widget: QWidget, area=Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")
        # Scrolls rather than forcing the window wider than a 1600-px screen.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(widget)
        scroll.setMinimumWidth(360)
        dock.setWidget(scroll)
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def _build_docks(self) -> None:
        from app.views.alarm_queue import AlarmQueueView, announce
        from app.views.charging.pile_detail import PileDetailView
        from app.views.explorer import ExplorerView
        from app.views.session_lookup import SessionLookupView
        from app.views.table_models import StoreReader

        self.store = st.Store.open(self.store_url)
        self.reader = StoreReader(self.store, self)
        self.explorer = ExplorerView(self.reader)
        self.pile_detail = PileDetailView(self.reader)
        self.session_lookup = SessionLookupView(self.reader)
        self.explorer.pile_activated.connect(self.open_pile)
        self.map_panel.pile_clicked.connect(self.open_pile)
        self.pile_detail.session_activated.connect(self._show_session)
        self.session_lookup.pile_requested.connect(self.open_pile)
        from app.views.due_list import DueListView

        self.due_list = DueListView(self.reader, self.session)
        self.due_list.pile_activated.connect(self.open_pile)
        self.due_list.instrument_activated.connect(
            lambda kind, instrument: kind == "fuel" and self.open_dispenser(instrument)
        )
        self.due_list.status_message.connect(lambda m: self.statusBar().showMessage(m, 10000))
        # One column of tabbed docks beside the map keeps 1600-px screens usable.
        self.add_dock("explorer", tr("Operators, stations, piles"), self.explorer)
        self.add_dock("pile", tr("Pile detail"), self.pile_detail)
        from app.views.fuel.dispenser_detail import DispenserDetailView

        self.dispenser_detail = DispenserDetailView(self.reader)
        self.map_panel.dispenser_clicked.connect(self.open_dispenser)
        self.add_dock("dispenser", tr("Dispenser detail"), self.dispenser_detail)
        self.add_dock("lookup", tr("Session lookup"), self.session_lookup)
        self.tabifyDockWidget(self.docks["explorer"], self.docks["pile"])
        self.tabifyDockWidget(self.docks["pile"], self.docks["dispenser"])
        self.tabifyDockWidget(self.docks["dispenser"], self.docks["lookup"])
        self.add_dock("due", tr("Verification due"), self.due_list)
        self.tabifyDockWidget(self.docks["lookup"], self.docks["due"])
        from app.views.taxi.taxi_view import TaxiView

        self.taxi_view = TaxiView(self.reader)
        self.add_dock("taxi", tr("Taxi meters"), self.taxi_view)
        self.tabifyDockWidget(self.docks["due"], self.docks["taxi"])
        self.taxi_view.refresh()
        if self.session is not None:
            from app.views.work_orders import WorkOrdersView

            self.work_orders = WorkOrdersView(self.reader, self.session)
            self.work_orders.status_message.connect(
                lambda m: self.statusBar().showMessage(m, 10000)
            )
            self.add_dock("orders", tr("Work orders"), self.work_orders)
            self.due_list.create_order_requested.connect(self._create_work_order)
            self.work_orders.export_requested.connect(self._export_field_package)
            self.work_orders.verify_requested.connect(self.open_instrument_wizard)
            self.tabifyDockWidget(self.docks["due"], self.docks["orders"])
        self.docks["explorer"].raise_()

        self.alarm_view = AlarmQueueView(self.store_url, self.session)
        self.alarm_view.count_changed.connect(
            lambda n: self.alarm_label.setText(tr("Open alarms: %1").replace("%1", str(n)))
        )
        self.alarm_view.critical_alarm.connect(lambda alarm: announce(self, alarm))
        self.alarm_view.critical_alarm.connect(lambda _alarm: self._map_timer.start(500))
        self.alarm_view.open_pile.connect(self.open_pile)
        self.alarm_view.open_dispenser.connect(self.open_dispenser)
        self.alarm_view.open_taxi.connect(self.taxi_view.open_detail)
        self.add_dock(
            "alarms", tr("Alarms"), self.alarm_view, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.logs_panel = None
        if self._log_list is not None:  # the signed log list mode: one row per log
            from app.views.logs_panel import LogsPanel

            self.logs_panel = LogsPanel(self.reader, self._log_list.region)
            self.logs_panel.summary_changed.connect(lambda _text: self._update_status())
            self.add_dock(
                "logs", tr("Logs"), self.logs_panel, Qt.DockWidgetArea.BottomDockWidgetArea
            )
            self.tabifyDockWidget(self.docks["alarms"], self.docks["logs"])
            self.docks["alarms"].raise_()
            self.logs_panel.refresh()
            self._load_log_origins()

    def _create_work_order(self, pile_ids: list, reasons: dict) -> None:
        """The regulator's dialog: inspector, route, estimate; the model checks the role."""
        from app.views.work_orders import CreateWorkOrderDialog

        dialog = CreateWorkOrderDialog(
            self.store, self.reader, self.session, pile_ids, reasons, self
        )
        if dialog.exec():
            self.work_orders.refresh()
            self.due_list.refresh()
            self.docks["orders"].raise_()

    def _export_field_package(self, order_id: int, path: str) -> None:
        """ "Take this work order offline": a store file for the inspector's laptop."""
        from app.models.field_package import export_field_package
        from app.models.list_sync import StoredLogClients
        from ledger.client import LogClient

        def export() -> str:
            client: LogClient | StoredLogClients | None = None
            if self._platform:
                client = LogClient(self._platform, self._vkey)
            elif self._log_list is not None:  # each log's proofs from its own platform
                client = StoredLogClients(self.store)
            try:
                summary = export_field_package(
                    self.store, self.session, order_id, path, client=client
                )
            finally:
                if client is not None:
                    client.close()
            return str(summary)

        call = Call(export)
        call.done.connect(
            lambda text: self.statusBar().showMessage(
                tr("Field package written: %1").replace("%1", path), 15000
            )
        )
        call.failed.connect(lambda message: QMessageBox.warning(self, tr("Field package"), message))
        thread = start_in_thread(call, self)
        call.done.connect(thread.quit)
        call.failed.connect(thread.quit)
        self._threads.append(thread)
        self._workers.append(call)

    def open_verification_wizard(self) -> None:
        """The guided on-site verification; piles come from the store (on a worker)."""
        call = Call(_wizard_setup, self.store_url)
        call.done.connect(self._show_wizard)
        call.failed.connect(lambda m: QMessageBox.warning(self, tr("Verification"), m))
        thread = start_in_thread(call, self)
        call.done.connect(thread.quit)
        call.failed.connect(thread.quit)
        self._threads.append(thread)
        self._workers.append(call)

    def _show_wizard(self, setup: tuple[list, str]) -> None:
        """On the GUI thread (a bound slot: queued from the worker)."""
        from app.models.charging.verification import VerificationConfig
        from app.models.outbox import Outbox
        from app.paths import data_dir
        from app.views.charging.verification_wizard import VerificationWizard

        piles, approval_no = setup
        root = data_dir() / "verification"
        root.mkdir(parents=True, exist_ok=True)
        session = self.session
        wizard = VerificationWizard(
            piles,
            journal_dir=root / "journals",
            outbox=Outbox(root / "outbox", self._write_platform()),
            key_path=root / f"inspector-{session.username if session else 'local'}.pem",
            certificate_dir=root / "certificates",
            inspector_id=getattr(session, "inspector_id", None) or "",
            inspector_name=getattr(session, "display_name", "") if session else "",
            explicit_ports=self.rig_ports,
            config=VerificationConfig(approval_certificate_no=approval_no),
            parent=self,
        )
        wizard.resize(1400, 900)
        wizard.show()
        self._wizard = wizard

    def open_instrument_wizard(self, kind: str, instrument_id: str = "") -> None:
        """The JJG 443 (fuel) or JJG 517 (taxi) wizard, nameplates from the registry (on a
        worker), ``instrument_id`` chosen; a charging item opens the charging wizard."""
        if kind == "charging":
            self.open_verification_wizard()
            return
        from app.views.instrument_wizards import load_specs

        call = Call(load_specs, self.store_url, kind, instrument_id)
        call.done.connect(self._show_instrument_wizard)
        call.failed.connect(lambda m: QMessageBox.warning(self, tr("Verification"), m))
        thread = start_in_thread(call, self)
        call.done.connect(thread.quit)
        call.failed.connect(thread.quit)
        self._threads.append(thread)
        self._workers.append(call)

    def _show_instrument_wizard(self, setup: tuple) -> None:
        """On the GUI thread (a bound slot: queued from the worker)."""
        from app.paths import data_dir
        from app.views.instrument_wizards import show_wizard

        self._wizard = show_wizard(
            self,
            setup,
            root=data_dir() / "verification",
            session=self.session,
            platform=self._write_platform(),
        )

    def _write_platform(self) -> str:
        """Where new signed records (verification results) are posted: the platform, or
        in list mode the usable log of the office's region for today (`logs.write_log`,
        found by the list worker after each pass); "" keeps them in the outbox until one
        is known."""
        if self._log_list is None:
            return self._platform or ""
        return self._write_url

    def _initial_sizes(self) -> None:
        """The map gets the room; docks start compact (a saved layout overrides this)."""
        self.resizeDocks([self.docks["alarms"]], [230], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["explorer"]], [760], Qt.Orientation.Horizontal)

    def _show_session(self, entry_index: int) -> None:
        self.session_lookup.show_entry(entry_index)
        self.docks["lookup"].raise_()

    def open_pile(self, pile_id: str, at_ms=None) -> None:
        """Shows one pile: on the map, and in the pile detail view when present."""
        self.map_panel.focus_pile(pile_id)
        detail = getattr(self, "pile_detail", None)
        if detail is not None:
            detail.show_pile(pile_id, at_ms)
            self.docks["pile"].raise_()

    def open_dispenser(self, dispenser_id: str, at_ms=None) -> None:
        """Shows one fuel dispenser: on the map, and in the dispenser detail view."""
        self.map_panel.focus_dispenser(dispenser_id)
        self.dispenser_detail.show_dispenser(dispenser_id, at_ms)
        self.docks["dispenser"].raise_()

    def export_session_evidence(self, session_id: str | None = None, path: str | None = None):
        """Evidence bundle (entries, tlog-proofs, checkpoint, keys, reports) for a dispute."""
        from PySide6.QtWidgets import QFileDialog, QInputDialog

        if not self._platform and self._log_list is None:
            QMessageBox.information(self, tr("Evidence"), tr("Needs a platform to fetch proofs."))
            return
        if session_id is None:
            session_id, ok = QInputDialog.getText(self, tr("Evidence"), tr("Session ID"))
            if not ok or not session_id.strip():
                return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, tr("Save evidence bundle"), f"evidence-{session_id}.zip", "ZIP (*.zip)"
            )
            if not path:
                return
        call = Call(
            _export_bundle, self.store_url, self._platform, self._vkey, session_id.strip(), path
        )
        call.done.connect(
            lambda verdict: self.statusBar().showMessage(
                tr("Evidence bundle written: %1").replace("%1", str(verdict)), 15000
            )
        )
        call.failed.connect(lambda message: QMessageBox.warning(self, tr("Evidence"), message))
        thread = start_in_thread(call, self)
        call.done.connect(thread.quit)
        call.failed.connect(thread.quit)
        self._threads.append(thread)
        self._workers.append(call)

    def import_ocmf(self, path: str | None = None, key_path: str | None = None) -> None:
        """OCMF records (one per line) verified with the meter's public key, then shown."""
        from pathlib import Path

        from PySide6.QtWidgets import QFileDialog

        from app.models.ocmf_import import import_file
        from app.views.ocmf_view import OcmfDialog

        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, tr("OCMF records"), "", "*")
            if not path:
                return
            key_path, _ = QFileDialog.getOpenFileName(self, tr("Meter public key"), "", "*")
        rows = import_file(Path(path), Path(key_path) if key_path else None)
        self._ocmf_dialog = OcmfDialog(rows, self)
        self._ocmf_dialog.show()

    def restore_layout(self) -> None:
        state = QSettings().value("window/state")
        if state is not None:
            self.restoreState(state)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(tr("&File"))
        settings_action = QAction(tr("Settings…"), self)
        settings_action.triggered.connect(self.open_settings)
        file_menu.addAction(settings_action)
        quit_action = QAction(tr("Quit"), self)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.view_menu = self.menuBar().addMenu(tr("&View"))
        verification_menu = self.menuBar().addMenu(tr("Veri&fication"))
        wizard_action = QAction(tr("On-site verification with the rig…"), self)
        wizard_action.triggered.connect(self.open_verification_wizard)
        verification_menu.addAction(wizard_action)
        fuel_action = QAction(tr("Fuel dispenser verification (JJG 443)…"), self)
        fuel_action.triggered.connect(lambda: self.open_instrument_wizard("fuel"))
        verification_menu.addAction(fuel_action)
        taxi_action = QAction(tr("Taximeter verification (JJG 517)…"), self)
        taxi_action.triggered.connect(lambda: self.open_instrument_wizard("taxi"))
        verification_menu.addAction(taxi_action)
        countersign_action = QAction(tr("Countersign results (check / approve)…"), self)
        countersign_action.triggered.connect(self.open_countersign)
        verification_menu.addAction(countersign_action)
        evidence_menu = self.menuBar().addMenu(tr("&Evidence"))
        export_action = QAction(tr("Export evidence bundle for a session…"), self)
        export_action.triggered.connect(self.export_session_evidence)
        evidence_menu.addAction(export_action)
        ocmf_action = QAction(tr("Import OCMF signed meter data…"), self)
        ocmf_action.triggered.connect(self.import_ocmf)
        evidence_menu.addAction(ocmf_action)

    def open_countersign(self):
        """核验员 / 批准人 countersigning (app.views.countersign); the model checks the roles."""
        from app.views.countersign import CountersignDialog

        return CountersignDialog.open_for(
            self.store,
            self.reader,
            self.session,
            self._platform,
            self._vkey,
            self,
            list_mode=self._log_list is not None,
        )

    def open_settings(self) -> None:
        from app.settings_dialog import SettingsDialog

        SettingsDialog(self).exec()

    # ---- sync ---------------------------------------------------------------------------
    def start_list_sync(self, config) -> None:
        """The log list mode: every log of the signed list for the office's region, each
        with its own state (`ListSyncWorker`); proofs and evidence use each entry's log."""
        store_url = self.store_url
        self.session_lookup.set_prover(lambda key: prove_inclusion_in_list(store_url, key))
        witnesses = str(QSettings().value("platform/witness_policy", "") or "") or None
        worker = ListSyncWorker(
            store_url, config.source, config.list_key, config.region, witnesses=witnesses
        )
        panel = self.logs_panel
        worker.state_changed.connect(self._on_list_state)
        worker.synced.connect(self._on_list_synced)
        worker.progress.connect(panel.on_progress)
        self._sync_state = ("syncing", "")
        self._sync_worker = worker
        self._threads.append(start_in_thread(worker, self))
        self._workers.append(worker)

    def _on_list_state(self, origin: str, status: str, message: str) -> None:
        """One log's (or, origin "", the list's) state. A halt is announced once per log
        and without blocking: the other logs go on syncing while the regulator reads it."""
        self.logs_panel.on_state(origin, status, message)
        if status == "halted" and origin not in self._list_alerts:
            if origin:
                text = tr(
                    "The platform of log %1 served data that fails verification. Sync of "
                    "this log is halted and the evidence is stored; the other logs go on."
                ).replace("%1", origin)
            else:
                text = tr("The signed log list is refused; no log is synced until it is fixed.")
            box = QMessageBox(
                QMessageBox.Icon.Critical,
                tr("Ledger misbehaviour"),
                text + "\n\n" + message,
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setModal(False)
            box.show()
            self._list_alerts[origin] = box
        elif status == "ok":
            box = self._list_alerts.pop(origin, None)
            if box is not None:
                box.close()
        self._update_status()

    def _on_list_synced(self, info: dict) -> None:
        self.logs_panel.on_synced(info)
        self._write_url = info.get("write_url", "")
        self._last_sync = info
        if info["sequence"] != self._list_sequence:
            self._list_sequence = info["sequence"]
            self._load_log_origins()
        if info["applied"]:
            self.alarm_view.poller.refresh()
            self.explorer.refresh()
            self.due_list.refresh()
            self.taxi_view.refresh()
            if not self._map_timer.isActive():
                self._map_timer.start(1500)
        self._update_status()

    def _load_log_origins(self) -> None:
        """Log numbers → origins, for views that name an entry's log (on the reader)."""
        from app.models.logs import origins_by_number

        self.reader.submit(origins_by_number, self._set_log_origins)

    def _set_log_origins(self, origins: dict[int, str]) -> None:
        from app.views.log_names import set_known_origins

        set_known_origins(origins)  # pile detail's seal markers, the taxi histories
        self.session_lookup.set_log_origins(origins)

    def start_sync(self, platform: str, vkey: str) -> None:
        self._platform, self._vkey = platform, vkey
        self.session_lookup.set_prover(
            lambda index: prove_inclusion(self.store_url, platform, vkey, index)
        )
        witnesses = str(QSettings().value("platform/witness_policy", "") or "") or None
        worker = SyncWorker(self.store_url, platform, vkey, witnesses=witnesses)
        worker.state_changed.connect(self._on_sync_state)
        worker.synced.connect(self._on_synced)
        worker.progress.connect(self._on_progress)
        self._sync_worker = worker
        self._threads.append(start_in_thread(worker, self))
        self._workers.append(worker)

    def _on_progress(self, done: int, total: int, rate: float) -> None:
        self._sync_state = ("syncing", "")
        self.sync_label.setText(
            tr("Syncing %1 / %2 entries (%3/s)")
            .replace("%1", f"{done:,}")
            .replace("%2", f"{total:,}")
            .replace("%3", f"{rate:,.0f}")
        )

    def _on_sync_state(self, status: str, message: str) -> None:
        self._sync_state = (status, message)
        if status == "halted":
            QMessageBox.critical(
                self,
                tr("Ledger misbehaviour"),
                tr(
                    "The platform served data that fails verification. Sync is halted and "
                    "the evidence is stored."
                )
                + "\n\n"
                + message,
            )
        self._update_status()

    def _on_synced(self, info: dict) -> None:
        self._last_sync = info
        self._sync_state = ("ok", "")
        if info["applied"]:
            self.alarm_view.poller.refresh()  # new alarms on screen now, not at the next poll
            self.explorer.refresh()
            self.due_list.refresh()
            self.taxi_view.refresh()
        self._update_status()
        if info["applied"] and not self._map_timer.isActive():
            self._map_timer.start(1500)

    def _update_status(self) -> None:
        if self.logs_panel is not None:
            self._update_list_status()
            return
        status, message = self._sync_state
        info = self._last_sync
        if status == "offline":
            since = time.strftime("%Y-%m-%d %H:%M", time.localtime(info["at"])) if info else "—"
            self.sync_label.setText(tr("Offline — data as of %1").replace("%1", since))
            self.sync_label.setToolTip(message)
        elif status == "halted":
            self.sync_label.setText(tr("Sync halted: platform misbehaviour"))
            self.sync_label.setToolTip(message)
        elif status == "error":
            self.sync_label.setText(tr("Sync error, retrying"))
            self.sync_label.setToolTip(message)
        elif status == "ok":
            self.sync_label.setText(tr("Synced and verified"))
            self.sync_label.setToolTip("")
        if info:
            age = int(time.time() - info["at"])
            self.checkpoint_label.setText(
                tr("Checkpoint %1 entries, %2 s ago")
                .replace("%1", f"{info['size']:,}")
                .replace("%2", str(age))
            )
            self.checkpoint_label.setToolTip(info["root"])

    def _update_list_status(self) -> None:
        """Log list mode: "4 logs · 1 offline", the bad logs' reasons as the tooltip."""
        panel = self.logs_panel
        self.sync_label.setText(panel.summary())
        bad = [
            f"{row.origin}: {row.message}"
            for row in panel.model.rows
            if row.status in ("offline", "error", "halted", "misbehaviour") and row.message
        ]
        if panel.list_status != "ok" and panel.list_message:
            bad.insert(0, panel.list_message)
        self.sync_label.setToolTip("\n".join(bad))
        _followed, offline, halted = panel.counts()
        self.sync_label.setStyleSheet(
            "color: #b71c1c;" if halted else "color: #e65100;" if offline else ""
        )
        info = self._last_sync
        if info and "sequence" in info:
            age = int(time.time() - info["at"])
            self.checkpoint_label.setText(
                tr("Log list no. %1, checked %2 s ago")
                .replace("%1", str(info["sequence"]))
                .replace("%2", str(age))
            )

    # ---- map ----------------------------------------------------------------------------
    def reload_map(self) -> None:
        if self._map_pending:
            return
        self._map_pending = True
        call = Call(load_map, self.store_url)
        call.done.connect(self._on_map_loaded)
        call.failed.connect(self._on_map_failed)
        thread = start_in_thread(call, self)
        call.done.connect(thread.quit)
        call.failed.connect(thread.quit)
        self._threads.append(thread)
        self._workers.append(call)

    def _on_map_loaded(self, result) -> None:
        self._map_pending = False
        data, open_alarms, dispensers = result
        if len(data.pile_ids):
            self.map_panel.set_data(data)
        if len(dispensers) or len(self.map_panel.view.fuel):
            self.map_panel.set_dispensers(dispensers)
        self.alarm_label.setText(tr("Open alarms: %1").replace("%1", str(open_alarms)))
        self._start_up_done()

    def _on_map_failed(self, message: str) -> None:
        self._map_pending = False
        self.statusBar().showMessage(tr("Cannot read the store: %1").replace("%1", message))
        self._start_up_done()

    def _start_up_done(self) -> None:
        """After the first map load (the last of the cold start's work), once: warm-ups
        that would otherwise land on the user's first click run now, off the clock of
        the ≤ 3 s cold start."""
        if self._started:
            return
        self._started = True
        self.pile_detail.warm_up()
        self.started.emit()

    def screenshot_targets(self):
        """(name, grab) pairs for `main.py screenshot`: the window, then each dock shown
        alone in the window's place so it renders at full size."""
        yield "main", self.grab
        for name, dock in self.docks.items():
            yield name, lambda dock=dock: _grab_alone(dock.widget(), self._settle_reads)

    def _settle_reads(self) -> None:
        """Waits for the store reads that painting asked for, and delivers their answers."""
        for _ in range(3):  # rows, then the names and counts filled in for them
            QCoreApplication.processEvents()
            self.reader.wait(5000)
        QCoreApplication.processEvents()

    # ---- lifecycle ----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stops every worker thread (tests call this; closeEvent does too)."""
        self._age_timer.stop()  # first: a late tick must not start new reads
        self._map_timer.stop()
        for box in self._list_alerts.values():  # non-modal halt alerts outlive nothing
            box.close()
        self._list_alerts.clear()
        if self._sync_worker is not None:
            self._sync_worker.stop()
        if self.logs_panel is not None:
            from app.views.log_names import set_known_origins

            set_known_origins({})  # this window's store is no longer shown
        self.alarm_view.shutdown()
        self.reader.shutdown()
        self.store.close()
        for thread in self._threads:
            thread.quit()
        for thread in self._threads:
            thread.wait(30000)
        self._threads.clear()

    def closeEvent(self, event) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        self.shutdown()
        super().closeEvent(event)
