"""RED: Reversible Efficient Diffusion for image fusion (Xu et al., arXiv 2601.20260).

The fusers ``red`` / ``red-tiny`` and their trainers are registered (lazily) by :mod:`models.catalog`.
See ``docs/red.md`` for the architecture and what is reconstructed.
"""
from .fuser import RedFuser, load_red_checkpoint, read_checkpoint
from .losses import FusionLoss, gradient_response, ssim
from .model import RED, build_red, reference_parameter_count
from .reversible import RevBackProp, run_couplings
from .sd15 import SDLoadReport, load_sd15_into, map_diffusers_key, map_ldm_key, remap_sd15_state_dict
from .train import RedLoss, RedTinyTrainer, RedTrainConfig, RedTrainer
from .unet import PrunedUNet, UNetConfig

__all__ = ["RED", "RedFuser", "RedTrainer", "RedTinyTrainer", "RedTrainConfig", "RedLoss", "FusionLoss",
           "PrunedUNet", "UNetConfig", "RevBackProp", "run_couplings", "build_red", "reference_parameter_count",
           "load_sd15_into", "remap_sd15_state_dict", "map_diffusers_key", "map_ldm_key", "SDLoadReport",
           "read_checkpoint", "load_red_checkpoint", "gradient_response", "ssim"]
