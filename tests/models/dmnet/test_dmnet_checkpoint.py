"""Loading the official release layout and the project's single-file checkpoints (spec §5)."""
import copy
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import models.dmnet  # noqa: F401
from models import create_fuser
from models.dmnet import CheckpointError, build_dmnet, load_dmnet_weights, official_state_dicts, project_state_dict
from models.dmnet.checkpoint import GROUPS, SEEDED_IN_OFFICIAL


@pytest.fixture(scope="module")
def source():
    """A tiny DMNet with non-default weights (seed 7) to export."""
    return build_dmnet("tiny", seed=7)


def _schedule_buffers(model, perturb=False):
    buf = {k: torch.from_numpy(v).float() for k, v in model.diffusion.schedule_buffers().items()}
    buf["posterior_variance"] = torch.zeros(2000)  # present in SR3 files, not compared
    if perturb:
        buf["betas"] = buf["betas"] * 3
    return buf


def _write_official(model, folder, *, gen_name="diffusion_gen.pth", perturb=False, enc_names=("DIDF_Encoder", "DIDF_Decoder")):
    folder.mkdir(parents=True, exist_ok=True)
    enc_dec, gen = official_state_dicts(model)
    torch.save({enc_names[0]: enc_dec["DIDF_Encoder"], enc_names[1]: enc_dec["DIDF_Decoder"]}, folder / "dmnet.pth")
    torch.save({**gen, **_schedule_buffers(model, perturb)}, folder / gen_name)
    return folder / "dmnet.pth", folder / gen_name


def _fuser(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checkpoint load must not warn unless the test expects it
        return create_fuser("dmnet-tiny", **kw)


def _assert_groups_equal(a, b, groups):
    for g in groups:
        sa, sb = getattr(a, GROUPS[g]).state_dict(), getattr(b, GROUPS[g]).state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), f"{g}.{k}"


def test_official_folder_loads_strictly(source, tmp_path):
    enc, gen = _write_official(source, tmp_path / "weights")
    f = _fuser(checkpoint=tmp_path / "weights", seed=5)
    assert f.weights_provenance == "official checkpoint"
    assert f.load_report.kind == "official"
    assert f.checkpoint_paths == [enc, gen] and f.checkpoint_path == enc
    assert sorted(f.load_report.seeded_groups) == sorted(SEEDED_IN_OFFICIAL)
    assert "betas" in f.load_report.ignored
    _assert_groups_equal(f.module, source, ["DIDF_Encoder", "DIDF_Decoder", "DM"])
    # the groups the release re-creates randomly are seeded: same seed, same weights
    again = _fuser(checkpoint=enc, seed=5)  # dmnet.pth alone: diffusion_gen.pth is found beside it
    _assert_groups_equal(f.module, again.module, list(GROUPS))
    other = _fuser(checkpoint=enc, seed=6)
    assert not torch.equal(other.module.up_skip.to2.weight, f.module.up_skip.to2.weight)
    assert f.config()["dmnet"]["seeded_random_groups"] == f.load_report.seeded_groups


def test_official_pair_hashes_both_files(source, tmp_path):
    enc, gen = _write_official(source, tmp_path / "w", gen_name="mine_gen.pth")
    f = _fuser(checkpoint=enc, diffusion_checkpoint=gen)
    h = f.checkpoint_hash()
    assert h is not None and len(h) == 64
    sd = torch.load(gen, weights_only=True)
    sd["denoise_fn.init_conv.bias"] = sd["denoise_fn.init_conv.bias"] + 1
    torch.save(sd, gen)
    assert _fuser(checkpoint=enc, diffusion_checkpoint=gen).checkpoint_hash() != h


def test_danet_group_names_are_accepted(source, tmp_path):
    _write_official(source, tmp_path / "w", enc_names=("Encoder", "Decoder"))
    f = _fuser(checkpoint=tmp_path / "w")
    _assert_groups_equal(f.module, source, ["DIDF_Encoder", "DIDF_Decoder", "DM"])


def test_missing_and_unexpected_keys_are_listed_by_name(source, tmp_path):
    enc_dec, gen = official_state_dicts(source)
    del enc_dec["DIDF_Encoder"]["module.patch_embed.proj.weight"]
    enc_dec["DIDF_Decoder"]["module.bogus.weight"] = torch.zeros(3)
    torch.save(enc_dec, tmp_path / "dmnet.pth")
    torch.save(gen, tmp_path / "diffusion_gen.pth")
    with pytest.raises(CheckpointError) as err:
        _fuser(checkpoint=tmp_path)
    msg = str(err.value)
    assert "DIDF_Encoder.patch_embed.proj.weight" in msg and "DIDF_Decoder.bogus.weight" in msg
    # non-strict: the same names are reported, the rest is loaded
    model = build_dmnet("tiny", seed=0)
    with pytest.warns(UserWarning, match="patch_embed.proj.weight"):
        rep = load_dmnet_weights(model, tmp_path, strict=False)
    assert rep.missing == ["DIDF_Encoder.patch_embed.proj.weight"]
    assert rep.unexpected == ["DIDF_Decoder.bogus.weight"]
    assert torch.equal(model.decoder.output[0].weight, source.decoder.output[0].weight)


def test_wrong_shape_names_key_and_both_shapes(source, tmp_path):
    enc_dec, gen = official_state_dicts(source)
    gen["denoise_fn.init_conv.weight"] = torch.zeros(16, 3, 3, 3)
    torch.save(enc_dec, tmp_path / "dmnet.pth")
    torch.save(gen, tmp_path / "diffusion_gen.pth")
    with pytest.raises(CheckpointError, match=r"DM\.denoise_fn\.init_conv\.weight: checkpoint \(16, 3, 3, 3\) "
                                              r"vs model \(16, 2, 3, 3\)"):
        _fuser(checkpoint=tmp_path)


def test_schedule_buffers_that_disagree_warn(source, tmp_path):
    _write_official(source, tmp_path / "w", perturb=True)
    with pytest.warns(UserWarning, match="betas"):
        create_fuser("dmnet-tiny", checkpoint=tmp_path / "w")


def test_encoder_file_without_diffusion_file_fails(source, tmp_path):
    enc, gen = _write_official(source, tmp_path / "w")
    gen.unlink()
    with pytest.raises(FileNotFoundError, match="_gen.pth"):
        _fuser(checkpoint=enc)
    with pytest.raises(FileNotFoundError, match="dmnet.pth"):
        _fuser(checkpoint=tmp_path)  # a folder without the official files


@pytest.mark.parametrize("form", ["safetensors", "torch-flat", "torch-nested"])
def test_project_checkpoint_roundtrip_is_exact(source, tmp_path, form):
    flat = project_state_dict(source)
    if form == "safetensors":
        path = tmp_path / "m.safetensors"
        save_file({k: v.contiguous() for k, v in flat.items()}, str(path))
    elif form == "torch-flat":
        path = tmp_path / "m.pt"
        torch.save(flat, path)
    else:
        path = tmp_path / "m.pth"
        nested = {}
        for k, v in flat.items():
            g, _, rest = k.partition(".")
            nested.setdefault(g, {})[rest] = v
        torch.save(nested, path)
    f = _fuser(checkpoint=path)
    assert f.weights_provenance == "project checkpoint" and f.load_report.seeded_groups == []
    for (k, a), b in zip(f.module.state_dict().items(), source.state_dict().values()):
        assert torch.equal(a, b), k


def test_project_checkpoint_missing_group_fails(source, tmp_path):
    flat = {k: v for k, v in project_state_dict(source).items() if not k.startswith("upSkip.")}
    save_file({k: v.contiguous() for k, v in flat.items()}, str(tmp_path / "m.safetensors"))
    with pytest.raises(CheckpointError, match=r"upSkip\.to2\.weight"):
        _fuser(checkpoint=tmp_path / "m.safetensors")


class _Evil:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_arbitrary_pickles_are_refused(tmp_path):
    torch.save({"DIDF_Encoder": _Evil()}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="weights_only"):
        _fuser(checkpoint=tmp_path / "evil.pth")


def test_unknown_layout_is_reported(tmp_path):
    torch.save({"net": {"w": torch.zeros(1)}}, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match="unrecognised"):
        _fuser(checkpoint=tmp_path / "x.pth")


def test_official_weights_give_identical_fusion(source, tmp_path):
    """Exported to the official layout and re-loaded, the loaded groups reproduce the source's output."""
    _write_official(source, tmp_path / "w")
    f = _fuser(checkpoint=tmp_path / "w", seed=1)
    # give (a copy of) the source the same seeded groups, then compare whole-model outputs
    source = copy.deepcopy(source)
    for g in SEEDED_IN_OFFICIAL:
        getattr(source, GROUPS[g]).load_state_dict(getattr(f.module, GROUPS[g]).state_dict())
    rng = np.random.default_rng(0)
    ir, vis = rng.random((2, 32, 32), dtype=np.float32)
    out = f.run(ir, vis)
    source.eval()
    with torch.inference_mode():
        ref = source(torch.from_numpy(ir)[None, None], torch.from_numpy(vis)[None, None],
                     source.draw_noise(1, (32, 32), 1))
    np.testing.assert_array_equal(out, ref[0, 0].numpy())


def test_convert_official_to_project_file(source, tmp_path):
    from models.dmnet.convert import main

    _write_official(source, tmp_path / "w")
    out = tmp_path / "conv.safetensors"
    assert main([str(tmp_path / "w"), str(out), "--seed", "4", "--variant", "tiny"]) == 0
    conv = _fuser(checkpoint=out)
    direct = _fuser(checkpoint=tmp_path / "w", seed=4)
    assert conv.weights_provenance == "official checkpoint"
    assert conv.config()["dmnet"]["checkpoint_metadata"]["seeded_groups"] == ",".join(SEEDED_IN_OFFICIAL)
    _assert_groups_equal(conv.module, direct.module, list(GROUPS))
