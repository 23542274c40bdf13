"""Plugins into the OpenOCR engine: transforms, datasets, engine shim, metrics."""
