"""`SynthCropDataSet`: an endless stream of rendered ID-line crops (`synth.crops`) for the
engine's training loop, with real crops mixed in at a ratio.

Sample `i` is a pure function of `(seed, i)`: the engine's loader asks for global sample
indices (`ppocr_ext.engine.StreamSampler`: epoch `e` covers `e * samples_per_epoch ...`),
so no crop repeats across epochs, the curriculum follows the global position, and a
resumed run renders exactly the crops the interrupted one would have. `__len__` is one
epoch (it sets the engine's steps per epoch, its LR schedule and eval cadence).

Curriculum: sample `i`'s difficulty is `ramp(i) * u**0.5` (`u` uniform), `ramp` rising
linearly from `start_difficulty` to 1 over `ramp_samples`: clean, short, large, tight
crops first, so CTC leaves its all-blank stall, then the full randomisation, while easy
crops keep appearing.

Config (`Train.dataset`):
    name: SynthCropDataSet
    seed: 0
    samples_per_epoch: 64000
    ramp_samples: 200000
    start_difficulty: 0.0
    font_split: train            # synth.fonts.SPLITS; `heldout` renders the unseen domain
    wide_faces: false            # with the wide training faces (synth.fonts, release 9)
    photos: null                 # a folder of background photos
    real_data_dir: null          # a folder of LMDBs of real crops (a localiser's output),
                                 # or a list of such folders (several localiser runs) ...
    real_ratio: 0.0              # ... drawn for this fraction of the samples
    corrupt_prob: 0.0            # crops under the robustness catalogue's corruptions
                                 # (synth.crops.corrupt_crop; rendered: x difficulty; real
                                 # crops: photometric ones, at this probability)
    corrupt_names: null          # ... drawn from these names of common.corruptions.CATALOGUE
                                 # only (null: all of them)
    lighten_prob: 0.0            # crops (rendered or real) lifted by a gamma below 1, as if
                                 # the mark sat on a bright scene (synth.crops.lighten_crop)
    align_targets: false         # also yield `glyph_spans` (each glyph's ink across the
                                 # crop, NaN for real crops) for ppocr_ext.aligned_ctc;
                                 # KeepKeys must then keep [image, label, length, glyph_spans]
    align_samples: null          # spans for the first this many global samples only (NaN
                                 # after): the alignment ends the stall, then CTC alone
    transforms: [DecodeImage, CTCLabelEncode, ...]   # as for LMDBDataSet
"""
from __future__ import annotations

import cv2
import numpy as np
from torch.utils.data import Dataset

from common.corruptions import known as known_corruptions
from common.lmdb_io import lmdbs_under, read_lmdb
from ppocr_ext.aligned_ctc import SPANS_KEEP_KEYS, kept_keys, keeps_spans
from synth.backgrounds import list_photos
from synth.crops import CropConfig, corrupt_crop, lighten_crop, render_aligned_crop, render_crop
from synth.fonts import font_catalog

# `data_dir` is accepted (and unused) so a config can inherit an LMDBDataSet section
KEYS = ("name", "data_dir", "seed", "samples_per_epoch", "ramp_samples", "start_difficulty",
        "font_split", "wide_faces", "photos", "real_data_dir", "real_ratio", "corrupt_prob",
        "corrupt_names", "lighten_prob", "align_targets", "align_samples", "transforms", "ext_op_transform_idx")
RETRY_STRIDE = 1_000_003   # a sample the transforms reject is replaced by i + this


def encode_png(image: np.ndarray) -> bytes:
    """Lossless and fast (compression 1): the crop's JPEG loss is already rendered."""
    return cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()


def fixed_crop_samples(seed: int, count: int, split: str, difficulty: tuple[float, float],
                       photos: tuple = ()):
    """`(name, png bytes, ID)` of `count` crops, difficulty uniform over the range: the
    fixed evaluation sets (`tools/render_crops.py`)."""
    catalog, config = font_catalog(split), CropConfig(photos=photos)
    for index in range(count):
        rng = np.random.default_rng((seed, index))
        image, label = render_crop(rng, catalog, rng.uniform(*difficulty), config, split=split)
        yield f"{split}_{seed}_{index:06d}", encode_png(image), label


class SynthCropDataSet(Dataset):
    """See the module docstring; the signature is the engine's dataset signature."""
    stream = True   # engine.TrainLoader feeds it global indices (StreamSampler)
    need_reset = False

    def __init__(self, config, mode, logger, seed=None, epoch=1, task="rec"):
        from openrec.preprocess import create_operators

        dataset = config[mode]["dataset"]
        unknown = sorted(set(dataset) - set(KEYS))
        if unknown:
            raise ValueError(f"{mode}.dataset: unknown key(s) {unknown} for SynthCropDataSet; "
                             f"known: {', '.join(KEYS)}")
        self.seed = int(dataset.get("seed", 0))
        self.samples_per_epoch = int(dataset.get("samples_per_epoch", 64000))
        self.ramp_samples = max(1, int(dataset.get("ramp_samples", 200000)))
        self.start_difficulty = float(dataset.get("start_difficulty", 0.0))
        self.split = dataset.get("font_split", "train")
        photos = tuple(list_photos(dataset["photos"])) if dataset.get("photos") else ()
        self.corrupt_prob = float(dataset.get("corrupt_prob", 0.0))
        if not 0.0 <= self.corrupt_prob <= 1.0:
            raise ValueError(f"{mode}.dataset.corrupt_prob must be in [0, 1], got {self.corrupt_prob}")
        try:
            self.corrupt_names = known_corruptions(dataset.get("corrupt_names") or ())
        except ValueError as error:
            raise ValueError(f"{mode}.dataset.corrupt_names: {error}") from None
        self.crop_config = CropConfig(photos=photos, corrupt_prob=self.corrupt_prob,
                                      corrupt_names=self.corrupt_names)
        self.lighten_prob = float(dataset.get("lighten_prob", 0.0))
        if not 0.0 <= self.lighten_prob <= 1.0:
            raise ValueError(f"{mode}.dataset.lighten_prob must be in [0, 1], got {self.lighten_prob}")
        self.catalog = font_catalog(self.split, wide=bool(dataset.get("wide_faces", False)))
        self.real_ratio = float(dataset.get("real_ratio", 0.0))
        self.real = []
        real_dirs = dataset.get("real_data_dir") or []
        for root in [real_dirs] if isinstance(real_dirs, str) else real_dirs:
            folders = lmdbs_under(root)
            if not folders:
                raise ValueError(f"{mode}.dataset.real_data_dir: no LMDB at or below {root!r}")
            for folder in folders:
                self.real += read_lmdb(folder)
        if real_dirs and not self.real:
            raise ValueError(f"{mode}.dataset.real_data_dir = {real_dirs!r} holds no LMDB samples")
        if self.real_ratio > 0 and not self.real:
            raise ValueError(f"{mode}.dataset.real_ratio is {self.real_ratio} but no "
                             "real_data_dir is given")
        self.align_targets = bool(dataset.get("align_targets", False))
        self.max_glyphs = int(config["Global"].get("max_text_length", 25))
        self.align_samples = dataset.get("align_samples")
        if self.align_samples is not None and not (isinstance(self.align_samples, int)
                                                   and self.align_samples > 0):
            raise ValueError(f"{mode}.dataset.align_samples must be a positive integer or null, "
                             f"got {self.align_samples!r}")
        if self.align_targets and not keeps_spans(dataset["transforms"]):
            raise ValueError(f"{mode}.dataset.align_targets needs the KeepKeys transform to "
                             f"keep {SPANS_KEEP_KEYS} first; it keeps {kept_keys(dataset['transforms'])}")
        self.ops = create_operators(dataset["transforms"], config["Global"])
        logger.info(f"SynthCropDataSet: {len(self.catalog.latin)} Latin / "
                    f"{len(self.catalog.cjk)} CJK faces ({self.split}), {len(photos)} photos, "
                    f"{len(self.real)} real crops at ratio {self.real_ratio}, "
                    f"corruptions at {self.corrupt_prob}, glyph spans {self.align_targets}, "
                    f"{self.samples_per_epoch} samples per epoch")

    def __len__(self) -> int:
        return self.samples_per_epoch

    def difficulty(self, index: int, u: float) -> float:
        ramp = min(1.0, self.start_difficulty
                   + (1 - self.start_difficulty) * index / self.ramp_samples)
        return ramp * u ** 0.5

    def sample(self, index: int) -> tuple[bytes, str]:
        """The encoded image and label of global sample `index`."""
        return self.sample_spans(index)[:2]

    def sample_spans(self, index: int) -> tuple[bytes, str, np.ndarray | None]:
        """`sample` and where each glyph lies across the crop (None for a real crop)."""
        rng = np.random.default_rng((self.seed, index))
        if self.real and rng.random() < self.real_ratio:
            image, label = self.real[int(rng.integers(len(self.real)))]
            corrupt = self.corrupt_prob > 0 and rng.random() < self.corrupt_prob
            lighten = self.lightens(rng)
            if corrupt or lighten:
                decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
                if corrupt:
                    decoded = corrupt_crop(rng, decoded, names=self.corrupt_names)
                if lighten:
                    decoded = lighten_crop(rng, decoded)
                image = encode_png(decoded)
            return image, label, None
        crop = render_aligned_crop(rng, self.catalog, self.difficulty(index, rng.random()),
                                   self.crop_config, split=self.split)
        image = lighten_crop(rng, crop.image) if self.lightens(rng) else crop.image
        return encode_png(image), crop.label, crop.spans

    def lightens(self, rng) -> bool:
        """Whether this sample is lightened; no draw at all when lighten_prob is 0, so the
        streams of earlier configs stay byte for byte what they were."""
        return self.lighten_prob > 0 and rng.random() < self.lighten_prob

    def padded_spans(self, spans: np.ndarray | None) -> np.ndarray:
        """(max_text_length, 2) float32, NaN rows where there is no glyph."""
        out = np.full((self.max_glyphs, 2), np.nan, np.float32)
        if spans is not None:
            out[:min(len(spans), self.max_glyphs)] = spans[:self.max_glyphs]
        return out

    def __getitem__(self, index: int):
        from openrec.preprocess import transform

        for attempt in range(10):
            image, label, spans = self.sample_spans(int(index) + attempt * RETRY_STRIDE)
            data = {"image": image, "label": label}
            if self.align_targets:
                aligned = self.align_samples is None or int(index) < self.align_samples
                data["glyph_spans"] = self.padded_spans(spans if aligned else None)
            outs = transform(data, self.ops)
            if outs is not None:
                return outs
        raise RuntimeError(f"SynthCropDataSet: the transforms rejected sample {index} and "
                           "9 replacements; check Train.dataset.transforms")
