"""Reading DUT handles in cocotb benches: X/Z become None instead of raising."""

from __future__ import annotations

from model.contract import to_signed

HALF_PERIOD_NS = 5
"""Half of the benches' 10 ns clock period."""


def read_bit(handle) -> int | None:
    """0 or 1, or None when the signal is X or Z."""
    try:
        return int(handle.value)
    except ValueError:  # X or Z
        return None


def read_signed(handle, width: int) -> int | None:
    """The signal as a ``width``-bit two's complement integer, or None when any bit is X or Z. A 1-bit port
    (twos W1A1 N1: y in {-1, 0}) reads as a cocotb Logic, which has no ``to_unsigned``."""
    try:
        value = handle.value
        return to_signed(value.to_unsigned() if hasattr(value, "to_unsigned") else int(value), width)
    except ValueError:
        return None
