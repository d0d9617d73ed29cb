"""Qt-free core of the 安心充电 metrology ledger.

A transparency log in the Certificate Transparency / Go checksum database
design: RFC 6962/9162 Merkle trees, C2SP signed notes, checkpoints and
tlog-tiles, plus the signed metering records that go into it. Both the
reference supervision platform and the regulator workstation use it.
"""
