"""Every parser of outside bytes raises only its documented error type (issue 13, item 7).

Bounded hypothesis runs of bench/fuzz.py's targets and mutators (valid inputs, mutated:
bit flips, interesting tokens, truncation, splices, edits inside zip members), plus the
inputs that escaped before: a deeply nested or 5,000-digit OCMF member, an OCMF reading
whose kWh → Wh scaling overflowed, evidence bundles with a corrupt deflate stream, an
unknown compression method or an encrypted member. The long runs are `bench/fuzz.py`.
"""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz import TARGETS, mutate, run_one, small_log
from ledger import ocmf
from ledger.bundle_verify import main as verify_bundle_main
from ledger.bundle_verify import verify_bundle

EXAMPLES = {"verify-bundle": 40, "ocmf": 150}


@pytest.mark.parametrize("name", list(TARGETS))
def test_seeds_are_accepted_or_refused_by_the_documented_error(name: str) -> None:
    target = TARGETS[name]
    for seed in target.seeds():
        assert run_one(target, seed) is None


def _fuzz(name: str):
    target = TARGETS[name]

    @settings(
        max_examples=EXAMPLES.get(name, 200),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.integers(0, 2**32), st.integers(0, 10**6))
    def check(rng_seed: int, pick: int) -> None:
        seeds = target.seeds()
        rng = random.Random(rng_seed)
        data = mutate(rng, seeds[pick % len(seeds)], seeds)
        escaped = run_one(target, data)
        assert escaped is None, f"{name}: {type(escaped).__name__}: {escaped} for {data[:200]!r}"

    return check


@pytest.mark.parametrize("name", list(TARGETS))
def test_mutated_inputs_raise_only_the_documented_error(name: str) -> None:
    _fuzz(name)()


# ---- the inputs that escaped before --------------------------------------------------


def _ocmf(payload: str) -> str:
    return "OCMF|" + payload + '|{"SD":"3045022100"}'


@pytest.mark.parametrize(
    "text",
    [
        _ocmf('{"RD":' + "[" * 3000 + "]" * 3000 + "}"),  # RecursionError
        _ocmf(
            '{"RD":[{"TM":"2026-01-01T00:00:00,000+0000 S","RV":'
            + "9" * 5000
            + ',"RU":"kWh","TX":"B"}]}'
        ),  # ValueError: int over 4,300 digits
        _ocmf(
            '{"RD":[{"TM":"2026-01-01T00:00:00,000+0000 S","RV":1e999999999,'
            '"RU":"kWh","TX":"B"},{"RV":2,"RU":"kWh","TX":"E"}]}'
        ),  # decimal.Overflow
        _ocmf(
            '{"RD":[{"TM":"2026-01-01T00:00:00,000+0000 S","RV":1e-999999999,"RU":"kWh","TX":"B"}]}'
        ),
        _ocmf('{"RD":[{"RV":1e99999999999999999999,"RU":"kWh","TX":"B"}]}'),
        # ^ decimal.InvalidOperation from the JSON decoder (exponent beyond Decimal's),
        #   found by the 10-minute bench/fuzz.py run
        '{"signedMeterData":' + "[" * 3000 + "]" * 3000 + "}",
    ],
)
def test_ocmf_inputs_that_escaped_before_now_raise_ocmf_error(text: str) -> None:
    with pytest.raises(ocmf.OcmfError):
        if text.startswith("{"):
            ocmf.parse_signed_meter_value(text)
        else:
            record = ocmf.parse_ocmf(text)
            ocmf.session_energy([record])


def _rezip(bundle: bytes, edit) -> bytes:
    """``bundle`` rewritten member by member, then ``edit``ed as raw zip bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(info))
    return edit(bytearray(out.getvalue()))


def _corrupt_deflate(raw: bytearray) -> bytes:
    at = raw.index(b"PK\x03\x04")
    name_len, extra_len = (
        int.from_bytes(raw[at + 26 : at + 28], "little"),
        int.from_bytes(raw[at + 28 : at + 30], "little"),
    )
    data = at + 30 + name_len + extra_len
    raw[data : data + 4] = b"\xff\xff\xff\xff"  # an invalid deflate block header
    return bytes(raw)


def _method(method: int, flags: int = 0):
    def edit(raw: bytearray) -> bytes:
        for sig, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            start = 0
            while (at := raw.find(sig, start)) >= 0:
                raw[at + offset : at + offset + 2] = method.to_bytes(2, "little")
                raw[at + offset - 2 : at + offset] = flags.to_bytes(2, "little")
                start = at + 4
        return bytes(raw)

    return edit


@pytest.mark.parametrize(
    "edit",
    [_corrupt_deflate, _method(99), _method(8, flags=1)],
    ids=["zlib.error", "NotImplementedError (method 99)", "encrypted member"],
)
def test_bundles_that_raised_before_get_a_failing_verdict(edit, tmp_path, capsys) -> None:
    log = small_log()
    bad = _rezip(log.bundle, edit)
    result = verify_bundle(bad, log.vkey)
    assert not result.ok
    assert not any("internal error" in c.en for c in result.checks), result.text()
    path = tmp_path / "bad.zip"
    path.write_bytes(bad)
    assert verify_bundle_main([str(path), "--log-key", log.vkey]) == 1
    assert "VERDICT: × verification FAILED" in capsys.readouterr().out


def test_a_5000_digit_index_or_size_is_a_format_error_not_a_value_error() -> None:
    """bench/fuzz.py found it: int() refuses over 4,300 digits with a bare ValueError."""
    from ledger.note import Checkpoint, MalformedCheckpointError
    from ledger.tlog_proof import ProofFormatError, parse_tlog_proof

    log = small_log()
    proof = log.proofs[3]
    head, _, rest = proof.partition(b"\nindex 3\n")
    with pytest.raises(ProofFormatError):
        parse_tlog_proof(head + b"\nindex " + b"7" * 5000 + b"\n" + rest)
    origin, _size, root = log.note.decode().split("\n")[:3]
    with pytest.raises(MalformedCheckpointError):
        Checkpoint.parse(f"{origin}\n{'9' * 5000}\n{root}\n")
    embedded = log.note.replace(b"\n12\n", b"\n" + b"9" * 5000 + b"\n", 1)
    with pytest.raises(ProofFormatError):
        parse_tlog_proof(proof.replace(log.note, embedded))
