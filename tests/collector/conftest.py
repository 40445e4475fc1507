"""The collector tests need the praxis-collector package (collector/, `.ci/setup` installs it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("praxis_collector", reason="praxis-collector is not installed (.ci/setup)")
pytest.importorskip("httpx", reason="httpx is not installed (.ci/setup)")

from tests.collector.helpers import Collector  # noqa: E402


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """One filesystem collector for a test module; each test uses its own token and device."""
    server = Collector(tmp_path_factory.mktemp("collector") / "data", []).start()
    yield server
    assert server.stop() == 0


@pytest.fixture
def client() -> Iterator:
    import httpx

    with httpx.Client(timeout=30) as c:
        yield c


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Path:
    return tmp_path / "collector"
