"""Audio files in and out: formats, bit depths, streaming blocks, damaged inputs, safe writing."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import soundfile

from aecodec.errors import InputError
from aecodec.media.audio import (
    AudioReader,
    audio_info,
    audio_writer,
    is_audio_file,
    open_audio,
    read_audio,
    write_audio,
)
from aecodec.media.resample import StreamResampler, output_frames, resample
from aecodec.media.types import Audio

from cli_run import aecodec
from forged import NOT_REGULAR, not_a_regular_file

RNG = np.random.default_rng(0)
STEREO = (0.5 * RNG.uniform(-1, 1, (4410, 2))).astype(np.float32)


def wav(tmp_path, samples, rate=44100, subtype="PCM_16", name="a.wav", **kw):
    path = tmp_path / name
    soundfile.write(path, samples, rate, subtype=subtype, **kw)
    return path


@pytest.mark.parametrize("subtype, tolerance", [("PCM_U8", 1 / 64), ("PCM_16", 1 / 16384), ("PCM_24", 1e-6),
                                                ("PCM_32", 1e-8), ("FLOAT", 0), ("DOUBLE", 0)])
def test_every_wav_bit_depth_reads_as_float32(tmp_path, subtype, tolerance):
    audio = read_audio(wav(tmp_path, STEREO, subtype=subtype))
    assert audio.samples.dtype == np.float32 and audio.samples.shape == STEREO.shape
    assert audio.sample_rate == 44100
    assert np.abs(audio.samples - STEREO).max() <= tolerance + 1e-7


@pytest.mark.parametrize("fmt, subtype", [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", "MPEG_LAYER_III")])
def test_compressed_formats_read(tmp_path, fmt, subtype):
    rate = 48000 if subtype == "OPUS" else 44100
    t = np.arange(rate // 2) / rate
    tone = 0.4 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / f"a.{fmt.lower()}"
    soundfile.write(path, tone, rate, format=fmt, subtype=subtype)
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.format) == (rate, 1, fmt)
    audio = read_audio(path)
    assert audio.channels == 1 and abs(audio.frames - len(t)) < 2000
    assert 0.2 < np.abs(audio.samples).max() < 0.6


def test_info_reads_the_header_and_blocks_stream_the_samples(tmp_path):
    path = wav(tmp_path, STEREO)
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.frames) == (44100, 2, 4410)
    assert info.seconds == pytest.approx(0.1)
    with open_audio(path) as reader:
        first = list(reader.blocks(1000))
        again = list(reader.blocks(1000))  # every pass starts from the beginning
    assert [b.shape[0] for b in first] == [1000] * 4 + [410]
    assert np.array_equal(np.concatenate(first), np.concatenate(again))


def test_bytes_are_a_source_too(tmp_path):
    data = wav(tmp_path, STEREO).read_bytes()
    assert read_audio(data).samples.shape == STEREO.shape


def bad_files(tmp_path) -> dict:
    good = wav(tmp_path, STEREO).read_bytes()
    files = {
        "missing": tmp_path / "nope.wav",
        "directory": tmp_path,
        "empty": tmp_path / "empty.wav",
        "not audio": tmp_path / "noise.wav",
        "header only": tmp_path / "header.wav",
        "no samples": tmp_path / "silent.wav",
    }
    files["empty"].write_bytes(b"")
    files["not audio"].write_bytes(RNG.bytes(5000))
    files["header only"].write_bytes(good[:30])
    soundfile.write(files["no samples"], np.zeros((0, 1)), 8000)
    return files


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "not audio", "header only", "no samples"])
def test_bad_files_are_one_line_input_errors(tmp_path, case):
    path = bad_files(tmp_path)[case]
    with pytest.raises(InputError, match=r"^cannot read audio '.*': [^\n]+; [^\n]+$"):
        read_audio(path)
    assert not is_audio_file(path) or case == "no samples"


def test_nan_samples_are_refused(tmp_path):
    bad = STEREO.copy()
    bad[100, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        read_audio(wav(tmp_path, bad, subtype="FLOAT"))


def test_truncated_flac_is_an_input_error_or_shorter(tmp_path):
    data = (tmp_path / "x.flac")
    soundfile.write(data, STEREO, 44100)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data.read_bytes()[: len(data.read_bytes()) // 2])
    try:
        audio = read_audio(cut)
    except InputError as e:
        assert "\n" not in str(e)
    else:
        assert audio.frames <= STEREO.shape[0]


@pytest.mark.parametrize("name, sample_format, subtype", [("o.wav", "16", "PCM_16"), ("o.wav", "24", "PCM_24"),
                                                          ("o.wav", "float", "FLOAT"), ("o.flac", "16", "PCM_16")])
def test_write_by_extension_and_sample_format(tmp_path, name, sample_format, subtype):
    loud = STEREO * 3  # integer formats clip, float keeps the values
    write_audio(Audio(loud, 22050), tmp_path / name, sample_format=sample_format)
    info = soundfile.info(str(tmp_path / name))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (22050, 2, 4410, subtype)
    back = read_audio(tmp_path / name).samples
    assert np.abs(back).max() <= (1.0 if sample_format != "float" else 3.0) + 1e-6


def test_writing_refuses_bad_targets_and_leaves_nothing(tmp_path):
    with pytest.raises(InputError, match="unknown audio extension"):
        write_audio(Audio(STEREO, 8000), tmp_path / "o.mp3")
    with pytest.raises(InputError, match="FLAC stores integer"):
        write_audio(Audio(STEREO, 8000), tmp_path / "o.flac", sample_format="float")
    (tmp_path / "exists.wav").write_bytes(b"keep")
    with pytest.raises(InputError, match="--force"):
        write_audio(Audio(STEREO, 8000), tmp_path / "exists.wav")
    assert (tmp_path / "exists.wav").read_bytes() == b"keep"
    with pytest.raises(RuntimeError, match="boom"):
        with audio_writer(tmp_path / "half.wav", 8000, 2) as writer:
            writer.write(STEREO[:100])
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.wav"]


def test_writer_streams_blocks(tmp_path):
    with audio_writer(tmp_path / "s.flac", 16000, 2) as writer:
        for i in range(0, STEREO.shape[0], 1000):
            writer.write(STEREO[i : i + 1000])
    assert writer.frames == STEREO.shape[0]
    assert np.abs(read_audio(tmp_path / "s.flac").samples - STEREO).max() < 1e-4


def test_reader_is_a_context_manager(tmp_path):
    with AudioReader(wav(tmp_path, STEREO)) as reader:
        assert reader.read().frames == 4410


@pytest.mark.parametrize("orig, new", [(44100, 24000), (24000, 48000), (8000, 24000), (22051, 24000), (24000, 24000)])
def test_stream_resampling_equals_whole_resampling(orig, new):
    x = RNG.standard_normal((30011, 2)).astype(np.float32)
    whole = resample(x, orig, new)
    stream = StreamResampler(orig, new, 2)
    parts, i = [], 0
    while i < x.shape[0]:
        size = int(RNG.integers(1, 9000))
        parts.append(stream.push(x[i : i + size]))
        i += size
    parts.append(stream.finish())
    streamed = np.concatenate(parts)
    assert whole.shape == streamed.shape == (output_frames(30011, orig, new), 2)
    assert np.allclose(whole, streamed, atol=1e-5)


def test_resampling_keeps_a_tone():
    t = np.arange(44100) / 44100
    y = resample(np.sin(2 * np.pi * 1000 * t)[:, None], 44100, 24000)[:, 0]
    expected = np.sin(2 * np.pi * 1000 * np.arange(y.shape[0]) / 24000)
    assert np.abs(y - expected)[200:-200].max() < 1e-2


def test_stdin_source(monkeypatch, tmp_path):
    data = wav(tmp_path, STEREO).read_bytes()
    monkeypatch.setattr("sys.stdin", type("S", (), {"buffer": io.BytesIO(data)})())
    assert read_audio("-").frames == 4410


# Issue 20: one sample-rate range for every reader, and inputs that never end.


@pytest.mark.parametrize("rate", [1, 999, 768001])
def test_sample_rates_outside_the_codec_range_are_refused_by_every_reader(tmp_path, rate):
    path = tmp_path / "odd.wav"
    soundfile.write(path, np.zeros((100, 1), np.float32), rate, subtype="FLOAT")
    with pytest.raises(InputError, match=f"sample rate {rate} Hz is not supported; resample it to 1000..768000"):
        open_audio(path)


def test_the_denoiser_checks_the_rate_of_a_stream_too():
    from aecodec.restore.audio import denoise_blocks

    with pytest.raises(InputError, match="sample rate 1 Hz is not supported"):
        next(denoise_blocks([np.zeros((10, 1), np.float32)], 1, 1))


@pytest.mark.parametrize("make", NOT_REGULAR)
def test_audio_inputs_that_are_not_regular_files_are_refused(tmp_path, make):
    with pytest.raises(InputError, match="not a regular file"):
        open_audio(not_a_regular_file(tmp_path, "in.wav", make))


def test_standard_input_must_start_like_audio(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bytes(100_000))))
    with pytest.raises(InputError, match="standard input': it is not WAV, FLAC, OGG, Opus or MP3 audio"):
        open_audio("-")


def test_a_damaged_mp3_is_one_error_line_without_the_decoders_notes(tmp_path):
    """libmpg123 writes "Note: Illegal Audio-MPEG-Header ..." to fd 2 itself; the CLI's one
    error line must stay the only line (issue 20's damage check found the notes)."""
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(24000)
    encoder.set_channels(1)
    tone = (0.3 * np.sin(np.arange(48000) / 10) * 32767).astype(np.int16)
    mp3 = bytes(encoder.encode(tone.tobytes()) + encoder.flush())
    (tmp_path / "z.mp3").write_bytes(mp3[:600] + bytes(3000))  # a few frames, then zeros
    r = aecodec("encode", tmp_path / "z.mp3", "-o", tmp_path / "z.aec", timeout=120)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.startswith("aecodec: error:") and err.count("\n") == 1, err
    assert not (tmp_path / "z.aec").exists()
