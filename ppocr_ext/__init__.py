"""Recognition, plugged into the OpenOCR engine: augmentations, datasets, the engine shim,
configs, training and inference, the CTC maths, posteriors (torch and ONNX), pseudo-labels,
ensembles, per-video consensus and self-/semi-supervised training. It never imports the
localiser; the kernel it stands on is `common`."""
