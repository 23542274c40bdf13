"""Installable toolkit: low-resolution TikTok/Douyin ID recognition.

`make setup` installs torch and openocr-python with exact pins first (see Makefile),
then this package in editable mode with --no-deps, so that nothing here can pull an
unpinned torch.
"""
from setuptools import find_packages, setup

setup(
    name="tiktok-id-ocr",
    version="0.1.0",
    description="Weakly supervised localisation + SVTR/SAR recognition of account IDs "
                "in low-resolution video frames",
    packages=find_packages(include=["common", "common.*", "synth", "synth.*", "localization",
                                    "localization.*", "ppocr_ext", "ppocr_ext.*", "copydetect", "copydetect.*", "pipeline",
                                    "pipeline.*"]),
    package_data={"common": ["dicts/*.txt"]},
    python_requires=">=3.10",
)
