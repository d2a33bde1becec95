"""Efficiency figures reported by the authors of DMNet and RED, as data with their source.

These are the papers' own numbers, transcribed from the papers' tables and text (sources below),
shown in a separate block titled "reported by the authors" and never mixed with the
rows this harness measures (:mod:`benchmark.profiling`): they were taken on other hardware,
under protocols the papers do not state (precision, batch size, synchronisation, what is timed).

Sources:
* DMNet: "DMNet: A Dense Multiscale Feature Extraction Network With Two-Stage Training for
  Infrared-Visible Image Fusion", IEEE Internet of Things Journal, 2025 — Table VIII (complexity
  on MSRS, one NVIDIA A100) and the text (peak GPU memory of DMNet at inference ≈ 9.94 GB).
* RED: "Reversible Efficient Diffusion for Image Fusion" (Xu, Cao, Li, Hu, Zhu), arXiv
  2601.20260 — Table 2 (ablation on LLVIP: training memory, inference time), Table 5 (diffusion
  steps T) and Table 6 (training memory of diffusion-based fusion methods).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = ["PROVENANCE", "REPORTED", "ReportedFigure", "render_reported_block", "reported_figures"]

#: provenance line that travels with the figures
PROVENANCE = ("Transcribed from the DMNet paper (\"DMNet: A Dense Multiscale Feature Extraction Network With "
              "Two-Stage Training for Infrared-Visible Image Fusion\", IEEE IoT Journal 2025) and the RED paper "
              "(\"Reversible Efficient Diffusion for Image Fusion\", Xu, Cao, Li, Hu, Zhu, arXiv 2601.20260). "
              "These are the authors' figures, never mixed with measured rows. The OCR of the DMNet tables "
              "dropped some decimal points; they were restored from the column's magnitude.")

DMNET_T8 = "DMNet paper, Table VIII"
DMNET_T8_CONDITIONS = ("MSRS test set (361 pairs, 640×480), one NVIDIA A100; \"Test Time\" per pair; precision, "
                       "batch size and timing protocol not stated")


@dataclass(frozen=True)
class ReportedFigure:
    """One row of figures reported in a paper.

    paper: "dmnet" or "red". method: the method the row is about. setting: the variant (e.g.
    "T=4"), "" for the default. framework: the paper's own framework label ("" if not given).
    params_m: parameters in millions. time_s: inference time in seconds (per pair / per image as
    the paper states). memory_gb: memory in GB as printed. memory_kind: "inference peak GPU
    memory" or "training memory" (the two are not comparable). source: paper and table.
    conditions: hardware / data as stated by the paper. None = not reported.
    """

    paper: str
    method: str
    setting: str
    framework: str
    params_m: float | None
    time_s: float | None
    memory_gb: float | None
    memory_kind: str
    source: str
    conditions: str


def _t8(method: str, framework: str, params_m: float, time_s: float, memory_gb: float | None = None,
        source: str = DMNET_T8) -> ReportedFigure:
    return ReportedFigure("dmnet", method, "", framework, params_m, time_s, memory_gb,
                          "inference peak GPU memory" if memory_gb is not None else "", source,
                          DMNET_T8_CONDITIONS)


_RED_CONDITIONS = ("LLVIP; trained with 128×128 crops, batch 4 on RTX A6000 GPUs; the GPU and resolution of the "
                   "inference timing are not stated")


def _red(setting: str, memory_gb: float | None, time_s: float | None, source: str,
         method: str = "RED") -> ReportedFigure:
    own = method == "RED"
    conditions = _RED_CONDITIONS if own else "as listed in RED's Table 6 (LLVIP); training setting not stated"
    return ReportedFigure("red", method, setting, "diffusion" if own else "diffusion-based", None, time_s,
                          memory_gb, "training memory" if memory_gb is not None else "", source, conditions)


#: every reported efficiency figure, in the papers' row order
REPORTED: tuple[ReportedFigure, ...] = (
    _t8("DenseFuse", "CNN", 0.297, 0.319),
    _t8("GANMcC", "GAN", 1.864, 5.924),
    _t8("SDNet", "CNN", 0.067, 0.498),
    _t8("U2Fusion", "CNN", 0.659, 0.451),
    _t8("ReCoNet", "CNN", 0.008, 0.268),
    _t8("MUFusion", "CNN", 0.555, 0.617),
    _t8("CDDFuse", "CNN & Transformer", 1.188, 0.577),
    _t8("CrossFuse", "CNN & Transformer", 1.161, 0.304),
    _t8("Dif-Fusion", "CNN & DM", 416.469, 5.988),
    _t8("EMMA", "CNN & Transformer", 1.518, 0.225),
    _t8("Diff-IF", "DM", 23.736, 0.667),
    _t8("DANet", "Transformer & DM", 391.046, 2.018),
    _t8("INet", "INN", 0.749, 0.215),
    _t8("DMNet", "CNN & Transformer & DM", 386.358, 1.466, 9.94,
        source=DMNET_T8 + " (params, time); text of §IV (peak memory 9.94 GB)"),
    _red("T=2 (default)", 7.14, 1.3, "RED paper, Tables 2 and 5"),
    _red("without reversible fusion (Reverse I off), T=2", 20.1, 1.09, "RED paper, Table 2"),
    _red("without reversible residual blocks (Reverse II off), T=2", 9.44, 1.09, "RED paper, Table 2"),
    _red("without DDIM, T=2", 9.44, 1.10, "RED paper, Table 2"),
    _red("T=2 at 2× resolution", 7.14, 27.0, "RED paper, Table 5"),
    _red("T=4", 7.15, 2.7, "RED paper, Table 5"),
    _red("T=6", 7.15, 5.9, "RED paper, Table 5"),
    _red("T=8", 7.14, 8.0, "RED paper, Table 5"),
    _red("", 22.8, None, "RED paper, Table 6", method="Text-DiFuse"),
    _red("", 11.8, None, "RED paper, Table 6", method="LFDT-Fusion"),
)


def reported_figures(paper: str | None = None) -> list[ReportedFigure]:
    """The reported rows, optionally of one paper ("dmnet" or "red")."""
    if paper is None:
        return list(REPORTED)
    papers = sorted({r.paper for r in REPORTED})
    if paper not in papers:
        raise ValueError(f"paper must be one of {papers} or None, got {paper!r}")
    return [r for r in REPORTED if r.paper == paper]


def _num(value: float | None, fmt: str = "{}") -> str:
    return "n/r" if value is None else fmt.format(value)


def render_reported_block(papers: Sequence[str] = ("dmnet", "red"), *, tablefmt: str = "github",
                          heading_level: int = 3) -> str:
    """Markdown block of the papers' efficiency figures, titled "reported by the authors".

    DMNet's Table VIII is rendered in the measured table's layout (Method | Framework | Params (M) |
    FLOPs (G) | Time (s) | Peak Mem (GB)); RED's figures are training memory, so they get their own
    table. Every method is marked "(paper)"; "n/r" = not reported. Nothing here is measured.
    """
    from tabulate import tabulate

    if isinstance(papers, str):
        papers = (papers,)
    known = {"dmnet", "red"}
    bad = [p for p in papers if p not in known]
    if bad or not papers:
        raise ValueError(f"papers must be a non-empty subset of {sorted(known)}, got {list(papers)!r}")
    if tablefmt not in ("github", "pipe"):
        raise ValueError(f"tablefmt must be 'github' or 'pipe' (Markdown), got {tablefmt!r}")
    if not isinstance(heading_level, int) or not 1 <= heading_level <= 6:
        raise ValueError(f"heading_level must be an int in 1..6, got {heading_level!r}")
    h = "#" * heading_level
    parts = [f"{h} Efficiency reported by the authors (not measured by this harness)", "",
             PROVENANCE + " Other hardware and unstated protocols: not comparable with the measured table.", ""]
    if "dmnet" in papers:
        rows = [[f"{r.method} (paper)", r.framework, _num(r.params_m, "{:.3f}"), "n/r", _num(r.time_s, "{:.3f}"),
                 _num(r.memory_gb, "{:.2f}")] for r in reported_figures("dmnet")]
        parts += [f"**DMNet paper, Table VIII (complexity).** Conditions: {DMNET_T8_CONDITIONS}. "
                  f"The peak memory is given for DMNet only (text of §IV). n/r = not reported.", "",
                  tabulate(rows, headers=["Method", "Framework", "Params (M)", "FLOPs (G)", "Time (s)",
                                          "Peak Mem (GB)"], tablefmt=tablefmt, disable_numparse=True), ""]
    if "red" in papers:
        rows = [[f"{r.method} (paper)", r.setting or "–", _num(r.memory_gb, "{:g}"), _num(r.time_s, "{:g}"),
                 r.source] for r in reported_figures("red")]
        parts += [f"**RED paper (memory = training memory, not inference).** Conditions: {_RED_CONDITIONS}. "
                  f"Parameters and FLOPs are not reported.", "",
                  tabulate(rows, headers=["Method", "Setting", "Training Mem (GB)", "Inference Time (s)", "Source"],
                           tablefmt=tablefmt, disable_numparse=True), ""]
    return "\n".join(parts)
