"""SD-1.5 initialisation from local files: diffusers and LDM namings, strictness, clear errors
(specs/red.md §3.4–3.5). Synthetic state dicts only; nothing is downloaded."""
import json
import re

import pytest
import torch

import models.red  # noqa: F401
from models import create_fuser
from models.red.sd15 import (load_pruned_state_dict, load_sd15_into, map_diffusers_key, map_ldm_key,
                             remap_sd15_state_dict)
from models.red.unet import PrunedUNet, UNetConfig

P = "model.diffusion_model."


# ---------------------------------------------------------------- synthetic checkpoints
def _pruned_sd(unet: PrunedUNet) -> dict:
    sd = unet.state_dict()
    return {k: sd[k] for k in unet.sd_parameter_names()}


def _dropped_diffusers(like: torch.Tensor) -> dict:
    """Keys of a full SD-1.5 diffusers U-Net that pruning removes (a representative set)."""
    z = like.new_zeros(3)
    keys = ["time_embedding.linear_1.weight", "time_embedding.linear_2.bias", "mid_block.resnets.0.conv1.weight",
            "mid_block.attentions.0.proj_in.weight", "down_blocks.1.downsamplers.0.conv.weight",
            "down_blocks.1.downsamplers.0.conv.bias", "down_blocks.2.resnets.0.conv1.weight",
            "down_blocks.3.resnets.1.norm2.bias", "up_blocks.0.resnets.0.conv1.weight",
            "up_blocks.1.attentions.2.proj_out.weight", "up_blocks.1.upsamplers.0.conv.weight"]
    for blk in ("down_blocks.0", "down_blocks.1", "up_blocks.2", "up_blocks.3"):
        keys += [f"{blk}.resnets.0.time_emb_proj.weight", f"{blk}.resnets.1.time_emb_proj.bias"]
        for a in ("to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight", "to_out.0.bias"):
            keys.append(f"{blk}.attentions.1.transformer_blocks.0.attn2.{a}")
        keys += [f"{blk}.attentions.0.transformer_blocks.0.norm2.weight",
                 f"{blk}.attentions.0.transformer_blocks.0.norm2.bias"]
    return {k: z.clone() for k in keys}


def to_diffusers(pruned: dict) -> tuple[dict, set]:
    out = {re.sub(r"^up_blocks\.(\d)\.", lambda m: f"up_blocks.{int(m.group(1)) + 2}.", k): v
           for k, v in pruned.items()}
    extra = _dropped_diffusers(next(iter(pruned.values())))
    out.update(extra)
    return out, set(extra)


# written from the table of specs/red.md §3.5, independently of models.red.sd15
_TO_LDM_BLOCK = {"conv_in": "input_blocks.0.0", "down_blocks.0.resnets.0": "input_blocks.1.0",
                 "down_blocks.0.attentions.0": "input_blocks.1.1", "down_blocks.0.resnets.1": "input_blocks.2.0",
                 "down_blocks.0.attentions.1": "input_blocks.2.1",
                 "down_blocks.0.downsamplers.0.conv": "input_blocks.3.0.op",
                 "down_blocks.1.resnets.0": "input_blocks.4.0", "down_blocks.1.attentions.0": "input_blocks.4.1",
                 "down_blocks.1.resnets.1": "input_blocks.5.0", "down_blocks.1.attentions.1": "input_blocks.5.1",
                 "up_blocks.0.upsamplers.0.conv": "output_blocks.8.2.conv", "conv_norm_out": "out.0",
                 "conv_out": "out.2"}
for i in range(3):
    _TO_LDM_BLOCK[f"up_blocks.0.resnets.{i}"] = f"output_blocks.{6 + i}.0"
    _TO_LDM_BLOCK[f"up_blocks.0.attentions.{i}"] = f"output_blocks.{6 + i}.1"
    _TO_LDM_BLOCK[f"up_blocks.1.resnets.{i}"] = f"output_blocks.{9 + i}.0"
    _TO_LDM_BLOCK[f"up_blocks.1.attentions.{i}"] = f"output_blocks.{9 + i}.1"
_TO_LDM_RES = {"norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0", "conv2": "out_layers.3",
               "conv_shortcut": "skip_connection"}


def to_ldm(pruned: dict) -> tuple[dict, set]:
    out = {}
    for k, v in pruned.items():
        block = max((b for b in _TO_LDM_BLOCK if k.startswith(b + ".")), key=len)
        rest = k[len(block) + 1:]
        if ".resnets." in block:
            head, tail = rest.split(".", 1)
            rest = f"{_TO_LDM_RES[head]}.{tail}"
        out[P + _TO_LDM_BLOCK[block] + "." + rest] = v
    z = next(iter(pruned.values())).new_zeros(2)
    extra = [P + "time_embed.0.weight", P + "time_embed.2.bias", P + "input_blocks.1.0.emb_layers.1.weight",
             P + "output_blocks.11.0.emb_layers.1.bias", P + "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight",
             P + "output_blocks.7.1.transformer_blocks.0.norm2.weight", P + "input_blocks.6.0.op.weight",
             P + "input_blocks.7.0.in_layers.2.weight", P + "input_blocks.11.0.out_layers.3.bias",
             P + "middle_block.1.proj_in.weight", P + "output_blocks.0.0.in_layers.0.weight",
             P + "output_blocks.5.2.conv.weight", "first_stage_model.encoder.conv_in.weight",
             "cond_stage_model.transformer.text_model.embeddings.position_ids", "model_ema.decay",
             "model_ema.diffusion_modelinput_blocks00weight", "alphas_cumprod"]
    out.update({k: z.clone() for k in extra})
    return out, set(extra)


# ---------------------------------------------------------------- full-size key mapping (meta device)
@pytest.fixture(scope="module")
def full_unet():
    with torch.device("meta"):
        return PrunedUNet(UNetConfig.sd15())


def test_pruned_unet_has_the_294_sd_tensors(full_unet):
    names = full_unet.sd_parameter_names()
    assert len(names) == 294
    sd = full_unet.state_dict()
    assert sum(sd[k].numel() for k in names) == 115_247_684
    assert tuple(sd["conv_in.weight"].shape) == (320, 4, 3, 3)
    assert tuple(sd["down_blocks.1.resnets.0.conv_shortcut.weight"].shape) == (640, 320, 1, 1)
    assert tuple(sd["up_blocks.0.resnets.0.conv1.weight"].shape) == (640, 1920, 3, 3)
    assert tuple(sd["up_blocks.1.resnets.0.conv1.weight"].shape) == (320, 960, 3, 3)
    assert tuple(sd["down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight"].shape) == (2560, 320)
    assert "down_blocks.1.downsamplers.0.conv.weight" not in sd
    assert not any(".attn2." in k or "time_emb_proj" in k or "transformer_blocks.0.norm2" in k for k in sd)


@pytest.mark.parametrize("naming", ["diffusers", "ldm"])
def test_full_size_remap_is_exact(full_unet, naming):
    pruned = _pruned_sd(full_unet)
    source, extra = (to_diffusers if naming == "diffusers" else to_ldm)(pruned)
    mapped, dropped, detected = remap_sd15_state_dict(source)
    assert detected == naming
    assert set(mapped) == set(pruned)
    assert set(dropped) == extra
    assert all(mapped[k].shape == pruned[k].shape for k in pruned)
    load_pruned_state_dict(full_unet, mapped)  # strict, shape-checked (meta tensors)


def test_single_key_maps():
    assert map_diffusers_key("up_blocks.2.attentions.1.proj_in.weight") == "up_blocks.0.attentions.1.proj_in.weight"
    assert map_diffusers_key("up_blocks.3.resnets.2.norm2.bias") == "up_blocks.1.resnets.2.norm2.bias"
    assert map_diffusers_key("up_blocks.1.resnets.0.conv1.weight") is None
    assert map_diffusers_key("down_blocks.0.attentions.0.transformer_blocks.0.norm2.weight") is None
    assert map_diffusers_key("down_blocks.0.resnets.0.norm2.weight") == "down_blocks.0.resnets.0.norm2.weight"
    assert map_ldm_key(P + "output_blocks.8.2.conv.weight") == "up_blocks.0.upsamplers.0.conv.weight"
    assert map_ldm_key(P + "input_blocks.4.0.skip_connection.bias") == "down_blocks.1.resnets.0.conv_shortcut.bias"
    assert map_ldm_key(P + "out.2.weight") == "conv_out.weight"
    assert map_ldm_key(P + "input_blocks.6.0.op.weight") is None
    assert map_ldm_key("first_stage_model.decoder.conv_out.weight") is None


# ---------------------------------------------------------------- files, values (tiny widths)
@pytest.fixture()
def tiny_source():
    torch.manual_seed(11)
    return _pruned_sd(PrunedUNet(UNetConfig.tiny()))


def _write_diffusers_dir(root, sd, fmt="safetensors", config=None):
    unet_dir = root / "unet"
    unet_dir.mkdir(parents=True)
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(unet_dir / "diffusion_pytorch_model.safetensors"))
    else:
        torch.save(sd, unet_dir / "diffusion_pytorch_model.bin")
    cfg = {"in_channels": 4, "out_channels": 4, "layers_per_block": 2, "attention_head_dim": 2,
           "block_out_channels": [16, 32, 64, 64], "cross_attention_dim": 768}
    cfg.update(config or {})
    (unet_dir / "config.json").write_text(json.dumps(cfg))
    return root


def _assert_loaded(unet, source):
    sd = unet.state_dict()
    for k, v in source.items():
        assert torch.equal(sd[k], v), k


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_load_diffusers_folder(tmp_path, tiny_source, fmt):
    src, extra = to_diffusers(tiny_source)
    root = _write_diffusers_dir(tmp_path / "sd15", src, fmt)
    unet = PrunedUNet(UNetConfig.tiny())
    report = load_sd15_into(unet, root)
    assert report.naming == "diffusers"
    assert set(report.dropped) == extra
    assert len(report.loaded) == len(tiny_source)
    assert "dropped" in report.summary()
    _assert_loaded(unet, tiny_source)
    # reversible scalars keep their initial values
    assert float(unet.up_blocks[0].merge_scale.detach()) == 0.0
    assert torch.all(unet.down_blocks[0].coupling_v == 0.5)


@pytest.mark.parametrize("fmt", ["ckpt", "safetensors"])
def test_load_ldm_checkpoint_gives_identical_tensors(tmp_path, tiny_source, fmt):
    src, extra = to_ldm(tiny_source)
    if fmt == "ckpt":
        path = tmp_path / "v1-5-pruned-emaonly.ckpt"
        torch.save({"state_dict": src, "global_step": torch.tensor(840000)}, path)
    else:
        from safetensors.torch import save_file

        path = tmp_path / "v1-5-pruned-emaonly.safetensors"
        save_file({k: v.contiguous() for k, v in src.items()}, str(path))
    unet_ldm = PrunedUNet(UNetConfig.tiny())
    report = load_sd15_into(unet_ldm, path)
    assert report.naming == "ldm"
    assert set(report.dropped) == extra
    _assert_loaded(unet_ldm, tiny_source)
    # same tensors as through the diffusers layout
    diff_src, _ = to_diffusers(tiny_source)
    unet_diff = PrunedUNet(UNetConfig.tiny())
    load_sd15_into(unet_diff, _write_diffusers_dir(tmp_path / "d", diff_src))
    for (k, a), (k2, b) in zip(unet_ldm.state_dict().items(), unet_diff.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k


def test_missing_keys_are_an_error_naming_them(tmp_path, tiny_source):
    src, _ = to_diffusers(tiny_source)
    del src["up_blocks.3.attentions.2.proj_out.bias"]
    del src["conv_in.weight"]
    root = _write_diffusers_dir(tmp_path / "sd", src)
    with pytest.raises(KeyError, match=r"up_blocks\.1\.attentions\.2\.proj_out\.bias") as e:
        load_sd15_into(PrunedUNet(UNetConfig.tiny()), root)
    assert "conv_in.weight" in str(e.value) and "2 tensors" in str(e.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load_sd15_into(PrunedUNet(UNetConfig.tiny()), tmp_path / "no-such-v1-5.ckpt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="diffusion_pytorch_model"):
        load_sd15_into(PrunedUNet(UNetConfig.tiny()), tmp_path / "empty")


def test_wrong_config_or_shapes_or_layout_are_errors(tmp_path, tiny_source):
    src, _ = to_diffusers(tiny_source)
    root = _write_diffusers_dir(tmp_path / "a", src, config={"layers_per_block": 3})
    with pytest.raises(ValueError, match="layers_per_block"):
        load_sd15_into(PrunedUNet(UNetConfig.tiny()), root)
    # tiny weights into the full-width model: shape error (meta model, no memory)
    with torch.device("meta"):
        full = PrunedUNet(UNetConfig.sd15())
    mapped, _, _ = remap_sd15_state_dict(src)
    with pytest.raises(ValueError, match="wrong shapes"):
        load_pruned_state_dict(full, mapped)
    torch.save({"foo.weight": torch.zeros(1)}, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match="model.diffusion_model"):
        load_sd15_into(PrunedUNet(UNetConfig.tiny()), tmp_path / "other.ckpt")


def test_fuser_from_sd_weights(tmp_path, tiny_source):
    src, _ = to_diffusers(tiny_source)
    root = _write_diffusers_dir(tmp_path / "sd", src)
    f = create_fuser("red-tiny", sd_weights=root)
    assert f.weights_provenance == "SD-1.5 init, untrained fusion layers"
    assert f.checkpoint_path is not None and f.checkpoint_path.name == "diffusion_pytorch_model.safetensors"
    assert f.checkpoint_hash() is not None
    _assert_loaded(f.module.unet, tiny_source)
    with pytest.raises(ValueError, match="not both"):
        create_fuser("red-tiny", sd_weights=root, checkpoint=tmp_path / "x.safetensors")


def test_trainer_initialises_from_sd_weights(tmp_path, tiny_source):
    from models.red.train import RedTinyTrainer, RedTrainConfig

    src, _ = to_ldm(tiny_source)
    path = tmp_path / "sd.ckpt"
    torch.save({"state_dict": src}, path)
    tr = RedTinyTrainer(RedTrainConfig(sd_weights=str(path)))
    assert tr.sd_report is not None and tr.sd_report.naming == "ldm"
    _assert_loaded(tr.model.unet, tiny_source)
