"""model.energy's estimates with the architecture resolved through the registry (``rtl.archs``).

model.energy takes the architecture's activity function as an argument (the model knows no architecture);
these wrappers look it up for the many report-level callers that have only a spec.
"""

from __future__ import annotations

from typing import Any

from model import energy
from model.energy_activity import Activity
from model.spec import DesignSpec
from rtl import archs


def activity(spec: DesignSpec) -> Activity:
    """The activity the estimate uses (random inputs, seed and vector count of model.energy) for ``spec``."""
    return energy.estimate_activity(spec, archs.get(spec.arch).activity)


def estimate_detail(spec: DesignSpec, cal: dict[str, Any] | None = None) -> energy.Estimate:
    """model.energy.estimate_detail with the spec's registered activity function."""
    return energy.estimate_detail(spec, archs.get(spec.arch).activity, cal)


def estimate(spec: DesignSpec, stage: str = "post-route") -> tuple[float, float]:
    """model.energy.estimate with the spec's registered activity function: (area_um2, energy_per_mac_pj)."""
    return energy.estimate(spec, archs.get(spec.arch).activity, stage)
