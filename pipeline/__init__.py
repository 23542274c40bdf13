"""End to end: full frames in, located box + ID + k best readings out (and its benchmark)."""
