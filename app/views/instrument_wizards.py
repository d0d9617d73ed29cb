"""Opening the fuel (JJG 443) and taxi (JJG 517) verification wizards from the window's
menu or from a work-order item, with the nameplates of the registry.

Split in two, as the charging wizard is opened: :func:`load_specs` reads the registry on
a worker thread (the lists are ordered by the kind's due list, the instrument asked for
first), :func:`show_wizard` builds the wizard on the GUI thread with the same outbox,
inspector key file and certificate folder as the charging wizard, so every kind's
signed results leave through one upload.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget, QWizard

from app.models import store as st
from app.models.users import Session

CST = dt.timezone(dt.timedelta(hours=8))
KINDS = ("fuel", "taxi")


def load_specs(store_url: str, kind: str, first: str = "") -> tuple[str, list[Any], str]:
    """Worker-thread function: ``(kind, nameplates, first)``; the instrument ``first``
    (a dispenser ID or a plate) leads the list when the registry has it."""
    today = dt.datetime.now(CST).date()
    with st.Store.open(store_url) as store, store.engine.connect() as conn:
        if kind == "fuel":
            from app.models.fuel.due import wizard_specs as fuel_specs

            specs: list[Any] = fuel_specs(conn, today)
            ident = "dispenser_id"
        elif kind == "taxi":
            from app.models.taxi.due import wizard_specs as taxi_specs

            specs = taxi_specs(conn)
            ident = "plate"
        else:
            raise ValueError(f"no verification wizard for instrument kind {kind!r}")
    if first:
        specs.sort(key=lambda spec: getattr(spec, ident) != first)  # stable: keeps the rest
    return kind, specs, first if any(getattr(s, ident) == first for s in specs) else ""


def show_wizard(
    parent: QWidget | None,
    setup: tuple[str, list[Any], str],
    *,
    root: Path,
    session: Session | None,
    platform: str = "",
) -> QWizard:
    """Builds and shows the kind's wizard (GUI thread); the asked-for instrument is
    chosen on the first page."""
    from app.models.outbox import Outbox

    kind, specs, first = setup
    root.mkdir(parents=True, exist_ok=True)
    common: dict[str, Any] = {
        "work_dir": root,
        "outbox": Outbox(root / "outbox", platform),
        "key_path": root / f"inspector-{session.username if session else 'local'}.pem",
        "certificate_dir": root / "certificates",
        "inspector_id": (session.inspector_id if session else None) or "",
        "inspector_name": session.display_name if session else "",
        "parent": parent,
    }
    wizard: QWizard
    if kind == "fuel":
        from app.views.fuel.verification_wizard import FuelVerificationWizard

        fuel = FuelVerificationWizard(specs, **common)
        if first and fuel.dispenser_page.list.count():
            fuel.dispenser_page.list.setCurrentRow(0)
        wizard = fuel
    elif kind == "taxi":
        from app.views.taxi.verification_wizard import TaxiVerificationWizard

        taxi = TaxiVerificationWizard(specs, **common)
        if first and taxi.taxi_page.list.count():
            taxi.taxi_page.list.setCurrentRow(0)
        wizard = taxi
    else:
        raise ValueError(f"no verification wizard for instrument kind {kind!r}")
    wizard.resize(1400, 900)
    wizard.show()
    return wizard
