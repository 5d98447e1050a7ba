"""The audio benchmark (aecodec.bench.audio): every metric, BD-rate per metric, log-rate plots, codec2."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile

from aecodec.bench.audio import DEFAULT_KBPS, LAYOUT, bench_audio
from aecodec.bench.report import bd_tables, extra_bd_rates, plot_png

SPEECH = Path(__file__).resolve().parents[1] / "data" / "audio" / "librivox_speech.flac"  # 4 s, 24 kHz
METRICS = ("pesq_wb", "stoi", "si_snr", "lsd", "lsd_4k", "mel_distance", "visqol")
BD_KEYS = {f"bd_rate_{metric}" for metric in METRICS if metric != "mel_distance"}
PLOTS = {"rd_pesq_wb.png", "rd_stoi.png", "rd_si_snr.png", "rd_lsd.png", "rd_lsd_4k.png", "rd_mel.png",
         "rd_visqol.png"}


def synthetic(kbps: tuple[float, ...], offset: float) -> list[dict]:
    """Points whose every metric improves with rate; a higher ``offset`` is a better codec."""
    points = []
    for k in kbps:
        q = np.log(k) + offset
        points.append({"kbps": k, "pesq_wb": 1 + q / 2, "stoi": 1 - 0.5 / (1 + q), "si_snr": 3 * q, "lsd": 20 / (1 + q),
                       "lsd_4k": 15 / (1 + q), "mel_distance": 4 / (1 + q), "visqol": 1 + q / 2})
    return points


def test_every_metric_gets_its_own_bd_rate_and_distortions_are_negated() -> None:
    reference = synthetic((8, 16, 24, 32, 48, 64), 1.0)
    points = {"mp3": reference, "better": synthetic((8, 16, 24, 32, 48, 64), 1.5),
              "worse": synthetic((8, 16, 24, 32, 48, 64), 0.5), "codec2": synthetic((0.7, 1.3, 3.2), 1.0)}
    tables = extra_bd_rates(LAYOUT, points, "mp3")
    rates, _ = bd_tables(LAYOUT, points, "mp3")
    assert set(tables) == BD_KEYS
    for table in (*tables.values(), rates):
        # the same gain on every metric: one BD-rate, negative for the better codec
        assert table["better"] < -30 and table["worse"] > 30 and table["codec2"] is None
        assert table["better"] == pytest.approx(tables["bd_rate_pesq_wb"]["better"], abs=0.5)


def test_plots_have_a_log_rate_axis() -> None:
    points = synthetic((0.7, 3.2, 16, 128), 1.0)
    results = {"dataset": "d", "codecs": {"mp3": {"points": points}}}
    png = plot_png(LAYOUT, results, "pesq_wb", "PESQ-WB")
    assert png.startswith(b"\x89PNG") and LAYOUT.log_rate


@pytest.mark.slow
def test_bench_audio_on_a_bundled_clip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for module in ("pesq", "pystoi", "visqol", "pycodec2"):
        pytest.importorskip(module)
    data = tmp_path / "speech"
    data.mkdir()
    samples, rate = soundfile.read(SPEECH, dtype="float32")
    soundfile.write(data / "a.flac", samples[: 2 * rate], rate)
    out = tmp_path / "out"
    results = bench_audio(data, out, ("mp3", "opus"), (8, 16, 24, 32))
    assert BD_KEYS | {"bd_rate", "bd_mel_distance"} <= set(results)
    for codec in ("mp3", "opus"):
        assert [p["quality"] for p in results["codecs"][codec]["points"]] == [8, 16, 24, 32]
        for point in results["codecs"][codec]["points"]:
            assert all(isinstance(point[metric], float) for metric in METRICS), point
    assert isinstance(results["bd_rate_lsd_4k"]["opus"], float) and isinstance(results["bd_rate"]["opus"], float)
    assert PLOTS <= {p.name for p in out.iterdir()}
    assert "BD-rate on PESQ-WB" in (out / "results.md").read_text()
    assert json.loads((out / "results.json").read_text())["bd_rate_visqol"].keys() == {"opus"}

    with caplog.at_level(logging.WARNING):
        low = bench_audio(data, tmp_path / "codec2", ("codec2",), None)
    points = low["codecs"]["codec2"]["points"]
    assert [p["quality"] for p in points] == list(DEFAULT_KBPS["codec2"])
    assert all(q <= p["kbps"] < q * 1.1 for q, p in zip(DEFAULT_KBPS["codec2"], points))  # 2 s: header, padding
    assert all(isinstance(p["stoi"], float) for p in points)
    one = bench_audio(data, tmp_path / "one", ("codec2",), (0.7,))  # kbps below 1 are fine
    assert len(one["codecs"]["codec2"]["points"]) == 1
