"""OpenLane 2 / LibreLane back end: write a per-design config.json, run it when possible, read its metrics.

The config is useful output even where OpenLane cannot run (no openroad, no container engine):
users take ``build/<id>/flow/openlane/`` to a machine with ``openlane --dockerized``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from common.errors import BitbranchError
from common.files import atomic_write_text

OPENLANE_METRIC_PREFIXES: tuple[str, ...] = (
    "design__die__area",
    "design__core__area",
    "design__instance__area",
    "design__instance__count",
    "route__wirelength",
    "magic__drc_error__count",
    "design__lvs_error__count",
    "route__antenna_violation__count",
    "timing__setup__ws",
    "timing__hold__ws",
    "power__internal__total",
    "power__switching__total",
    "power__leakage__total",
    "power__total",
)
"""OpenLane metric names (and their ``__corner:<c>`` variants) carried into bitbranch's metrics.json."""


@dataclass(frozen=True)
class OpenLaneConfig:
    """What an OpenLane 2 run of one PE needs: top, sources, clock, PDK and floorplan sizing."""

    design_name: str
    verilog_files: tuple[str, ...]  # file names under the config's src/ folder
    clock_port: str
    clock_period_ns: float
    pdk: str = "sky130A"
    std_cell_library: str = "sky130_fd_sc_hd"
    core_util_pct: int = 50
    target_density_pct: int = 60
    adder_type: str | None = None  # OpenLane's SYNTH_ADDER_TYPE ("FA" for ADDER=fa); None: OpenLane's default

    def __post_init__(self) -> None:
        if not self.verilog_files:
            raise BitbranchError(f"OpenLane config for {self.design_name}: no Verilog files (run `make rtl` first)")
        if not self.clock_period_ns > 0:
            raise BitbranchError(f"clock period must be > 0 ns, got {self.clock_period_ns} (set CLOCK_NS)")
        if not 1 <= self.core_util_pct <= 95:
            raise BitbranchError(f"core utilisation {self.core_util_pct}% out of range: use 1..95")


ADDER_TYPES = {"abc": None, "fa": "FA"}
"""bitbranch's ADDER -> OpenLane's SYNTH_ADDER_TYPE (``FA``: its full-adder techmap of sky130_fd_sc_hd)."""


def config_dict(cfg: OpenLaneConfig) -> dict[str, Any]:
    """The OpenLane 2 config.json content (``meta.version`` 2; paths relative to the config via ``dir::``)."""
    return {
        "meta": {"version": 2, "flow": "Classic"},
        "DESIGN_NAME": cfg.design_name,
        "VERILOG_FILES": [f"dir::src/{f}" for f in cfg.verilog_files],
        "CLOCK_PORT": cfg.clock_port,
        "CLOCK_PERIOD": cfg.clock_period_ns,
        "PDK": cfg.pdk,
        "STD_CELL_LIBRARY": cfg.std_cell_library,
        "FP_SIZING": "relative",
        "FP_CORE_UTIL": cfg.core_util_pct,
        "PL_TARGET_DENSITY_PCT": cfg.target_density_pct,
        **({"SYNTH_ADDER_TYPE": cfg.adder_type} if cfg.adder_type else {}),
    }


def write_config(cfg: OpenLaneConfig, sources: Sequence[Path], out_dir: Path) -> Path:
    """Copy the sources to out_dir/src and write out_dir/config.json (byte-identical for the same inputs)."""
    names = [Path(s).name for s in sources]
    if tuple(names) != cfg.verilog_files:
        raise BitbranchError(f"OpenLane config lists {cfg.verilog_files} but sources are {names}")
    for s in sources:
        if not Path(s).is_file():
            raise BitbranchError(f"Verilog source {s} does not exist: run `make rtl` for this design first")
        atomic_write_text(out_dir / "src" / Path(s).name, Path(s).read_text())
    return atomic_write_text(out_dir / "config.json", json.dumps(config_dict(cfg), indent=2, sort_keys=True) + "\n")


def select_metrics(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the OpenLane metrics bitbranch reports (exact names and their ``__corner:`` variants)."""
    return {
        k: v
        for k, v in sorted(raw.items())
        if any(k == p or k.startswith(p + "__corner:") for p in OPENLANE_METRIC_PREFIXES)
    }


def read_metrics(path: Path) -> dict[str, Any]:
    """Read an OpenLane ``runs/<tag>/final/metrics.json``; one clear error if it is missing or malformed."""
    if not path.is_file():
        raise BitbranchError(f"OpenLane metrics file {path} not found: did the run finish? see its flow.log")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BitbranchError(f"OpenLane metrics file {path} is not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(raw, dict):
        raise BitbranchError(f"OpenLane metrics file {path} holds {type(raw).__name__}, expected a JSON object")
    picked = select_metrics(raw)
    if not picked:
        raise BitbranchError(f"OpenLane metrics file {path} has none of the expected keys (e.g. design__die__area)")
    return picked


@dataclass(frozen=True)
class Runner:
    """How OpenLane can be started here: the command prefix, or why it cannot."""

    argv: tuple[str, ...]
    kind: str  # "native" | "dockerized" | "none"
    reason: str


def engine_running(cli: str) -> bool:
    """True when a container CLI talks to a running engine (a bare docker CLI does not count)."""
    try:
        return subprocess.run([cli, "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_runner(which=shutil.which, engine_ok=engine_running) -> Runner:
    """Native openlane when it and openroad are on PATH, else --dockerized with a live engine, else none."""
    ol = which("openlane") or which("librelane")
    if ol and which("openroad") and which("yosys"):
        return Runner((ol,), "native", f"{ol} with openroad on PATH")
    if ol:
        for cli in ("docker", "podman"):
            if which(cli) and engine_ok(cli):
                return Runner((ol, "--dockerized"), "dockerized", f"{ol} --dockerized via a running {cli} engine")
    missing = "no `openlane` command (pip install 'openlane==2.3.10' 'click<8.2')" if not ol else "no openroad on PATH"
    return Runner(
        (),
        "none",
        f"OpenLane cannot run here: {missing} and no running container engine; "
        "install Docker (so `docker info` works) and run `openlane --dockerized config.json`, or use Nix",
    )


def latest_run_metrics(run_root: Path) -> Path:
    """``runs/<tag>/final/metrics.json`` of the named tag used by bitbranch."""
    return run_root / "runs" / "bitbranch" / "final" / "metrics.json"


def run(runner: Runner, config: Path, pdk_root: Path | None, log: Path) -> Path:
    """Run OpenLane on config (tag 'bitbranch', overwritten); returns the final metrics path or raises."""
    if runner.kind == "none":
        raise BitbranchError(runner.reason + f" (config written: {config})")
    argv = [*runner.argv, "--run-tag", "bitbranch", "--overwrite"]
    if pdk_root is not None:
        argv += ["--pdk-root", str(pdk_root)]
    argv.append(str(config.name))
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        rc = subprocess.run(argv, cwd=config.parent, stdout=fh, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise BitbranchError(f"openlane failed (exit {rc}); log {log}; last lines:\n{tail}")
    return latest_run_metrics(config.parent)
