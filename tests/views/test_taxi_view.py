"""The taxi view's filters and status counts (pytest-qt), over rows as
`app.models.taxi.queries.taxi_rows` returns them."""

from __future__ import annotations

import random
from collections import Counter

from app.models.taxi.queries import TaxiRow
from app.views.table_models import StoreReader
from app.views.taxi.taxi_view import STATUS_ORDER, TaxiView, status_label


def fleet(n: int = 60) -> list[TaxiRow]:
    rng = random.Random(517)
    rows = []
    for i in range(n):
        status = rng.choice(STATUS_ORDER)
        days = None if status == "unverified" else rng.randint(-40, 200)
        rows.append(
            TaxiRow(
                plate=f"浙A·{i:05d}",
                operator_id=rng.choice(["OP1", "OP2", "OP3"]),
                meter_serial=f"JJ-{i}",
                status=status,
                evidence="verification@1",
                next_due=None if days is None else "2026-12-31",
                days_left=days,
                drift_pct=None if days is None else rng.uniform(-5, 2),
            )
        )
    return rows


def shown(view: TaxiView) -> list[str]:
    return [view.table.item(i, 0).text() for i in range(view.table.rowCount())]


def test_filters_and_counts(qtbot):
    reader = StoreReader(None)
    view = TaxiView(reader)
    qtbot.addWidget(view)
    rows = fleet()
    view.set_rows(rows)
    assert shown(view) == [r.plate for r in rows]
    counts = Counter(r.status for r in rows)
    for status in STATUS_ORDER:
        if counts[status]:
            assert f"{status_label(status)}: {counts[status]}" in view.counts.text()

    view.status_filter.setCurrentIndex(view.status_filter.findData("drift_suspected"))
    assert shown(view) == [r.plate for r in rows if r.status == "drift_suspected"]
    assert all(
        view.table.item(i, 3).text() == status_label("drift_suspected")
        for i in range(view.table.rowCount())
    )

    view.company_filter.setCurrentIndex(view.company_filter.findData("OP2"))
    want = [r.plate for r in rows if r.status == "drift_suspected" and r.operator_id == "OP2"]
    assert shown(view) == want
    assert f"{len(want)}" in view.counts.text().split(" · ")[0]

    view.status_filter.setCurrentIndex(0)
    view.company_filter.setCurrentIndex(0)
    view.expiring.setChecked(True)
    soon = [r for r in rows if r.days_left is not None and 0 <= r.days_left <= 30]
    assert soon and len(soon) < len(rows)
    assert shown(view) == [r.plate for r in soon]
    # Days 30 and 31 are the boundary: a taxi with 31 days left is not "expiring soon".
    edge = [
        TaxiRow("浙A·B0030", "OP1", "JJ-30", "expiring", "e", "2026-12-31", 30, None),
        TaxiRow("浙A·B0031", "OP1", "JJ-31", "valid", "e", "2026-12-31", 31, None),
        TaxiRow("浙A·B0000", "OP1", "JJ-0", "expired", "e", "2026-12-31", -1, None),
    ]
    view.set_rows(edge)
    assert shown(view) == ["浙A·B0030"]
    reader.shutdown()
