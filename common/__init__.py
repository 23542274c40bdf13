"""The kernel every stage stands on (synth, localization, ppocr_ext, pipeline); it imports
none of them."""
