"""The kernel every stage stands on: label files and image names, LMDB reading and
writing, the by-video split, atomic files, image suffixes and decoding, hardware (bf16,
the machine description), ONNX export helpers, config overrides, and the dictionaries.

It imports no stage: `synth`, `localization`, `ppocr_ext` and `pipeline` import it
(tests/test_layout.py checks the graph)."""
