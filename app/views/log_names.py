"""Entry keys as a regulator reads them: the index in its log, and which log.

A store following several logs (issue 17, `app.models.logs`) keys every ledger-derived
row by ``(log_no << 40) | index``; the raw key (1099511627781) means nothing to a person
and cannot be looked up in the log. Views show the index in the log, named with the log's
origin whenever the entry is not in the store's first log or the store follows several
logs; a single-log store's entries read exactly as before ("5").
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QCoreApplication

from app.models.logs import split_key


def tr(text: str) -> str:
    return QCoreApplication.translate("LogNames", text)


_known: dict[int, str] = {}


def set_known_origins(origins: Mapping[int, str]) -> None:
    """The store's log numbers → origins, for views that are not handed them (the main
    window sets them on the GUI thread after each new accepted list)."""
    _known.clear()
    _known.update(origins)


def entry_text(key: int, origins: Mapping[int, str] | None = None) -> str:
    """``"5"`` in a single-log store, ``"5 in hangzhou…/2026h2"`` otherwise. ``origins``:
    log numbers → origins; by default the ones the main window set."""
    log_no, index = split_key(int(key))
    origins = _known if origins is None else origins
    if log_no == 0 and len(origins) <= 1:
        return str(index)
    name = origins.get(log_no) or tr("log no. %1").replace("%1", str(log_no))
    return tr("%1 in %2").replace("%1", str(index)).replace("%2", name)
