"""``bayescore`` under hostile conditions: bad paths, permissions, signals, reruns, umask.

Every bad input ends with one line on stderr and exit status 2 before any long
computation; Ctrl-C and SIGTERM end with 130 and 143, one line, no temporary files; the
summary of a run lists exactly the files that run wrote.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bayescore.cli import main


def _permissions_enforced() -> bool:
    """Whether file modes bind this process (not root with CAP_DAC_OVERRIDE)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("x")
        probe.chmod(0o000)
        try:
            probe.read_text()
        except PermissionError:
            return True
        finally:
            probe.chmod(0o600)
    return False


needs_non_root = pytest.mark.skipif(
    not _permissions_enforced(), reason="this user reads and writes files regardless of modes"
)
#: A fast flow inversion (fixed damping, L_F = 3).
FAST_FLOW = ["flow", "--lmax-flow", "3", "--damping", "1.0", "--quiet"]
DIPOLE_HEADER = "time_Ma,axial_dipole_moment_1e22Am2,sigma_1e22Am2\n"


def _one_line(capsys, prefix: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(prefix), err
    assert "Traceback" not in err
    return err


def _child_env() -> dict:
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg")


# ----------------------------------------------------------------------------- --out


@pytest.mark.parametrize(
    ("make_out", "message"),
    [
        (lambda tmp: "", "argument --out: is empty"),
        (lambda tmp: tmp / "file.txt", "is an existing file, not a folder"),
        (lambda tmp: tmp / "file.txt" / "sub", "file.txt is a file, not a folder"),
    ],
)
def test_bad_out_is_refused_before_any_work(tmp_path, capsys, make_out, message):
    (tmp_path / "file.txt").write_text("keep me")
    for command in (["field"], FAST_FLOW, ["coestimate"], ["forecast"]):
        status = main([*command, "--out", str(make_out(tmp_path))])
        assert status == 2
        err = _one_line(capsys, f"bayescore {command[0]}: error:")
        assert message in err
    assert (tmp_path / "file.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


@needs_non_root
def test_out_in_a_read_only_folder_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for command in (["field"], ["coestimate"]):
            assert main([*command, "--out", str(locked / "results")]) == 2
            err = _one_line(capsys, f"bayescore {command[0]}: error:")
            assert "not writable" in err and "--out" in err
    finally:
        locked.chmod(0o755)


# ----------------------------------------------------------------------------- inputs


def test_input_folders_and_binary_files_are_named(tmp_path, capsys):
    folder = tmp_path / "models"
    folder.mkdir()
    binary = tmp_path / "data.csv"
    binary.write_bytes(bytes(range(128, 256)) * 20)
    cases = [
        (["field", "--model", str(folder)], "--model", "is a folder"),
        (["coestimate", "--data", str(folder)], "--data", "is a folder"),
        (["coestimate", "--data", str(binary)], "data.csv is not a UTF-8 text file", ""),
        (["forecast", "--series", str(folder)], "--series", "is a folder"),
        (["forecast", "--series", str(binary)], "data.csv is not a UTF-8 text file", ""),
    ]
    for argv, first, second in cases:
        assert main([*argv, "--out", str(tmp_path / "out")]) == 2, argv
        err = _one_line(capsys, f"bayescore {argv[0]}: error:")
        assert first in err and second in err
        assert "codec" not in err
    assert not (tmp_path / "out").exists()


def test_forecast_series_without_rows_is_named_and_out_not_created(tmp_path, capsys):
    header_only = tmp_path / "header_only.csv"
    header_only.write_text(DIPOLE_HEADER)
    one_row = tmp_path / "one_row.csv"
    one_row.write_text(DIPOLE_HEADER + "-0.001,5.0,0.1\n")
    out = tmp_path / "new" / "results"
    for path, message in ((header_only, "has a header but no data rows"), (one_row, "1 values")):
        argv = ["forecast", "--series", str(path), "--out", str(out), "--quiet"]
        assert main(argv) == 2
        err = _one_line(capsys, "bayescore forecast: error:")
        assert path.name in err and message in err
    assert not (tmp_path / "new").exists(), "a failed run left the --out folder it created"


def test_forecast_training_epochs_option_replaces_epochs(tmp_path, capsys):
    assert main(["forecast", "--epochs", "3", "--out", str(tmp_path)]) == 2
    assert "unrecognized arguments: --epochs" in _one_line(capsys, "bayescore forecast: error:")


@needs_non_root
def test_unreadable_inputs_are_named(tmp_path, capsys):
    shc = tmp_path / "model.shc"
    shc.write_text("# nothing\n")
    series = tmp_path / "series.csv"
    series.write_text(DIPOLE_HEADER + "-0.001,5.0,0.1\n0.0,5.1,0.1\n")
    data = tmp_path / "data.csv"
    data.write_text("t,r,theta,phi,component,value,sigma\n")
    for path in (shc, series, data):
        path.chmod(0o000)
    cases = [
        (["field", "--model", str(shc)], "model.shc"),
        (["coestimate", "--data", str(data)], "data.csv"),
        (["forecast", "--series", str(series)], "series.csv"),
    ]
    for argv, name in cases:
        assert main([*argv, "--out", str(tmp_path / "out")]) == 2
        err = _one_line(capsys, f"bayescore {argv[0]}: error:")
        assert name in err and "permission denied" in err


def test_os_errors_about_user_paths_are_one_line_others_keep_their_traceback(
    tmp_path, capsys, monkeypatch
):
    import bayescore.fields

    model = tmp_path / "model.shc"
    model.write_text("# placeholder\n")

    def denied(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(bayescore.fields, "load_shc", denied)
    argv = ["field", "--model", str(model), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = _one_line(capsys, "bayescore field: error:")
    assert str(model) in err and "permission denied" in err

    def elsewhere(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/else/cache")

    monkeypatch.setattr(bayescore.fields, "load_shc", elsewhere)
    with pytest.raises(PermissionError):  # not about the user's paths: a bug, traceback
        main(argv)

    def bug(path, *args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(bayescore.fields, "load_shc", bug)
    with pytest.raises(TypeError):
        main(argv)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- outputs


def test_outputs_get_the_umask_mode(tmp_path):
    from bayescore.atomic import write_json

    previous = os.umask(0o027)
    try:
        path = write_json(tmp_path / "a.json", {"x": 1})
        assert path.stat().st_mode & 0o777 == 0o640
        os.umask(0o002)
        assert write_json(tmp_path / "b.json", {}).stat().st_mode & 0o777 == 0o664
        assert main([*FAST_FLOW, "--out", str(tmp_path / "flow")]) == 0
    finally:
        os.umask(previous)
    for path in (tmp_path / "flow").iterdir():
        assert path.stat().st_mode & 0o777 == 0o664, path.name


def test_second_run_lists_only_its_own_files(tmp_path, capsys):
    out = tmp_path / "flow"
    assert main([*FAST_FLOW, "--epochs", "2000", "2010", "--out", str(out)]) == 0
    first = json.loads((out / "summary.json").read_text())["outputs"]["figures"]
    assert [Path(p).name for p in first] == [
        "flow_map_2000.00.png", "flow_map_2010.00.png", "ke_spectra.png"
    ]  # fmt: skip
    (out / "notes.txt").write_text("mine")
    assert main([*FAST_FLOW, "--epochs", "2015", "--out", str(out)]) == 0
    second = json.loads((out / "summary.json").read_text())["outputs"]["figures"]
    assert [Path(p).name for p in second] == ["flow_map_2015.00.png", "ke_spectra.png"]
    # the first run's listed files that were not written again are gone; others stay
    assert sorted(p.name for p in out.iterdir()) == [
        "flow.nc", "flow_map_2015.00.png", "ke_spectra.png", "notes.txt", "summary.json"
    ]  # fmt: skip
    # a run that fails on its input before writing leaves the previous results complete
    assert main([*FAST_FLOW, "--epochs", "2040", "--out", str(out)]) == 2
    assert "2040" in _one_line(capsys, "bayescore flow: error:")
    assert (out / "summary.json").exists()


# ----------------------------------------------------------------------------- signals


def test_signals_raise_interrupted_only_outside_jax_frames():
    from bayescore.cli.interrupts import Interrupted, exit_status, signals_as_interrupts

    with pytest.raises(Interrupted) as caught, signals_as_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert caught.value.signum == signal.SIGTERM and exit_status(caught.value) == 143

    # code that C++ may call back into (a JAX frame on the stack) never sees the exception:
    # the signal is delivered again once the main thread is back in plain Python code
    source = (
        "def inside_jax(kill, getpid, sig, clock, record):\n"
        "    kill(getpid(), sig)\n"
        "    end = clock() + 0.4\n"
        "    while clock() < end:\n"
        "        pass\n"
        "    record.append('finished')\n"
    )
    namespace: dict = {}
    exec(compile(source, os.path.join(os.sep, "site", "jax", "_src", "fake.py"), "exec"), namespace)
    record: list[str] = []
    with pytest.raises(Interrupted) as caught, signals_as_interrupts():
        namespace["inside_jax"](os.kill, os.getpid, signal.SIGINT, time.monotonic, record)
        time.sleep(5)
    assert record == ["finished"] and caught.value.signum == signal.SIGINT
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_ctrl_c_and_sigterm_end_cleanly(tmp_path):
    """Both signals mid-run: status 128 + signal, one line, no temporaries, no summary."""
    # as from a terminal: a test run in the background inherits an ignored SIGINT
    launcher = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "from bayescore.cli import main; sys.exit(main())"
    )
    epochs = [f"{2000 + 0.5 * k:.1f}" for k in range(40)]
    runs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        out = tmp_path / sig.name
        argv = [*FAST_FLOW, "--epochs", *epochs, "--out", str(out)]
        runs[sig] = (
            out,
            subprocess.Popen(
                [sys.executable, "-c", launcher, *argv],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_child_env(),
            ),
        )
    deadline = time.monotonic() + 240
    pending = dict(runs)
    while pending and time.monotonic() < deadline:
        for sig, (out, process) in list(pending.items()):
            if list(out.glob("flow_map_*.png")) or process.poll() is not None:
                process.send_signal(sig)
                del pending[sig]
        time.sleep(0.05)
    for sig, (out, process) in runs.items():
        try:
            _, err = process.communicate(timeout=120)
        finally:
            process.kill()
        assert process.returncode == 128 + sig, (sig.name, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and f"stopped by {sig.name}" in lines[0], err
        assert not list(out.glob(".*")), "temporary files left behind"
        assert not (out / "summary.json").exists()


# ----------------------------------------------------------------------------- help


def test_help_and_version_do_not_import_jax():
    code = (
        "import sys\n"
        "from bayescore.cli import main\n"
        "for argv in (['--help'], ['--version'], ['flow', '--help'], ['field', '--help'],\n"
        "             ['forecast', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0, argv\n"
        "print('JAX', 'jax' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_child_env()
    )
    assert result.returncode == 0, result.stderr
    assert "--training-epochs" in result.stdout  # forecast's help
    assert "bayescore 0." in result.stdout  # --version
    assert result.stdout.strip().endswith("JAX False")


def test_import_bayescore_still_means_float64():
    code = "import bayescore, jax.numpy as jnp; print(jnp.zeros(1).dtype)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_child_env()
    )
    assert result.stdout.strip() == "float64", result.stderr
