"""Offline verifier for evidence bundles (and single C2SP tlog-proofs): trust nothing inside.

``python -m ledger verify-bundle BUNDLE.zip --log-key VKEY`` checks, with no
network and no workstation:

1. the manifest and the SHA-256 of every file in the zip;
2. the checkpoint's signature with the log key *you* give (``--log-key``; the
   bundle's own ``log.vkey`` is used only with ``--trust-bundled-key``, with a
   warning, since a forger would bundle his own key);
3. for each log entry, its C2SP tlog-proof against that checkpoint;
4. for each entry, its record signature, with the key registered by a registry
   entry in the bundle that is itself proven in the log — meter -> operator ->
   authority, down to the bureau's self-signed record at index 0;
5. the consistency proof to an earlier checkpoint, when the bundle has one
   (``--since-checkpoint`` insists it is *your* checkpoint);
6. OCMF records by the meter's signature only (they are not in the log, and
   the verdict says so).

It prints one ✓/× line per check in Chinese and English and exits 0 only if
everything holds. ``--tlog-proof PROOF --leaf FILE|--leaf-hash HEX`` checks
one tlog-proof from any C2SP log (Sigsum, Go checksum database...).

Deliberately independent of `ledger.bundle` (the builder) and small: it uses
only the standard library, ``cryptography`` and the ledger's format modules
(note, merkle, tlog_proof, records, keys, ocmf), so a court's expert can read
all of it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import io
import json
import lzma
import sys
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger import merkle, ocmf
from ledger.keys import PublicKey, key_id_of
from ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint
from ledger.records import SIGNED_BY, SIGNER_FIELDS, TRANSFERABLE, Record, RecordError
from ledger.tlog_proof import TlogProofError, parse_tlog_proof, verify_tlog_proof_hash

__all__ = ["Check", "EntryVerdict", "Result", "main", "verify_bundle", "verify_single_proof"]

FORMAT = "evmetrology-evidence-bundle/v1"
MANIFEST, MANIFEST_SUM = "manifest.json", "manifest.sha256"
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 200_000
_REGISTRY = {"authority", "operator", "inspector", "meter"}
_SOURCE = SIGNER_FIELDS  # signer -> ID field, with every registered kind's signers
_KIND_ZH = {
    "authority": "监管机构",
    "operator": "运营商",
    "meter": "计量表",
    "inspector": "检定员",
    "dispenser": "加油机监控模块",
}
_TIME_FIELDS = ("start_ms", "at_ms", "ref_ms", "valid_from_ms")


@dataclass
class Check:
    """One line of the verdict. ``ok`` None is a warning or a note, never a pass."""

    ok: bool | None
    zh: str
    en: str

    def line(self) -> str:
        mark = {True: "✓", False: "×", None: "!"}[self.ok]
        return f"{mark} {self.zh}\n  {self.en}"


@dataclass
class EntryVerdict:
    """What was established about one log entry (or OCMF record) of the bundle."""

    index: int | None
    rtype: str
    subject: str
    role: str
    included: bool = False
    signed: bool = False
    signer: str = ""
    signer_zh: str = ""
    reasons: list[str] = field(default_factory=list)
    body: Mapping[str, Any] = field(default_factory=dict)
    proof_sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.included and self.signed and not self.reasons


@dataclass
class Result:
    """The whole verdict: ``ok`` only when every check passed."""

    checks: list[Check] = field(default_factory=list)
    entries: list[EntryVerdict] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    subject: Mapping[str, Any] = field(default_factory=dict)
    ocmf: list[EntryVerdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok is not False for c in self.checks)

    def add(self, ok: bool | None, zh: str, en: str) -> bool:
        self.checks.append(Check(ok, zh, en))
        return bool(ok)

    def text(self) -> str:
        lines = [c.line() for c in self.checks]
        failed = sum(c.ok is False for c in self.checks)
        if self.ok:
            lines.append("结论：✓ 全部检查通过\nVERDICT: ✓ all checks passed")
        else:
            lines.append(
                f"结论：× 验证失败（{failed} 项未通过）\n"
                f"VERDICT: × verification FAILED ({failed} problems)"
            )
        return "\n".join(lines)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(manifest: Any) -> bytes:
    text = json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8") + b"\n"


def _read_zip(data: bytes, res: Result) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
                res.add(False, "压缩包过大", "the zip is too large to be a bundle")
                return None
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                res.add(False, "压缩包中有重名文件", "the zip holds two files with the same name")
                return None
            return {i.filename: zf.read(i) for i in infos}
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        zlib.error,  # a corrupt deflate stream (64 of 3,000 mutated bundles raised it)
        lzma.LZMAError,
        NotImplementedError,  # a compression method zipfile does not implement
        RuntimeError,  # an encrypted member ("password required")
    ) as exc:
        res.add(False, f"不是有效的 zip 文件：{exc}", f"not a valid zip file: {exc}")
        return None


def _manifest(files: Mapping[str, bytes], res: Result) -> dict[str, Any] | None:
    body, digest = files.get(MANIFEST), files.get(MANIFEST_SUM)
    if body is None or digest is None:
        res.add(
            False,
            "缺少 manifest.json 或 manifest.sha256",
            "manifest.json or manifest.sha256 missing",
        )
        return None
    if digest != _sha(body).encode() + b"\n":
        res.add(
            False,
            "manifest.json 与 manifest.sha256 不符（文件被改动或损坏）",
            "manifest.json does not match manifest.sha256 (altered or corrupt)",
        )
        return None
    try:
        manifest = json.loads(body)
    except ValueError as exc:
        res.add(False, f"manifest.json 不是 JSON：{exc}", f"manifest.json is not JSON: {exc}")
        return None
    if not isinstance(manifest, dict) or _canonical(manifest) != body:
        res.add(False, "manifest.json 不是规范格式", "manifest.json is not in canonical form")
        return None
    if manifest.get("format") != FORMAT:
        res.add(
            False,
            f"不支持的证据包格式 {manifest.get('format')!r}",
            f"unsupported bundle format {manifest.get('format')!r} (expected {FORMAT})",
        )
        return None
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        res.add(False, "清单缺少文件列表", "the manifest has no file list")
        return None
    expected = set(listed) | {MANIFEST, MANIFEST_SUM}
    ok = True
    for name in sorted(set(files) - expected):
        ok = res.add(False, f"清单未列出的文件：{name}", f"file not in the manifest: {name}")
    for name in sorted(set(listed) - set(files)):
        ok = res.add(False, f"清单列出但缺失的文件：{name}", f"file listed but missing: {name}")
    for name in sorted(set(listed) & set(files)):
        if listed[name] != _sha(files[name]):
            ok = res.add(
                False,
                f"文件 {name} 的 SHA-256 与清单不符（被改动）",
                f"file {name}: SHA-256 does not match the manifest (altered)",
            )
    if ok:
        res.add(
            True,
            f"清单：{len(listed)} 个文件的 SHA-256 全部一致",
            f"manifest: SHA-256 of all {len(listed)} files match",
        )
    return manifest


_EVIDENCE_DIRS = ("entries/", "proofs/", "consistency/", "ocmf/")


def _check_references(manifest: Mapping[str, Any], res: Result) -> None:
    """Every evidence file must be referenced from the manifest's structure, so that no
    proof, entry or consistency file can be silently dropped from the checks."""
    refs = {str(manifest.get("checkpoint")), str(manifest.get("log_key"))}
    for key in ("entries", "ocmf"):
        items = manifest.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                refs.update(
                    str(v) for k, v in item.items() if k in ("entry", "proof", "record", "key")
                )
    spec = manifest.get("consistency")
    if isinstance(spec, dict):
        refs.update(str(v) for v in spec.values())
    for name in manifest.get("files") or {}:
        evidence = name.startswith(_EVIDENCE_DIRS) or name in ("checkpoint", "log.vkey")
        if evidence and name not in refs:
            res.add(
                False,
                f"证据文件 {name} 未被清单引用（未经检查）",
                f"evidence file {name} is not referenced by the manifest (would go unchecked)",
            )


def _load_key(
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    log_key: str | None,
    trust: bool,
    res: Result,
) -> Verifier | None:
    raw = files.get(str(manifest.get("log_key")), b"")
    bundled = raw.decode("utf-8", "replace").strip()
    if raw != bundled.encode() + b"\n":
        res.add(False, "证据包中的 log.vkey 格式错误", "the bundle's log.vkey is malformed")
    text = log_key.strip() if log_key else None
    if text is None:
        if not trust:
            res.add(
                False,
                "未指定日志公钥：请用 --log-key 给出杭州市日志的公钥"
                "（或明确使用 --trust-bundled-key）",
                "no log key: pass the city log's key with --log-key (or, knowingly, "
                "--trust-bundled-key)",
            )
            return None
        res.add(
            None,
            "警告：使用证据包自带的日志公钥——这只证明证据包内部一致，不能证明它来自官方日志",
            "WARNING: using the bundle's own log key — this shows the bundle is self-consistent, "
            "not that it comes from the official log",
        )
        text = bundled
    elif bundled and bundled != text:
        res.add(
            False,
            "证据包自带的日志公钥与您给出的不同",
            "the bundle's log key differs from the one you gave",
        )
    try:
        return Verifier(text)
    except NoteError as exc:
        res.add(False, f"日志公钥无效：{exc}", f"invalid log key: {exc}")
        return None


def verify_bundle(
    data: bytes,
    log_key: str | None,
    *,
    trust_bundled_key: bool = False,
    since_checkpoint: bytes | None = None,
) -> Result:
    """Checks a bundle completely; never raises on bad input (the verdict says why).

    Each check handles the errors of its own input; should one still escape (a parser
    bug: bench/fuzz.py hunts for them), the verdict fails closed with an "internal
    error" line naming it, instead of a traceback in a consumer's or a court's hands."""
    res = Result()
    try:
        _verify_bundle(res, data, log_key, trust_bundled_key, since_checkpoint)
    except Exception as exc:
        res.add(
            False,
            f"内部错误：检查证据包时出现 {type(exc).__name__}；证据包未通过验证",
            f"internal error while checking the bundle ({type(exc).__name__}: "
            f"{str(exc)[:200]}); the bundle is NOT verified",
        )
    return res


def _verify_bundle(
    res: Result,
    data: bytes,
    log_key: str | None,
    trust_bundled_key: bool,
    since_checkpoint: bytes | None,
) -> Result:
    files = _read_zip(data, res)
    if files is None:
        return res
    manifest = _manifest(files, res)
    if manifest is None:
        return res
    _check_references(manifest, res)
    verifier = _load_key(files, manifest, log_key, trust_bundled_key, res)
    if verifier is None:
        return res
    note = files.get(str(manifest.get("checkpoint")))
    try:
        checkpoint, _ = open_checkpoint(note or b"", verifier, verifier.name)
    except (NoteError, ValueError) as exc:
        res.add(False, f"检查点签名无效：{exc}", f"the checkpoint does not verify: {exc}")
        return res
    res.checkpoint = checkpoint
    res.add(
        True,
        f"检查点：日志 {checkpoint.origin}，共 {checkpoint.size} 条，日志公钥签名有效",
        f"checkpoint: log {checkpoint.origin}, size {checkpoint.size}, signed by the log key",
    )
    if manifest.get("origin") != checkpoint.origin or manifest.get("tree_size") != checkpoint.size:
        res.add(
            False,
            "清单中的日志名称或大小与检查点不符",
            "manifest origin/size differ from the checkpoint",
        )
    _check_entries(files, manifest, note or b"", checkpoint, verifier, res)
    _check_subject(manifest, res)
    _check_consistency(files, manifest, checkpoint, verifier, since_checkpoint, res)
    _check_ocmf(files, manifest, res)
    return res


def _check_entries(
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    note: bytes,
    checkpoint: Checkpoint,
    verifier: Verifier,
    res: Result,
) -> None:
    listed = manifest.get("entries")
    if not isinstance(listed, list):
        res.add(False, "清单缺少条目列表", "the manifest has no entry list")
        return
    verdicts: list[tuple[EntryVerdict, Record | None]] = []
    last = -1
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("index"), int):
            res.add(False, "清单条目格式错误", "malformed entry in the manifest")
            return
        index = item["index"]
        v = EntryVerdict(index, str(item.get("type")), f"#{index}", str(item.get("role")))
        if index <= last:
            v.reasons.append("entries out of order or repeated / 条目顺序错误或重复")
        last = index
        if item.get("entry") != f"entries/{index:012d}.entry" or item.get("proof") != (
            f"proofs/{index:012d}.tlog-proof"
        ):
            v.reasons.append("file names do not match the index / 文件名与索引不符")
        entry, proof = files.get(str(item.get("entry"))), files.get(str(item.get("proof")))
        record = None
        if entry is None or proof is None:
            v.reasons.append("entry or proof file missing / 缺少条目或证明文件")
        else:
            record = _check_one(entry, proof, note, index, checkpoint, verifier, item, v)
        verdicts.append((v, record))
    _check_signatures(verdicts)
    for v, _record in verdicts:
        res.entries.append(v)
        role_zh = "主体" if v.role == "subject" else "登记"
        if v.ok:
            res.add(
                True,
                f"条目 #{v.index}（{role_zh}）{v.subject}：已包含在日志中；"
                f"签名有效（{v.signer_zh}）",
                f"entry #{v.index} ({v.role}) {v.subject}: included in the log; "
                f"signature valid ({v.signer})",
            )
        else:
            reasons = "; ".join(v.reasons) or "not checked / 未检查"
            res.add(
                False,
                f"条目 #{v.index}（{role_zh}）{v.subject}：未通过 — {reasons}",
                f"entry #{v.index} ({v.role}) {v.subject}: FAILED — {reasons}",
            )


def _check_one(
    entry: bytes,
    proof: bytes,
    note: bytes,
    index: int,
    checkpoint: Checkpoint,
    verifier: Verifier,
    item: Mapping[str, Any],
    v: EntryVerdict,
) -> Record | None:
    v.proof_sha256 = _sha(proof)
    record = None
    try:
        record = Record.parse(entry)
        v.rtype, v.subject, v.body = record.type, record.subject, record.body
        if record.type == "tariff":
            v.subject = f"tariff {record.body['tariff_id']}"
        if item.get("type") != record.type:
            v.reasons.append("type differs from the manifest / 类型与清单不符")
        if v.role not in ("subject", "registry") or (
            v.role == "registry" and record.type not in _REGISTRY
        ):
            v.reasons.append(f"role {v.role!r} not allowed for {record.type} / 角色不符")
    except RecordError as exc:
        v.reasons.append(f"not a valid record: {exc} / 记录格式无效")
    try:
        parsed = parse_tlog_proof(proof)
        if parsed.checkpoint_note != note:
            v.reasons.append("proof is against another checkpoint / 证明所用检查点与证据包不同")
        elif parsed.index != index:
            v.reasons.append(f"proof is for index {parsed.index} / 证明的索引不符")
        else:
            verify_tlog_proof_hash(proof, merkle.leaf_hash(entry), verifier, checkpoint.origin)
            v.included = True
    except (TlogProofError, NoteError, ValueError) as exc:
        v.reasons.append(f"inclusion proof fails: {exc} / 包含证明无效")
    return record


_TRANSFERABLE = TRANSFERABLE  # the authority may sign these in the operator's stead


def _check_signatures(verdicts: Sequence[tuple[EntryVerdict, Record | None]]) -> None:
    """Resolves each signer from the registry entries before it, in log order."""
    keys: dict[str, dict[str, tuple[PublicKey, int]]] = {k: {} for k in ("authority", *_SOURCE)}
    for v, record in verdicts:
        if record is None:
            continue
        kind = SIGNED_BY[record.type]
        found: tuple[PublicKey, int] | None
        if kind == "authority":
            if record.type == "authority" and key_id_of(record.body["key"]) == record.key_id:
                if v.index != 0:
                    v.reasons.append(
                        "self-signed authority record is not the log's first entry / "
                        "自签名监管机构记录不是日志第一条"
                    )
                    continue
                found = (PublicKey.parse(record.body["key"]), 0)
            else:
                found = keys["authority"].get(record.key_id)
            who = f"authority key {record.key_id}"
        elif record.type in _TRANSFERABLE and record.key_id in keys["authority"]:
            # the authority moved a station, pile or meter between operators
            found, kind = keys["authority"][record.key_id], "authority"
            who = f"authority key {record.key_id}"
        else:
            source = str(record.body[_SOURCE[kind]])
            found = keys[kind].get(source)
            who = f"{kind} {source}"
        if found is None:
            v.reasons.append(f"no registry entry in the bundle for {who} / 证据包中没有签名者登记")
            continue
        key, by = found
        try:
            record.verify(key)
        except RecordError as exc:
            v.reasons.append(f"{exc} / 签名无效")
            continue
        v.signed = True
        if kind == "authority" and by == v.index:
            v.signer = "the bureau's self-signed trust anchor, entry #0 of the log"
            v.signer_zh = "监管机构自签名信任锚，日志第 0 条"
        else:
            ident = "" if kind == "authority" else who.split(" ", 1)[1] + " "
            v.signer = f"{kind} {ident}key {key.key_id}, registered by entry #{by}"
            v.signer_zh = (
                f"{_KIND_ZH.get(kind, kind)} {ident}的密钥 {key.key_id}，由条目 #{by} 登记"
            )
        if v.included and record.type in _REGISTRY and not v.reasons:
            new = PublicKey.parse(record.body["key"])
            if record.type == "authority":
                keys["authority"][new.key_id] = (new, v.index or 0)
            else:
                keys[record.type][str(record.body[_SOURCE[record.type]])] = (new, v.index or 0)


def _time_of(body: Mapping[str, Any]) -> int | None:
    for name in _TIME_FIELDS:
        if isinstance(body.get(name), int):
            return int(body[name])
    return None


def _check_subject(manifest: Mapping[str, Any], res: Result) -> None:
    subject = manifest.get("subject")
    res.subject = subject if isinstance(subject, dict) else {}
    kind = res.subject.get("kind")
    subjects = [v for v in res.entries if v.role == "subject"]
    problems: list[str] = []
    if kind == "session":
        sid = res.subject.get("session_id")
        if not any(v.rtype == "session" and v.body.get("session_id") == sid for v in subjects):
            problems.append(f"no session record {sid!r}")
        problems += [
            f"entry #{v.index} is about session {v.body['session_id']!r}"
            for v in subjects
            if "session_id" in v.body and v.body["session_id"] != sid
        ]
        zh, en = f"充电记录 {sid}", f"charging session {sid}"
    elif kind == "pile":
        pid, lo, hi = (res.subject.get(k) for k in ("pile_id", "from_ms", "to_ms"))
        if not (isinstance(lo, int) and isinstance(hi, int)):
            problems.append("period is not given in ms")
            lo, hi = 0, -1
        for v in subjects:
            if v.body.get("pile_id", pid) != pid:
                problems.append(f"entry #{v.index} is about pile {v.body.get('pile_id')!r}")
            t = _time_of(v.body)
            if v.rtype != "tariff" and t is not None and not lo <= t < hi:
                problems.append(f"entry #{v.index} is outside the period")
        zh, en = f"充电桩 {pid} 的历史记录", f"history of pile {pid}"
    elif kind == "alarm":
        wanted = res.subject.get("entries")
        if not isinstance(wanted, list) or sorted(wanted) != [v.index for v in subjects]:
            problems.append("the alarm's evidence entries differ from the bundle's")
        zh = f"告警 {res.subject.get('alarm_id')}（告警编号为工作站标签，不在日志中）"
        en = f"alarm {res.subject.get('alarm_id')} (the alarm number is a workstation label)"
    elif kind == "ocmf":
        zh, en = "OCMF 计量记录", "OCMF metering records"
    else:
        res.add(False, f"未知的证据主题 {kind!r}", f"unknown bundle subject {kind!r}")
        return
    if not subjects and kind != "ocmf":
        problems.append("no subject entries")
    if problems:
        res.add(
            False,
            f"主题 {zh} 与内容不符：{'；'.join(problems)}",
            f"subject {en}: {'; '.join(problems)}",
        )
    else:
        res.add(True, f"证据主题：{zh}，与条目一致", f"subject: {en}, matches the entries")


def _check_consistency(
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    checkpoint: Checkpoint,
    verifier: Verifier,
    since: bytes | None,
    res: Result,
) -> None:
    spec = manifest.get("consistency")
    if spec is None:
        if since is not None:
            res.add(
                False,
                "您给出了早先的检查点，但证据包中没有到它的一致性证明",
                "you gave an earlier checkpoint but the bundle has no consistency proof to it",
            )
        return
    if not isinstance(spec, dict):
        res.add(False, "一致性证明格式错误", "malformed consistency section")
        return
    old_note = files.get(str(spec.get("old_checkpoint")), b"")
    raw = files.get(str(spec.get("proof")), b"")
    try:
        old, _ = open_checkpoint(old_note, verifier, checkpoint.origin)
        text = raw.decode("ascii")
        if text and not text.endswith("\n"):
            raise ValueError("proof must end with a newline")
        proof = [binascii.a2b_base64(line, strict_mode=True) for line in text.splitlines()]
        if any(len(h) != 32 for h in proof):
            raise ValueError("a proof hash is not 32 bytes")
        if any(base64.b64encode(h).decode() != line for h, line in zip(proof, text.splitlines())):
            raise ValueError("non-canonical base64")
        if old.size == 0:  # the empty log is a prefix of every log: nothing to prove
            if proof or old.root != merkle.EMPTY_ROOT:
                raise ValueError("a checkpoint of size 0 needs an empty proof and the empty root")
        else:
            merkle.verify_consistency(old.size, checkpoint.size, proof, old.root, checkpoint.root)
    except (NoteError, ValueError, UnicodeDecodeError, binascii.Error) as exc:
        res.add(
            False,
            f"一致性证明无效（日志可能被分叉或改写）：{exc}",
            f"consistency proof FAILS (the log may have forked or been rewritten): {exc}",
        )
        return
    if since is not None and since != old_note:
        res.add(
            False,
            "一致性证明所对应的不是您给出的检查点",
            "the consistency proof is not to the checkpoint you gave",
        )
        return
    res.add(
        True,
        f"一致性：当前检查点（{checkpoint.size} 条）是早先检查点（{old.size} 条）的延续",
        f"consistency: the checkpoint (size {checkpoint.size}) extends the earlier one "
        f"(size {old.size})",
    )


def _check_ocmf(files: Mapping[str, bytes], manifest: Mapping[str, Any], res: Result) -> None:
    items = manifest.get("ocmf") or []
    if not isinstance(items, list):
        res.add(False, "OCMF 列表格式错误", "malformed OCMF list")
        return
    for item in items:
        name = str(item.get("record")) if isinstance(item, dict) else "?"
        v = EntryVerdict(None, "ocmf", name, "ocmf", included=False)
        try:
            rec = ocmf.parse_ocmf(files[name])
            raw_key = files[str(item["key"])]
            key = raw_key.decode("ascii").strip()
            if raw_key != key.encode() + b"\n" or files[name] != rec.text.encode():
                raise ocmf.OcmfError("the record or key file is not in plain form")
            ocmf.verify_ocmf(rec, key)
            v.signed, v.subject = True, f"{name} meter {rec.meter_serial}"
            if item.get("meter_serial") != rec.meter_serial:
                raise ocmf.OcmfError("meter serial differs from the manifest")
            v.body = {"meter_serial": rec.meter_serial, "readings": len(rec.readings)}
            res.add(
                True,
                f"OCMF {name}（计量表 {rec.meter_serial}）：计量表签名有效——仅签名验证，未在日志中",
                f"OCMF {name} (meter {rec.meter_serial}): meter signature valid — "
                "signature only, NOT proven in the log",
            )
        except (KeyError, TypeError, UnicodeDecodeError, ocmf.OcmfError) as exc:
            v.reasons.append(str(exc))
            res.add(False, f"OCMF {name}：未通过 — {exc}", f"OCMF {name}: FAILED — {exc}")
        res.ocmf.append(v)


def verify_single_proof(
    proof: bytes,
    log_key: str,
    *,
    leaf: bytes | None = None,
    leaf_hash: bytes | None = None,
    origin: str | None = None,
) -> Result:
    """Checks one C2SP tlog-proof from any log, for an entry (RFC 6962 leaf) or a leaf hash."""
    res = Result()
    try:
        verifier = Verifier(log_key)
        if leaf_hash is None:
            leaf_hash = merkle.leaf_hash(leaf or b"")
        cp = verify_tlog_proof_hash(proof, leaf_hash, verifier, origin)
    except (TlogProofError, NoteError, ValueError) as exc:
        res.add(False, f"tlog-proof 无效：{exc}", f"tlog-proof FAILS: {exc}")
        return res
    res.checkpoint = cp
    index = parse_tlog_proof(proof).index
    res.add(
        True,
        f"条目已包含在日志 {cp.origin} 中（索引 {index}，共 {cp.size} 条），检查点签名有效",
        f"the entry is in log {cp.origin} at index {index} of {cp.size}; "
        "checkpoint signature valid",
    )
    return res


def _key_arg(value: str) -> str:
    path = Path(value)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    except OSError:
        pass
    return value.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger verify-bundle",
        description="Check an evidence bundle (or one C2SP tlog-proof) offline.",
    )
    parser.add_argument("bundle", nargs="?", type=Path, help="the evidence bundle (.zip)")
    parser.add_argument("--log-key", help="the log's verifier key, or a file holding it")
    parser.add_argument(
        "--trust-bundled-key",
        action="store_true",
        help="use the bundle's own log.vkey (proves self-consistency only)",
    )
    parser.add_argument("--since-checkpoint", type=Path, help="your earlier signed checkpoint")
    parser.add_argument("--tlog-proof", type=Path, help="check one c2sp.org/tlog-proof instead")
    parser.add_argument("--leaf", type=Path, help="with --tlog-proof: the entry's bytes")
    parser.add_argument("--leaf-hash", help="with --tlog-proof: the leaf hash (hex or base64)")
    parser.add_argument("--origin", help="with --tlog-proof: the log origin to insist on")
    args = parser.parse_args(argv)
    try:
        if args.tlog_proof is not None:
            if not args.log_key or (args.leaf is None) == (args.leaf_hash is None):
                parser.error("--tlog-proof needs --log-key and exactly one of --leaf, --leaf-hash")
            leaf_hash = None
            if args.leaf_hash:
                text = args.leaf_hash.strip()
                try:
                    leaf_hash = bytes.fromhex(text)
                except ValueError:
                    leaf_hash = base64.b64decode(text, validate=True)
            res = verify_single_proof(
                args.tlog_proof.read_bytes(),
                _key_arg(args.log_key),
                leaf=args.leaf.read_bytes() if args.leaf else None,
                leaf_hash=leaf_hash,
                origin=args.origin,
            )
        else:
            if args.bundle is None:
                parser.error("give a bundle file (or --tlog-proof)")
            res = verify_bundle(
                args.bundle.read_bytes(),
                _key_arg(args.log_key) if args.log_key else None,
                trust_bundled_key=args.trust_bundled_key,
                since_checkpoint=args.since_checkpoint.read_bytes()
                if args.since_checkpoint
                else None,
            )
    except (OSError, ValueError) as exc:
        print(f"× 无法读取输入 / cannot read input: {exc}", file=sys.stderr)
        return 2
    print(res.text())
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
