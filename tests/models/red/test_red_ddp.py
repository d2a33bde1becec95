"""RED's reversible backprop under DistributedDataParallel (2 CPU processes, gloo), as the generic
loop wraps it (``find_unused_parameters=True``): gradients equal the single-process full-batch ones."""
import os
import sys

import pytest
import torch
import torch.distributed as tdist
import torch.multiprocessing as mp

pytestmark = pytest.mark.skipif(not tdist.is_available() or sys.platform == "win32",
                                reason="torch.distributed (gloo) not available")


def _batch():
    g = torch.Generator().manual_seed(0)
    return (torch.rand(4, 1, 16, 16, generator=g, dtype=torch.float64),
            torch.rand(4, 1, 16, 16, generator=g, dtype=torch.float64))


def _trainer():
    from models.red.train import RedTinyTrainer, RedTrainConfig

    t = RedTinyTrainer(RedTrainConfig(seed=0, reversible=True))
    t.model.double()
    return t


def _worker(rank, world, init_file, out_dir):
    torch.set_num_threads(1)
    sys.path.insert(0, os.getcwd())
    import models.red  # noqa: F401
    from models.training import DistributedContext, fit

    tdist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        t = _trainer()
        ddp = torch.nn.parallel.DistributedDataParallel(t.build_loss_module("train"), find_unused_parameters=True)
        ir, vis = _batch()
        shard = slice(2 * rank, 2 * rank + 2)
        ddp(ir[shard], vis[shard])["loss"].backward()
        grads = {n: p.grad.detach().clone() for n, p in t.model.named_parameters() if p.grad is not None}
        torch.save(grads, os.path.join(out_dir, f"grads{rank}.pt"))
        # and the generic loop itself, one step per rank under DDP
        from models.red.train import RedTinyTrainer, RedTrainConfig

        def batches(stage, epoch):
            yield {"ir": ir[shard].float(), "vis": vis[shard].float()}

        fit(RedTinyTrainer(RedTrainConfig(epochs=1, crop=16)), batches, os.path.join(out_dir, "run"),
            progress=False, dist=DistributedContext(rank=rank, world_size=world, local_rank=rank))
    finally:
        tdist.destroy_process_group()


def test_ddp_gradients_match_single_process(tmp_path):
    import models.red  # noqa: F401

    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    t = _trainer()
    ir, vis = _batch()
    t.build_loss_module("train")(ir, vis)["loss"].backward()
    ref = {n: p.grad for n, p in t.model.named_parameters()}
    for rank in (0, 1):
        got = torch.load(tmp_path / f"grads{rank}.pt", weights_only=True)
        assert set(got) == set(ref)
        for n, g in ref.items():
            rel = float((got[n] - g).norm() / g.norm())
            assert rel < 1e-9, (rank, n, rel)
    assert (tmp_path / "run" / "red-tiny.safetensors").exists()
