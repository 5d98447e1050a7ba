"""Probe (stop 21, not shipped): the denoiser's gains floored by a spectral-subtraction gain.

Each bin's gain becomes max(model gain, sqrt(max(0, 1 - B * floor^2 / |X|^2))), where floor is
the model's own noise-floor estimate (``noise_floor``: the minimum over about a second of the
5-frame-smoothed magnitude) and B an over-subtraction factor. Where speech stands far above the
floor the guard keeps it, whatever the network decides. Runs the denoise-audio benchmark for
aecodec alone into OUT (use an empty folder: the rows carry the model's identity, not the guard):

    AECODEC_MODELS=/tmp/models-twin4 python bench/prototypes/denoise_guard/guard_bench.py OUT B
    python bench/noise_kinds.py --results OUT --noises stk_birds,...
"""
import sys
from pathlib import Path

import torch

from aecodec.bench.restore_audio import bench_audio_denoise, parse_snrs
from aecodec.models.audio.mask_gru import SpectralMaskNet

OUT, B = Path(sys.argv[1]), float(sys.argv[2])
network_gains = SpectralMaskNet.gains


def guarded_gains(self, spec: torch.Tensor) -> torch.Tensor:
    log_magnitude = torch.log(spec.abs() + 1e-4).transpose(1, 2)
    floor = self.noise_floor(log_magnitude)
    guard = torch.sqrt(torch.clamp(1 - B * torch.exp(2 * (floor - log_magnitude)), min=0)).transpose(1, 2)
    return torch.maximum(network_gains(self, spec), guard)


SpectralMaskNet.gains = guarded_gains
bench_audio_denoise(Path("../shared/data/audio/dev/speech"), Path("../shared/data/audio/dev/noise"), OUT,
                    parse_snrs("0,5,10"), None, ["aecodec"], device="cpu")
