"""Fusers used by the tests as a user's own code would be (``--fusers tests.plugins.user_fusers:Name``)."""
import time

import numpy as np

from models import Fuser


class SlowMean(Fuser):
    """Pixel mean that sleeps, so a test can kill a run mid-way."""

    def __init__(self, delay: float = 0.3):
        self.delay = float(delay)

    def fuse(self, ir, vis_y):
        time.sleep(self.delay)
        return 0.5 * (ir + vis_y)


class Broken(Fuser):
    """Fails on pairs whose width is odd and returns NaN on others with width divisible by 4."""

    def fuse(self, ir, vis_y):
        if ir.shape[1] % 2:
            raise RuntimeError("broken on odd widths")
        if ir.shape[1] % 4 == 0:
            return np.full_like(ir, np.nan)
        return ir


class Patchy(Fuser):
    """Fails on odd widths and returns uniform noise elsewhere (the highest EN of any fuser, so a
    ranking over fewer pairs would crown it)."""

    def fuse(self, ir, vis_y):
        width = ir.shape[1]
        if width % 2:
            raise RuntimeError("patchy on odd widths")
        return np.random.default_rng(width).random(ir.shape).astype(ir.dtype)


# ------------------------------------------------------------------ a trainable toy model for the train CLI
from dataclasses import dataclass, field  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from models import TorchFuser, register_fuser, register_trainer  # noqa: E402
from models.training import TrainConfig, Trainer  # noqa: E402


class _ToyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, ir, vis):
        return torch.sigmoid(self.conv(torch.cat([ir, vis], 1)))


@register_fuser("toy-test-net", description="test-only trainable fuser", needs_weights=True,
                reference="test fixture of tests/benchmark/test_train_cli.py (one 3×3 conv + sigmoid)",
                tags=("tiny", "test"))
class ToyFuser(TorchFuser):
    def __init__(self, checkpoint=None, device="cpu"):
        torch.manual_seed(0)
        super().__init__(_ToyNet(), device=device)
        self.weights_provenance = "random init (no checkpoint)"
        if checkpoint is not None:
            from safetensors.torch import load_file

            self.module.load_state_dict(load_file(str(checkpoint)))
            self.checkpoint_path = checkpoint
            self.weights_provenance = "project-trained"

    def forward(self, ir, vis_y):
        return self.module(ir, vis_y)


@dataclass
class ToyConfig(TrainConfig):
    l1_weight: float = field(default=1.0, metadata={"help": "weight of the L1-to-max loss"})
    detach_vis: bool = field(default=False, metadata={"help": "test-only bool flag"})


@register_trainer("toy-test-net")
class ToyTrainer(Trainer):
    config_class = ToyConfig

    def __init__(self, config, device="cpu"):
        super().__init__(config, device)
        torch.manual_seed(config.seed)
        self.model = _ToyNet()

    def build_loss_module(self, stage):
        model, w = self.model, self.config.l1_weight

        class Loss(nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, ir, vis):
                loss = w * (self.model(ir, vis) - torch.maximum(ir, vis)).abs().mean()
                return {"loss": loss, "l1": loss.detach()}

        return Loss()
