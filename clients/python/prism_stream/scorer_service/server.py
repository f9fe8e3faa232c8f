"""The scorer service: a Unix-socket (or TCP) server speaking PROTOCOL.md around score_sequences.

Connections are served on threads; one lock serialises the device, so several arbitrators can share
one service (and one GPU). A RELOAD swaps the probe model between requests, never inside one.
"""

from __future__ import annotations

import json
import os
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import protocol as p
from .batching import BatchStats, SeqIn, score_sequences
from .model import Dtype, LoadedProbe, ModelLoadError, load_probe, weights_sha256
from .norms import NormMethod


def log(level: str, msg: str, **fields: Any) -> None:
    """Structured JSON logs on stderr (same shape as the TS side's pino lines)."""
    rec = {"level": level, "time": int(time.time() * 1000), "component": "torch-scorer-service", "msg": msg}
    print(json.dumps({**rec, **fields}, default=str), file=sys.stderr, flush=True)


@dataclass
class ServiceOptions:
    model_dir: str
    device: str
    dtype: Dtype | None
    max_rows: int
    max_tokens: int
    norm_method: NormMethod


class Service:
    def __init__(self, opts: ServiceOptions) -> None:
        self.opts = opts
        self.lock = threading.Lock()
        self.probe: LoadedProbe = load_probe(opts.model_dir, opts.device, opts.dtype)

    def welcome(self) -> dict[str, Any]:
        pr = self.probe
        return {
            "protocol": p.PROTOCOL_VERSION,
            "model_id": pr.identity.model_id,
            "model_version": pr.identity.version,
            "dtype": pr.dtype,
            "device": str(pr.device),
            "device_name": torch.cuda.get_device_name(pr.device) if pr.device.type == "cuda" else "cpu",
            "num_layers": pr.num_layers,
            "num_matrices": len(pr.projections),
            "vocab_size": pr.vocab_size,
            "max_rows": self.opts.max_rows,
            "max_tokens": self.opts.max_tokens,
            "torch": torch.__version__,
            "pid": os.getpid(),
        }

    def score(self, req: p.ScoreRequest) -> bytes:
        seqs = [SeqIn(i, t) for i, t in zip(req.ids, req.targets, strict=True)]
        stats = BatchStats()
        with self.lock:
            t0 = time.perf_counter()
            outs = score_sequences(
                self.probe, seqs, self.opts.max_rows, self.opts.max_tokens, self.opts.norm_method, stats
            )
            m = len(self.probe.projections)
        log(
            "debug",
            "scored",
            request=req.request_id,
            n=len(seqs),
            seconds=time.perf_counter() - t0,
            passes=stats.forward_backward,
            oom_splits=stats.oom_splits,
        )
        items = [p.ResultItem(o.norms, o.loss, o.targets, o.error_code, o.error_message) for o in outs]
        return p.encode_result(req.request_id, m, items)

    def reload(self, body: dict[str, Any]) -> bytes:
        folder = body.get("model_dir")
        if not isinstance(folder, str):
            return p.encode_json(p.ERROR, {"code": "BAD_FRAME", "message": "RELOAD needs model_dir"})
        want = body.get("sha256")
        if isinstance(want, str) and weights_sha256(Path(folder)) != want:
            msg = f"{folder}: weights sha256 differs from the announced {want[:12]}…; keeping the old model"
            log("warn", "reload refused", code="CHECKPOINT_SHA_MISMATCH", model_dir=folder)
            return p.encode_json(p.ERROR, {"code": "CHECKPOINT_SHA_MISMATCH", "message": msg})
        try:
            new = load_probe(folder, self.opts.device, self.probe.dtype)
        except ModelLoadError as err:
            return p.encode_json(p.ERROR, {"code": err.code, "message": str(err)})
        with self.lock:
            self.probe = new
        log("info", "probe reloaded", model_id=new.identity.model_id, version=new.identity.version)
        return p.encode_json(
            p.RELOADED, {"model_id": new.identity.model_id, "model_version": new.identity.version}
        )


def _read_exact(f: Any, n: int) -> bytes | None:
    buf = f.read(n)
    if not buf:
        return None
    if len(buf) != n:
        raise p.ProtocolError("BAD_FRAME", f"connection closed inside a frame ({len(buf)} of {n} bytes)")
    return bytes(buf)


class Handler(socketserver.StreamRequestHandler):
    server: Any

    def handle(self) -> None:
        svc: Service = self.server.service
        try:
            self._serve(svc)
        except p.ProtocolError as err:
            log("warn", "protocol error; closing the connection", code=err.code, err=str(err))
            self._send(p.encode_json(p.ERROR, {"code": err.code, "message": str(err)}))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _next(self) -> bytes | None:
        head = _read_exact(self.rfile, 4)
        if head is None:
            return None
        body = _read_exact(self.rfile, p.frame_length(head))
        if body is None:
            raise p.ProtocolError("BAD_FRAME", "connection closed inside a frame")
        return body

    def _serve(self, svc: Service) -> None:
        first = self._next()
        if first is None:
            return
        if first[0] != p.HELLO:
            raise p.ProtocolError("HANDSHAKE_REQUIRED", "the first frame must be HELLO")
        hello = p.decode_json(first)
        if hello.get("protocol") != p.PROTOCOL_VERSION:
            raise p.ProtocolError(
                "PROTOCOL_VERSION_MISMATCH",
                f"client speaks protocol {hello.get('protocol')}, this service {p.PROTOCOL_VERSION}",
            )
        self._send(p.encode_json(p.WELCOME, svc.welcome()))
        while (msg := self._next()) is not None:
            if msg[0] == p.SCORE:
                self._send(svc.score(p.decode_score(msg)))
            elif msg[0] == p.RELOAD:
                self._send(svc.reload(p.decode_json(msg)))
            else:
                raise p.ProtocolError("BAD_FRAME", f"unexpected frame type {msg[0]}")


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(svc: Service, socket_path: str | None, host: str | None, port: int) -> None:
    """Binds, prints one JSON `ready` line on stdout, serves until SIGTERM/SIGINT."""
    server: socketserver.BaseServer
    if socket_path is not None:
        if os.path.exists(socket_path):
            os.unlink(socket_path)
        server = UnixServer(socket_path, Handler)
        os.chmod(socket_path, 0o600)
        where: dict[str, Any] = {"socket": socket_path}
    else:
        server = TcpServer((host or "127.0.0.1", port), Handler)
        addr = server.socket.getsockname()
        where = {"host": addr[0], "port": addr[1]}
    setattr(server, "service", svc)  # noqa: B010 (read by Handler)
    print(json.dumps({"event": "ready", **where, **svc.welcome()}), flush=True)
    log("info", "scorer service ready", **where, **svc.welcome())
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if socket_path is not None and os.path.exists(socket_path):
            os.unlink(socket_path)


__all__ = ["Service", "ServiceOptions", "serve"]
