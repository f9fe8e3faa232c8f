"""python -m prism_stream.scorer_service --model DIR [--socket PATH | --host H --port N] [--device D]."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Any

from .model import ModelLoadError
from .server import Service, ServiceOptions, log, serve


def _stop(_sig: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _watch_parent(pid: int) -> None:
    """A spawned service must not outlive `prism run` (even after kill -9): poll the parent pid."""
    while os.getppid() == pid:
        time.sleep(1.0)
    try:
        log("warn", "parent process is gone; stopping", parent_pid=pid)
    finally:  # stderr may be a pipe to the dead parent (BrokenPipeError): exit regardless
        os._exit(0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m prism_stream.scorer_service", description=__doc__)
    ap.add_argument("--model", required=True, help="Hugging Face model folder (config.json + *.safetensors)")
    ap.add_argument("--socket", help="Unix domain socket path (default transport)")
    ap.add_argument("--host", help="TCP host instead of a Unix socket (127.0.0.1 unless you mean it)")
    ap.add_argument(
        "--port", type=int, default=0, help="TCP port (0 = any free one, printed in the ready line)"
    )
    ap.add_argument("--device", default="auto", help="auto (cuda if available) | cpu | cuda | cuda:N")
    ap.add_argument(
        "--dtype",
        choices=["auto", "fp32", "tf32", "bf16"],
        default="auto",
        help="auto = bf16 on GPU, fp32 on CPU",
    )
    ap.add_argument("--max-rows", type=int, default=16, help="rows per forward/backward")
    ap.add_argument("--max-tokens", type=int, default=16384, help="padded tokens per forward/backward")
    ap.add_argument("--norm-method", choices=["auto", "ghost", "outer"], default="auto")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    ap.add_argument("--parent-pid", type=int, default=0, help="exit when this parent process is gone")
    args = ap.parse_args(argv)
    if (args.socket is None) == (args.host is None):
        ap.error("give exactly one of --socket or --host")
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        log("error", "device cuda requested but CUDA is not available", code="DEVICE_UNAVAILABLE")
        return 2
    opts = ServiceOptions(
        args.model,
        device,
        None if args.dtype == "auto" else args.dtype,
        args.max_rows,
        args.max_tokens,
        args.norm_method,
    )
    try:
        svc = Service(opts)
    except ModelLoadError as err:
        log("error", str(err), code=err.code)
        return 2
    if args.parent_pid > 0:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    signal.signal(signal.SIGTERM, _stop)
    try:
        serve(svc, args.socket, args.host, args.port)
    except KeyboardInterrupt:
        log("info", "scorer service stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
