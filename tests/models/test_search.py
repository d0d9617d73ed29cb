"""Explorer text search: the trigram index (SQLite) and the LIKE scan (PostgreSQL, short
texts) find exactly the rows a case-insensitive substring test finds, and the index follows
the registry as piles move between stations."""

from __future__ import annotations

import itertools

from app.models.charging import queries
from app.models.projection import apply_records
from app.models.store import Store
from tests.models import samples

STATIONS = [
    ("ST0001", "杭州大厦501广场G层", "拱墅区武林广场"),
    ("HZ-XH-007", "西溪湿地北门站", None),
]
PILES = [("P000001", "ST0001"), ("p-xh-0071", "HZ-XH-007"), ("P00042A", "HZ-XH-007")]


def _world(store: Store) -> None:
    entries = [(i, samples.signed(t)) for i, t in enumerate(samples.ORDER[:4])]
    for station_id, name, address in STATIONS:
        extra = {"address": address} if address else {}
        body = {"station_id": station_id, "name": name, **extra}
        entries.append((len(entries), samples.signed("station", **body)))
    for pile_id, station_id in PILES:
        entries.append(
            (len(entries), samples.signed("pile", pile_id=pile_id, station_id=station_id))
        )
    with store.transaction() as conn:
        apply_records(conn, entries)


def _expected(rows: list[tuple[str | None, ...]], text: str) -> int:
    return sum(any(text.lower() in (v or "").lower() for v in row) for row in rows)


def test_search_finds_what_a_substring_test_finds(store: Store) -> None:
    _world(store)
    texts = {"Zz9", "p0", "%", "_", '"', "湿地", "广场G", "ST0"}
    for value in itertools.chain(*STATIONS, *PILES):
        for n in (2, 3, 4, 6):
            texts |= {value[i : i + n].swapcase() for i in range(len(value or "") - n + 1)}
    with store.engine.connect() as conn:
        for text in sorted(t for t in texts if t):
            flt = queries.ListFilter(text=text)
            assert queries.count_rows(conn, "piles", flt) == _expected(PILES, text), text
            assert queries.count_rows(conn, "stations", flt) == _expected(STATIONS, text), text
            rows = queries.page_rows(conn, queries.PageRequest("piles", flt))
            assert len(rows) == _expected(PILES, text)


def test_search_follows_a_pile_to_its_new_station(store: Store) -> None:
    _world(store)
    with store.transaction() as conn:
        apply_records(conn, [(100, samples.signed("pile", pile_id="P00042A", station_id="ST0001"))])
    with store.engine.connect() as conn:

        def found(text: str) -> list[str]:
            req = queries.PageRequest("piles", queries.ListFilter(text=text))
            return [row[0] for row in queries.page_rows(conn, req)]

        assert found("042a") == ["P00042A"]
        assert found("xh-007") == ["p-xh-0071"]  # the moved pile no longer matches its old station
        assert found("st000") == ["P000001", "P00042A"]


def test_sqlite_answers_three_characters_from_the_trigram_index(store: Store) -> None:
    from sqlalchemy import event

    _world(store)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with store.engine.connect() as conn:
        assert queries.count_rows(conn, "piles", queries.ListFilter(text="xh-0")) == 2
        assert queries.count_rows(conn, "piles", queries.ListFilter(text="xh")) == 2
    indexed = ["piles_search MATCH" in s for s in statements if "FROM piles" in s]
    expected = [True, False] if store.dialect == "sqlite" else [False, False]
    assert indexed == expected


def test_cased_letters_beyond_ascii_match_as_the_scan_does(store: Store) -> None:
    """The trigram index folds É to é, SQLite's LIKE does not: such texts keep the scan,
    so a longer text never finds more than its own prefix."""
    _world(store)
    with store.transaction() as conn:
        station = samples.signed("station", station_id="ST-FR", name="ÉCOLE Centrale")
        apply_records(conn, [(50, station)])
    with store.engine.connect() as conn:
        counts = {
            t: queries.count_rows(conn, "stations", queries.ListFilter(text=t))
            for t in ("éc", "éco", "école", "ÉCO", "centrale")
        }
    assert counts["centrale"] == 1
    assert counts["éco"] <= counts["éc"] and counts["école"] <= counts["éc"]
    assert counts["ÉCO"] <= counts["éc"]


def test_control_characters_neither_list_everything_nor_raise(store: Store) -> None:
    """Issue 13, item 8: a NUL in the search box listed every pile (SQLite's LIKE stops at
    it) or raised (FTS5, PostgreSQL); U+001F and U+0085 were trimmed away as
    "whitespace", leaving the empty search. Control characters are matched literally:
    no pile ID holds one, so none is found, on both backends and on both paths (the
    trigram index for 3+ characters, the scan below)."""
    _world(store)
    texts = [
        "\x00",
        "\x00\x00\x00",
        "P0\x00",
        "P000\x00001",
        "\x00P000001",
        "\x1f",
        "\x1c\x1d\x1e",
        "\x85",
        "P00\x1f",
        "\x01ST0",
        "\x7f",
        "xh-\x0b007",
        "\x1b[2J",
        "\ufeff",
    ]
    with store.engine.connect() as conn:
        for text in texts:
            flt = queries.ListFilter(text=text)
            for name in ("piles", "stations"):
                assert queries.count_rows(conn, name, flt) == 0, repr(text)
                assert queries.page_rows(conn, queries.PageRequest(name, flt)) == [], repr(text)
        # ordinary spaces around a real text are still trimmed
        flt = queries.ListFilter(text="  P00042A\u3000\n")
        assert queries.count_rows(conn, "piles", flt) == 1
