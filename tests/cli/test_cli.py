"""The real entry point end to end: round trips, batch folders, stdin/stdout, the error contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_run import aecodec, assert_one_line_error

DATA = Path(__file__).parents[1] / "data" / "images"
SAMPLE = DATA / "canyon_wren.png"


def test_help_and_info_do_not_import_torch(tmp_path):
    aec = tmp_path / "x.aec"
    assert aecodec("encode", SAMPLE, "-o", aec, "-q", "30").returncode == 0
    probe = (
        "import runpy, sys; sys.argv = ['aecodec'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('aecodec', run_name='__main__')\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = [m for m in ('torch', 'compressai', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    for args in (["--help"], ["info", str(aec)], ["info", "--json", str(aec)], ["encode", "--help"], ["models"],
                 ["denoise", "--help"], ["inpaint", "--help"], ["bench", "denoise-image", "--help"], ["train", "--help"]):
        r = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, timeout=60)
        assert r.returncode == 0, (args, r.stderr.decode())


def test_cli_inference_matches_the_library_exactly(tmp_path):
    """The CLI defers torch's meta-kernel registrations (aecodec.runtime); files and pixels
    must be exactly what the library makes in this process, where torch is imported in full."""
    from aecodec.codecs.image import LearnedImageCodec
    from aecodec.media.image import read_image

    aec, png = tmp_path / "a.aec", tmp_path / "a.png"
    assert aecodec("encode", SAMPLE, "-o", aec, "-q", "60").returncode == 0
    assert aecodec("decode", aec, "-o", png).returncode == 0
    codec = LearnedImageCodec()
    data = codec.encode(read_image(SAMPLE), 60)
    assert aec.read_bytes() == data
    assert (read_image(png).pixels == codec.decode(data).pixels).all()


def test_encode_decode_round_trip_with_json_stats(tmp_path):
    aec, png = tmp_path / "a.aec", tmp_path / "a.png"
    r = aecodec("encode", SAMPLE, "-o", aec, "--quality", "80", "--json")
    assert r.returncode == 0, r.stderr.decode()
    stats = json.loads(r.stdout)
    assert stats["bytes"] == aec.stat().st_size and stats["quality"] == 80
    info = json.loads(aecodec("info", "--json", aec).stdout)
    assert info["media"] == "image" and info["geometry"]["width"] == 384
    assert aecodec("decode", aec, "-o", png).returncode == 0
    from aecodec.media.image import read_image

    assert read_image(png).pixels.shape == read_image(SAMPLE).pixels.shape


def test_bpp_option_lands_under_the_budget(tmp_path):
    aec = tmp_path / "b.aec"
    r = aecodec("encode", SAMPLE, "-o", aec, "--bpp", "0.5", "--json")
    assert r.returncode == 0, r.stderr.decode()
    assert aec.stat().st_size * 8 / (384 * 216) <= 0.5


def test_many_files_into_a_folder_and_back(tmp_path):
    enc, dec = tmp_path / "enc", tmp_path / "dec"
    enc.mkdir(), dec.mkdir()
    inputs = sorted(DATA.glob("*.png"))
    assert aecodec("encode", *inputs, "-o", enc, "-q", "40").returncode == 0
    assert sorted(p.stem for p in enc.iterdir()) == sorted(p.stem for p in inputs)
    assert aecodec("decode", *sorted(enc.iterdir()), "-o", dec).returncode == 0
    from aecodec.media.image import read_image

    for src in inputs:
        original, decoded = read_image(src).pixels, read_image(dec / f"{src.stem}.png").pixels
        assert decoded.shape == original.shape  # grayscale stays L, RGBA keeps alpha
        if original.shape[2] == 4:
            assert np.array_equal(decoded[:, :, 3], original[:, :, 3])


def test_stdin_to_stdout(tmp_path):
    r = aecodec("encode", "-", "-o", "-", "-q", "50", stdin=SAMPLE.read_bytes())
    assert r.returncode == 0 and r.stdout[:4] == b"AEC\x1a"
    back = aecodec("decode", "-", "-o", "-", stdin=r.stdout)
    assert back.returncode == 0 and back.stdout[:8] == b"\x89PNG\r\n\x1a\n"


def test_batch_reports_each_failure_and_goes_on(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    r = aecodec("encode", SAMPLE, bad, "-o", out)
    assert r.returncode == 1
    assert (out / "canyon_wren.aec").exists() and not (out / "bad.aec").exists()
    assert "bad.png" in r.stderr.decode() and "Traceback" not in r.stderr.decode()


@pytest.fixture(scope="module")
def good_aec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("aec") / "good.aec"
    assert aecodec("encode", SAMPLE, "-o", path, "-q", "50").returncode == 0
    return path


def _bad_inputs(tmp: Path, good: Path) -> dict[str, tuple[list, str]]:
    truncated_png = tmp / "trunc.png"
    truncated_png.write_bytes(SAMPLE.read_bytes()[:3000])
    fake = tmp / "fake.png"
    fake.write_bytes(np.random.default_rng(0).bytes(5000))
    empty = tmp / "empty.png"
    empty.write_bytes(b"")
    damaged = tmp / "damaged.aec"
    blob = bytearray(good.read_bytes())
    blob[len(blob) // 2] ^= 0x10
    damaged.write_bytes(bytes(blob))
    cut = tmp / "cut.aec"
    cut.write_bytes(good.read_bytes()[:-10])
    exists = tmp / "exists.aec"
    exists.write_bytes(b"keep me")
    return {
        "missing": (["encode", tmp / "nope.png", "-o", tmp / "o1.aec"], "o1.aec"),
        "directory": (["encode", tmp, "-o", tmp / "o2.aec"], "o2.aec"),
        "empty": (["encode", empty, "-o", tmp / "o3.aec"], "o3.aec"),
        "fake png": (["encode", fake, "-o", tmp / "o4.aec"], "o4.aec"),
        "truncated png": (["encode", truncated_png, "-o", tmp / "o5.aec"], "o5.aec"),
        "bad quality": (["encode", SAMPLE, "-o", tmp / "o6.aec", "-q", "0"], "o6.aec"),
        "quality and bpp": (["encode", SAMPLE, "-o", tmp / "o7.aec", "-q", "5", "--bpp", "1"], "o7.aec"),
        "unknown option": (["encode", SAMPLE, "-o", tmp / "o8.aec", "--qualty", "5"], "o8.aec"),
        "unwritable": (["encode", SAMPLE, "-o", tmp / "no" / "such" / "o9.aec"], "no/such/o9.aec"),
        "damaged aec": (["decode", damaged, "-o", tmp / "o10.png"], "o10.png"),
        "truncated aec": (["decode", cut, "-o", tmp / "o11.png"], "o11.png"),
        "png as aec": (["decode", SAMPLE, "-o", tmp / "o12.png"], "o12.png"),
        "unknown extension": (["decode", good, "-o", tmp / "o13.xyz"], "o13.xyz"),
        "info of damaged": (["info", damaged], None),
        "no cuda": (["encode", SAMPLE, "-o", tmp / "o14.aec", "--device", "cuda"], "o14.aec"),
    }


@pytest.mark.parametrize("case", [
    "missing", "directory", "empty", "fake png", "truncated png", "bad quality", "quality and bpp",
    "unknown option", "unwritable", "damaged aec", "truncated aec", "png as aec", "unknown extension",
    "info of damaged", "no cuda"])
def test_bad_input_gives_one_line_and_no_output(case, tmp_path, good_aec):
    args, output = _bad_inputs(tmp_path, good_aec)[case]
    if case == "no cuda":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    r = aecodec(*args)
    usage = case in ("bad quality", "quality and bpp", "unknown option")  # the command line's fault
    assert_one_line_error(r, code=2 if usage else 1)
    if output:
        assert not (tmp_path / output).exists()
    assert not list(tmp_path.glob(".*tmp*")), "a temporary file was left behind"


def test_existing_output_is_not_overwritten_without_force(tmp_path, good_aec):
    target = tmp_path / "exists.png"
    target.write_bytes(b"keep me")
    assert_one_line_error(aecodec("decode", good_aec, "-o", target), "--force")
    assert target.read_bytes() == b"keep me"
    assert aecodec("decode", good_aec, "-o", target, "--force").returncode == 0
    assert target.read_bytes()[:4] == b"\x89PNG"
