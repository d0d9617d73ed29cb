"""Qt-free core of the 安心充电 metrology ledger.

A transparency log in the Certificate Transparency / Go checksum database
design: RFC 6962/9162 Merkle trees, C2SP signed notes, checkpoints and
tlog-tiles, plus the signed metering records that go into it. Both the
reference supervision platform and the regulator workstation use it.

This module is the composition root of the instrument kinds (docs/architecture.md):
the core names no kind; each kind's records are registered here, once, before
anything parses a record.
"""

from ledger.charging.records import CHARGING as _CHARGING
from ledger.fuel.records import FUEL as _FUEL
from ledger.kinds import SignedFeed as _SignedFeed
from ledger.kinds import register_feed as _register_feed
from ledger.records import register_kind as _register_kind
from ledger.taxi.feed import TaxiFeed as _TaxiFeed
from ledger.taxi.records import TAXI as _TAXI

for _kind in (_CHARGING, _FUEL, _TAXI):
    _register_kind(_kind)
_register_feed(_SignedFeed("/taxi/status", _TaxiFeed))  # docs/taxi-status.md
