"""Check a Casework export bundle or case dossier offline: no Casework, no database, no network.

Needs only the Python standard library and `cryptography` (Ed25519). Copy this one file anywhere:

    python casework_verify.py BUNDLE.json|DOSSIER.pdf [--since CHECKPOINT.json] [--certificate CERT]

(for a dossier PDF, copy pdf_signature.py beside it: it checks the PDF's signature).

Exit 0 when everything verifies, 1 with the first problem named.

What it checks, and why that is enough:
- **Events.** Every case's events are a hash chain: `hash = sha256(prev_hash + canonical JSON of the
  event)` with the first `prev_hash` all zeros. An edited, removed, inserted or reordered event breaks
  the chain at that event.
- **Checkpoint.** The server signs (Ed25519) a checkpoint: the root of a Merkle tree (RFC 9162 hashing:
  leaf = sha256(0x00 || leaf), node = sha256(0x01 || left || right)) over one leaf per audit stream,
  `{"stream", "seq", "head"}` = the stream's last sequence number and head hash. Leaves keep their
  position forever (streams in the order they first appeared), and a stream's leaf only ever advances.
  The bundle carries the inclusion proof of each case's leaf: the case's last event must be exactly the
  head the checkpoint signed, so a cut-off tail or a rewritten chain is refused.
- **An earlier checkpoint** (`--since`, a checkpoint file with its leaves that the auditor kept): its
  signature, the same public key, and consistency: every case the earlier checkpoint covered sits at the
  same position, with at least as many events, and the event at the earlier head still has the earlier
  hash (nothing removed or rewritten in between). A bundle of all cases also carries every leaf of its
  checkpoint, so a case that disappeared since the earlier checkpoint is named.
- **A recorded re-anchoring.** Casework rewrote older chains once, to seal personal values out of the
  payloads; each such chain ends that rewrite with an `audit.reanchored` event (actor `system`) listing
  every rewritten event's sequence number, old hash and new hash. A head of the earlier checkpoint that
  the chain no longer holds is accepted only when that event, inside the chain the later checkpoint
  signed, maps exactly that head to the hash the event has now; the report names those cases.
- **A dossier PDF** verifies only when its embedded bundle.json does and its PAdES signature does too
  (pdf_signature.py: the signed byte ranges cover the whole file, their digest is the one signed, the
  signature verifies with the signer's certificate; `--certificate` insists on the expected certificate).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import importlib.util
import json
import json.encoder
import re
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

BUNDLE_FORMAT = "casework-bundle/1"
CHECKPOINT_FORMAT = "casework-checkpoint/1"
BUNDLE_ATTACHMENT = "bundle.json"
GENESIS_HASH = "0" * 64
REANCHORED_KIND = "audit.reanchored"
"""A chain's record of its one-time re-sealing: `{"rewritten": [[seq, old hash, new hash], ...]}`."""


class Refused(Exception):
    """The first problem found; its message names the case and the event."""


# ---------------------------------------------------------------- hashing (must match cases/audit.py)


# One encoder for every call: json.dumps with options builds a new one each time, which costs more than
# the hash itself.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


_json_string = json.encoder.encode_basestring  # one JSON string, exactly as _CANONICAL writes it


def canonical(value: Any) -> str:
    """Casework's canonical JSON: sorted keys, no spaces, UTF-8 kept as is (as cases/audit.py writes it)."""
    return _CANONICAL(value)


def event_canonical(event: Mapping[str, Any]) -> str:
    """`canonical(event_document(event))`, with the six fixed keys written out in sorted order (only the
    payload goes through the general encoder): the verifier's inner loop."""
    stream, seq, at, actor, kind = event["stream"], event["seq"], event["at"], event["actor"], event["kind"]
    if type(seq) is not int or not (type(stream) is type(at) is type(actor) is type(kind) is str):
        return _CANONICAL(event_document(event))
    return ('{"actor":' + _json_string(actor) + ',"at":' + _json_string(at) + ',"kind":' + _json_string(kind)
            + ',"payload":' + _CANONICAL(event["payload"]) + ',"seq":' + str(seq) + ',"stream":'
            + _json_string(stream) + "}")


def event_hash(prev_hash: str, document: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(document)).encode()).hexdigest()


def event_document(event: Mapping[str, Any]) -> dict[str, Any]:
    """What an event's hash covers: everything but its own hashes."""
    return {key: event[key] for key in ("stream", "seq", "at", "actor", "kind", "payload")}


def leaf_hash(stream: str, seq: int, head: str) -> bytes:
    """RFC 9162 leaf hash of one stream head: sha256(0x00 || canonical JSON of {"stream", "seq", "head"}).

    Written out by hand because it is hashed for every stream of every checkpoint: with a hex head and an
    integer seq this is byte for byte what `canonical` gives (keys sorted: head, seq, stream)."""
    if type(seq) is not int or not _is_hash(head):
        return hashlib.sha256(b"\x00" + canonical({"stream": stream, "seq": seq, "head": head}).encode()).digest()
    body = '{"head":"' + head + '","seq":' + str(seq) + ',"stream":' + _json_string(stream) + "}"
    return hashlib.sha256(b"\x00" + body.encode()).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the RFC 9162 tree, leaves first; a lone last node moves up unchanged (which gives
    exactly RFC 9162's split at the largest power of two)."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The tree head; the empty tree's is sha256 of nothing (RFC 9162 2.1.1)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return merkle_levels(leaves)[-1][0]


def inclusion_proof(levels: Sequence[Sequence[bytes]], index: int) -> list[bytes]:
    """The audit path of leaf `index` (RFC 9162 2.1.3.1), from the levels of `merkle_levels`."""
    proof = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does `proof` lead from leaf `index` of a tree of `size` leaves to `root`?"""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# ---------------------------------------------------------------- signatures


def signed_message(checkpoint: Mapping[str, Any]) -> bytes:
    """The bytes the server signs: the checkpoint's format, size, root and time, as canonical JSON."""
    return canonical({"format": CHECKPOINT_FORMAT, "tree_size": checkpoint["tree_size"],
                      "root_hash": checkpoint["root_hash"], "at": checkpoint["at"]}).encode()


def key_id(public_key: Any) -> str:
    """A short fingerprint of a public key (base64 of the raw 32 bytes) to compare by eye."""
    return hashlib.sha256(_b64(public_key, "public key")).hexdigest()[:16]


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise Refused(f"the {what} is missing")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(f"the {what} is not valid base64") from None


def check_signature(checkpoint: Mapping[str, Any], public_key: Any, *, what: str = "checkpoint") -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(_b64(public_key, "public key"))
    except ValueError:
        raise Refused(f"the public key of the {what} is not an Ed25519 key") from None
    try:
        key.verify(_b64(checkpoint.get("signature"), f"signature of the {what}"), signed_message(checkpoint))
    except InvalidSignature:
        raise Refused(f"bad signature: the {what} (tree size {checkpoint['tree_size']}, {checkpoint['at']}) "
                      f"was not signed by the key {key_id(public_key)}") from None


def _checkpoint(raw: Any, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("format", CHECKPOINT_FORMAT) != CHECKPOINT_FORMAT:
        raise Refused(f"the {what} is not a Casework checkpoint")
    size, root, at = raw.get("tree_size"), raw.get("root_hash"), raw.get("at")
    if not isinstance(size, int) or size < 0 or not _is_hash(root) or not isinstance(at, str):
        raise Refused(f"the {what} lacks tree_size, root_hash or at")
    return raw


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _leaves(raw: Any, what: str) -> list[tuple[str, int, str]]:
    if not isinstance(raw, list):
        raise Refused(f"the leaves of the {what} are not a list")
    out = []
    for item in raw:
        if (not isinstance(item, list) or len(item) != 3 or not isinstance(item[0], str)
                or not isinstance(item[1], int) or not _is_hash(item[2])):
            raise Refused(f"a leaf of the {what} is not [stream, seq, head]")
        out.append((item[0], item[1], item[2]))
    return out


def check_leaves(checkpoint: Mapping[str, Any], leaves: Sequence[tuple[str, int, str]], what: str) -> None:
    """The leaves must give the checkpoint's signed root."""
    root = merkle_root([leaf_hash(*leaf) for leaf in leaves]).hex()
    if len(leaves) != checkpoint["tree_size"] or root != checkpoint["root_hash"]:
        raise Refused(f"the leaves of the {what} do not give its signed root (tree size "
                      f"{checkpoint['tree_size']}): they were altered")


# ---------------------------------------------------------------- bundles


@dataclass
class Report:
    """What verified: one line per case, and the checkpoint it was checked against."""

    lines: list[str] = field(default_factory=list)
    events: int = 0
    cases: int = 0


def _label(case: Mapping[str, Any]) -> str:
    ref, stream = case.get("ref"), case.get("stream")
    return f"{ref} ({stream})" if ref else str(stream)


def check_chain(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Recompute one case's chain; name the first broken event."""
    label, stream, events = _label(case), case.get("stream"), case.get("events")
    if not isinstance(events, list):
        raise Refused(f"{label}: the bundle carries no events")
    prev = GENESIS_HASH
    sha256 = hashlib.sha256
    for position, event in enumerate(events, start=1):
        if not isinstance(event, dict):
            raise Refused(f"{label} event {position}: not an event object")
        try:
            text = event_canonical(event)
        except KeyError as exc:
            raise Refused(f"{label} event {position}: the field {exc.args[0]} is missing") from None
        if event["stream"] != stream:
            raise Refused(f"{label} event {position}: belongs to stream {event['stream']!r}")
        if event["seq"] != position:
            raise Refused(f"{label} event {position}: expected sequence number {position}, found {event['seq']} "
                          f"(events missing or reordered)")
        if event.get("prev_hash") != prev:
            raise Refused(f"{label} event {position}: the previous-hash link does not match the event before it "
                          f"(events missing or reordered)")
        if sha256((prev + text).encode()).hexdigest() != event.get("hash"):
            raise Refused(f"{label} event {position}: content does not match its hash (the event was altered)")
        prev = event["hash"]
    return events


def check_case(case: Mapping[str, Any], checkpoint: Mapping[str, Any],
               all_leaves: Sequence[tuple[str, int, str]] | None) -> tuple[int, int]:
    """One case of a bundle: its chain, its leaf's inclusion proof, and that the chain ends at that leaf.
    Returns (leaf index, number of events)."""
    label, stream = _label(case), case.get("stream")
    events = check_chain(case)
    leaf, proof = case.get("leaf"), case.get("inclusion_proof")
    if not isinstance(leaf, dict) or not isinstance(proof, list):
        raise Refused(f"{label}: the bundle carries no checkpoint leaf or inclusion proof")
    index, seq, head = leaf.get("index"), leaf.get("seq"), leaf.get("head")
    if (not isinstance(stream, str) or leaf.get("stream") != stream or not isinstance(index, int)
            or not isinstance(seq, int) or not isinstance(head, str) or not _is_hash(head)):
        raise Refused(f"{label}: the checkpoint leaf is not this case's")
    if all_leaves is not None:
        # Every leaf was checked against the signed root already: the leaf at its position is the proof.
        if index >= len(all_leaves) or all_leaves[index] != (stream, seq, head):
            raise Refused(f"{label}: inclusion proof failure: the checkpoint holds another head at position {index}")
    else:
        try:
            path = [bytes.fromhex(p) for p in proof]
        except (TypeError, ValueError):
            raise Refused(f"{label}: the inclusion proof is not a list of hashes") from None
        if not verify_inclusion(index, checkpoint["tree_size"], leaf_hash(stream, seq, head), path,
                                bytes.fromhex(checkpoint["root_hash"])):
            raise Refused(f"{label}: inclusion proof failure: its head (event {seq}) is not in the signed "
                          f"checkpoint")
    if seq > len(events):
        raise Refused(f"{label}: missing tail: the checkpoint records {seq} events, the bundle holds "
                      f"{len(events)} (events {len(events) + 1} to {seq} are missing)")
    if seq < len(events):
        raise Refused(f"{label}: events {seq + 1} to {len(events)} are not covered by the checkpoint")
    if seq and events[seq - 1]["hash"] != head:
        raise Refused(f"{label} event {seq}: does not match the head the checkpoint signed (history rewritten)")
    return index, len(events)


def reanchored(events: Iterable[Mapping[str, Any]]) -> dict[tuple[int, str], str]:
    """(seq, old hash) -> new hash, from a chain's re-anchoring events (actor `system`).

    Casework rewrote chains once to seal personal values out of the payloads; the chain records it, so a
    head signed before is explained when its event now has exactly the recorded new hash."""
    out: dict[tuple[int, str], str] = {}
    for event in events:
        if event.get("kind") != REANCHORED_KIND or event.get("actor") != "system":
            continue
        payload = event.get("payload")
        for item in payload.get("rewritten", []) if isinstance(payload, dict) else []:
            if (isinstance(item, list) and len(item) == 3 and isinstance(item[0], int)
                    and _is_hash(item[1]) and _is_hash(item[2])):
                out[(item[0], item[1])] = item[2]
    return out


def check_since(bundle: Mapping[str, Any], checkpoint: Mapping[str, Any], earlier: Mapping[str, Any],
                all_leaves: Sequence[tuple[str, int, str]] | None) -> str:
    """Consistency of the bundle with a checkpoint the auditor kept."""
    earlier = _checkpoint(earlier, "earlier checkpoint")
    key = earlier.get("public_key")
    check_signature(earlier, key, what="earlier checkpoint")
    if key != checkpoint.get("public_key"):
        raise Refused(f"the public key differs from the earlier checkpoint's: {key_id(checkpoint['public_key'])} "
                      f"instead of {key_id(key)}")
    if earlier["tree_size"] > checkpoint["tree_size"] or earlier["at"] > checkpoint["at"]:
        raise Refused(f"the earlier checkpoint ({earlier['at']}, tree size {earlier['tree_size']}) is newer than "
                      f"the bundle's ({checkpoint['at']}, tree size {checkpoint['tree_size']})")
    if "leaves" not in earlier:
        if (earlier["tree_size"], earlier["root_hash"]) == (checkpoint["tree_size"], checkpoint["root_hash"]):
            return f"the bundle's checkpoint is the earlier checkpoint ({earlier['at']})"
        raise Refused("the earlier checkpoint file carries no leaves, so consistency cannot be checked: "
                      "download the checkpoint with its leaves (auditor workspace, Checkpoints)")
    old = _leaves(earlier["leaves"], "earlier checkpoint")
    check_leaves(earlier, old, "earlier checkpoint")
    refs: dict[str, str] = earlier["refs"] if isinstance(earlier.get("refs"), dict) else {}
    position = {stream: (i, seq, head) for i, (stream, seq, head) in enumerate(old)}
    moved: list[str] = []
    for case in bundle["cases"]:
        label, stream = _label(case), case["stream"]
        if stream not in position:
            continue  # the case was filed after the earlier checkpoint
        index, seq, head = position[stream]
        if case["leaf"]["index"] != index:
            raise Refused(f"{label}: sits at position {case['leaf']['index']} of the tree, the earlier "
                          f"checkpoint had it at {index} (the tree was rebuilt)")
        events = case["events"]
        if seq < 1:
            raise Refused(f"{label}: the earlier checkpoint holds an empty head")
        if len(events) < seq:
            raise Refused(f"{label}: missing tail: the earlier checkpoint recorded {seq} events, the bundle "
                          f"holds {len(events)}")
        if events[seq - 1]["hash"] != head:
            if reanchored(events).get((seq, head)) != events[seq - 1]["hash"]:
                raise Refused(f"{label} event {seq}: differs from the earlier checkpoint (history rewritten since)")
            moved.append(label)
    if all_leaves is not None:
        for i, (stream, seq, head) in enumerate(old):
            label = f"{refs[stream]} ({stream})" if stream in refs else stream
            if i >= len(all_leaves) or all_leaves[i][0] != stream:
                raise Refused(f"{label}: was at position {i} of the earlier checkpoint and is gone from the "
                              f"later one (removed)")
            if all_leaves[i][1] < seq:
                raise Refused(f"{label}: the later checkpoint records {all_leaves[i][1]} events, the earlier one "
                              f"{seq} (events removed)")
            if all_leaves[i][1] == seq and all_leaves[i][2] != head:
                raise Refused(f"{label} event {seq}: the later checkpoint signed another head (history rewritten)")
    line = f"consistent with the earlier checkpoint of {earlier['at']} (tree size {earlier['tree_size']})"
    if moved:
        line += (f"; re-anchored since by a recorded re-sealing of personal values, signed in this checkpoint: "
                 f"{', '.join(moved)}")
    return line


def verify_bundle(bundle: Any, since: Mapping[str, Any] | None = None, public_key: str | None = None) -> Report:
    """Verify a bundle (parsed JSON); raises Refused with the first problem."""
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise Refused("not a Casework export bundle")
    checkpoint = _checkpoint(bundle.get("checkpoint"), "checkpoint")
    key = bundle.get("public_key")
    if checkpoint.get("public_key") != key:
        raise Refused("the checkpoint names another public key than the bundle")
    if public_key is not None and key != public_key:
        raise Refused(f"the public key is not the one given: {key_id(key)} instead of {key_id(public_key)}")
    check_signature(checkpoint, key)
    all_leaves = None
    if "leaves" in bundle:
        all_leaves = _leaves(bundle["leaves"], "checkpoint")
        check_leaves(checkpoint, all_leaves, "checkpoint")
    cases = bundle.get("cases")
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise Refused("the bundle carries no cases")
    report = Report()
    seen = set()
    for case in cases:
        _index, count = check_case(case, checkpoint, all_leaves)
        seen.add(case["stream"])
        report.cases += 1
        report.events += count
        report.lines.append(f"{_label(case)}: {count} events")
    if bundle.get("complete"):
        if all_leaves is None:
            raise Refused("the bundle says it holds every case but carries no leaves to show it")
        for stream, seq, _head in all_leaves:
            if stream.startswith("case:") and stream not in seen:
                raise Refused(f"{stream}: is in the checkpoint ({seq} events) but missing from the export "
                              f"(case removed)")
    report.lines.append(f"checkpoint of {checkpoint['at']}: tree size {checkpoint['tree_size']}, root "
                        f"{checkpoint['root_hash']}, key {key_id(key)}")
    if since is not None:
        report.lines.append(check_since(bundle, checkpoint, since, all_leaves))
    return report


# ---------------------------------------------------------------- files


_STREAM = re.compile(rb"stream\r?\n")


def bundle_from_pdf(data: bytes) -> Any:
    """The bundle a dossier embeds as bundle.json: every embedded file is a Flate stream, so look at each
    stream of the file and keep the one that is a Casework bundle (standard library only)."""
    view = memoryview(data)
    for match in _STREAM.finditer(data):
        try:
            raw = zlib.decompressobj().decompress(view[match.end():])
        except zlib.error:
            continue
        if raw.lstrip().startswith(b"{") and BUNDLE_FORMAT.encode() in raw:
            try:
                return json.loads(raw)
            except ValueError:
                raise Refused(f"the PDF's {BUNDLE_ATTACHMENT} is not valid JSON") from None
    raise Refused(f"the PDF carries no {BUNDLE_ATTACHMENT} (not a Casework dossier with proof)")


def load_bundle(path: Path) -> Any:
    data = path.read_bytes()
    if data.startswith(b"%PDF"):
        return bundle_from_pdf(data)
    return _json(data, "bundle")


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise Refused(f"the {what} file is not JSON") from None


def pdf_signature() -> ModuleType:
    """verifier/pdf_signature.py: from the package, or from beside this file when both were copied alone
    (`python -I` puts no script directory on sys.path)."""
    if __package__:
        from . import pdf_signature as module

        return module
    name = "casework_pdf_signature"
    if name not in sys.modules:
        location = Path(__file__).with_name("pdf_signature.py")
        spec = importlib.util.spec_from_file_location(name, location)
        if spec is None or spec.loader is None or not location.exists():
            raise Refused(f"cannot check the PDF's signature: copy pdf_signature.py beside {Path(__file__).name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


def check_pdf_signature(data: bytes, certificate: bytes | None = None) -> list[str]:
    """The lines that describe the PDF's verified signature(s); Refused when it is missing or does not verify."""
    signatures = pdf_signature()
    try:
        expected = signatures.certificate_sha256(certificate) if certificate is not None else None
        return list(signatures.check_pdf(data, expected).lines())
    except signatures.SignatureRefused as exc:
        raise Refused(str(exc)) from None


def verify_file(path: Path, since: Path | None = None, public_key: str | None = None, *,
                certificate: str | Path | None = None, allow_unsigned: bool = False) -> Report:
    """Verify a bundle (.json) or a dossier (.pdf), optionally against an earlier checkpoint file. A dossier
    verifies only when its signature does too (an unsigned one only with `allow_unsigned`); `certificate`,
    a certificate file or its SHA-256 in hex, is the signer the dossier must have."""
    earlier = _json(since.read_bytes(), "checkpoint") if since is not None else None
    data = path.read_bytes()
    if not data.startswith(b"%PDF"):
        return verify_bundle(_json(data, "bundle"), earlier, public_key)
    expected = None
    if certificate is not None:
        fingerprint = str(certificate).replace(":", "")
        expected = fingerprint.encode() if _HEX64.fullmatch(fingerprint.lower()) else Path(certificate).read_bytes()
    try:
        signature_lines = check_pdf_signature(data, expected)
    except Refused as exc:
        if not str(exc).startswith("no signature"):
            raise
        if not allow_unsigned:
            raise Refused(f"{exc} (--allow-unsigned checks its audit bundle alone)") from None
        signature_lines = ["PDF signature: none (not signed; --allow-unsigned)"]
    report = verify_bundle(bundle_from_pdf(data), earlier, public_key)
    report.lines.extend(signature_lines)
    if expected is None and not signature_lines[-1].endswith("--allow-unsigned)"):
        report.lines.append("the signer's certificate was not compared with an expected one (--certificate)")
    return report


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Casework export bundle or dossier PDF offline.")
    parser.add_argument("file", type=Path, help="bundle JSON or dossier PDF")
    parser.add_argument("--since", type=Path, help="a checkpoint file (with leaves) kept earlier")
    parser.add_argument("--public-key", help="the server's public key (base64) to insist on")
    parser.add_argument("--certificate",
                        help="a dossier's expected signing certificate: a PEM or DER file, or its SHA-256 (hex)")
    parser.add_argument("--allow-unsigned", action="store_true", help="accept a dossier PDF that is not signed")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        report = verify_file(args.file, args.since, args.public_key, certificate=args.certificate,
                             allow_unsigned=args.allow_unsigned)
    except Refused as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"REFUSED: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"OK: {report.events} events in {report.cases} case{'' if report.cases == 1 else 's'} verified")
    for line in report.lines:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
