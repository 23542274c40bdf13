"""Names this project adds to the engine's plain name maps.

The engine (openocr-python 0.1.5) looks transforms up in
`openrec.preprocess.MODULE_MAPPING`, datasets in `tools.data.DATASET_MODULES` and losses
in `openrec.losses.name_to_module`, each a map from a config name to a module path.
`ppocr_ext.engine.load_engine()` merges the maps below into them, so a config can name our
plugins exactly like built-in ones.
Add one line per plugin: config name -> module that defines a class of that name.
"""

TRANSFORMS: dict[str, str] = {
    "TIA": "ppocr_ext.augment.tia",
    "StandardAug": "ppocr_ext.augment.standard",
    "LowResAug": "ppocr_ext.augment.lowres",
    "RobustnessAug": "ppocr_ext.augment.robustness",
}

DATASETS: dict[str, str] = {
    "SynthCropDataSet": "ppocr_ext.synth_dataset",
}

LOSSES: dict[str, str] = {
    "AlignedCTCLoss": "ppocr_ext.aligned_ctc",
}
