"""The architecture registry: one :class:`Architecture` descriptor per PE micro-architecture.

A descriptor bundles every part the project needs of an architecture: the RTL generator, the timing the
RTL has, the cycle model, the activity function of the area/energy model, the plot style and a one-line
description. Adding an architecture is one module here (``rtl/archs/<name>.py`` defining ``ARCH``) plus
one line in :data:`REGISTRY`; nothing else dispatches on the arch name. The registry lives in the rtl
layer because the generator is rtl code; the model stays architecture-agnostic (``model.cycle`` and
``model.energy_activity`` provide the machinery, the descriptors pick from it).

Every program entry resolves a spec's arch through :func:`get` before doing anything, so an unknown
arch is one clear error naming the registered ones.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from common.registry import RegistryError as RegistryError  # re-exported: the registry's error
from common.registry import check_all, lookup
from model.spec import ARCH_FORM, DesignSpec, SpecError

if TYPE_CHECKING:
    import numpy as np

    from model.cycle import CycleModel
    from model.energy_activity import Activity
    from rtl.design import ArchDesign

Manifest = Mapping[str, Any] | Path | str


@dataclass(frozen=True)
class Style:
    """How the reports draw an architecture (matplotlib colour and marker, legend label)."""

    color: str
    marker: str
    label: str


@dataclass(frozen=True)
class Architecture:
    """Everything the project needs of one architecture; every field must be filled (see :func:`check`)."""

    name: str
    """The ``arch`` of a spec and the first word of its id (lower-case letters and digits)."""
    description: str
    """One line: what the PE is (shown by ``python -m rtl spec``)."""
    generate: Callable[[DesignSpec], ArchDesign]
    """spec -> the generated Verilog modules, latency, II and pipeline description (rtl.design.ArchDesign)."""
    timing: Callable[[DesignSpec], tuple[int, int]]
    """spec -> (latency_cycles, initiation_interval) the generated RTL has (the manifest's definition)."""
    cycle_model: Callable[[DesignSpec, Manifest | None], CycleModel]
    """(spec, manifest or None) -> a fresh cycle model (model.cycle); a given manifest is checked first."""
    activity: Callable[[DesignSpec, np.ndarray, np.ndarray], Activity]
    """(spec, w words, a words) -> parts and toggles per dot product (model.energy_activity.Activity)."""
    style: Style
    """Plot colour, marker and label (reports.plots)."""


PARTS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Architecture))
CALLABLE_PARTS: tuple[str, ...] = ("generate", "timing", "cycle_model", "activity")


from rtl.archs import baseline, parallel, scalable, serial  # noqa: E402  (the modules build their ARCH from the classes above)

REGISTRY: dict[str, Architecture] = {
    "parallel": parallel.ARCH,
    "serial": serial.ARCH,
    "baseline": baseline.ARCH,
    "scalable": scalable.ARCH,
}
"""Every architecture, in report order: one line each."""

OUT_OF_DEFAULT_SWEEP: frozenset[str] = frozenset({"scalable"})
"""Registered architectures the default PPA sweep (``make ppa``, ``reports.sweep.flow_specs``) leaves out: the
run-time-precision PE is measured at chosen run-time widths by ``bench/scalable.py`` (README); ``--archs`` names it
to sweep it anyway. Verification, the cycle model and the energy model cover every registered arch."""


def problems(key: str, arch: Any) -> list[str]:
    """What is wrong with the descriptor filed under ``key`` (empty when it is complete)."""
    if not isinstance(arch, Architecture):
        return [f"registry entry {key!r} is a {type(arch).__name__}, not an rtl.archs.Architecture"]
    out = []
    if arch.name != key:
        out.append(f"registry key {key!r} differs from its descriptor's name {arch.name!r}")
    if not isinstance(arch.name, str) or not re.fullmatch(ARCH_FORM, arch.name):
        out.append(f"name {arch.name!r} is not a lower-case name (a letter, then letters or digits)")
    if not isinstance(arch.description, str) or not arch.description.strip() or "\n" in arch.description:
        out.append("description must be one non-empty line")
    out += [f"{part} is not callable (got {getattr(arch, part)!r})" for part in CALLABLE_PARTS
            if not callable(getattr(arch, part))]
    style = arch.style
    if not isinstance(style, Style):
        out.append(f"style must be an rtl.archs.Style, got {style!r}")
    else:
        out += [f"style.{f} is empty" for f in ("color", "marker", "label")
                if not isinstance(getattr(style, f), str) or not getattr(style, f)]
    return [f"arch {key!r}: {p}" for p in out]


def check(registry: Mapping[str, Any] | None = None) -> None:
    """Raise RegistryError naming every missing or malformed part of every registered architecture."""
    reg = REGISTRY if registry is None else registry
    check_all(reg, "architecture", problems, [] if reg else ["no architecture is registered"])


def names() -> tuple[str, ...]:
    """The registered arch names, in registry order."""
    return tuple(REGISTRY)


def swept_names() -> tuple[str, ...]:
    """The registered arch names the default PPA sweep measures (all but :data:`OUT_OF_DEFAULT_SWEEP`), in order."""
    return tuple(n for n in REGISTRY if n not in OUT_OF_DEFAULT_SWEEP)


def get(name: str) -> Architecture:
    """The descriptor of a registered arch; SpecError naming the registered ones for any other name."""
    return lookup(REGISTRY, name, "arch", "architecture", problems, SpecError)


def registered(spec: DesignSpec) -> DesignSpec:
    """The spec itself once its arch is known to the registry (SpecError otherwise): use where a spec enters."""
    get(spec.arch)
    return spec


def cycle_model(spec: DesignSpec, manifest: Manifest | None = None) -> CycleModel:
    """``get(spec.arch).cycle_model(spec, manifest)``: a fresh cycle model, checked against a given manifest."""
    return get(spec.arch).cycle_model(spec, manifest)


def timing(spec: DesignSpec) -> tuple[int, int]:
    """``get(spec.arch).timing(spec)``: (latency_cycles, initiation_interval) of the generated RTL."""
    return get(spec.arch).timing(spec)
