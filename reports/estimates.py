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


def largest_first(specs: list[DesignSpec] | tuple[DesignSpec, ...]) -> list[int]:
    """Indices of ``specs``, the largest estimated design first (ties by id): the order a sweep submits its jobs in,
    so the long jobs start at once and the short ones fill the workers at the end (a tail of one short job rather
    than one long one). The model's post-synthesis area stands in for a job's cost: synthesis, simulation, routing
    all grow with the cell count, and the arch is in it (a serial PE is smaller than a parallel one of its width)."""
    cal = energy.load_calibration()
    area = {s: energy.estimate_detail(s, archs.get(s.arch).activity, cal).area_um2 for s in set(specs)}
    return sorted(range(len(specs)), key=lambda i: (-area[specs[i]], specs[i].id))
