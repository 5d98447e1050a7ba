"""Atomic output files: all or nothing, no overwrite without force, no temp files left."""

from __future__ import annotations

import errno
import os
import stat

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


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_no_output_and_no_temp(tmp_path, monkeypatch, failing) -> None:
    monkeypatch.setattr(atomic.os, failing, failing_with(errno.ENOSPC))
    with pytest.raises(InputError, match="no space left on the disk; free some space"):
        atomic_write(tmp_path / "out.bin", b"x" * 1000)
    assert os.listdir(tmp_path) == []


def test_a_failed_forced_write_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    monkeypatch.setattr(atomic.os, "replace", failing_with(errno.EIO))
    with pytest.raises(InputError, match="input/output error; check the folder"):
        atomic_write(target, b"new", force=True)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


@pytest.mark.parametrize("interruption", [RuntimeError("writer bug"), KeyboardInterrupt()])
def test_an_interrupted_writer_leaves_nothing(tmp_path, interruption) -> None:
    with pytest.raises(type(interruption)):
        with atomic_output(tmp_path / "out.wav") as temp:
            temp.write_bytes(b"half")
            raise interruption
    assert os.listdir(tmp_path) == []


def test_atomic_output_gives_a_hidden_temp_beside_the_target_with_its_extension(tmp_path) -> None:
    with atomic_output(tmp_path / "song.wav") as temp:
        assert temp.parent == tmp_path and temp.suffix == ".wav" and temp.name.startswith(".")
        assert temp.exists()  # reserved with O_EXCL, so no one else can take the name
        temp.write_bytes(b"RIFF")
    assert (tmp_path / "song.wav").read_bytes() == b"RIFF"
    assert os.listdir(tmp_path) == ["song.wav"]


def test_an_output_that_appears_meanwhile_is_not_overwritten(tmp_path) -> None:
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
