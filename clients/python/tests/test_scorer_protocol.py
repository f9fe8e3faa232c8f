"""The scorer service's wire protocol (PROTOCOL.md) and server: framing, handshake, scoring, reload."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from prism_stream.scorer_service import protocol as p
from prism_stream.scorer_service.model import weights_sha256
from prism_stream.scorer_service.norms import paper_loop_norms
from prism_stream.scorer_service.server import Handler, Service, ServiceOptions, UnixServer
from prism_stream.scorer_service.testing import torch, write_tiny


def test_score_frame_round_trip() -> None:
    req = p.ScoreRequest(
        7,
        [np.array([1, 2, 3], np.int32), np.array([9], np.int32)],
        [np.array([0, 1, 1], np.uint8), np.array([0], np.uint8)],
    )
    data = p.encode_score(req)
    assert struct.unpack("<I", data[:4])[0] == len(data) - 4
    got = p.decode_score(data[4:])
    assert got.request_id == 7
    assert [x.tolist() for x in got.ids] == [[1, 2, 3], [9]]
    assert [x.tolist() for x in got.targets] == [[0, 1, 1], [0]]


def test_result_frame_round_trip_with_errors() -> None:
    items = [
        p.ResultItem(np.arange(3, dtype=np.float32), 1.5, 4),
        p.ResultItem(None, float("nan"), 0, "NO_TARGET_TOKENS", "none"),
    ]
    rid, back = p.decode_result(p.encode_result(3, 3, items)[4:])
    assert rid == 3
    assert back[0].norms is not None and back[0].norms.tolist() == [0, 1, 2] and back[0].targets == 4
    assert back[1].error_code == "NO_TARGET_TOKENS" and back[1].norms is None


@pytest.mark.parametrize(
    "payload", [b"\x03\x01\x00\x00\x00", b"\x03" + struct.pack("<II", 1, 2) + b"\x05\x00\x00\x00"]
)
def test_malformed_score_frames_are_protocol_errors(payload: bytes) -> None:
    with pytest.raises(p.ProtocolError) as err:
        p.decode_score(payload)
    assert err.value.code == "BAD_FRAME"


def test_frame_length_bounds() -> None:
    with pytest.raises(p.ProtocolError):
        p.frame_length(struct.pack("<I", 0))
    with pytest.raises(p.ProtocolError):
        p.frame_length(struct.pack("<I", p.MAX_FRAME_BYTES + 1))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Service, Path]]:
    base = tmp_path_factory.mktemp("svc")
    folder = write_tiny(base / "model", "qwen2", seed=5)
    svc = Service(ServiceOptions(str(folder), "cpu", "fp32", max_rows=4, max_tokens=256, norm_method="auto"))
    path = str(base / "s.sock")
    server = UnixServer(path, Handler)
    server.service = svc  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield path, svc, base
    server.shutdown()
    server.server_close()


class Conn:
    def __init__(self, path: str) -> None:
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def send(self, data: bytes) -> None:
        self.s.sendall(data)

    def recv(self) -> bytes | None:
        head = self.f.read(4)
        if not head:
            return None
        return self.f.read(p.frame_length(head))

    def close(self) -> None:
        self.f.close()
        self.s.close()


def hello(c: Conn, version: int = p.PROTOCOL_VERSION) -> bytes:
    c.send(p.encode_json(p.HELLO, {"protocol": version, "client": "pytest"}))
    msg = c.recv()
    assert msg is not None
    return msg


def test_handshake_names_model_dtype_device(service) -> None:  # type: ignore[no-untyped-def]
    c = Conn(service[0])
    msg = hello(c)
    assert msg[0] == p.WELCOME
    w = p.decode_json(msg)
    assert w["protocol"] == 1 and w["dtype"] == "fp32" and w["device"] == "cpu"
    assert w["model_id"] == "model" and w["model_version"].startswith("sha-") and w["num_matrices"] == 14
    c.close()


def test_version_mismatch_is_refused_and_closed(service) -> None:  # type: ignore[no-untyped-def]
    c = Conn(service[0])
    msg = hello(c, version=99)
    assert msg[0] == p.ERROR and p.decode_json(msg)["code"] == "PROTOCOL_VERSION_MISMATCH"
    assert c.recv() is None
    c.close()


def test_score_before_hello_is_refused(service) -> None:  # type: ignore[no-untyped-def]
    c = Conn(service[0])
    c.send(p.encode_score(p.ScoreRequest(1, [], [])))
    msg = c.recv()
    assert msg is not None and p.decode_json(msg)["code"] == "HANDSHAKE_REQUIRED"
    c.close()


def test_score_returns_norms_matching_the_loop(service) -> None:  # type: ignore[no-untyped-def]
    path, svc, _ = service
    rng = np.random.default_rng(1)
    ids = [rng.integers(0, 264, n, dtype=np.int32) for n in (40, 9, 23)]
    tg = [np.r_[np.zeros(n // 2, np.uint8), np.ones(n - n // 2, np.uint8)] for n in (40, 9, 23)]
    ids.append(np.array([1, 999, 2], np.int32))  # out of vocabulary
    tg.append(np.array([0, 1, 1], np.uint8))
    c = Conn(path)
    hello(c)
    c.send(p.encode_score(p.ScoreRequest(42, ids, tg)))
    msg = c.recv()
    assert msg is not None and msg[0] == p.RESULT
    rid, items = p.decode_result(msg)
    assert rid == 42 and len(items) == 4
    assert items[3].error_code == "TOKEN_OUT_OF_VOCAB"
    for k in range(3):
        ref = paper_loop_norms(
            svc.probe,
            torch.from_numpy(ids[k].astype(np.int64))[None],
            torch.from_numpy(tg[k].astype(np.bool_))[None],
        )
        got = items[k].norms
        assert got is not None and items[k].targets == int(tg[k][1:].sum())
        assert np.max(np.abs(got - ref.norms[0].numpy()) / ref.norms[0].numpy()) < 1e-4
        assert abs(items[k].loss - ref.loss[0].item()) < 1e-5
    c.close()


def test_reload_checks_sha_and_swaps(service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, svc, _ = service
    old = svc.probe.identity
    other = write_tiny(tmp_path / "next", "qwen2", seed=6)
    c = Conn(path)
    hello(c)
    c.send(p.encode_json(p.RELOAD, {"model_dir": str(other), "sha256": "0" * 64}))
    msg = c.recv()
    assert msg is not None and p.decode_json(msg)["code"] == "CHECKPOINT_SHA_MISMATCH"
    assert svc.probe.identity == old
    c.send(p.encode_json(p.RELOAD, {"model_dir": str(other), "sha256": weights_sha256(other)}))
    msg = c.recv()
    assert msg is not None and msg[0] == p.RELOADED
    assert p.decode_json(msg)["model_version"] == f"sha-{weights_sha256(other)[:12]}"
    assert svc.probe.identity != old
    c.close()
