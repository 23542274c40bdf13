"""Synthetic video frames that follow the real challenge's facts (see DESIGN.md)."""
