"""Wire format of the scorer service, version 1 (see PROTOCOL.md). Pure encode/decode, no I/O."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 256 * 1024 * 1024

HELLO, WELCOME, SCORE, RESULT, RELOAD, RELOADED, ERROR = 1, 2, 3, 4, 5, 6, 7

_LEN = struct.Struct("<I")
_SCORE_HEAD = struct.Struct("<BII")  # type, request id, n
_RESULT_HEAD = struct.Struct("<BIII")  # type, request id, n, m
_ITEM = struct.Struct("<dIB")  # loss, targets, status (0 ok, 1 error)


class ProtocolError(Exception):
    """A malformed frame; the connection is closed after an ERROR frame with this code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def frame(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_BYTES:
        raise ProtocolError("FRAME_TOO_LARGE", f"{len(payload)} bytes > {MAX_FRAME_BYTES}")
    return _LEN.pack(len(payload)) + payload


def frame_length(header: bytes) -> int:
    (n,) = _LEN.unpack(header)
    if n == 0 or n > MAX_FRAME_BYTES:
        raise ProtocolError("BAD_FRAME", f"frame length {n} outside 1..{MAX_FRAME_BYTES}")
    return int(n)


def encode_json(kind: int, body: dict[str, Any]) -> bytes:
    return frame(bytes([kind]) + json.dumps(body, separators=(",", ":")).encode())


def decode_json(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload[1:].decode())
    except (UnicodeDecodeError, ValueError) as err:
        raise ProtocolError("BAD_FRAME", f"control frame is not JSON: {err}") from err
    if not isinstance(body, dict):
        raise ProtocolError("BAD_FRAME", "control frame is not a JSON object")
    return body


@dataclass(frozen=True)
class ScoreRequest:
    request_id: int
    ids: list[np.ndarray]  # int32 each
    targets: list[np.ndarray]  # uint8 each


def encode_score(req: ScoreRequest) -> bytes:
    lengths = np.array([len(x) for x in req.ids], dtype="<u4")
    ids = np.concatenate(req.ids).astype("<i4") if req.ids else np.zeros(0, "<i4")
    tg = np.concatenate(req.targets).astype(np.uint8) if req.targets else np.zeros(0, np.uint8)
    head = _SCORE_HEAD.pack(SCORE, req.request_id, len(req.ids))
    return frame(head + lengths.tobytes() + ids.tobytes() + tg.tobytes())


def decode_score(payload: bytes) -> ScoreRequest:
    if len(payload) < _SCORE_HEAD.size:
        raise ProtocolError("BAD_FRAME", "SCORE frame shorter than its header")
    _, rid, n = _SCORE_HEAD.unpack_from(payload)
    off = _SCORE_HEAD.size
    if len(payload) < off + 4 * n:
        raise ProtocolError("BAD_FRAME", f"SCORE frame too short for {n} lengths")
    lengths = np.frombuffer(payload, dtype="<u4", count=n, offset=off).astype(np.int64)
    off += 4 * n
    total = int(lengths.sum())
    if len(payload) != off + 5 * total:
        raise ProtocolError("BAD_FRAME", f"SCORE frame is {len(payload)} bytes, expected {off + 5 * total}")
    ids = np.frombuffer(payload, dtype="<i4", count=total, offset=off).astype(np.int32)
    tg = np.frombuffer(payload, dtype=np.uint8, count=total, offset=off + 4 * total)
    cuts = np.cumsum(lengths)[:-1] if n else np.zeros(0, dtype=np.int64)
    return ScoreRequest(rid, list(np.split(ids, cuts)), list(np.split(tg, cuts)))


@dataclass(frozen=True)
class ResultItem:
    norms: np.ndarray | None  # float32 (m,) when ok
    loss: float
    targets: int
    error_code: str | None = None
    error_message: str = ""


def encode_result(request_id: int, m: int, items: list[ResultItem]) -> bytes:
    parts = [_RESULT_HEAD.pack(RESULT, request_id, len(items), m)]
    norms = np.zeros((len(items), m), dtype="<f4")
    errors: dict[str, dict[str, str]] = {}
    for i, it in enumerate(items):
        ok = it.error_code is None and it.norms is not None
        parts.append(_ITEM.pack(it.loss, it.targets, 0 if ok else 1))
        if ok:
            norms[i] = it.norms
        else:
            errors[str(i)] = {"code": it.error_code or "SCORING_FAILED", "message": it.error_message}
    tail = json.dumps({"errors": errors}, separators=(",", ":")).encode()
    return frame(b"".join(parts) + norms.tobytes() + _LEN.pack(len(tail)) + tail)


def decode_result(payload: bytes) -> tuple[int, list[ResultItem]]:
    _, rid, n, m = _RESULT_HEAD.unpack_from(payload)
    off = _RESULT_HEAD.size
    heads = [_ITEM.unpack_from(payload, off + i * _ITEM.size) for i in range(n)]
    off += n * _ITEM.size
    norms = np.frombuffer(payload, dtype="<f4", count=n * m, offset=off).reshape(n, m)
    off += 4 * n * m
    (tl,) = _LEN.unpack_from(payload, off)
    errors = json.loads(payload[off + 4 : off + 4 + tl].decode())["errors"]
    items = []
    for i, (loss, targets, status) in enumerate(heads):
        if status == 0:
            items.append(ResultItem(norms[i].copy(), loss, targets))
        else:
            e = errors.get(str(i), {})
            items.append(
                ResultItem(None, loss, targets, e.get("code", "SCORING_FAILED"), e.get("message", ""))
            )
    return rid, items
