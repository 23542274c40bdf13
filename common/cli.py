"""Command-line argument types shared by every tool."""
import argparse


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (`--batch-size 0` used to fail deep inside)."""
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
