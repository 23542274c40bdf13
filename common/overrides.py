"""Checks shared by the recogniser's and the localiser's `-o key=value` overrides."""


def replaces_number_with_non_number(old, new) -> bool:
    """True when a config number would be overridden by something else (`lr=fast`,
    `ddt.threshold=abc`), which would otherwise fail late and deep inside a run."""
    def is_number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return is_number(old) and not is_number(new)
