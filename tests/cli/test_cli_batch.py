"""Batches as users run them (issue 18, points 3, 4, 5 and 7): folders and quoted globs as inputs,
``-o DIR/`` as a folder, ``--skip-existing``, and progress that neither garbles a terminal nor
leaves a long single file silent."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile

from aecodec.cli.batch import StepBar, plan_outputs, run_batch
from aecodec.cli.inputs import expand_inputs
from aecodec.errors import AecError, InputError
from cli_run import aecodec, assert_one_line_error

IMAGES = Path(__file__).parents[1] / "data" / "images"
RGB, GRAY = IMAGES / "canyon_wren.png", IMAGES / "lake_gray.png"


@pytest.fixture
def shots(tmp_path) -> Path:
    """A folder as a camera card or a project holds it: images in subfolders, a file with no
    extension, notes, a hidden folder, a FIFO and symlinks that loop back up the tree."""
    root = tmp_path / "shots"
    (root / "day1" / "raw").mkdir(parents=True)
    (root / ".git").mkdir()
    shutil.copy(RGB, root / "a.png")
    shutil.copy(GRAY, root / "day1" / "b.png")
    shutil.copy(GRAY, root / "day1" / "raw" / "IMG_0001")  # a PNG by its content only
    (root / "notes.txt").write_text("not an image")
    (root / "day1" / "raw" / "meta.xmp").write_text("<x:xmpmeta/>")
    shutil.copy(RGB, root / ".git" / "hidden.png")
    shutil.copy(RGB, root / ".hidden.png")
    os.mkfifo(root / "pipe.png")  # would hang if it were opened
    (root / "day1" / "loop").symlink_to("..")
    (root / "day1" / "raw" / "up").symlink_to("../..")
    return root


def write_tone(path: Path, seconds: float = 0.5, rate: int = 16000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    return path


def relative_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- point 3: folders and globs -----------------------------------------------------------

def test_a_folder_is_searched_recursively_keeping_its_tree(shots, tmp_path):
    expanded = expand_inputs([str(shots)])
    found = {Path(f.path).relative_to(shots).as_posix(): f.tree for f in expanded.found}
    assert found == {"a.png": ".", "day1/b.png": "day1", "day1/raw/IMG_0001": "day1/raw"}
    skipped = {Path(p).name: why for p, why in expanded.skipped}
    assert skipped == {"notes.txt": "not an image or audio file", "meta.xmp": "not an image or audio file",
                       "pipe.png": "not a regular file"}
    pairs = plan_outputs((str(shots),), str(tmp_path / "out") + "/", ".aec")
    assert [Path(d).relative_to(tmp_path / "out").as_posix() for _, d in pairs] == [
        "a.aec", "day1/b.aec", "day1/raw/IMG_0001.aec"]
    assert (tmp_path / "out" / "day1" / "raw").is_dir()


def test_encode_and_decode_a_folder_end_to_end(shots, tmp_path):
    enc, dec = tmp_path / "enc", tmp_path / "dec"
    r = aecodec("encode", shots, "-o", f"{enc}/", "-q", "20")
    assert r.returncode == 0, r.stderr.decode()
    assert relative_files(enc) == ["a.aec", "day1/b.aec", "day1/raw/IMG_0001.aec"]
    assert r.stderr.decode().count("\n") == 1 and "skipped 3 files" in r.stderr.decode()  # one notice line
    (enc / "day1" / "readme.md").write_text("not an .aec file")
    r = aecodec("decode", enc, "-o", f"{dec}/")
    assert r.returncode == 0, r.stderr.decode()
    assert relative_files(dec) == ["a.png", "day1/b.png", "day1/raw/IMG_0001.png"]
    assert "skipped" in r.stderr.decode() and "readme.md" in r.stderr.decode()


def test_a_quoted_glob_expands_with_recursive_double_star(shots, tmp_path):
    flat = plan_outputs((f"{shots}/*.png",), str(tmp_path / "flat") + "/", ".aec")
    assert [Path(s).name for s, _ in flat] == ["a.png"]  # the FIFO is skipped, the hidden file never matched
    deep = plan_outputs((f"{shots}/**/*.png",), str(tmp_path / "deep") + "/", ".aec")
    assert [Path(d).relative_to(tmp_path / "deep").as_posix() for _, d in deep] == ["a.aec", "day1/b.aec"]
    folders = plan_outputs((f"{shots}/day*",), str(tmp_path / "days") + "/", ".aec")  # a matched folder is searched
    assert [Path(d).relative_to(tmp_path / "days").as_posix() for _, d in folders] == [
        "day1/b.aec", "day1/raw/IMG_0001.aec"]


def test_a_glob_matching_nothing_is_one_error_line(shots, tmp_path):
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs([f"{shots}/*.jpg"])
    assert_one_line_error(aecodec("encode", f"{shots}/*.jpg", "-o", f"{tmp_path}/out/"), "*.jpg")
    assert not (tmp_path / "out").exists()


def test_a_folder_without_media_is_one_error_line(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("text")
    with pytest.raises(InputError, match="no image or audio files in .*docs.*1 other file skipped"):
        expand_inputs([str(tmp_path / "docs")])


def test_a_named_file_is_never_filtered(tmp_path):
    odd = tmp_path / "notes.txt"
    odd.write_text("x")
    assert [f.path for f in expand_inputs([str(odd), "-"]).found] == [str(odd), "-"]  # its error comes when read


def test_folder_output_must_exist_or_end_in_a_slash(shots, tmp_path):
    with pytest.raises(InputError, match="does not exist.*end its name with '/'"):
        plan_outputs((str(shots),), str(tmp_path / "missing"), ".aec")
    assert not (tmp_path / "missing").exists()


def test_two_inputs_for_one_output_name_each_named(tmp_path):
    for name in ("x.png", "x.wav"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(InputError, match="x.png' and .*x.wav' would both be written to"):
        plan_outputs((str(tmp_path / "x.png"), str(tmp_path / "x.wav")), str(tmp_path) + "/", ".aec")


def test_denoise_and_inpaint_take_folders(tmp_path):
    """The README's `aecodec denoise shots/ -o cleaned/`, with images and audio, and an inpaint
    of a folder of recordings (the gap is filled by linear prediction: no model needed)."""
    shots = tmp_path / "shots"
    (shots / "sub").mkdir(parents=True)
    shutil.copy(GRAY, shots / "gray.png")
    write_tone(shots / "sub" / "take.wav")
    (shots / "list.txt").write_text("x")
    r = aecodec("denoise", shots, "-o", f"{tmp_path}/cleaned/")
    assert r.returncode == 0, r.stderr.decode()
    assert relative_files(tmp_path / "cleaned") == ["gray.png", "sub/take.wav"]
    takes = tmp_path / "takes"
    (takes / "b").mkdir(parents=True)
    write_tone(takes / "a.wav"), write_tone(takes / "b" / "c.flac")
    r = aecodec("inpaint", takes, "--gap", "0.1-0.15", "-o", f"{tmp_path}/fixed/")
    assert r.returncode == 0, r.stderr.decode()
    assert relative_files(tmp_path / "fixed") == ["a.wav", "b/c.flac"]


# --- point 4: -o DIR/ ----------------------------------------------------------------------

def test_a_trailing_slash_makes_a_folder_even_for_one_input(tmp_path):
    target = tmp_path / "newdir"
    assert plan_outputs((str(RGB),), f"{target}/", ".aec") == [(str(RGB), str(target / "canyon_wren.aec"))]
    assert target.is_dir()
    r = aecodec("encode", RGB, "-o", f"{tmp_path}/made/", "-q", "20")
    assert r.returncode == 0, r.stderr.decode()
    assert (tmp_path / "made" / "canyon_wren.aec").is_file()


# --- point 5: --skip-existing -----------------------------------------------------------------

def ok_work(src, dst, progress):
    Path(dst).write_text(src)
    return {"bytes": 1}


def test_skip_existing_skips_with_a_notice_and_counts_it(tmp_path, capsys):
    pairs = [(f"in{i}", str(tmp_path / f"out{i}")) for i in range(3)]
    (tmp_path / "out1").write_text("keep me")
    run_batch(pairs, ok_work, False, "test", existing="skip")
    out, err = capsys.readouterr()
    assert (tmp_path / "out1").read_text() == "keep me" and (tmp_path / "out2").read_text() == "in2"
    assert err.splitlines() == [f"aecodec: skipped 'in1': its output '{pairs[1][1]}' exists (--skip-existing)",
                                "aecodec: 2 of 3 files done, 1 skipped as their outputs exist"]


def test_without_skip_existing_an_existing_output_fails_naming_both_ways_on(tmp_path, capsys):
    pairs = [("in0", str(tmp_path / "out0")), ("in1", str(tmp_path / "out1"))]
    (tmp_path / "out1").write_text("keep me")
    with pytest.raises(AecError, match="1 of 2 files failed"):
        run_batch(pairs, ok_work, False, "test")
    err = capsys.readouterr().err
    assert "pass --force to overwrite it or --skip-existing to keep it" in err
    assert (tmp_path / "out1").read_text() == "keep me"


def test_a_re_run_with_skip_existing_succeeds(tmp_path):
    out = tmp_path / "out"
    assert aecodec("encode", RGB, GRAY, "-o", f"{out}/", "-q", "20").returncode == 0
    again = aecodec("encode", RGB, GRAY, "-o", out, "-q", "20")
    assert again.returncode == 1 and "--skip-existing" in again.stderr.decode()
    skipped = aecodec("encode", RGB, GRAY, "-o", out, "-q", "20", "--skip-existing")
    assert skipped.returncode == 0, skipped.stderr.decode()
    assert "0 of 2 files done, 2 skipped" in skipped.stderr.decode()
    both = aecodec("encode", RGB, "-o", f"{tmp_path}/other/", "--force", "--skip-existing")
    assert_one_line_error(both, "--force", "--skip-existing", code=2)
    assert not (tmp_path / "other").exists()  # refused before any folder was made


# --- point 7: progress ------------------------------------------------------------------------

class Terminal(io.StringIO):
    """stdout and stderr as one terminal: what a user sees, bar redraws included."""

    def isatty(self) -> bool:
        return True


def slow_work(src, dst, progress):
    threading.Event().wait(0.15)  # past tqdm's 0.1 s redraw interval
    if src == "bad":
        raise InputError("bad is damaged")
    return {"bytes": 7}


@pytest.mark.parametrize("as_json", [False, True])
def test_lines_go_through_the_bar_and_never_garble_it(monkeypatch, as_json):
    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    monkeypatch.setattr(sys, "stderr", screen)
    pairs = [("one", "-x"), ("bad", "-y"), ("two", "-z")]
    with pytest.raises(AecError, match="1 of 3 files failed"):
        run_batch(pairs, slow_work, as_json, "test")
    text = screen.getvalue()
    assert "|" in text  # the bar was drawn
    # What stays on each line once the terminal has applied every carriage return:
    lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n") if line.rsplit("\r", 1)[-1].strip()]
    printed = [line for line in lines if not line.startswith("test:")]
    if as_json:
        assert [json.loads(line)["input"] for line in printed[::2]] == ["one", "two"]
    else:
        assert printed[0].startswith("one -> -x: 7 bytes") and printed[2].startswith("two -> -z: 7 bytes")
    assert printed[1] == "aecodec: error: bad is damaged"


def test_a_file_gets_a_step_callback_only_on_a_terminal(monkeypatch):
    seen = []

    def work(src, dst, progress):
        seen.append(progress)
        return {"bytes": 1}

    run_batch([("a", "-")], work, False, "test")  # pytest's stderr is no terminal
    monkeypatch.setattr(sys, "stderr", Terminal())
    run_batch([("a", "-")], work, False, "test")
    run_batch([("a", "-"), ("b", "-")], work, False, "test", in_flight=2)  # files in flight: the files' bar only
    assert seen[0] is None and isinstance(seen[1], StepBar) and seen[2:] == [None, None]


def test_the_step_bar_follows_the_callback(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    bar = StepBar("dir/big.png")
    for done in range(1, 4):
        bar(done, 3)
    assert bar.bar.n == 3 and bar.bar.total == 3 and bar.bar.desc.startswith("big.png")
    bar(4, 5)  # a total that grows (a --bpp search codes more than once)
    assert bar.bar.total == 5
    bar.close()


def test_tiles_report_progress():
    import torch

    from aecodec.codecs.image import tile_count
    from aecodec.models.image.tiling import tiled

    calls = []
    x = torch.zeros(1, 1, 100, 130)
    assert torch.equal(tiled(lambda t: t + 1, x, 32, 4, 1.0, lambda: calls.append(1)), x + 1)
    assert len(calls) == tile_count(100, 130, 32) == 20
    tiled(lambda t: t, x, 0, 4, 1.0, lambda: calls.append(1))
    assert len(calls) == 21 == 20 + tile_count(100, 130, 0)


def test_the_image_codec_reports_its_steps(image_codec):
    from aecodec.media.image import read_image

    encoded, decoded = [], []
    image = read_image(RGB)
    data = image_codec.encode(image, 40, progress=lambda done, total: encoded.append((done, total)))
    assert data == image_codec.encode(image, 40)  # progress changes nothing
    assert encoded == [(1, 2), (2, 2)]  # one tile, then the coding
    image_codec.decode(data, progress=lambda done, total: decoded.append((done, total)))
    assert [d for d, _ in decoded] == list(range(1, len(decoded) + 1)) and decoded[-1][0] == decoded[-1][1] > 2


def test_the_audio_codec_reports_each_chunk():
    from aecodec.codecs.audio import LearnedAudioCodec
    from aecodec.media.types import Audio

    t = np.arange(11 * 8000) / 8000
    audio = Audio((0.2 * np.sin(2 * np.pi * 300 * t))[:, None].astype(np.float32), 8000)
    codec = LearnedAudioCodec()
    encoded, decoded = [], []
    data = codec.encode(audio, 30, progress=lambda done, total: encoded.append((done, total)))
    codec.decode(data, progress=lambda done, total: decoded.append((done, total)))
    assert encoded == decoded == [(1, 2), (2, 2)]  # 11 s: two 10 s chunks
