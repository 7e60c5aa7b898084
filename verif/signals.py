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
    """The signal as a ``width``-bit two's complement integer, or None when any bit is X or Z."""
    try:
        return to_signed(handle.value.to_unsigned(), width)
    except ValueError:
        return None
