"""Registry entries of the deep fusers and their trainers (DMNet, RED), registered lazily.

Importing :mod:`models` registers these names with their descriptions, references and parameter
counts, but imports neither PyTorch nor the model code: :func:`models.create_fuser` and
:func:`models.trainer_class` import ``models.dmnet`` / ``models.red`` when one of them is built.
This module is the one home of the metadata (the fuser modules import it from here).
"""
from __future__ import annotations

from .base import TorchFuser
from .registry import register_lazy_fuser, register_lazy_trainer

# ------------------------------------------------------------------------------------------- DMNet
DMNET_REFERENCE = ("DMNet: A Dense Multiscale Feature Extraction Network With Two-Stage Training for "
                   "Infrared-Visible Image Fusion, IEEE Internet of Things Journal, 2025")
#: project configuration (released + registered upSkip, its CSAB, reduce_channel1)
DMNET_PARAMS_EXPECTED = 414_059_352
#: U-Net + Encoder + Decoder (as defined) + one CSAB, the persistent modules of the release
DMNET_PARAMS_RELEASED_CONFIG = 392_487_605
#: Table VIII of the paper
DMNET_PARAMS_PAPER = 386_358_000
#: parameter count of ``dmnet-tiny`` (checked by the tests)
DMNET_PARAMS_TINY = 2_140_188

_EXTRA_DMNET = {
    "params_expected": DMNET_PARAMS_EXPECTED,
    "params_released_config": DMNET_PARAMS_RELEASED_CONFIG,
    "params_paper": DMNET_PARAMS_PAPER,
    "params_unet": 391_045_762,
    "params_registered_additions (upSkip + its CSAB + reduce_channel1)": 21_571_747,
    "params_decoder_unused (kept for strict official loading)": 641_776,
    "paper_test_time_s_per_msrs_pair_a100": 1.466,
    "paper_peak_gpu_memory_gb": 9.94,
    "official_weights": "dmnet.pth ('DIDF_Encoder'/'DIDF_Decoder') + diffusion_gen.pth ('denoise_fn.*'); "
                        "pass the folder or dmnet.pth as --checkpoint",
}

# dmnet-tiny first: the order in which the decorators used to register them (ls lists in this order)
register_lazy_fuser("dmnet-tiny", "models.dmnet.fuser:DMNetFuser", framework=TorchFuser.framework,
                    description="DMNet code with reduced widths (tests, smoke runs; not the paper's model)",
                    reference=DMNET_REFERENCE, needs_weights=False, tags=("tiny",),
                    extra={"params_expected": DMNET_PARAMS_TINY}, variant="tiny")
register_lazy_fuser("dmnet", "models.dmnet.fuser:DMNetFuser", framework=TorchFuser.framework,
                    description="DMNet: Restormer DTB + INN DIB encoder, CSAB, SR3 diffusion features "
                                "(t = 5, 50, 100) fused by upSkip, decoder with a residual to VIS",
                    reference=DMNET_REFERENCE, needs_weights=True, tags=("heavy",), extra=_EXTRA_DMNET,
                    variant="dmnet")
register_lazy_trainer("dmnet", "models.dmnet.train:DMNetTrainer")
register_lazy_trainer("dmnet-tiny", "models.dmnet.train:DMNetTinyTrainer")

# --------------------------------------------------------------------------------------------- RED
RED_REFERENCE = ("Xu, Cao, Li, Hu, Zhu, \"Reversible Efficient Diffusion for Image Fusion\", arXiv 2601.20260 "
                 "(no official code; reconstructed after IDM, Guaishou74851/IDM)")
#: ``models.red.model.reference_parameter_count(2)``: the SD-derived U-Net plus the reversible scalars
#: at T = 2 (stated here so that listing needs no torch; a test checks the two agree)
RED_PARAMS_T2 = 115_247_715

_EXTRA_RED = {
    "paper": "arXiv 2601.20260",
    "official_code": None,
    "parameters": RED_PARAMS_T2,
    "parameters_sd_unet": 115_247_684,
    "steps": 2,
    "reported_train_memory_gb": 7.14,
    "reported_train_memory_without_reversible_fusion_gb": 20.1,
    "reported_inference_s": 1.3,
    "reported_hardware": "NVIDIA RTX A6000",
    "reported_train_hours": 40,
}

register_lazy_fuser("red", "models.red.fuser:RedFuser", framework=TorchFuser.framework,
                    description="RED: reversible DDIM chain (T=2) over a pruned SD-1.5 U-Net, "
                                "pixel (un)shuffle instead of the VAE",
                    reference=RED_REFERENCE, needs_weights=True, tags=("heavy",), extra=_EXTRA_RED, variant="full")
register_lazy_fuser("red-tiny", "models.red.fuser:RedFuser", framework=TorchFuser.framework,
                    description="RED with reduced U-Net widths (16, 32) for tests",
                    reference=RED_REFERENCE, needs_weights=False, tags=("tiny",),
                    extra={"note": "test-size variant; not a method of the paper"}, variant="tiny")
register_lazy_trainer("red", "models.red.train:RedTrainer")
register_lazy_trainer("red-tiny", "models.red.train:RedTinyTrainer")
