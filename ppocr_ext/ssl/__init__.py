"""Self- and semi-supervised recognition from unlabeled crops (issue 8).

- `dig`: DiG pre-training of the recogniser's own encoder (SVTRNet): masked-image
  modelling of 4x4 patches + a momentum contrastive branch; exports `encoder.pth`
  with the recogniser's key names (`Global.pretrained_model` loads it).
- `consistency` / `semi`: semi-supervised fine-tuning, CTC on labelled crops plus
  per-position consistency between an EMA teacher (weak view) and the student
  (strong view) on unlabeled crops.
- `masking`, `ema`, `data`, `loop`: the parts both share.

Entry points: tools/pretrain_ssl.py, tools/train_semi.py, tools/bench_ssl.py.
"""
