"""Run the cocotb regression bench (``verif.bench``) on one design, through :func:`verif.sim.simulate`.

A :class:`~verif.sim.SimTarget` says what to simulate (top, Verilog sources, claimed latency and II), so
the same bench runs on the generated RTL (from its manifest), on a gate-level netlist (netlist +
cell models, another top) or on the bench's own reference PE. Every run gets its own build
folder ``build/<id>/verif/<sim>[-<label>][-waves]/``; the simulator runs as a subprocess.
This module only says what to run and collects the verdict: building and running is ``verif.sim``'s.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from common.errors import BitbranchError
from common.lock import design_lock
from model.contract import check_manifest, manifest_files, read_manifest
from model.spec import DesignSpec
from verif.runtime import is_runtime
from verif.sim import SimError, SimTarget, check_simulator, simulate
from verif.stimulus import StimulusConfig


@dataclass(frozen=True)
class RunOptions:
    """How to run: simulator, waves, stimulus (seed, traffic) or a plain throughput stream."""

    sim: str = "icarus"
    waves: bool = False
    stimulus: StimulusConfig = field(default_factory=StimulusConfig)
    mode: str = "full"  # "full" (all checks + coverage) or "throughput" (back-to-back vectors)
    count: int = 1000  # vectors in throughput mode
    root: Path = Path("build")
    save_trace: bool = True


@dataclass(frozen=True)
class VerifResult:
    """One run's outcome; ``data`` is the bench's result JSON (checks, coverage, timings)."""

    spec_id: str
    sim: str
    label: str
    passed: bool
    data: dict[str, Any]
    run_dir: Path
    error: str | None = None
    wall_seconds: float = 0.0

    def summary_line(self) -> str:
        if self.error:
            return f"{self.spec_id} [{self.sim} {self.label}]: ERROR {self.error}"
        return f"{self.spec_id} [{self.sim} {self.label}]: {'PASS' if self.passed else 'FAIL'}"


def target_from_manifest(spec: DesignSpec, manifest_path: Path) -> SimTarget:
    """The generated RTL as a SimTarget, after checking its manifest against the spec."""
    manifest = read_manifest(manifest_path)
    check_manifest(spec, manifest)
    files = tuple(Path(p).resolve() for p in manifest_files(manifest, Path(manifest_path).parent))
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise BitbranchError(f"manifest {manifest_path} lists missing file(s) {', '.join(missing)}: rerun `make rtl`")
    return SimTarget(
        top=str(manifest["top"]),
        sources=files,
        latency=int(manifest["latency_cycles"]),
        ii=int(manifest["initiation_interval"]),
        bench="verif.bench_runtime" if is_runtime(manifest) else "verif.bench",
    )


def rtl_target(spec: DesignSpec, root: Path) -> SimTarget:
    """Generate (or reuse, the generator is deterministic) the RTL of a spec and describe it."""
    try:
        from rtl.generate import generate
    except ImportError as e:
        raise BitbranchError(f"the RTL generator is not available ({e}): run `make rtl` first") from None
    return target_from_manifest(spec, generate(spec, root))


def check_label(label: str) -> str:
    """A run label names a folder under ``build/<id>/verif/``: a plain name, so it cannot point elsewhere."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", str(label)) or ".." in str(label):
        raise BitbranchError(f"--label {label!r} must be a plain name (letters, digits, _ . -; no '..' or '/'), "
                             f"e.g. --label gl")
    return label


def netlist_target(
    spec: DesignSpec, rtl_manifest: Path, netlist: Sequence[Path], cell_models: Sequence[Path],
    top: str | None = None, label: str = "gl", defines: Sequence[tuple[str, str]] = (),
) -> SimTarget:
    """A gate-level netlist (plus cell Verilog models) checked against the RTL manifest's timing."""
    check_label(label)
    rtl = target_from_manifest(spec, rtl_manifest)
    return SimTarget(
        top=top or rtl.top,
        sources=tuple(Path(p).resolve() for p in [*cell_models, *netlist]),
        latency=rtl.latency,
        ii=rtl.ii,
        label=label,
        defines=tuple(defines),
        bench=rtl.bench,
    )


def run_dir_for(spec: DesignSpec, target: SimTarget, opts: RunOptions) -> Path:
    suffix = ("" if target.label == "rtl" else f"-{target.label}") + ("-waves" if opts.waves else "")
    return spec.build_dir(opts.root).resolve() / "verif" / f"{opts.sim}{suffix}"


def run(spec: DesignSpec, target: SimTarget, opts: RunOptions) -> VerifResult:
    """Build and simulate one target; never raises for a failing design, only for a bad setup.

    Holds the design's lock (``common.lock``) while it writes under ``build/<id>/verif/``."""
    check_simulator(opts.sim)
    with design_lock(spec.build_dir(opts.root)):
        return _run(spec, target, opts)


def _run(spec: DesignSpec, target: SimTarget, opts: RunOptions) -> VerifResult:
    run_dir = run_dir_for(spec, target, opts)
    verif_dir = run_dir.parent
    name = f"{opts.sim}" + ("" if target.label == "rtl" else f"_{target.label}")
    result_path = verif_dir / f"result_{name}.json"
    trace_path = verif_dir / f"trace_{name}_s{opts.stimulus.seed}.json" if opts.save_trace else None
    if trace_path is not None:
        trace_path.unlink(missing_ok=True)
    config = {
        "spec": spec.to_dict(),
        "sim": opts.sim,
        "label": target.label,
        "latency": target.latency,
        "ii": target.ii,
        "mode": opts.mode,
        "count": opts.count,
        "seed": opts.stimulus.seed,
        "stimulus": asdict(opts.stimulus),
        "trace_path": str(trace_path) if trace_path else None,
        "result_path": str(result_path),
    }
    try:
        r = simulate(target, target.bench, config, opts.sim, run_dir, waves=opts.waves)
    except SimError as e:
        return VerifResult(spec.id, opts.sim, target.label, False, {}, run_dir, error=str(e))
    if not r.result:
        return VerifResult(spec.id, opts.sim, target.label, False, {}, run_dir, wall_seconds=r.wall_seconds,
                           error=f"the bench failed before its checks; see {r.sim_log}")
    return VerifResult(spec.id, opts.sim, target.label, bool(r.result["passed"]), r.result, run_dir,
                       wall_seconds=r.wall_seconds)
