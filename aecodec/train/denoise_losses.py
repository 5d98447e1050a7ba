"""The audio denoiser's training losses: a capped waveform SNR (optionally counted only within
each target's band) and a compressed-spectrum error."""

from __future__ import annotations

import torch


def snr_db(clean: torch.Tensor, estimate: torch.Tensor, band: torch.Tensor | None = None,
           cap_db: float = 30.0) -> torch.Tensor:
    """Per-row SNR in dB, softly capped at ``cap_db`` (Wisdom et al. 2020): without the cap,
    rows that are already clean reach enormous SNRs and their gradients drown every other row.
    An absolute floor keeps silent targets finite. With ``band`` ([rows, bins] of 0/1 over the
    rfft bins, ``target_band``), only those bins count: the same sums by Parseval."""
    n = clean.shape[-1]
    if band is None:
        power = clean.square().sum(-1)
        error = (clean - estimate).square().sum(-1)
    else:
        spec_clean, spec_error = torch.fft.rfft(clean), torch.fft.rfft(clean - estimate)
        weight = torch.full((spec_clean.shape[-1],), 2.0 / n, device=clean.device)
        weight[0] = 1.0 / n  # DC, and Nyquist for even n, appear once in the full spectrum
        if n % 2 == 0:
            weight[-1] = 1.0 / n
        weight = weight * band
        power = (weight * spec_clean.abs().square()).sum(-1)
        error = (weight * spec_error.abs().square()).sum(-1)
    floor = 10 ** (-cap_db / 10) * power + 1e-8 * n
    return 10 * torch.log10(power + 1e-8 * n) - 10 * torch.log10(error + floor)


def target_band(clean: torch.Tensor, below_db: float = 50.0) -> torch.Tensor:
    """[rows, bins] 0/1: the rfft bins up to each row's bandwidth, the lowest frequency above
    which the clean target holds less than ``below_db`` under its total energy. Speech sampled at
    8 or 16 kHz holds nothing above 4 or 8 kHz, so noise up there is all a denoiser could learn
    from it: scored only within its band, such a row teaches nothing about high frequencies,
    and full-band rows teach that high-frequency speech stays. A silent row keeps every bin."""
    energy = torch.fft.rfft(clean).abs().square()
    above = energy.flip(-1).cumsum(-1).flip(-1)  # energy at and above each bin
    total = above[..., :1]
    inside = above >= total * 10 ** (-below_db / 10)
    return torch.where(total > 0, inside, torch.ones_like(inside)).float()


def compressed_spectrum_db(clean: torch.Tensor, estimate: torch.Tensor, ffts=(256, 512, 1024),
                           power: float = 0.3, missing_only: bool = False,
                           overlap: int = 4, floor_db: float | None = None) -> torch.Tensor:
    """Per-row error of power-law compressed STFT magnitudes (|X|^0.3, the loss of PercepNet and
    DeepFilterNet) relative to the target's, in dB, averaged over three resolutions. Quiet
    time-frequency cells (residual and musical noise between harmonics) weigh far more here
    than in a waveform SNR, which is what PESQ and listeners hear.

    With ``missing_only`` only cells where the estimate falls short of the target count: the
    over-suppression loss of Eskimez et al. (ICASSP 2022), which charges a denoiser for the
    speech it removes and not for the noise it leaves, so an unfamiliar noise costs less
    speech. ``overlap`` is the number of hops per window. ``floor_db`` caps the score as
    ``snr_db`` does: an error that far under the target counts as that far, so the log's steep
    reward for ever smaller errors cannot pull a one-sided loss to passing the input through."""
    total = 0.0
    for n_fft in ffts:
        window = torch.hann_window(n_fft, device=clean.device)

        def compressed(x: torch.Tensor) -> torch.Tensor:
            spec = torch.stft(x, n_fft, n_fft // overlap, window=window, return_complex=True)
            return (spec.real.square() + spec.imag.square() + 1e-12) ** (power / 2)

        target = compressed(clean)
        difference = compressed(estimate) - target
        if missing_only:
            difference = difference.clamp_max(0.0)
        error = difference.square().sum((-2, -1))
        energy = target.square().sum((-2, -1))
        if floor_db is not None:
            error = error + 10 ** (-floor_db / 10) * energy
        total = total + 10 * torch.log10((error + 1e-6) / (energy + 1e-6))
    return total / len(ffts)
