"""Settings of the verifying body kept in the office's store (``planning_settings``).

Today one: the body's 计量标准考核证书 number (the approval of its measurement standard,
JJF 1069 wants it on every certificate). Why in the store and not per workstation: every
certificate the office issues must carry the same number, whoever runs the wizard or
``main.py verify``; a regulator sets it once, audited. The run signs it into the record
(``standard.approval_certificate_no``), so a later change never alters a signed result.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from app.models.plan_tables import planning_settings
from app.models.store import upsert, utcnow, write_audit
from app.models.users import Session, require

__all__ = ["APPROVAL_KEY", "approval_certificate_no", "set_approval_certificate_no"]

APPROVAL_KEY = "approval_certificate_no"
MAX_LENGTH = 64


def approval_certificate_no(conn: Connection) -> str:
    """The office's 计量标准考核证书 number ("" when nobody has set it)."""
    value = conn.execute(
        select(planning_settings.c.value).where(planning_settings.c.key == APPROVAL_KEY)
    ).scalar()
    return value if isinstance(value, str) else ""


def set_approval_certificate_no(conn: Connection, session: Session, number: str) -> str:
    """Sets the number printed on every certificate (role ``register.edit``), audited.

    Refused: line breaks or control characters (it is printed on one line of a legal
    document) and more than 64 characters. An empty number clears it (certificates then
    print "—"). Returns the number as stored (trimmed).
    """
    require(session, "register.edit")
    text = number.strip()
    if len(text) > MAX_LENGTH:
        raise ValueError(
            f"the 计量标准考核证书 number has {len(text)} characters; at most {MAX_LENGTH}"
        )
    if any(not ch.isprintable() for ch in text):
        raise ValueError(
            "the 计量标准考核证书 number must be one line of printable characters, "
            "as on the certificate"
        )
    upsert(
        conn,
        planning_settings,
        [{"key": APPROVAL_KEY, "value": text, "updated_at": utcnow(),
          "updated_by": session.username}],
        ("key",),
    )  # fmt: skip
    write_audit(
        conn,
        session.username,
        "register.approval_certificate",
        "计量标准考核证书",
        {"number": text},
    )
    return text
