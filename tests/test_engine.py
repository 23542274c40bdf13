"""Each work-around in ppocr_ext/engine.py (and the checkpoint I/O it installs) is needed
and works: the engine's own behaviour is shown failing next to ours passing."""
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from common import hardware
from ppocr_ext import checkpoint, engine
from ppocr_ext.engine import build_trainer, infer_forward, load_engine
from ppocr_ext.rec_config import ConfigError, check_config, load_config
from rec_fixtures import (CONFIGS, DICT, make_lmdb, one_torch_thread,  # noqa: F401 (autouse)
                          tiny_config)

load_engine()


def _trainer(tmp_path, overrides=(), identical=False, samples=8, val=False):
    train_dir = make_lmdb(tmp_path / "train", samples, identical=identical)
    val_dir = make_lmdb(tmp_path / "val", 4, first_seed=100) if val else None
    cfg = load_config(tiny_config(tmp_path, train_dir, val_dir), overrides)
    check_config(cfg, "train")
    return build_trainer(cfg, "train")


def _grad_norms_at_each_step(trainer):
    norms = []
    trainer.optimizer.register_step_pre_hook(lambda opt, args, kwargs: norms.append(
        torch.sqrt(sum((p.grad.float() ** 2).sum() for g in opt.param_groups
                       for p in g["params"] if p.grad is not None)).item()))
    trainer.train()
    trainer.train_dataloader.close()
    return norms


NO_UPDATE_NO_NOISE = [
    "Global.use_amp=false", "Global.grad_clip_val=0", "Optimizer.lr=0.0",
    "Global.epoch_num=1", "Train.loader.batch_size_per_card=4", "Train.loader.shuffle=false",
    "Architecture.Encoder.drop_path_rate=0", "Architecture.Encoder.last_drop=0",
    "Architecture.Encoder.drop_rate=0", "Architecture.Encoder.attn_drop_rate=0"]


def test_zero_grad_fix_is_needed_in_the_non_amp_path(tmp_path):
    # Two identical batches and lr 0: each step must see exactly one batch's gradient.
    fixed = _grad_norms_at_each_step(
        _trainer(tmp_path / "fixed", NO_UPDATE_NO_NOISE, identical=True))
    engine_as_shipped = _trainer(tmp_path / "engine", NO_UPDATE_NO_NOISE, identical=True)
    engine_as_shipped.zero_grad_hook.remove()
    piled_up = _grad_norms_at_each_step(engine_as_shipped)
    assert len(fixed) == len(piled_up) == 2
    assert fixed[0] == pytest.approx(piled_up[0], rel=1e-4)
    assert fixed[1] == pytest.approx(fixed[0], rel=1e-3)
    assert piled_up[1] == pytest.approx(2 * piled_up[0], rel=1e-3)


def test_train_without_eval_section_and_bf16_train_metrics(tmp_path, monkeypatch):
    # no Eval section (the engine indexes cfg['Eval']) and metrics under bf16 autocast,
    # granted here whatever this CPU does (common.hardware)
    monkeypatch.setattr(hardware, "native_bf16", lambda device="cpu": True)
    trainer = _trainer(tmp_path, ["Global.cal_metric_during_train=true", "Global.epoch_num=1",
                                  "Train.loader.batch_size_per_card=4"])
    assert trainer.valid_dataloader is None
    assert trainer.cfg["Global"]["use_amp"] is True and trainer.scaler is not None
    trainer.train()
    assert (tmp_path / "out" / "latest.pth").is_file()


def test_use_amp_trains_fp32_where_the_cpu_only_emulates_bf16(tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "native_bf16", lambda device="cpu": False)
    trainer = _trainer(tmp_path, ["Global.use_amp=true", "Train.loader.batch_size_per_card=4"])
    assert trainer.cfg["Global"]["use_amp"] is False
    assert trainer.scaler is None          # the engine's fp32 path, not its autocast one


def test_bf16_predictions_need_the_float32_cast():
    from openrec.postprocess import build_post_process
    post = build_post_process({"name": "CTCLabelDecode"}, {"character_dict_path": str(DICT)})
    preds = torch.softmax(torch.randn(2, 16, 63), -1).to(torch.bfloat16)
    with pytest.raises(TypeError):
        post(preds)
    texts = engine._Float32Outputs(post)(preds)
    assert len(texts) == 2 and all(isinstance(text, str) for text, _ in texts)


def test_cpu_amp_uses_a_pass_through_scaler_without_cuda_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaler = engine._no_grad_scaler(torch.device("cpu"))
    assert not caught
    assert scaler and not scaler.is_enabled()
    loss = torch.tensor(3.0)
    assert scaler.scale(loss) is loss


def test_tensorboard_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ConfigError, match="pip install tensorboard"):
        engine._summary_writer_class()


def test_tensorboard_scalars_without_wandb(tmp_path, monkeypatch):
    written = []

    class FakeWriter:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, tag, value, step):
            written.append((tag, step))

        def close(self):
            written.append(("closed", None))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard",
                        types.SimpleNamespace(SummaryWriter=FakeWriter))
    monkeypatch.delitem(sys.modules, "wandb", raising=False)
    trainer = _trainer(tmp_path, ["Global.use_tensorboard=true", "Global.epoch_num=1",
                                  "Train.loader.batch_size_per_card=4"])
    trainer.train()
    assert "wandb" not in sys.modules
    assert ("TRAIN/loss", 2) in written and written[-1] == ("closed", None)


def test_a_foreign_tools_package_is_refused(tmp_path):
    openocr_dir = Path(sys.modules["openocr"].__file__).parent
    engine._check_tools_package(sys.modules["tools"], openocr_dir)   # the real one passes
    fake = types.ModuleType("tools")
    fake.__file__ = str(tmp_path / "tools" / "__init__.py")
    with pytest.raises(ImportError, match=str(tmp_path / "tools")):
        engine._check_tools_package(fake, openocr_dir)


def test_checkpoints_are_atomic_and_load_with_weights_only(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    cfg = {"Global": {"output_dir": str(tmp_path), "distributed": False, "path": Path("x")},
           "_config_dir": "not saved"}
    metrics = {"acc": np.float64(0.5), "each": np.array([1, 2]).tolist()}
    path = checkpoint.save_ckpt(model, cfg, optimizer, scheduler, epoch=3, global_step=7,
                                metrics=metrics, prefix="iter_0_7")
    assert Path(path).name == "latest.pth"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pth"]   # no temporary left over
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == 2 and saved["global_step"] == 7   # mid-epoch: 2 epochs complete
    assert saved["metrics"]["acc"] == 0.5 and saved["config"]["Global"]["path"] == "x"
    assert "_config_dir" not in saved["config"]


def test_pickled_objects_and_missing_files_are_refused(tmp_path):
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"state_dict": {}, "thing": Path("any Python object")}, unsafe)
    with pytest.raises(checkpoint.CheckpointError, match="weights_only"):
        checkpoint.read_checkpoint(unsafe)
    with pytest.raises(checkpoint.CheckpointError, match="nothere.pth"):
        checkpoint.load_ckpt(torch.nn.Linear(2, 2),
                             {"Global": {"checkpoints": str(tmp_path / "nothere.pth")}})
    torn = tmp_path / "torn.pth"
    torch.save({"state_dict": torch.nn.Linear(2, 2).state_dict()}, torn)
    torn.write_bytes(torn.read_bytes()[:100])
    with pytest.raises(checkpoint.CheckpointError, match="truncated or corrupt"):
        checkpoint.read_checkpoint(torn)


def _sar_model(overrides=()):
    from openrec.modeling import build_model
    from openrec.postprocess import build_post_process
    cfg = load_config(CONFIGS / "sar_r31.yml", overrides)
    post = build_post_process(cfg["PostProcess"], cfg["Global"])
    cfg["Architecture"]["Decoder"]["out_channels"] = post.get_character_num()
    return build_model(cfg["Architecture"]), post


def test_sar_forward_backward_and_masked_inference():
    from openrec.losses import build_loss
    from openrec.preprocess.ar_label_encode import ARLabelEncode
    torch.manual_seed(0)
    # full-size network; 5 decoding steps instead of 26 keep the test fast
    model, post = _sar_model(["Architecture.Decoder.max_len=5"])
    encode = ARLabelEncode(25, str(DICT))
    labels = [encode({"label": text}) for text in ("a1B2c3D4", "Zz09Yy18xx")]
    images = torch.randn(2, 3, 48, 64)   # the full-size network on a narrow canvas: fast
    ratios = torch.tensor([1.0, 0.5])
    batch = [images, torch.tensor(np.stack([l["label"] for l in labels])),
             torch.tensor([int(l["length"]) for l in labels]), ratios]
    model.train()
    loss = build_loss({"name": "ARLoss"})(model(images, data=batch[1:]), batch)["loss"]
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert torch.isfinite(loss) and grads and all(torch.isfinite(g).all() for g in grads)

    model.eval()
    with torch.no_grad():
        with pytest.raises(TypeError):   # how the engine's infer_rec passes valid ratios
            model(images, ratios.numpy())
        probs = infer_forward(model, images, ratios, "SAR")
    assert probs.shape[0] == 2 and len(post(probs)) == 2


@pytest.mark.parametrize("mixer", ["Local", "Global"])
def test_fused_eval_attention_matches_the_engines(mixer):
    from openrec.modeling.encoders.svtrnet import Attention
    torch.manual_seed(0)
    attention = Attention(64, num_heads=2, mixer=mixer, HW=[8, 64], local_k=[7, 11]).eval()
    x = torch.randn(2, 512, 64)
    with torch.no_grad():
        engine_result = Attention.forward.engine_forward(attention, x)
        assert torch.equal(attention(x), engine_result)   # off by default: the engine's
        with engine.fused_attention():
            assert torch.allclose(attention(x), engine_result, atol=1e-5)
            attention.train()   # training always runs the engine's code
            assert torch.equal(attention(x), Attention.forward.engine_forward(attention, x))
        assert not engine._fused_attention


def _svtr(height):
    from openrec.modeling.encoders.svtrnet import SVTRNet
    return SVTRNet(img_size=[height, 64], out_char_num=16, out_channels=32, patch_merging="Conv",
                   embed_dim=[16, 32, 32], depth=[1, 1, 1], num_heads=[1, 2, 2],
                   mixer=["Local", "Local", "Global"], local_mixer=[[3, 5]] * 3)


def test_a_fine_tune_may_change_the_input_height(tmp_path):
    torch.manual_seed(0)
    short, tall = _svtr(16), _svtr(32)
    with torch.no_grad():   # a position embedding that varies along the line only
        columns = torch.arange(16, dtype=torch.float32).expand(4, 16)   # 4x16 token grid
        short.pos_embed.copy_(columns.reshape(1, 64, 1).expand(1, 64, 16))
    path = tmp_path / "short.pth"
    torch.save({"state_dict": short.state_dict()}, path)
    with pytest.raises(RuntimeError, match="size mismatch"):   # the engine's plain load
        tall.load_state_dict(short.state_dict(), strict=False)
    checkpoint.load_weights(tall, path, strict=False)
    assert tall.pos_embed.shape == (1, 8 * 16, 16)
    grid = tall.pos_embed.detach().reshape(8, 16, 16)
    assert torch.allclose(grid, grid[:1].expand(8, 16, 16))   # each row like the old rows
    assert torch.allclose(grid[0, :, 0], torch.arange(16, dtype=torch.float32))
    assert tall.blocks1[0].mixer.mask.shape[-1] == 8 * 16     # the model's own mask stays
    assert torch.equal(tall.patch_embed.proj[0].conv.weight, short.patch_embed.proj[0].conv.weight)
    with pytest.raises(checkpoint.CheckpointError, match="does not fit"):   # resumes stay strict
        checkpoint.load_weights(tall, path, strict=True)
    assert tall(torch.randn(2, 3, 32, 64)).shape[0] == 2
