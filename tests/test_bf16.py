"""Training configs ask for bf16 autocast; common.hardware grants it only where the
hardware does bf16, since emulated bf16 is several times slower than fp32."""
import logging

import pytest

from common import hardware as bf16


@pytest.fixture
def hardware(monkeypatch):
    """Set whether the (pretended) device has native bf16; reports start afresh."""
    monkeypatch.setattr(bf16, "_reported", set())

    def set_native(native: bool):
        monkeypatch.setattr(bf16, "native_bf16", lambda device="cpu": native)
    return set_native


def test_bf16_is_granted_only_where_native(hardware):
    hardware(True)
    assert bf16.bf16_where_native(True) is True
    assert bf16.bf16_where_native(False) is False
    hardware(False)
    assert bf16.bf16_where_native(True) is False


def test_the_fallback_to_fp32_is_logged_once_per_key(hardware, caplog):
    hardware(False)
    with caplog.at_level(logging.WARNING, logger="common.hardware"):
        for _ in range(3):
            bf16.bf16_where_native(True, key="train.bf16")
        bf16.bf16_where_native(True, key="Global.use_amp")
        bf16.bf16_where_native(False, key="other.key")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("train.bf16: true") and "fp32" in messages[0]
    assert messages[1].startswith("Global.use_amp: true")
