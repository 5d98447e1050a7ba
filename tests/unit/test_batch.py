"""The batch runner every file command shares: order, failures and several files in flight."""

from __future__ import annotations

import random
import threading
import time

import pytest

from aecodec.cli.batch import Once, _outcomes, files_in_flight, plan_outputs, run_batch
from aecodec.errors import AecError, InputError, UsageError


def slow_work(active: list[int], peak: list[int], lock: threading.Lock):
    def work(src: str, dst: str, progress=None) -> dict:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(random.uniform(0.01, 0.02))
        with lock:
            active[0] -= 1
        if src.startswith("bad"):
            raise InputError(f"{src} is damaged")
        return {"bytes": len(src)}

    return work


@pytest.mark.parametrize("in_flight", [1, 3])
def test_outcomes_keep_input_order_and_bound_concurrency(in_flight):
    pairs = [(f"{'bad' if i % 4 == 1 else 'ok'}{i}", f"out{i}") for i in range(13)]
    active, peak, lock = [0], [0], threading.Lock()
    got = list(_outcomes(pairs, slow_work(active, peak, lock), in_flight))
    assert [(s, d) for s, d, _, _ in got] == pairs
    for src, _, stats, error in got:
        assert (error is not None) == src.startswith("bad")
        assert stats is None or stats["bytes"] == len(src)
    assert peak[0] == in_flight  # threads really overlap, and never more than asked


def test_run_batch_reports_failures_in_order(capsys):
    pairs = [("ok0", "a"), ("bad1", "b"), ("ok2", "c")]
    with pytest.raises(AecError, match="1 of 3 files failed"):
        run_batch(pairs, slow_work([0], [0], threading.Lock()), False, "test", in_flight=3)
    out, err = capsys.readouterr()
    assert [line.split(":")[0] for line in out.splitlines()] == ["ok0 -> a", "ok2 -> c"]
    assert err.strip() == "aecodec: error: bad1 is damaged"  # the message names the file: not twice

    def unnamed(src, dst, progress=None):
        if src == "x.png":
            raise InputError("not an image")
        return {"bytes": 1}

    with pytest.raises(AecError, match="1 of 2 files failed"):
        run_batch([("x.png", "y.aec"), ("z.png", "w.aec")], unnamed, False, "test", in_flight=1)
    assert capsys.readouterr().err.strip() == "aecodec: error: x.png: not an image"  # ... and once when it does not


def test_one_input_raises_its_own_error():
    with pytest.raises(InputError, match="bad0 is damaged"):
        run_batch([("bad0", "x")], slow_work([0], [0], threading.Lock()), False, "test", in_flight=3)


def test_files_in_flight_is_one_on_the_cpu_or_for_one_file():
    assert files_in_flight("cpu", 10) == 1
    assert files_in_flight("cuda", 1) == 1  # one file never asks for CUDA here


def test_once_makes_the_value_once_across_threads():
    made = []
    once = Once(lambda: made.append(1) or object())
    threads = [threading.Thread(target=once) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and once() is once()


@pytest.mark.parametrize("output, words", [("", "the output name is empty"), ("x" * 300, "File name too long")])
def test_unusable_output_names_are_one_error(output, words):
    with pytest.raises(InputError, match=words):
        plan_outputs(("in.png",), output, ".aec")


def test_a_single_files_error_names_it_and_keeps_its_kind(capsys):
    def broken(src, dst, progress=None):
        raise UsageError("--bpp is for images")

    with pytest.raises(UsageError, match="^in.wav: --bpp is for images$"):
        run_batch([("in.wav", "out.aec")], broken, False, "test", in_flight=1)

    def named(src, dst, progress=None):
        raise InputError(f"cannot read '{src}'")

    with pytest.raises(InputError, match="^cannot read 'in.wav'$"):  # already named: not twice
        run_batch([("in.wav", "out.aec")], named, False, "test", in_flight=1)
