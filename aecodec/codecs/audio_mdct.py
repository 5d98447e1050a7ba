"""aecodec's MDCT audio codec (models with architecture ``audio-mdct``) behind the common Codec
interface: audio <-> `.aec` bytes.

A transform codec whose entropy model is learned: the audio (any rate, 1..8 channels; mono,
mid-side or independent channels, as the other audio codec) is resampled to the model's rate and
cut into MDCT frames; each frame sends its band envelope and its coefficients quantised with
steps that follow the envelope, rANS-coded with tables trained on speech and music
(codecs/mdct_coding.py). Pitch harmonics, partials and transients are coded coefficients, so
they come back, and quality rises with the rate up to near-transparency.

Memory: the encoder keeps the MDCT of up to ~45 minutes of audio (as many floats as samples at
the model rate) so that ``--kbps`` searches one step for the whole file; a longer file keeps a
sample of its chunks and is read again to code. Decoding streams chunk by chunk.
Format: docs/FORMAT.md, "MDCT audio keys".
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator, Literal

import numpy as np

from aecodec import container
from aecodec.codecs import mdct_coding as coding
from aecodec.codecs.audio_io import (BlockDecoding, Source, coded_blocks, coding_for, first_pass, open_source,
                                     reach_kbps)
from aecodec.codecs.base import EncodeResult, LazyModel, Progress, check_quality
from aecodec.codecs.mdct_adaptive import COEF_RANGE
from aecodec.codecs.mdct_header import (CHUNK_FRAMES, MdctHeader, check_mdct_header, check_mdct_streams,
                                        settings_keys, stream_count)
from aecodec.entropy.tables import escape_columns, table_bits
from aecodec.errors import InputError
from aecodec.media.mdct import Analyser, Synthesiser, frame_count
from aecodec.media.silence import pack_runs

# quality 1..100 -> the step index g (16ths of an octave): geometric steps, as the file's rate;
# --kbps searches in fifths of these (80ths of an octave: the header's fine_step)
Q1_STEP, Q100_STEP = 10, -130
FINE = coding.FINE
LOW_RATE_BELOW_KBPS = 3.5  # targets under this send a coarser envelope every other frame
LOW_RATE_FROM_STEP = -20  # ... and so do qualities whose step is at least this coarse (quality <= 20)
SIDE_STEP = 8  # mid-side: the side channel's step is half an octave coarser
COARSEST_STEP = 60  # --kbps searches steps up to this (past quality 1's) before it gives up
KEEP_COEFFICIENTS = 1 << 26  # MDCT coefficients the encoder keeps in memory (256 MB)
RATE_SLACK = 1.0  # the estimate aims this far under a --kbps budget; the real file is checked


def step_for(quality: float) -> int:
    return int(round(Q1_STEP + (quality - 1) * (Q100_STEP - Q1_STEP) / 99))


def quality_for(step: float) -> float:
    return float(np.clip(1 + (step - Q1_STEP) * 99 / (Q100_STEP - Q1_STEP), 1, 100))


class MdctAudioCodec(BlockDecoding, LazyModel):
    """Encodes audio at ``quality`` 1..100 (higher is better), or within ``--kbps``."""

    media = "audio"

    def __init__(self, model: str = "audio-mdct", device: str = "cpu",
                 quality_unit: Literal["quality", "kbps"] = "quality"):
        super().__init__(model, device)
        self.quality_unit = quality_unit

    # --- encode ------------------------------------------------------------------------
    def encode(self, item: Source, quality: float, progress: Progress | None = None) -> bytes:
        if self.quality_unit == "kbps":
            return self.encode_to_kbps(item, quality, or_lowest=True, progress=progress).data
        quality = check_quality(quality)
        step = step_for(quality)
        return self._analysis(item, progress).file(FINE * step, step >= LOW_RATE_FROM_STEP, quality)

    def encode_to_kbps(self, item: Source, kbps: float, or_lowest: bool = False,
                       progress: Progress | None = None) -> EncodeResult:
        """The finest step whose real file is at most ``kbps`` kbit/s (see ``reach_kbps``)."""
        low_rate = kbps < LOW_RATE_BELOW_KBPS
        analysis = []

        def encoder():
            analysis.append(self._analysis(item, progress))
            return (lambda q: analysis[0].file(FINE * step_for(q), low_rate, q)), analysis[0].seconds

        return reach_kbps(kbps, encoder, or_lowest, lambda encode, budget: analysis[0].search(budget, low_rate))

    def _analysis(self, item: Source, progress: Progress | None) -> _Analysis:
        card, model = self.loaded()
        source = open_source(item)
        dc, frames, silence = first_pass(source)
        return _Analysis(card, model, source, dc, frames, silence, progress)

    # --- decode ------------------------------------------------------------------------
    def decode_blocks(self, data: bytes | container.Container,
                      progress: Progress | None = None) -> tuple[MdctHeader, Iterator[np.ndarray]]:
        """Validate the file and load its model now; the samples come lazily, float32
        (frames, channels) blocks that add up to exactly ``header.frames`` frames.

        Raises:
            FormatError: damaged, truncated or inconsistent file, or not audio.
            ModelError: the weights the file names are not installed.
        """
        h, model, streams = self._checked(data)
        return h, self._samples(model, h, streams, progress)

    def symbols(self, data: bytes | container.Container) -> dict[str, list[np.ndarray]]:
        """The file's entropy-decoded symbols, chunk by chunk: ``{"levels": [int64 (coded
        channels, frames, bands)]`` (the envelope, interpolated frames included)``,
        "coefficients": [int64 (coded channels, frames, M)]}``."""
        h, model, streams = self._checked(data)
        chunks = [self._chunk(model, h, streams, k) for k in range(h.chunks(model.frame, model.sample_rate))]
        return {"levels": [np.stack([s.envelope for s in c]) for c in chunks],
                "coefficients": [np.stack([s.coefficients for s in c]) for c in chunks]}

    def _checked(self, data: bytes | container.Container):
        parsed = self.unpack(data)
        h = check_mdct_header(parsed.header)
        model = self.model(parsed.header["model"]["name"], parsed.header["model"]["sha256"])
        h = replace(h, settings=tuple(model.with_law(s) for s in h.settings))
        check_mdct_streams(h, model, parsed.streams)
        return h, model, parsed.streams

    def _chunk(self, model, h: MdctHeader, streams, k: int) -> list[coding.ChunkSymbols]:
        from aecodec.entropy.tables import StreamDecoder

        frames = h.chunk_length(k, model.frame, model.sample_rate)
        coded = h.coded_channels
        out = []
        for c in range(coded):
            decoder = StreamDecoder(streams[k * coded + c], frames * (model.frame + model.bands.count))
            out.append(coding.read_chunk(decoder, frames, model.bands, h.settings[c], model.env_tables,
                                          model.coef_tables, model.adaptation, model.interleave))
        return out

    def _samples(self, model, h: MdctHeader, streams, progress: Progress | None) -> Iterator[np.ndarray]:
        from aecodec.codecs.audio_io import Finisher

        coded = h.coded_channels
        length = h.model_frames(model.sample_rate)
        synths = [Synthesiser(model.frame, length) for _ in range(coded)]
        out = Finisher(h, model.sample_rate)
        chunks = h.chunks(model.frame, model.sample_rate)
        for k in range(chunks):
            symbols = self._chunk(model, h, streams, k)
            x = [synths[c].push(coding.coefficients(symbols[c], model.bands, h.settings[c], k * coded + c))
                 for c in range(coded)]
            if progress is not None:
                progress(k + 1, chunks)
            block = out.push(np.stack(x, axis=1))
            if block.shape[0]:
                yield block
        block = out.finish()
        if block.shape[0]:
            yield block


class _Analysis:
    """One file's MDCT frames, kept to code them at any step: ``file(step)`` is the `.aec` file.

    Memory stays bounded whatever the length: up to KEEP_COEFFICIENTS MDCT coefficients (about
    45 minutes of mono audio) are kept; a longer file keeps every n-th chunk to estimate rates
    from, and each ``file()`` reads the source again."""

    def __init__(self, card, model, source, dc, frames: int, silence, progress: Progress | None):
        from aecodec.entropy.tables import encode_pieces
        from aecodec.media.resample import output_frames

        self.card, self.model, self.encode_stream, self.source = card, model, encode_pieces, source
        self.channels, self.sample_rate = source.info.channels, source.info.sample_rate
        self.dc, self.frames, self.silence = dc, frames, silence
        self.coding = coding_for(self.channels)
        self.coded = 1 if self.coding == "mono" else self.channels
        model_frames = output_frames(frames, self.sample_rate, model.sample_rate)
        if stream_count(model_frames, model.frame, self.coded) > container.MAX_STREAMS:
            raise InputError(f"the input is too long ({frames / self.sample_rate / 3600:.1f} h) for one .aec file; split it")
        self.seconds = frames / self.sample_rate
        self.total = frame_count(model_frames, model.frame)
        self.count = -(-self.total // CHUNK_FRAMES)
        self.stride = -(-self.count * self.coded * CHUNK_FRAMES * model.frame // KEEP_COEFFICIENTS)
        self.kept = [chunk for k, chunk in enumerate(self._read(progress)) if k % self.stride == 0]

    def _read(self, progress: Progress | None = None) -> Iterator[list[np.ndarray]]:
        """The chunks of MDCT frames, [channel] (frames, M) each, read from the source now."""
        blocks = coded_blocks(self.source, self.dc, self.coding, self.model.sample_rate)
        read = 0
        for k, chunk in enumerate(_frame_chunks(blocks, self.model.frame, self.coded)):
            read += chunk[0].shape[0]
            if progress is not None:
                progress(k + 1, max(k + 1, self.count))
            yield chunk
        if read != self.total:
            raise InputError("the input changed while it was read; read it again")

    def chunks(self) -> Iterator[list[np.ndarray]]:
        return iter(self.kept) if self.stride == 1 else self._read()

    def settings(self, step80: int, low_rate: bool) -> list[coding.Settings]:
        """Each coded channel's settings at the global step 2^(step80 / 80)."""
        def at(s80: int) -> coding.Settings:
            g, fine = coding.Settings.split(s80)
            return replace(self.model.settings(g, low_rate), fine=fine)

        side, main = at(step80 + FINE * SIDE_STEP), at(step80)
        return [side if self.coding == "mid-side" and c == 1 else main for c in range(self.coded)]

    def file(self, step80: int, low_rate: bool, quality: float) -> bytes:
        settings = self.settings(step80, low_rate)
        m = self.model
        streams = []
        for chunk in self.chunks():
            for x, s in zip(chunk, settings):
                streams.append(self.encode_stream(coding.stream_order(coding.quantise(x, m.bands, s), m.bands, s,
                                                                      m.tables, m.adaptation, m.interleave)))
        return container.pack(self.header(settings, quality), streams)

    def overhead_bytes(self, step80: int, low_rate: bool) -> int:
        """The bytes of a file at ``step80`` that are not entropy-coded symbols: the container, its
        header and each stream's length, with empty streams."""
        return len(container.pack(self.header(self.settings(step80, low_rate), quality_for(step80 / FINE)),
                                  [b""] * (self.count * self.coded)))

    def header(self, settings: list[coding.Settings], quality: float) -> dict:
        header = {
            "media": "audio",
            "model": {"name": self.card["name"], "sha256": self.card["weights"]["sha256"][:16]},
            "quality": round(quality, 3),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "frames": self.frames,
            "channel_coding": self.coding,
            "dc_offset": list(self.dc),
            "mdct": {"chunk_frames": CHUNK_FRAMES, "channels": [settings_keys(s) for s in settings]},
        }
        if self.silence:
            header["silence"] = pack_runs(self.silence)
        return header

    def estimated_bits(self, step80: int, low_rate: bool) -> float:
        """What the symbols at ``step`` cost under the tables (the real file adds a few bytes;
        from every ``stride``-th chunk, scaled, for a long file)."""
        m = self.model
        bits = m.table_bits()
        total = 0.0
        for chunk in self.kept:
            for x, s in zip(chunk, self.settings(step80, low_rate)):
                symbols = coding.quantise(x, m.bands, s)
                env_d, env_ctx, coef_ctx, live = coding.contexts(symbols, m.bands, s, m.interleave)
                total += _cost(bits, env_ctx, env_d, coding.ENV_RANGE)
                q = symbols.coefficients
                if m.adaptation is None:
                    total += _cost(bits, coef_ctx[live], q[live], COEF_RANGE)
                    continue
                every, tables = m.adaptation.every, coef_ctx - coding.ENV_CONTEXTS
                for b, block in enumerate(coding.block_tables(q, tables, live, m.coef_tables, m.adaptation, False)):
                    rows = slice(b * every, (b + 1) * every)
                    total += _cost(table_bits(block), tables[rows][live[rows]], q[rows][live[rows]],
                                   COEF_RANGE)
        return total * self.count / len(self.kept)

    def search(self, budget_bytes: float, low_rate: bool) -> EncodeResult | None:
        """The finest step (in 80ths of an octave) whose file fits ``budget_bytes``: a bisection on
        the estimate (of the symbols, within the budget less the container's bytes), then real
        files from there, coarser until one fits or finer while they fit (the estimate rounds
        each stream's rANS tail). None when even the coarsest step does not fit."""
        lo, hi = FINE * Q100_STEP, FINE * COARSEST_STEP  # fine .. coarse
        target = (budget_bytes - self.overhead_bytes(0, low_rate)) * 8 * RATE_SLACK
        if self.estimated_bits(hi, low_rate) > target:
            lo = hi
        while lo < hi:
            mid = (lo + hi) // 2
            if self.estimated_bits(mid, low_rate) <= target:
                hi = mid
            else:
                lo = mid + 1
        fits = {}

        def fitting(step80: int) -> bytes | None:
            if step80 not in fits:
                data = self.file(step80, low_rate, quality_for(step80 / FINE))
                fits[step80] = data if len(data) <= budget_bytes else None
            return fits[step80]

        step80 = hi
        while fitting(step80) is None:
            step80 += 1
            if step80 > FINE * COARSEST_STEP:
                return None
        while step80 > FINE * Q100_STEP and step80 - 1 not in fits and fitting(step80 - 1) is not None:
            step80 -= 1
        return EncodeResult(fits[step80], quality_for(step80 / FINE))


def _cost(bits: np.ndarray, tables: np.ndarray, symbols: np.ndarray, r: int) -> float:
    """Bits of ``symbols`` under ``tables``; escaped ones at the escape's cost plus ~8 bypass bits."""
    index = escape_columns(symbols, r)
    inside = index <= 2 * r
    cost = bits[tables[inside], index[inside]].sum()
    return float(cost + (bits[tables[~inside], 2 * r + 1] + 8).sum())


def _frame_chunks(blocks, m: int, coded: int) -> Iterator[list[np.ndarray]]:
    """The coded channels' MDCT frames, in chunks of CHUNK_FRAMES: [channel] (frames, M) each."""
    analysers = [Analyser(m) for _ in range(coded)]
    pending: list[list[np.ndarray]] = [[] for _ in range(coded)]

    def ready(final: bool) -> Iterator[list[np.ndarray]]:
        have = sum(p.shape[0] for p in pending[0])
        while have >= CHUNK_FRAMES or (final and have):
            joined = [np.concatenate(p) for p in pending]
            for c in range(coded):
                pending[c] = [joined[c][CHUNK_FRAMES:]]
            have -= min(have, CHUNK_FRAMES)
            yield [j[:CHUNK_FRAMES] for j in joined]

    for block in blocks:
        for c in range(coded):
            pending[c].append(analysers[c].push(block[:, c]))
        yield from ready(False)
    for c in range(coded):
        pending[c].append(analysers[c].finish())
    yield from ready(True)
