"""DMNet: dense multiscale feature extraction with a diffusion module and two-stage training.

DMNet ("A Dense Multiscale Feature Extraction Network With Two-Stage Training for Infrared-Visible
Image Fusion", IEEE Internet of Things Journal, 2025), rebuilt from the released inference code as a
complete, trainable and loadable model; user guide: ``docs/dmnet.md``.

The fusers ``dmnet`` and ``dmnet-tiny`` and their trainers are registered (lazily) by
:mod:`models.catalog`.
"""
from .blocks import CSAB, Decoder, Encoder, INN, TransformerBlock
from .checkpoint import (CheckpointError, LoadReport, load_dmnet_weights, official_state_dicts,
                         project_state_dict, read_checkpoint)
from .fuser import DMNetFuser
from .model import CONFIGS, DMNet, DMNetConfig, build_dmnet, parameter_breakdown
from .sr3 import GaussianDiffusion, SR3UNet
from .train import DMNetTinyTrainer, DMNetTrainConfig, DMNetTrainer

__all__ = ["DMNet", "DMNetConfig", "CONFIGS", "build_dmnet", "parameter_breakdown", "DMNetFuser",
           "DMNetTrainer", "DMNetTinyTrainer", "DMNetTrainConfig", "CheckpointError", "LoadReport",
           "load_dmnet_weights", "read_checkpoint", "project_state_dict", "official_state_dicts",
           "Encoder", "Decoder", "CSAB", "INN", "TransformerBlock", "SR3UNet", "GaussianDiffusion"]
