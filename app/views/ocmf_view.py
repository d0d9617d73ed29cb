"""Imported OCMF records (signed meter data from Eichrecht chargers) in a table, with
each record's signature verdict, next to our own sessions."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


def tr(text: str) -> str:
    return QCoreApplication.translate("OcmfView", text)


def verdict_label(verdict: str) -> str:
    """The user's words for an import verdict (ocmf_import.VERDICTS)."""
    labels = {
        "verified": tr("signature verified"),
        "bad_signature": tr("signature does not verify"),
        "no_key": tr("no public key to check the signature with"),
        "malformed": tr("not a valid OCMF record"),
    }
    return labels.get(verdict, verdict)


class OcmfDialog(QDialog):
    def __init__(self, rows: list, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Imported OCMF records"))
        good = sum(r.signature_ok for r in rows)
        from app.models.ocmf_import import paired_energy_wh

        text = (
            tr("%1 records, %2 with a valid signature")
            .replace("%1", str(len(rows)))
            .replace("%2", str(good))
        )
        paired = paired_energy_wh(rows)
        if paired is not None:
            energy = tr("session energy (begin → end): %1 kWh").replace(
                "%1", f"{paired / 1000:.3f}"
            )
            text = tr("%1; %2").replace("%1", text).replace("%2", energy)
        summary = QLabel(text)
        self.table = QTableWidget(len(rows), 7)
        self.table.setHorizontalHeaderLabels(
            [
                tr("Line"),
                tr("Meter"),
                tr("Pagination"),
                tr("Begin"),
                tr("End"),
                tr("Energy (kWh)"),
                tr("Signature"),
            ]
        )
        for i, row in enumerate(rows):
            energy = "" if row.energy_wh is None else f"{row.energy_wh / 1000:.3f}"
            verdict = ("√ " if row.signature_ok else "× ") + verdict_label(row.verdict)
            for j, text in enumerate(
                [row.source, row.meter, row.pagination, row.begin, row.end, energy, verdict]
            ):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if j == 6:
                    item.setForeground(QBrush(QColor("#1e7d32" if row.signature_ok else "#c0392b")))
                    item.setToolTip(row.message)  # the technical reason, OCMF field names
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(1100, 400)
