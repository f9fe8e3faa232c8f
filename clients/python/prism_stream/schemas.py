"""Avro schemas and the Confluent wire format (magic 0x00, int32 big-endian schema id, Avro body).

Schema ids come from a ``registry.json`` (the package ships a copy of the repository's
``schemas/registry.json``; a test keeps the two identical) or from a Confluent-compatible Schema
Registry (``GET /schemas/ids/{id}``, ``GET /subjects/{subject}/versions/latest``). Timestamps
(``timestamp-millis``) decode as integer milliseconds, exactly as on the TypeScript side.
"""

from __future__ import annotations

import copy
import io
import json
import struct
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any

import fastavro
from fastavro.types import Schema

from .errors import DecodeError, SchemaError

MAGIC_BYTE = 0
HEADER_SIZE = 5
SCORED_TRAJECTORY = "ai.prism.ScoredTrajectory"
TRAJECTORY = "ai.prism.Trajectory"
MODEL_UPDATE = "ai.prism.ModelUpdate"


def bundled_registry_path() -> Path:
    """The registry.json shipped inside the package (a copy of schemas/registry.json)."""
    return Path(str(resources.files("prism_stream").joinpath("data/registry.json")))


def _strip_logical_types(node: Any) -> Any:
    """timestamp-millis → plain long, so values stay integer milliseconds (as in TypeScript)."""
    if isinstance(node, dict):
        out = {k: _strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
        return out
    if isinstance(node, list):
        return [_strip_logical_types(v) for v in node]
    return node


def parse(schema: dict[str, Any]) -> Schema:
    return fastavro.parse_schema(_strip_logical_types(copy.deepcopy(schema)), _write_hint=False)


class SchemaRegistry:
    """Schema ids ↔ parsed schemas, from a registry.json file or a Schema Registry URL (cached)."""

    def __init__(self, *, path: str | Path | None = None, url: str | None = None, timeout_s: float = 5.0):
        self._url = url.rstrip("/") if url else None
        self._timeout = timeout_s
        self._by_id: dict[int, Schema] = {}
        self._latest: dict[str, int] = {}
        if self._url is None:
            self._load_file(Path(path) if path is not None else bundled_registry_path())

    def _load_file(self, path: Path) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise SchemaError(
                "SCHEMA_REGISTRY_UNAVAILABLE", f"cannot read registry file {path}: {err}"
            ) from err
        for entry in doc["entries"]:
            self._by_id[int(entry["id"])] = parse(entry["schema"])
            subject = str(entry["subject"])
            if subject not in self._latest or int(entry["id"]) > self._latest[subject]:
                self._latest[subject] = int(entry["id"])

    def _get(self, path: str) -> dict[str, Any]:
        assert self._url is not None
        try:
            with urllib.request.urlopen(f"{self._url}{path}", timeout=self._timeout) as resp:
                body: dict[str, Any] = json.loads(resp.read().decode("utf-8"))
                return body
        except Exception as err:
            raise SchemaError(
                "SCHEMA_REGISTRY_UNAVAILABLE", f"schema registry {self._url}{path} failed: {err}"
            ) from err

    def schema(self, schema_id: int) -> Schema:
        if schema_id not in self._by_id:
            if self._url is None:
                raise SchemaError(
                    "SCHEMA_UNKNOWN_ID",
                    f"schema id {schema_id} is not in the registry file (known: {sorted(self._by_id)}); "
                    "update prism-stream or pass registry_url",
                )
            self._by_id[schema_id] = parse(json.loads(self._get(f"/schemas/ids/{schema_id}")["schema"]))
        return self._by_id[schema_id]

    def latest_id(self, subject: str) -> int:
        """Newest id of a record name (file) or of a registry subject such as ``prism.sft-value`` (URL)."""
        if subject not in self._latest:
            if self._url is None:
                raise SchemaError("SCHEMA_UNKNOWN_ID", f"no schema named {subject} in the registry file")
            self._latest[subject] = int(self._get(f"/subjects/{subject}/versions/latest")["id"])
        return self._latest[subject]


def encode(registry: SchemaRegistry, schema_id: int, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", MAGIC_BYTE, schema_id))
    fastavro.schemaless_writer(buf, registry.schema(schema_id), record)
    return buf.getvalue()


def decode(registry: SchemaRegistry, value: bytes | None, expect: str | None = None) -> dict[str, Any]:
    """Confluent-framed Avro → record dict. Raises DecodeError (no location; the reader adds it)."""
    if value is None or len(value) == 0:
        raise DecodeError("DECODE_EMPTY", "value is empty (tombstone or empty message)")
    if value[0] != MAGIC_BYTE:
        raise DecodeError(
            "DECODE_BAD_MAGIC",
            f"first byte is 0x{value[0]:02x}, expected 0x00 (Confluent Avro wire format)",
        )
    if len(value) < HEADER_SIZE:
        raise DecodeError("DECODE_TRUNCATED", f"value has {len(value)} bytes, shorter than the 5-byte header")
    (schema_id,) = struct.unpack(">I", value[1:HEADER_SIZE])
    try:
        schema = registry.schema(schema_id)
    except SchemaError as err:
        raise DecodeError("SCHEMA_UNKNOWN_ID", err.message) from err
    if expect is not None and isinstance(schema, dict) and schema.get("name") != expect:
        raise DecodeError(
            "SCHEMA_MISMATCH", f"schema id {schema_id} is {schema.get('name')}, expected {expect}"
        )
    body = io.BytesIO(value[HEADER_SIZE:])
    try:
        record = fastavro.schemaless_reader(body, schema, None)
    except Exception as err:
        raise DecodeError("DECODE_AVRO", f"Avro body does not match schema id {schema_id}: {err}") from err
    if body.tell() != len(value) - HEADER_SIZE:
        raise DecodeError(
            "DECODE_TRAILING_BYTES",
            f"{len(value) - HEADER_SIZE - body.tell()} bytes left after the record (schema id {schema_id})",
        )
    if not isinstance(record, dict):
        raise DecodeError("DECODE_AVRO", f"schema id {schema_id} did not decode to a record")
    return record
