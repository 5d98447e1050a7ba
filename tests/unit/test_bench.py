"""The image benchmark end to end on three tiny images: schema, files, resume; and its CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from aecodec.bench.image import bench_images
from aecodec.bench.report import RowLog
from aecodec.errors import InputError
from cli_run import aecodec

QUALITIES = (10, 30, 50, 70, 90)
POINT_KEYS = {"quality", "bpp", "psnr", "ms_ssim", "encode_s", "decode_s"}
ROW_KEYS = {"file", "codec", "quality", "bytes", "bpp", "psnr", "ms_ssim", "encode_s", "decode_s"}


@pytest.fixture(autouse=True)
def one_torch_thread():
    # MS-SSIM runs in torch; on a machine whose cores are busy (training), two threads fight
    # over them and each call takes ~50x longer.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    (folder / "nested").mkdir(parents=True)
    y, x = np.mgrid[:64, :64]
    for index, name in enumerate(["a.png", "b.png", "nested/c.png"]):
        planes = [x * 3 + index * 20, y * 3, 128 + 50 * np.sin((x + index * y) / 6.0)]
        pixels = np.clip(np.stack(planes, axis=2), 0, 255).astype(np.uint8)
        PIL.Image.fromarray(pixels).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    return folder


def read_rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "points.jsonl").read_text().splitlines()]


def test_bench_images_end_to_end(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    results = bench_images(images, out, codecs=("jpeg", "webp"), qualities=QUALITIES)

    assert json.loads((out / "results.json").read_text()) == results
    assert set(results) == {"kind", "dataset", "versions", "reference", "codecs", "bd_rate", "bd_psnr",
                            "bd_rate_ms_ssim"}
    assert set(results["bd_rate_ms_ssim"]) == {"webp"} and isinstance(results["bd_rate_ms_ssim"]["webp"], float)
    assert results["kind"] == "image" and results["dataset"] == str(images) and results["reference"] == "jpeg"
    assert {"aecodec", "numpy", "Pillow", "libjpeg", "libwebp"} <= set(results["versions"])
    assert list(results["codecs"]) == ["jpeg", "webp"]
    for entry in results["codecs"].values():
        points = entry["points"]
        assert [p["quality"] for p in points] == list(QUALITIES)
        assert all(set(p) == POINT_KEYS for p in points)
        assert all(isinstance(p[k], float) for p in points for k in POINT_KEYS - {"quality"})
        assert [p["bpp"] for p in points] == sorted(p["bpp"] for p in points)
        assert all(20 < p["psnr"] < 60 and 0.5 < p["ms_ssim"] <= 1 for p in points)
    assert set(results["bd_rate"]) == set(results["bd_psnr"]) == {"webp"}
    assert isinstance(results["bd_rate"]["webp"], float) and isinstance(results["bd_psnr"]["webp"], float)

    rows = read_rows(out)
    assert len(rows) == 3 * 2 * len(QUALITIES) and all(set(r) == ROW_KEYS for r in rows)
    assert {r["file"] for r in rows} == {"a.png", "b.png", "nested/c.png"}
    jpeg_q50 = [r for r in rows if r["codec"] == "jpeg" and r["quality"] == 50]
    mean_bpp = np.mean([r["bpp"] for r in jpeg_q50])
    assert results["codecs"]["jpeg"]["points"][2]["bpp"] == pytest.approx(mean_bpp)
    assert jpeg_q50[0]["bpp"] == jpeg_q50[0]["bytes"] * 8 / (64 * 64)

    markdown = (out / "results.md").read_text()
    assert "| webp |" in markdown and "BD-rate vs jpeg" in markdown
    for plot in ("rd_psnr.png", "rd_msssim.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_resumes_from_its_rows(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    bench_images(images, out, codecs=("jpeg",), qualities=QUALITIES, limit=2)
    first = read_rows(out)
    assert len(first) == 2 * len(QUALITIES)

    bench_images(images, out, codecs=("jpeg",), qualities=QUALITIES, limit=2)
    assert read_rows(out) == first  # nothing measured twice

    with open(out / "points.jsonl", "a") as file:
        file.write('{"file": "a.png", "cod')  # a run killed mid-write
    results = bench_images(images, out, codecs=("jpeg",), qualities=(*QUALITIES, 95), limit=3)
    rows = read_rows(out)
    assert rows[: len(first)] == first
    new = {(r["file"], r["quality"]) for r in rows[len(first) :]}
    assert new == {("a.png", 95), ("b.png", 95)} | {("nested/c.png", q) for q in (*QUALITIES, 95)}
    assert len(results["codecs"]["jpeg"]["points"]) == len(QUALITIES) + 1


def test_rows_of_another_model_are_measured_again(tmp_path: Path) -> None:
    path = tmp_path / "points.jsonl"
    old = {"file": "a.png", "codec": "aecodec", "quality": 50, "bytes": 10, "codec_id": "image-hyperprior v1 aaaa"}
    jpeg = {"file": "a.png", "codec": "jpeg", "quality": 50, "bytes": 12}
    path.write_text(json.dumps(old) + "\n" + json.dumps(jpeg) + "\n")
    rows = RowLog(path, {"aecodec": "image-hyperprior v2 bbbb", "jpeg": ""})
    assert rows.rows == [jpeg] and rows.done == {("a.png", "jpeg", 50)}
    assert read_rows(tmp_path) == [jpeg]  # dropped from the file too
    rows.append({**old, "codec_id": None, "bytes": 9})
    assert read_rows(tmp_path)[-1]["codec_id"] == "image-hyperprior v2 bbbb"
    assert RowLog(path, {"aecodec": "image-hyperprior v2 bbbb"}).done == {("a.png", "jpeg", 50), ("a.png", "aecodec", 50)}


def test_rows_that_are_not_rows_are_refused(tmp_path: Path) -> None:
    (tmp_path / "points.jsonl").write_text('{"file": "a.png"}\n')
    with pytest.raises(InputError, match="points.jsonl:1 is not a benchmark row"):
        RowLog(tmp_path / "points.jsonl")


def test_bench_input_errors(images: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        bench_images(tmp_path / "missing", tmp_path / "out", codecs=("jpeg",))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(InputError, match="no .png"):
        bench_images(tmp_path / "empty", tmp_path / "out", codecs=("jpeg",))
    with pytest.raises(InputError, match="audio codec"):
        bench_images(images, tmp_path / "out", codecs=("mp3",))
    with pytest.raises(InputError, match="--limit"):
        bench_images(images, tmp_path / "out", codecs=("jpeg",), limit=0)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI with one torch thread (as one_torch_thread, for the child process), output as text."""
    result = aecodec(*args, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(), result.stderr.decode())


def test_cli_bad_options_are_one_line_errors(images: Path, tmp_path: Path) -> None:
    result = run_cli("bench", "image", "--data", str(images), "--out", str(tmp_path / "o"), "--qualities", "ten")
    assert result.returncode == 2
    expected = "--qualities takes comma-separated integers, got 'ten'; e.g. --qualities 10,50,90"
    assert result.stderr == f"aecodec: error: {expected}\n"
    result = run_cli("bench", "audio", "--data", str(images), "--out", str(tmp_path / "o"), "--codecs", " , ")
    assert result.returncode == 2 and result.stderr.startswith("aecodec: error: --codecs is empty")
    for kbps in ("1.5,-3", "nan", "six"):
        result = run_cli("bench", "audio", "--data", str(images), "--out", str(tmp_path / "o"), "--kbps", kbps)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--kbps" in result.stderr
    assert not (tmp_path / "o").exists()


def test_kbps_take_fractions_and_qualities_integers() -> None:
    from aecodec.cli.bench_cmds import parse_integers, parse_numbers

    assert parse_numbers("6, 1.5,3,6", "--kbps") == (1.5, 3, 6) and parse_numbers(None, "--kbps") is None
    assert all(type(v) is int for v in parse_numbers("12,3", "--kbps"))
    assert parse_integers("95,5", "--qualities") == (5, 95)
    for bad in ("0", "2.5", "x", ","):
        with pytest.raises(InputError):
            parse_integers(bad, "--qualities")


def test_cli_runs_a_bench_and_imports_no_numpy_until_then(images: Path, tmp_path: Path) -> None:
    probe = "import sys; from aecodec.cli import bench_cmds; print(sorted({'numpy', 'torch'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout == "[]\n"
    out = tmp_path / "cli"
    result = run_cli("bench", "image", "--data", str(images), "--out", str(out), "--codecs", "jpeg",
                     "--qualities", "20,40,60,80", "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert "results in" in result.stdout
    assert len(read_rows(out)) == 4


def test_a_much_cheaper_codec_gets_a_bd_rate_without_a_shared_rate_range() -> None:
    from aecodec.bench.audio import LAYOUT
    from aecodec.bench.report import bd_tables

    def points(kbps, mel):
        return [{"kbps": k, "mel_distance": m} for k, m in zip(kbps, mel)]

    reference = points((16, 24, 32, 48, 64), (3.0, 2.1, 1.3, 0.5, 0.3))
    cheap = points((2, 3, 5, 10), (1.0, 0.85, 0.6, 0.45))  # 2-10 kbps: no rate the two share
    rates, qualities = bd_tables(LAYOUT, {"mp3": reference, "aecodec": cheap}, "mp3")
    assert rates["aecodec"] < -70 and qualities["aecodec"] is None


# Issue 20: --out holds only what a benchmark wrote, and nothing is written through a link.

FEW = (20, 40, 60, 80)


def test_a_symlinked_points_file_is_refused_and_nothing_is_written_through_it(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "points.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")  # dangling
    with pytest.raises(InputError, match="points.jsonl' is a symlink"):
        bench_images(images, out, codecs=("jpeg",), qualities=FEW, limit=1)
    assert not (tmp_path / "elsewhere.jsonl").exists()
    rows = RowLog(tmp_path / "p.jsonl")
    (tmp_path / "p.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")  # a link put in meanwhile
    with pytest.raises(InputError, match="cannot append to"):
        rows.append({"file": "a.png", "codec": "jpeg", "quality": 50})
    assert not (tmp_path / "elsewhere.jsonl").exists()


@pytest.mark.parametrize("name", ["results.json", "results.md", "rd_psnr.png"])
def test_a_users_file_in_out_is_never_replaced(images: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_text("my own notes")
    with pytest.raises(InputError, match=f"{name}' exists and was not written by 'aecodec bench'"):
        bench_images(images, out, codecs=("jpeg",), qualities=FEW, limit=1)
    assert (out / name).read_text() == "my own notes" and sorted(os.listdir(out)) == [name]


def test_an_out_folder_inside_the_data_is_not_benchmarked(images: Path) -> None:
    out = images / "bench"
    bench_images(images, out, codecs=("jpeg",), qualities=FEW)
    bench_images(images, out, codecs=("jpeg",), qualities=FEW)  # its plots are .png files now
    assert {r["file"] for r in read_rows(out)} == {"a.png", "b.png", "nested/c.png"}


def test_cached_rows_missing_fields_are_measured_again(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    bench_images(images, out, codecs=("jpeg",), qualities=FEW, limit=1)
    rows = read_rows(out)
    broken = [{k: v for k, v in rows[0].items() if k != "bpp"}, {**rows[1], "psnr": "high"}, *rows[2:]]
    (out / "points.jsonl").write_text("".join(json.dumps(r) + "\n" for r in broken))
    results = bench_images(images, out, codecs=("jpeg",), qualities=FEW, limit=1)  # no KeyError
    assert sorted(read_rows(out), key=lambda r: r["quality"]) == sorted(
        [*rows[2:], *read_rows(out)[-2:]], key=lambda r: r["quality"])
    assert all(set(r) == ROW_KEYS for r in read_rows(out)) and len(results["codecs"]["jpeg"]["points"]) == 4
