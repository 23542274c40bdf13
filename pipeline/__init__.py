"""End to end: full frames in, located box + ID + k best readings out (and its benchmarks,
the ONNX export of both stages). The only package that knows both stages."""
