"""Issue 18, points 8-11: --quiet / --verbose and exit codes, the info and models tables, rate
targets out of reach, and --gap times and ranges."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from cli_run import aecodec, assert_one_line_error

DATA = Path(__file__).parents[1] / "data"
IMAGE = DATA / "images" / "canyon_wren.png"
SPEECH = DATA / "audio" / "librivox_speech.flac"  # 4.0 s, 24 kHz mono


def lines(data: bytes) -> list[str]:
    return data.decode().splitlines()


@pytest.fixture(scope="module")
def image_aec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("aec") / "photo.aec"
    assert aecodec("encode", IMAGE, "-o", path, "-q", "50").returncode == 0
    return path


@pytest.fixture(scope="module")
def audio_aec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("aec") / "talk.aec"
    assert aecodec("encode", SPEECH, "-o", path, "-q", "20").returncode == 0
    return path


# --- 8: exit codes, one clean line, --quiet and --verbose ---------------------------------------


@pytest.mark.parametrize("args", [
    ["encode", IMAGE],  # missing option
    ["encode", "-o", "x.aec"],  # missing argument
    ["encode", IMAGE, "-o", "x.aec", "--qualty", "5"],  # unknown option
    ["encode", IMAGE, "-o", "x.aec", "--device", "gpu"],  # not among the choices
    ["encode", IMAGE, "-o", "x.aec", "-q", "high"],  # not a number
    ["encode", IMAGE, "-o"],  # option without its value
    ["transcode", IMAGE],  # unknown command
    ["--quiet", "--verbose", "models"],
])
def test_usage_errors_exit_2_in_one_line_without_doubled_punctuation(tmp_path, args):
    result = aecodec(*args, cwd=tmp_path)
    assert_one_line_error(result, code=2)
    err = result.stderr.decode()
    assert ".;" not in err and "?;" not in err and not err.rstrip().endswith("."), err
    assert "--help" in err or "did you mean" in err, err
    assert not err[len("aecodec: error: ")].isupper(), err
    assert list(tmp_path.iterdir()) == []


def test_a_group_without_its_command_shows_its_help_and_exits_2():
    for args in ([], ["bench"]):
        result = aecodec(*args)
        assert_one_line_error(result, "needs a command", code=2)
        assert b"Commands:" in result.stdout


def test_input_errors_keep_exit_1(tmp_path):
    assert_one_line_error(aecodec("encode", tmp_path / "nope.png", "-o", tmp_path / "x.aec"), "nope.png")


def test_quiet_prints_only_errors(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for args in (["--quiet", "encode", IMAGE, "-o", out / "a.aec", "-q", "20"],
                 ["encode", IMAGE, "-o", out / "b.aec", "-q", "20", "--quiet"],  # after the command too
                 ["encode", IMAGE, "-o", out / "c.aec", "--bpp", "0.001", "--quiet"]):  # no warning either
        result = aecodec(*args)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b""), result.stderr.decode()
    result = aecodec("--quiet", "encode", IMAGE, tmp_path / "nope.png", "-o", out, "--force")
    assert result.returncode == 1 and result.stdout == b""
    assert all(line.startswith("aecodec: error: ") for line in lines(result.stderr)), result.stderr.decode()
    assert aecodec("--quiet", "encode", IMAGE, "-o", out / "d.aec", "--json").stdout.count(b"\n") == 1  # asked for


def test_verbose_names_the_model_and_where_the_time_went(tmp_path, image_aec):
    result = aecodec("-v", "encode", IMAGE, "-o", tmp_path / "a.aec", "-q", "20")
    assert result.returncode == 0, result.stderr.decode()
    err = result.stderr.decode()
    assert "image-hyperprior v" in err and "on cpu" in err and "read " in err and "code " in err, err
    result = aecodec("decode", image_aec, "-o", tmp_path / "a.png", "--verbose")
    err = result.stderr.decode()
    assert result.returncode == 0 and "photo.aec: image-hyperprior v" in err and "decode " in err, err


def test_batch_errors_name_the_file_once(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    missing = tmp_path / "nope.png"
    result = aecodec("encode", IMAGE, missing, "-o", out)
    assert result.returncode == 1
    first, last = lines(result.stderr)
    assert first.startswith("aecodec: error: ") and first.count("nope.png") == 1, first
    assert last == "aecodec: error: 1 of 2 files failed; see the messages above"


@pytest.fixture
def cli_main(capsys):
    """``main(args)`` in this process: (exit code, stdout, stderr); the log handler it adds is removed after."""
    from aecodec.cli.main import main

    def run(*args):
        with pytest.raises(SystemExit) as exit_:
            main(list(map(str, args)))
        out, err = capsys.readouterr()
        return exit_.value.code, out, err

    yield run
    logger = logging.getLogger("aecodec")
    for handler in [h for h in logger.handlers if type(h).__name__ == "_WarningLines"]:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def test_the_soft_limit_warning_names_the_file(cli_main, audio_aec, tmp_path, monkeypatch):
    import aecodec.codecs.audio_io as codec_audio

    monkeypatch.setattr(codec_audio, "soft_limit", lambda x: (x, 1))  # as if the decode ran past full scale
    code, _, err = cli_main("decode", audio_aec, "-o", tmp_path / "x.wav")
    assert code == 0
    assert err.startswith(f"aecodec: warning: {audio_aec}: ") and err.count("\n") == 1, err
    assert "decoded samples went past full scale and were soft-limited" in err, err


# --- 9: info and models -------------------------------------------------------------------------


def test_info_is_a_readable_table(image_aec, audio_aec):
    image = aecodec("info", image_aec).stdout.decode()
    rows = dict(line.split(None, 1) for line in image.splitlines())
    assert rows["media"] == "image" and rows["size"] == f"{image_aec.stat().st_size} bytes"
    assert rows["model"].startswith("image-hyperprior v") and rows["quality"] == "50"
    assert rows["image"] == "384 x 216, RGB" and float(rows["bpp"]) == pytest.approx(
        image_aec.stat().st_size * 8 / (384 * 216), abs=1e-4)
    assert rows["tiles"].startswith("none") and "{" not in image and "residual" not in rows
    audio = dict(line.split(None, 1) for line in aecodec("info", audio_aec).stdout.decode().splitlines())
    assert audio["model"].startswith("audio-mdct v") and audio["quality"].startswith("20") and "mdct" not in audio
    assert audio["duration"].startswith("4.000 s") and audio["bitrate"].endswith(" kbps")
    assert audio["audio"].startswith("24000 Hz, 1 channel")


def test_info_names_the_residual_layer_of_the_top_qualities(tmp_path):
    out = tmp_path / "top.aec"
    assert aecodec("encode", IMAGE, "-o", out, "-q", "99").returncode == 0
    rows = dict(line.split(None, 1) for line in aecodec("info", out).stdout.decode().splitlines())
    assert rows["residual"] == "step 9: every sample within 4 of the original"


def test_info_and_models_json_are_json_lines(image_aec, audio_aec):
    for aec in (image_aec, audio_aec):
        out = aecodec("info", "--json", aec).stdout.decode()
        assert out.count("\n") == 1
        info = json.loads(out)
        assert info["file_bytes"] == aec.stat().st_size and type(info["model_version"]) is int
    assert "kbps" in info and info["duration_s"] == 4.0
    out = lines(aecodec("models", "--json").stdout)
    cards = [json.loads(line) for line in out]
    assert len(cards) > 1 and all("version" in c and "name" in c for c in cards)


def test_models_table_has_a_header_and_versions():
    out = lines(aecodec("models").stdout)
    assert out[0].split() == ["NAME", "VERSION", "MEDIA", "TASK", "WEIGHTS", "STEPS"]
    image_versions = [line.split()[1] for line in out[1:] if line.split()[0] == "image-hyperprior"]
    assert len(image_versions) > 1 and all(v.isdigit() for v in image_versions)


def test_info_imports_neither_torch_nor_numpy(image_aec):
    for args in (["info", image_aec], ["models"], ["--help"]):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "aecodec", *map(str, args)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
        assert not imported & {"torch", "numpy", "compressai"}, args


# --- 10: rate targets out of reach ---------------------------------------------------------------


def test_an_unreachable_bpp_is_best_effort_with_a_warning(tmp_path):
    result = aecodec("encode", IMAGE, "-o", tmp_path / "a.aec", "--bpp", "0.01", "--json")
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["quality"] == 1
    (warning,) = lines(result.stderr)
    assert warning.startswith(f"aecodec: warning: {IMAGE}: 0.01 bpp is out of reach"), warning


def test_an_unreachable_kbps_is_best_effort_with_a_warning(tmp_path):
    result = aecodec("encode", SPEECH, "-o", tmp_path / "a.aec", "--kbps", "0.01", "--json")
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["quality"] == 1
    (warning,) = lines(result.stderr)
    assert "0.01 kbps is out of reach" in warning and "coded at quality 1" in warning, warning


def test_bench_says_when_a_kbps_point_is_out_of_reach(caplog):
    from aecodec.codecs.baselines import get_codec
    from aecodec.media.types import Audio

    audio = Audio(0.3 * np.sin(np.arange(24000, dtype=np.float32) / 10)[:, None], 24000)
    with caplog.at_level(logging.INFO, logger="aecodec"):
        data = get_codec("aecodec", "audio", "cpu").encode(audio, 0.01)  # what bench audio calls: quality means kbps
    assert data[:4] == b"AEC\x1a"
    assert [r.levelno for r in caplog.records if "out of reach" in r.getMessage()] == [logging.WARNING]


# --- 11: --gap ------------------------------------------------------------------------------------


def test_gap_times_and_ranges():
    from aecodec.restore.audio import gap_spans, parse_gaps

    gaps = parse_gaps("0:00:02.1-0:00:02.2, 1:02.5+0.25,3+.5,.5-1")
    assert [(round(s, 6), round(e, 6)) for s, e, _ in gaps] == [(2.1, 2.2), (62.5, 62.75), (3, 3.5), (0.5, 1)]
    assert gap_spans(parse_gaps("1:00:00-1:00:00.5"), 10, 100_000) == [(36000, 36005)]
    assert gap_spans(parse_gaps("3.8-4.6"), 1000, 4000) == [(3800, 4000)]  # past the end: cut there


@pytest.mark.parametrize("text, words", [
    ("12.30:12.45", ["'12.30:12.45' is START:END", "START-END or START+DURATION", "--gap 12.30-12.45"]),
    ("1-2,abc", ["'abc' is not START-END or START+DURATION"]),
    ("1-2,3-1:75", ["'1:75' is not a time", "'3-1:75'"]),
    ("1-2-3", ["'1-2-3' is not"]),
    ("2-1", ["'2-1' ends where or before it starts"]),
])
def test_malformed_gaps_are_one_line_naming_the_bad_part(tmp_path, text, words):
    result = aecodec("inpaint", SPEECH, "--gap", text, "-o", tmp_path / "x.wav")
    assert_one_line_error(result, *words, code=2)
    assert list(tmp_path.iterdir()) == []


def test_gaps_past_the_end_are_cut_or_one_warning(tmp_path):
    result = aecodec("inpaint", SPEECH, "--gap", "3.5-4.6", "-o", tmp_path / "a.wav", "--json")
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode()
    assert json.loads(result.stdout)["gaps_s"] == [[3.5, 4.0]]
    result = aecodec("inpaint", SPEECH, "--gap", "0:05-0:05.5,7+0.1", "-o", tmp_path / "b.wav")
    assert result.returncode == 0
    (warning,) = lines(result.stderr)
    assert warning.startswith(f"aecodec: warning: {SPEECH}: --gap '0:05-0:05.5', '7+0.1' start at or after the end")
    assert "written unchanged" in result.stdout.decode()
    original, _ = soundfile.read(SPEECH, dtype="int16")
    assert np.array_equal(soundfile.read(tmp_path / "b.wav", dtype="int16")[0], original)


def test_quiet_holds_for_one_command_only(capsys):
    from aecodec.cli.common import quiet
    from aecodec.cli.main import main

    with pytest.raises(SystemExit):
        main(["--quiet", "models"])
    assert not quiet()  # the next command (or a library call in the same process) is not silenced


@pytest.mark.parametrize("args", [["inpaint", "-", "-o", "x.wav", "--gap", "0-0.1"], ["denoise", "-", "-o", "x.png"],
                                  ["encode", "-", "-o", "x.aec", "--kbps", "6"]])
def test_empty_standard_input_is_said_to_be_empty_whatever_the_options(tmp_path, args):
    """Not a usage error about an option for the other media kind (damage_check input-media-0241)."""
    result = aecodec(*args, stdin=b"", cwd=tmp_path)
    assert_one_line_error(result, "standard input", "empty")
    assert not list(tmp_path.iterdir())
