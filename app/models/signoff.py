"""Countersigning of a verification result: the contract between the workflow and the print.

JJF 1069 wants three people on a certificate or result notice: the inspector (检定员) who
stood at the pile and signed the result, a checker (核验员) who verified the record, and an
approver (批准人) who releases it. The workflow that collects the two countersignatures
(roles, keys, audit) produces a :class:`SignOff`; the certificate writer only renders it and
prints "草稿 / DRAFT" on anything that is not :attr:`SignOff.final`.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKER = "checker"  # 核验员
APPROVER = "approver"  # 批准人


@dataclass(frozen=True)
class Countersignature:
    """One countersignature over the signed result record (its leaf hash)."""

    role: str  # CHECKER or APPROVER
    username: str
    display_name: str
    signed_ms: int  # Unix ms, UTC
    key_id: str  # the countersigner's public key id
    signature: str  # base64, over the result record's leaf hash


@dataclass(frozen=True)
class SignOff:
    """Who signed a result so far; final once checked and approved by two other people."""

    inspector_name: str
    checker: Countersignature | None = None
    approver: Countersignature | None = None

    @property
    def final(self) -> bool:
        return self.checker is not None and self.approver is not None
