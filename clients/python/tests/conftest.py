"""Shared pytest setup. Tests marked ``broker`` need a real Kafka broker: PRISM_KAFKA_BROKERS (the vitest
integration run sets it to the broker its global setup started; tests/integration/python-client.test.ts)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "broker: needs a real Kafka broker (PRISM_KAFKA_BROKERS)")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def brokers() -> str:
    value = os.environ.get("PRISM_KAFKA_BROKERS", "").strip()
    if value == "":
        pytest.skip("PRISM_KAFKA_BROKERS is not set (run through `npm test`, which starts a broker)")
    return value


def unique(name: str) -> str:
    return f"py-{name}-{uuid.uuid4().hex[:8]}"
