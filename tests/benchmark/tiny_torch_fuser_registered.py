"""Registers TinyConvFuser as "test-tiny-conv"; imported only by profiling child processes."""
from models.registry import register_fuser

from tiny_torch_fuser import TinyConvFuser

register_fuser("test-tiny-conv", description="tiny conv net for profiling tests", freeze_first=True)(TinyConvFuser)
