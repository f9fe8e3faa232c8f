"""Wire format and schema ids: the bundled registry file and a Confluent-compatible Schema Registry URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from prism_stream.errors import DecodeError, SchemaError
from prism_stream.schemas import MODEL_UPDATE, SchemaRegistry, bundled_registry_path, decode, encode

REGISTRY = json.loads(bundled_registry_path().read_text())
UPDATE = {
    "model_id": "m",
    "version": "1-abcdef12",
    "step": 1,
    "uri": "file:///c",
    "sha256": "a" * 64,
    "created_at": 1_700_000_000_123,
    "trainer": "rl",
    "metrics": {"loss": 0.5},
}


@pytest.fixture
def registry_url() -> Iterator[str]:
    """A minimal Schema Registry: GET /schemas/ids/{id} and /subjects/{subject}/versions/latest."""
    by_id = {e["id"]: e for e in REGISTRY["entries"]}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            body: dict[str, object] | None = None
            if parts[:2] == ["schemas", "ids"] and int(parts[2]) in by_id:
                body = {"schema": json.dumps(by_id[int(parts[2])]["schema"])}
            elif parts[0] == "subjects" and parts[1] == "prism.model-updates-value":
                body = {"id": 3, "version": 1, "subject": parts[1]}
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(json.dumps(body or {"error_code": 40403}).encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_bundled_registry_round_trip_keeps_milliseconds() -> None:
    reg = SchemaRegistry()
    value = encode(reg, reg.latest_id(MODEL_UPDATE), UPDATE)
    assert value[:5] == b"\x00\x00\x00\x00\x03"
    assert decode(reg, value, MODEL_UPDATE) == UPDATE


def test_schema_registry_url(registry_url: str) -> None:
    remote = SchemaRegistry(url=registry_url)
    assert remote.latest_id("prism.model-updates-value") == 3
    value = encode(SchemaRegistry(), 3, UPDATE)
    assert decode(remote, value) == UPDATE
    with pytest.raises(DecodeError) as err:
        decode(remote, b"\x00\x00\x00\x00\x63abc")
    assert err.value.code == "SCHEMA_UNKNOWN_ID"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"", "DECODE_EMPTY"),
        (b"{", "DECODE_BAD_MAGIC"),
        (b"\x00\x00", "DECODE_TRUNCATED"),
        (b"\x00\x00\x00\x00\x03\x02", "DECODE_AVRO"),
    ],
)
def test_bad_bytes_are_typed_errors(value: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode(SchemaRegistry(), value)
    assert err.value.code == code


def test_wrong_record_type_and_trailing_bytes() -> None:
    reg = SchemaRegistry()
    value = encode(reg, 3, UPDATE)
    with pytest.raises(DecodeError) as err:
        decode(reg, value, "ai.prism.ScoredTrajectory")
    assert err.value.code == "SCHEMA_MISMATCH"
    with pytest.raises(DecodeError) as err:
        decode(reg, value + b"\x00")
    assert err.value.code == "DECODE_TRAILING_BYTES"


def test_unreadable_registry_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError) as err:
        SchemaRegistry(path=tmp_path / "missing.json")
    assert err.value.code == "SCHEMA_REGISTRY_UNAVAILABLE"
