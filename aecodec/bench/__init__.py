"""Benchmarks: run codecs and restorers over a folder, keep per-file rows, and derive results, tables and plots.

Codecs: ``image.bench_images`` and ``audio.bench_audio`` are the entry points; ``sweep`` is the
shared resumable loop and ``report`` turns rows into ``results.json``, ``results.md`` and RD plots.
Restoration: ``restore_image`` (denoising, inpainting) and ``restore_audio`` (speech denoising,
its methods in ``denoisers``) run on the shared loop of ``restore``.
"""
