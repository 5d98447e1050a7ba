"""What the image and the audio codec trainers share: straight-through rounding and the main +
quantile optimisers."""

from __future__ import annotations

import torch
from torch import nn

from aecodec.train.loop import Task


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """Rounding whose gradient is the identity (straight-through)."""
    return x + (torch.round(x) - x).detach()


class CodecTask(Task):
    """A rate-distortion task: its loss holds "aux", the entropy models' quantile loss."""

    def optimizers(self, model: nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """Adam for the model and Adam for the entropy models' quantiles. A config with a
        ``gain_lr_scale`` other than 1 puts the gain units in a group of their own at that multiple
        of the learning rate."""
        cfg = self.cfg
        scale = getattr(cfg, "gain_lr_scale", 1.0)
        aux = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
        gains = [p for n, p in model.named_parameters() if ".log_gain_" in n] if scale != 1.0 else []
        main = [p for n, p in model.named_parameters() if not n.endswith("quantiles") and all(p is not g for g in gains)]
        groups = [{"params": main}] + ([{"params": gains, "lr_scale": scale}] if gains else [])
        return torch.optim.Adam(groups, lr=cfg.lr), torch.optim.Adam(aux, lr=cfg.aux_lr)
