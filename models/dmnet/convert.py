"""Convert the official DMNet weights into one project file.

Usage::

    python -m models.dmnet.convert WEIGHTS_DIR_OR_DMNET_PTH OUT.safetensors [--diffusion X_gen.pth] [--seed 0]

The official pair (``dmnet.pth`` + ``diffusion_gen.pth``) lacks the modules that the released code
re-creates randomly (top-level CSAB, upSkip and its CSAB, reduce_channel1); the converter fills them
with the seeded default initialisation, exactly as loading the pair directly would, and records that
in the file's metadata (``source=official``), so the fuser still reports "official checkpoint".
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..training import atomic_save_safetensors
from .checkpoint import load_dmnet_weights, project_state_dict
from .model import build_dmnet

__all__ = ["convert_official", "main"]


def convert_official(path: str | Path, out: str | Path, *, diffusion_path: str | Path | None = None,
                     seed: int = 0, variant: str = "dmnet") -> dict[str, str]:
    """Load the official weights and write them as a project ``.safetensors``; return its metadata."""
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ValueError(f"the output must be a .safetensors file, got {out}")
    model = build_dmnet(variant, seed=None)
    report = load_dmnet_weights(model, path, diffusion_path, seed=seed)
    if report.kind != "official":
        raise ValueError(f"{path} is already a project checkpoint (kind {report.kind!r}); nothing to convert")
    metadata = {"format": "dmnet-project", "source": "official", "variant": variant, "seed": str(seed),
                "seeded_groups": ",".join(report.seeded_groups),
                "official_files": ",".join(p.name for p in report.files)}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_safetensors(project_state_dict(model), out, metadata=metadata)
    return metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.dmnet.convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("official", help="the official weights folder, or its dmnet.pth")
    parser.add_argument("out", help="output .safetensors")
    parser.add_argument("--diffusion", default=None, help="the '<name>_gen.pth' when it is not beside dmnet.pth")
    parser.add_argument("--seed", type=int, default=0, help="seed of the modules the official files lack")
    parser.add_argument("--variant", default="dmnet", help="model variant (dmnet or tiny)")
    args = parser.parse_args(argv)
    meta = convert_official(args.official, args.out, diffusion_path=args.diffusion, seed=args.seed,
                            variant=args.variant)
    print(f"wrote {args.out}: official weights from {meta['official_files']}; seeded (seed {meta['seed']}): "
          f"{meta['seeded_groups']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
