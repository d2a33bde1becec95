"""DMNet architecture: exact parameter counts (spec §4), official key layout (§5), module semantics."""
import math
from dataclasses import replace

import pytest
import torch

import models.dmnet  # noqa: F401  (registers dmnet / dmnet-tiny)
from models import fuser_spec
from models.dmnet import CONFIGS, DMNet, build_dmnet, official_state_dicts, parameter_breakdown
from models.dmnet.blocks import CSAB, INN, Encoder, TransformerBlock
from models.dmnet.model import reset_parameters_


@pytest.fixture(scope="module")
def full_meta():
    with torch.device("meta"):
        return DMNet()


def _n(module):
    return sum(p.numel() for p in module.parameters())


def test_full_configuration_parameter_count(full_meta):
    bd = parameter_breakdown(full_meta)
    assert bd["total"] == 414_059_352
    assert abs(bd["total"] - 414_059_352) <= 0.001 * 414_059_352
    assert bd["released_config"] == 392_487_605
    assert abs(bd["released_config"] / 386_358_000 - 1) < 0.016  # within 1.6 % of the paper
    assert bd["registered_additions"] == 21_571_747
    assert bd["unet"] == 391_045_762
    assert bd["encoder"] == 733_944
    assert bd["decoder"] == 705_752 and bd["decoder_unused"] == 641_776
    assert bd["csab"] == bd["upskip_csab"] == 2_147
    assert bd["upskip"] == 21_569_536 and bd["reduce_channel1"] == 64
    assert _n(full_meta) == bd["total"]


def test_registry_figures_match_the_models(full_meta):
    extra = fuser_spec("dmnet").extra
    bd = parameter_breakdown(full_meta)
    assert extra["params_expected"] == bd["total"]
    assert extra["params_released_config"] == bd["released_config"]
    assert extra["params_paper"] == 386_358_000
    assert extra["params_unet"] == bd["unet"]
    tiny = build_dmnet("tiny", seed=None)
    assert fuser_spec("dmnet-tiny").extra["params_expected"] == parameter_breakdown(tiny)["total"] == _n(tiny)


def test_block_parameter_counts():
    assert _n(TransformerBlock(64, 8, 2.0)) == 45_256
    assert _n(INN(64)) == 54_528
    assert _n(CSAB(64, 4)) == 2_147


def test_official_key_layout(full_meta):
    enc_dec, gen = official_state_dicts(full_meta)
    assert set(enc_dec) == {"DIDF_Encoder", "DIDF_Decoder"}
    enc, dec = enc_dec["DIDF_Encoder"], enc_dec["DIDF_Decoder"]
    assert len(enc) == 199 and len(dec) == 168 and len(gen) == 362
    assert all(k.startswith("module.") for k in list(enc) + list(dec))
    assert all(k.startswith("denoise_fn.") for k in gen)
    files = {"enc": enc, "dec": dec, "gen": gen}
    shapes = [
        ("enc", "module.patch_embed.proj.weight", (64, 1, 3, 3)),
        ("enc", "module.encoder_level5.4.attn.temperature", (8, 1, 1)),
        ("enc", "module.encoder_level3.2.ffn.project_out.weight", (64, 128, 1, 1)),
        ("enc", "module.detailFeature.net.2.shffleconv.bias", (64,)),
        ("enc", "module.detailFeature.net.0.theta_rho.bottleneckBlock.3.weight", (64, 1, 3, 3)),
        ("enc", "module.detailFeature.net.1.theta_eta.bottleneckBlock.5.weight", (32, 64, 1, 1)),
        ("dec", "module.reduce_channel.weight", (64, 128, 1, 1)),
        ("dec", "module.output.0.weight", (32, 64, 3, 3)),
        ("dec", "module.output.2.weight", (1, 32, 3, 3)),
        ("dec", "module.encoder_level1.0.norm1.body.bias", (64,)),
        ("gen", "denoise_fn.noise_level_mlp.1.weight", (512, 128)),
        ("gen", "denoise_fn.noise_level_mlp.3.weight", (128, 512)),
        ("gen", "denoise_fn.init_conv.weight", (128, 2, 3, 3)),
        ("gen", "denoise_fn.downs.9.attn.qkv.weight", (3072, 1024, 1, 1)),
        ("gen", "denoise_fn.downs.0.res_block.noise_func.noise_func.0.weight", (128, 128)),
        ("gen", "denoise_fn.downs.0.res_block.block1.block.3.weight", (128, 128, 3, 3)),
        ("gen", "denoise_fn.ups.0.res_block.res_conv.weight", (1024, 2048, 1, 1)),
        ("gen", "denoise_fn.final_conv.block.3.weight", (2, 128, 3, 3)),
    ]
    for name, key, shape in shapes:
        assert tuple(files[name][key].shape) == shape, key
    attn = sorted({k.split(".attn.")[0] for k in gen if ".attn." in k})
    assert attn == sorted(f"denoise_fn.{p}" for p in ["downs.9", "downs.10", "mid.0", "ups.4", "ups.5", "ups.6"])
    res = {k.split(".res_block")[0] for k in gen if "res_conv" in k}
    ups_rb = {f"denoise_fn.ups.{i}" for i in range(19) if i not in (3, 7, 11, 15)}
    assert res == {"denoise_fn.downs.3", "denoise_fn.downs.6", "denoise_fn.downs.9"} | ups_rb
    assert {k for k in gen if k.endswith(".conv.weight")} == (
        {f"denoise_fn.downs.{i}.conv.weight" for i in (2, 5, 8, 11)}
        | {f"denoise_fn.ups.{i}.conv.weight" for i in (3, 7, 11, 15)})


def test_unet_eps_path_and_feature_maps():
    torch.manual_seed(0)
    model = build_dmnet("tiny")
    unet = model.diffusion.denoise_fn.eval()
    x = torch.rand(2, 2, 32, 48)
    gamma = torch.tensor([0.99, 0.9])
    with torch.no_grad():
        eps = unet(x, gamma)  # the release's plain forward raised (spec §6 #4)
        maps = []
        unet.run(x, gamma, lambda lvl, f: maps.append((lvl, tuple(f.shape))))
    assert eps.shape == (2, 2, 32, 48)
    widths = unet.level_channels
    assert [lvl for lvl, _ in maps] == [4, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0]
    for lvl, shape in maps:
        assert shape == (2, widths[lvl], 32 >> lvl, 48 >> lvl)
    with pytest.raises(ValueError, match="divisible by 16"):
        unet(torch.rand(1, 2, 24, 32), gamma[:1])


def test_dtb_parallel_branches_and_dib_shared_inn():
    torch.manual_seed(0)
    enc = Encoder(1, 16, 2, 2.0).eval()
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        fd, branches = enc(x)
        e = enc.patch_embed(x)
        expected = [getattr(enc, f"encoder_level{k}")(e) for k in range(1, 6)]  # same input for all five
        dtb = sum(expected) / 5
        d1 = enc.detailFeature(dtb)
        d2 = enc.detailFeature(d1)
        d3 = enc.detailFeature(d2)
    for b, ref in zip(branches, expected):
        torch.testing.assert_close(b, ref)
    torch.testing.assert_close(fd, (d1 + d2 + d3) / 3)
    torch.testing.assert_close(enc.features(x), fd)


def test_csab_matches_the_formula():
    torch.manual_seed(0)
    csab = CSAB(8, 4)
    x = torch.randn(2, 8, 5, 7)
    mlp = csab.channel_attention.shared_MLP
    mx = x.amax(dim=(2, 3), keepdim=True)
    mix = 0.5 * x.mean(dim=(2, 3), keepdim=True) + 0.5 * mx
    y = x * torch.sigmoid(mlp(mx) + mlp(mix))
    m = y.amax(dim=1, keepdim=True)
    s = torch.sigmoid(csab.spatial_attention.conv2d(torch.cat([m, 0.5 * y.mean(1, keepdim=True) + 0.5 * m], 1)))
    torch.testing.assert_close(csab(x), y * s)


def test_noise_schedule_levels():
    diff = build_dmnet("tiny", seed=None).diffusion
    assert diff.num_timesteps == 2000
    for t, sqrt_ac, std in [(5, 0.99997, 0.0074), (50, 0.9969, 0.078), (100, 0.9876, 0.157)]:
        lo, hi = diff.gamma_bounds(t)
        assert lo < hi <= 1.0
        assert math.isclose(lo, sqrt_ac, abs_tol=1e-4)
        assert math.isclose(math.sqrt(1 - lo * lo), std, rel_tol=0.03)
    with pytest.raises(ValueError):
        diff.gamma_bounds(0)


def test_every_parameter_is_initialised_and_seeded():
    model = build_dmnet("tiny", seed=None)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    reset_parameters_(model, 3)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    torch.manual_seed(3)
    direct = DMNet(CONFIGS["tiny"])  # plain construction draws in the same order
    for (k, a), b in zip(model.state_dict().items(), direct.state_dict().values()):
        assert torch.equal(a, b), k


def test_dm_input_modes_and_shape_checks():
    torch.manual_seed(0)
    model = build_dmnet("tiny").eval()
    vis, ir = torch.rand(1, 1, 16, 32), torch.rand(1, 1, 16, 32)
    with torch.no_grad():
        _, x0 = model.encode_pair(vis, ir)
        r = model.reduce_channel1
        _, bv = model.encoder(vis)
        _, bi = model.encoder(ir)
        ref = (torch.cat([vis, ir], 1) + sum(torch.cat([r(a), r(b)], 1) for a, b in zip(bv, bi))) / 6
        torch.testing.assert_close(x0, ref)
        with pytest.raises(ValueError, match="multiples of 16"):
            model(torch.rand(1, 1, 20, 32), torch.rand(1, 1, 20, 32))
    concat = build_dmnet(replace(CONFIGS["tiny"], dm_input="concat"))
    with torch.no_grad():
        _, x0c = concat.encode_pair(vis, ir)
    torch.testing.assert_close(x0c, torch.cat([vis, ir], 1))
    with pytest.raises(ValueError, match="dm_input"):
        replace(CONFIGS["tiny"], dm_input="sum")
