"""Data-file resolution: explicit path, $BAYESCORE_DATA, hash checks, download fallback.

No test touches the network: downloads are disabled or pooch is replaced by a stub.
"""

import hashlib

import pooch
import pytest

from bayescore import datasets
from bayescore.datasets import DataFile, fetch
from bayescore.errors import DataNotFoundError, MalformedFileError

GUFM1 = "gufm1/gufm1_data.txt"


def _register_tiny_file(monkeypatch, tmp_path, *, url=None, content=b"1 2 3\n"):
    """A registered test file under tmp_path/data (its real hash), with BAYESCORE_DATA set."""
    root = tmp_path / "data"
    (root / "tiny").mkdir(parents=True)
    (root / "tiny" / "file.txt").write_bytes(content)
    entry = DataFile(
        key="tiny/file.txt",
        sha256=hashlib.sha256(content).hexdigest(),
        url=url,
        description="test file",
    )
    monkeypatch.setitem(datasets.REGISTRY, entry.key, entry)
    monkeypatch.setenv("BAYESCORE_DATA", str(root))
    return root, entry


def test_explicit_path_is_returned_without_hash_check(tmp_path):
    mine = tmp_path / "my_gufm1.txt"
    mine.write_text("my own version\n")
    assert fetch(GUFM1, path=mine) == mine
    with pytest.raises(DataNotFoundError, match="does not exist"):
        fetch(GUFM1, path=tmp_path / "absent.txt")


def test_bayescore_data_directory_is_used(monkeypatch, tmp_path):
    root, entry = _register_tiny_file(monkeypatch, tmp_path)
    assert fetch(entry.key, download=False) == root / "tiny" / "file.txt"


def test_shared_reference_data_passes_its_pinned_hash(shared_data):
    assert fetch(GUFM1, download=False) == shared_data / GUFM1


def test_hash_mismatch_is_a_malformed_file(monkeypatch, tmp_path):
    root = tmp_path / "data"
    (root / "gufm1").mkdir(parents=True)
    (root / GUFM1).write_text("not gufm1\n")
    monkeypatch.setenv("BAYESCORE_DATA", str(root))
    with pytest.raises(MalformedFileError, match="SHA-256"):
        fetch(GUFM1, download=False)


def test_missing_file_without_url_names_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("BAYESCORE_DATA", str(tmp_path))  # empty directory
    with pytest.raises(DataNotFoundError, match="BAYESCORE_DATA") as info:
        fetch("dipole/padm2m_signed_dipole.csv")
    assert "no public copy" in str(info.value)
    with pytest.raises(DataNotFoundError, match="downloads are disabled.*BAYESCORE_DATA"):
        fetch(GUFM1, download=False)
    monkeypatch.delenv("BAYESCORE_DATA")
    with pytest.raises(DataNotFoundError, match="BAYESCORE_DATA"):
        fetch("dipole/sint2000_signed_dipole.csv")


def test_download_goes_through_pooch_with_the_pinned_hash(monkeypatch, tmp_path):
    _, entry = _register_tiny_file(monkeypatch, tmp_path, url="https://example.invalid/f")
    monkeypatch.setenv("BAYESCORE_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("BAYESCORE_CACHE", str(tmp_path / "cache"))
    calls = []
    downloaded = tmp_path / "cache" / "tiny__file.txt"

    def fake_retrieve(**kwargs):
        calls.append(kwargs)
        downloaded.parent.mkdir(parents=True, exist_ok=True)
        downloaded.write_bytes(b"1 2 3\n")
        return str(downloaded)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    assert fetch(entry.key) == downloaded
    assert calls[0]["url"] == entry.url
    assert calls[0]["known_hash"] == f"sha256:{entry.sha256}"
    assert calls[0]["path"] == str(tmp_path / "cache")


def test_failed_download_is_data_not_found(monkeypatch, tmp_path):
    _, entry = _register_tiny_file(monkeypatch, tmp_path, url="https://example.invalid/f")
    monkeypatch.setenv("BAYESCORE_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("BAYESCORE_CACHE", str(tmp_path / "cache"))

    def failing_retrieve(**kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(pooch, "retrieve", failing_retrieve)
    with pytest.raises(DataNotFoundError, match="ConnectionError.*BAYESCORE_DATA"):
        fetch(entry.key)


def test_unknown_key():
    with pytest.raises(KeyError, match="registered files"):
        fetch("nothing/here.txt")
