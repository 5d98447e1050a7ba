"""Benchmarks: run codecs over a folder, keep per-file rows, and derive results, tables and plots.

``image.bench_images`` and ``audio.bench_audio`` are the entry points; ``sweep`` is the shared
resumable loop and ``report`` turns rows into ``results.json``, ``results.md`` and RD plots.
"""
