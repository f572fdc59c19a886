"""Shared test fixtures.

Tests that read the reference data in ``shared/data`` use the ``shared_data`` fixture. It
looks at ``$BAYESCORE_DATA`` (CI sets it to ``../shared/data``) and falls back to
``../shared/data`` beside the checkout. Without either the test is skipped, except under
CI (``CI`` set), where missing data is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import bayescore  # noqa: F401  (switches JAX to float64 before any test builds arrays)

REPO_ROOT = Path(__file__).resolve().parents[1]


def _data_root() -> Path | None:
    env = os.environ.get("BAYESCORE_DATA")
    if env and Path(env).is_dir():
        return Path(env).resolve()
    fallback = REPO_ROOT.parent / "shared" / "data"
    return fallback if fallback.is_dir() else None


@pytest.fixture(scope="session")
def shared_data(monkeypatch_session=None) -> Path:
    """Directory of the reference data; sets ``BAYESCORE_DATA`` for the test session."""
    root = _data_root()
    if root is None:
        if os.environ.get("CI"):
            pytest.fail("reference data not found: set BAYESCORE_DATA=../shared/data")
        pytest.skip("reference data not found (set BAYESCORE_DATA)")
    os.environ["BAYESCORE_DATA"] = str(root)
    return root
