"""Shared test fixtures.

Tests that read the reference data in ``shared/data`` use the ``shared_data`` fixture. It
looks at ``$BAYESCORE_DATA`` (CI sets it to ``../shared/data``) and falls back to
``../shared/data`` beside the checkout. Without either the test is skipped, with a reason
that names the paths it tried, except under CI (``CI`` set), where missing data is an
error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import bayescore  # noqa: F401  (switches JAX to float64 before any test builds arrays)

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Where the reference data sit in a development checkout (tests only, never users).
FALLBACK_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def _data_root() -> Path | None:
    env = os.environ.get("BAYESCORE_DATA")
    if env and Path(env).is_dir():
        return Path(env).resolve()
    return FALLBACK_DATA_DIR if FALLBACK_DATA_DIR.is_dir() else None


def data_locations() -> str:
    """The places the reference data were looked for, resolved, for skip and fail messages."""
    env = os.environ.get("BAYESCORE_DATA")
    tried = (
        f"BAYESCORE_DATA={env!r} (resolved: {Path(env).expanduser().resolve()})"
        if env
        else "BAYESCORE_DATA is not set"
    )
    return f"{tried}; fallback {FALLBACK_DATA_DIR.resolve()} does not exist either"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Directory of the reference data; sets ``BAYESCORE_DATA`` for the test session."""
    root = _data_root()
    if root is None:
        message = f"reference data not found: {data_locations()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ["BAYESCORE_DATA"] = str(root)
    return root
