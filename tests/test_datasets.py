"""Data-file resolution: explicit path, $BAYESCORE_DATA, hash checks, download fallback.

No test touches the network: downloads are disabled or pooch is replaced by a stub.
"""

import hashlib
import re
from pathlib import Path

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
    # where it looked (resolved), what the file is, where to get it, what to cite
    assert str(tmp_path.resolve() / "dipole" / "padm2m_signed_dipole.csv") in str(info.value)
    assert "Ziegler" in str(info.value) and "polarity time scale" in str(info.value)
    with pytest.raises(DataNotFoundError, match="downloads are disabled.*BAYESCORE_DATA"):
        fetch(GUFM1, download=False)
    monkeypatch.delenv("BAYESCORE_DATA")
    with pytest.raises(DataNotFoundError, match="BAYESCORE_DATA is not set.*Valet"):
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


def test_error_messages_never_point_users_at_the_development_checkout(monkeypatch, tmp_path):
    """The package's own text (messages, docstrings) names no ``shared/data`` directory."""
    package = Path(datasets.__file__).parent
    hits = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "shared/data" in line or "shared_data" in line
    ]
    assert not hits, hits
    monkeypatch.setenv("BAYESCORE_DATA", str(tmp_path))
    for key in datasets.REGISTRY:
        with pytest.raises(DataNotFoundError) as info:
            fetch(key, download=False)
        assert "shared" not in str(info.value), str(info.value)


@pytest.mark.parametrize("key", sorted(datasets.REGISTRY))
def test_every_registered_file_says_what_it_is_how_to_cite_it_and_where_to_get_it(key):
    entry = datasets.REGISTRY[key]
    assert entry.key == key
    assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256)
    assert entry.description and entry.citation and entry.source
    if entry.url is not None:
        assert entry.url.startswith("https://")


def test_ground_observatory_files_carry_the_requested_acknowledgement():
    go = [entry for key, entry in datasets.REGISTRY.items() if key.startswith("real/go/")]
    assert len(go) == 3
    for entry in go:
        assert "INTERMAGNET" in entry.acknowledgement
        assert "Macmillan" in entry.citation


@pytest.mark.parametrize("key", sorted(datasets.REGISTRY))
def test_registered_file_under_bayescore_data_matches_its_pinned_hash(key, shared_data):
    path = shared_data / key
    if not path.is_file():
        pytest.skip(f"{path} absent (BAYESCORE_DATA={shared_data})")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == datasets.REGISTRY[key].sha256
    assert fetch(key, download=False) == path


def test_registry_holds_every_real_file_with_the_hash_its_readme_states(shared_data):
    """The SHA-256 lines of real/README.md (independent of the registry) agree with it."""
    real = shared_data / "real"
    readme = real / "README.md"
    if not readme.is_file():
        pytest.skip(f"{readme} absent (BAYESCORE_DATA={shared_data})")
    stated = re.findall(r"SHA-256: ([0-9a-f]{64})", readme.read_text(encoding="utf-8"))
    registered = {
        entry.sha256 for key, entry in datasets.REGISTRY.items() if key.startswith("real/")
    }
    assert len(stated) == 13 and set(stated) <= registered
    on_disk = {
        path.relative_to(shared_data).as_posix()
        for path in real.rglob("*")
        if path.is_file() and path.name != "README.md"
    }
    assert on_disk <= set(datasets.REGISTRY), on_disk - set(datasets.REGISTRY)


def test_data_page_lists_every_registered_file():
    page = Path(__file__).resolve().parents[1] / "docs" / "data.md"
    text = page.read_text(encoding="utf-8")
    missing = [key for key in datasets.REGISTRY if f"`{key}`" not in text]
    assert not missing, missing
