"""The flow's metrics file ``build/<id>/flow/metrics.json``: OpenLane names, atomic writes, provenance.

Stable API (the back end builds on it):
- ``read_metrics(path) -> dict`` ({} when the file is missing).
- ``merge_metrics(path, values, provenance=None, stage=None)``: add flat metric values (OpenLane names,
  units below) and a provenance record under ``"provenance": {<stage>: {...}}``.
- ``set_status(path, status)``: the ``"flow__status"`` marker: ``"running <stage>"`` while a stage runs,
  ``"failed at <stage>: ..."`` after a failure, ``"ok"`` only when every requested stage finished.
  A reader must treat any status other than ``"ok"`` as incomplete.
- ``fmax_mhz(clock_ns, setup_ws_ns)``: derived fmax (OpenLane has no fmax key).
Units (OpenLane's): time ns, area um^2, power W, energy J (``*__pj`` keys are pJ), frequency MHz.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from common.files import atomic_write_json
from common.state import load_state

STATUS_KEY = "flow__status"
PROVENANCE_KEY = "provenance"

METRIC_UNITS: dict[str, str] = {
    "design__instance__count": "cells",
    "design__instance__area": "um^2",
    "clock__period": "ns",
    "timing__setup__ws": "ns (worst over corners)",
    "timing__hold__ws": "ns (worst over corners)",
    "timing__setup__ws__propagated": "ns (worst over corners, propagated clocks: the clock's cells and nets counted, no clock tree)",
    "timing__hold__ws__propagated": "ns (worst over corners, propagated clocks: the clock's cells and nets counted, no clock tree)",
    "timing__fmax__mhz": ("MHz at the worst corner: 1000 / the shortest period meeting setup (register paths: "
                          "period - slack; clock-gating checks, half-period paths: period - 2 x slack)"),
    "power__internal__total": "W",
    "power__switching__total": "W",
    "power__leakage__total": "W",
    "power__total": "W",
    "power__energy_per_dot__pj": "pJ per output y (one N-element dot product)",
    "power__energy_per_mac__pj": "pJ per multiply-accumulate (energy per dot / N)",
}
"""Units of the headline metrics; ``__corner:<c>`` variants share the unit of their base name."""


def read_metrics(path: Path | str) -> dict[str, Any]:
    """The metrics dict, or {} when there is no file yet or it is damaged (one warning line, via the state
    loader: a run then starts it afresh)."""
    return load_state(path, "metrics file", then="treated as absent") or {}


def merge_metrics(
    path: Path | str,
    values: Mapping[str, Any],
    provenance: Mapping[str, Any] | None = None,
    stage: str | None = None,
) -> dict[str, Any]:
    """Add ``values`` (and ``provenance`` under ``provenance[stage]``) to the file; returns the new dict."""
    data = read_metrics(path)
    data.update(values)
    if provenance is not None:
        if not isinstance(data.get(PROVENANCE_KEY), dict):
            data[PROVENANCE_KEY] = {}
        data[PROVENANCE_KEY][stage or "unknown"] = dict(provenance)
    atomic_write_json(path, data)
    return data


def set_status(path: Path | str, status: str) -> None:
    """Set the ``flow__status`` marker; anything but ``"ok"`` means the metrics are incomplete."""
    data = read_metrics(path)
    data[STATUS_KEY] = status
    atomic_write_json(path, data)


def is_complete(metrics: Mapping[str, Any]) -> bool:
    return metrics.get(STATUS_KEY) == "ok"


def corner_key(name: str, corner: str) -> str:
    """OpenLane's per-corner metric name, e.g. ``timing__setup__ws__corner:tt``."""
    return f"{name}__corner:{corner}"


def fmax_mhz(clock_ns: float, setup_ws_ns: float) -> float:
    """Highest clock frequency meeting setup: the critical path is (period - slack) long."""
    critical_ns = clock_ns - setup_ws_ns
    if critical_ns <= 0:
        raise ValueError(f"critical path {critical_ns} ns is not positive (period {clock_ns}, slack {setup_ws_ns})")
    return 1000.0 / critical_ns
