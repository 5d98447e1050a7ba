"""Atomic output files: all or nothing, no overwrite without force, no temp files left."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from aecodec.errors import InputError
from aecodec.media import atomic
from aecodec.media.atomic import atomic_output, atomic_write, check_output


def test_writes_the_file_and_leaves_nothing_else(tmp_path) -> None:
    atomic_write(tmp_path / "out.bin", b"payload")
    assert (tmp_path / "out.bin").read_bytes() == b"payload"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_refuses_an_existing_output_and_keeps_it(tmp_path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(InputError) as info:
        atomic_write(target, b"new")
    assert str(info.value) == f"output '{target}' exists; pass --force to overwrite"
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_force_overwrites(tmp_path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    atomic_write(target, b"new", force=True)
    assert target.read_bytes() == b"new"


def test_the_output_gets_ordinary_permissions(tmp_path) -> None:
    old_umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "out.bin", b"x")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o644  # not mkstemp's 0o600


@pytest.mark.parametrize(
    "make_path, expected",
    [
        (lambda tmp: tmp / "missing" / "out.bin", "missing' does not exist; create it first"),
        (lambda tmp: tmp / "file.txt" / "out.bin", "is not a folder"),
        (lambda tmp: tmp, "is a directory; give a file name"),
    ],
)
def test_bad_destinations_are_refused_before_any_work(tmp_path, make_path, expected) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match=expected):
        check_output(make_path(tmp_path), force=True)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_a_read_only_folder_is_refused(tmp_path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(InputError, match="permission denied"):
        atomic_write(folder / "out.bin", b"x")


def test_a_folder_without_write_permission_is_refused_early(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(atomic.os, "access", lambda path, mode: False)
    with pytest.raises(InputError, match="out.bin': permission denied; choose another folder"):
        check_output(tmp_path / "out.bin")


def failing_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


def test_permission_denied_while_creating_is_an_input_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(atomic.os, "open", failing_with(errno.EACCES))
    with pytest.raises(InputError, match=r"cannot write '.*out.bin': permission denied; "):
        atomic_write(tmp_path / "out.bin", b"x")
    assert os.listdir(tmp_path) == []


@pytest.fixture
def named_temps(monkeypatch):
    """The fallback where O_TMPFILE is missing: a hidden named temporary beside the output."""
    monkeypatch.setattr(atomic, "_anonymous_file", lambda folder: None)


@pytest.mark.parametrize("scheme, failing", [("anonymous", "fsync"), ("anonymous", "link"),
                                             ("named", "fsync"), ("named", "replace")])
def test_a_failed_write_leaves_no_output_and_no_temp(tmp_path, monkeypatch, request, scheme, failing) -> None:
    if scheme == "named":
        request.getfixturevalue("named_temps")
    monkeypatch.setattr(atomic.os, failing, failing_with(errno.ENOSPC))
    with pytest.raises(InputError, match="no space left on the disk; free some space"):
        atomic_write(tmp_path / "out.bin", b"x" * 1000)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("scheme", ["anonymous", "named"])
def test_a_failed_forced_write_keeps_the_old_file(tmp_path, monkeypatch, request, scheme) -> None:
    if scheme == "named":
        request.getfixturevalue("named_temps")
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    monkeypatch.setattr(atomic.os, "replace", failing_with(errno.EIO))
    with pytest.raises(InputError, match="input/output error; check the folder"):
        atomic_write(target, b"new", force=True)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


@pytest.mark.parametrize("scheme", ["anonymous", "named"])
@pytest.mark.parametrize("interruption", [RuntimeError("writer bug"), KeyboardInterrupt()])
def test_an_interrupted_writer_leaves_nothing(tmp_path, request, scheme, interruption) -> None:
    if scheme == "named":
        request.getfixturevalue("named_temps")
    with pytest.raises(type(interruption)):
        with atomic_output(tmp_path / "out.wav") as temp:
            temp.write_bytes(b"half")
            raise interruption
    assert os.listdir(tmp_path) == []


def test_without_o_tmpfile_the_temp_is_hidden_beside_the_target_with_its_extension(tmp_path, named_temps) -> None:
    with atomic_output(tmp_path / "song.wav") as temp:
        assert temp.parent == tmp_path and temp.suffix == ".wav" and temp.name.startswith(".")
        assert temp.exists()  # reserved with O_EXCL, so no one else can take the name
        temp.write_bytes(b"RIFF")
    assert (tmp_path / "song.wav").read_bytes() == b"RIFF"
    assert os.listdir(tmp_path) == ["song.wav"]


@pytest.mark.parametrize("scheme", ["anonymous", "named"])
def test_an_output_that_appears_meanwhile_is_not_overwritten(tmp_path, request, scheme) -> None:
    if scheme == "named":
        request.getfixturevalue("named_temps")
    target = tmp_path / "out.bin"
    with pytest.raises(InputError, match="exists; pass --force"):
        with atomic_output(target) as temp:
            temp.write_bytes(b"ours")
            target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_dash_means_standard_output(capsysbinary) -> None:
    check_output("-")
    atomic_write("-", b"to stdout ")
    with atomic_output("-") as temp:
        temp.write_bytes(b"via a temp file")
    assert capsysbinary.readouterr().out == b"to stdout via a temp file"
    assert not temp.exists()


# Issue 20: nothing survives a kill, and outputs never land where they must not.

def o_tmpfile_works() -> bool:
    fd = atomic._anonymous_file(Path(tempfile.gettempdir()))
    if fd is not None:
        os.close(fd)
    return fd is not None


needs_o_tmpfile = pytest.mark.skipif(not o_tmpfile_works(), reason="no O_TMPFILE here: the named fallback is tested above")


@needs_o_tmpfile
def test_the_temp_has_no_name_until_it_is_complete(tmp_path) -> None:
    with atomic_output(tmp_path / "song.wav") as temp:
        temp.write_bytes(b"RIFF")
        assert os.listdir(tmp_path) == []  # nothing to leave behind, whatever happens now
    assert (tmp_path / "song.wav").read_bytes() == b"RIFF"
    assert os.listdir(tmp_path) == ["song.wav"]


@needs_o_tmpfile
@pytest.mark.parametrize("target", ["out.wav", "-"])
def test_a_killed_writer_leaves_no_file(tmp_path, target) -> None:
    # SIGKILL (the out-of-memory killer's signal) runs no cleanup: only a nameless file is safe.
    script = textwrap.dedent(f"""
        import os, signal, tempfile
        tempfile.tempdir = {str(tmp_path / "tmp")!r}
        from aecodec.media.atomic import atomic_output
        with atomic_output({str(tmp_path / "out" / target) if target != "-" else "-"!r}) as temp:
            temp.write_bytes(b"x" * 100000)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    (tmp_path / "tmp").mkdir()
    (tmp_path / "out").mkdir()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    assert os.listdir(tmp_path / "out") == [] and os.listdir(tmp_path / "tmp") == []


def test_a_dangling_symlink_counts_as_an_existing_output(tmp_path) -> None:
    link = tmp_path / "out.bin"
    link.symlink_to(tmp_path / "elsewhere.bin")
    with pytest.raises(InputError, match="exists; pass --force"):
        atomic_write(link, b"x")
    assert not (tmp_path / "elsewhere.bin").exists()
    atomic_write(link, b"x", force=True)  # --force replaces the link, never writes through it
    assert not link.is_symlink() and link.read_bytes() == b"x"
    assert not (tmp_path / "elsewhere.bin").exists()


@pytest.mark.parametrize("make", ["fifo", "link to /dev/null", "/dev/null"])
def test_devices_and_pipes_are_never_replaced_even_with_force(tmp_path, make) -> None:
    target = tmp_path / "out.bin"
    if make == "fifo":
        os.mkfifo(target)
    elif make == "link to /dev/null":
        target.symlink_to(os.devnull)
    else:
        target = Path(os.devnull)
    with pytest.raises(InputError, match="not a regular file"):
        check_output(target, force=True)
    if make != "/dev/null":
        with pytest.raises(InputError, match="not a regular file"):
            atomic_write(target, b"x", force=True)
        assert not stat.S_ISREG(os.stat(target).st_mode)
        assert os.listdir(tmp_path) == ["out.bin"]
