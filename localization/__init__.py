"""Weakly supervised localisation of the account-ID watermark in full frames."""
