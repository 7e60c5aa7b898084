"""`python -m verif <spec args> --sim icarus|verilator --waves 0|1`: cocotb checks of the generated PEs.

No spec variable given: the default regression (verif.regression.default_specs). With
``--netlist`` (+ ``--cells``, ``--top``) one spec's gate-level netlist is checked instead of its RTL.
Prints a summary table and writes the run's JUnit XML (``<root>/verify/junit-<sim>.xml``, ``junit-native.xml``
with ``--fast 1``, or ``--junit PATH``; see ``verif.junit``); exits 1 when any run fails, 2 (one line) for a
bad spec or missing simulator.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from common.cli import parse_int, run_main
from common.errors import BitbranchError
from common.lock import design_lock
from model.contract import ManifestError
from model.spec import DesignSpec
from rtl.cli import add_spec_arguments, encoding_from_args, spec_from_args
from verif import junit
from verif.regression import default_specs, summary_table
from verif.runner import RunOptions, VerifResult, netlist_target, rtl_target, run
from verif.sim import SIMS, check_simulator
from verif.stimulus import StimulusConfig


def _flag(value: str, name: str) -> bool:
    if value.strip() in ("", "0"):
        return False
    if value.strip() == "1":
        return True
    raise BitbranchError(f"{name} must be 0 or 1, got {value!r}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m verif", description=__doc__.splitlines()[0])
    add_spec_arguments(p)
    p.add_argument("--sim", default="icarus", help="icarus (default) | verilator")
    p.add_argument("--waves", default="0", help="1 keeps FST waveforms under build/<id>/verif/")
    p.add_argument("--seed", default="1", help="stimulus seed (default 1)")
    p.add_argument("--vectors", default=None, help="random vectors per run besides the corner cases (default 500)")
    p.add_argument("--jobs", default="1", help="runs in parallel (default 1)")
    p.add_argument("--root", default="build", help="build root (default build)")
    p.add_argument("--netlist", action="append", default=[], help="gate-level netlist to check instead of the RTL")
    p.add_argument("--cells", action="append", default=[], help="Verilog cell models for --netlist")
    p.add_argument("--top", default=None, help="top module of --netlist (default: the manifest's top)")
    p.add_argument("--label", default="gl", help="name of the --netlist run (default gl)")
    p.add_argument("--junit", default="", help="JUnit XML of this run (default <root>/verify/junit-<sim>.xml, "
                   "junit-native.xml with --fast 1)")
    p.add_argument("--fast", default="0", help="1: the native Verilator regression instead (bulk random vectors "
                   "checked in C++, --vectors default 100000 per design)")
    ns = p.parse_args(argv)
    ns.vectors_given = ns.vectors is not None and str(ns.vectors).strip() != ""
    return ns


def junit_path(ns: argparse.Namespace, kind: str) -> Path:
    """Where this run's JUnit XML goes: ``--junit``, else ``<root>/verify/junit-<kind>.xml``."""
    given = str(ns.junit or "").strip()
    return Path(given) if given else Path(ns.root) / "verify" / f"junit-{kind}.xml"


def native_main(ns: argparse.Namespace, specs: Sequence[DesignSpec]) -> int:
    """``--fast 1``: every spec through verif.native (Verilator + C++ harness, random stalls)."""
    from verif.native import run as run_native

    if ns.netlist or _flag(ns.waves, "WAVES"):
        raise BitbranchError("--fast 1 checks the generated RTL only: drop --netlist / WAVES=1, or use FAST=0")
    vectors = parse_int(ns.vectors if ns.vectors_given else None, "--vectors", 1, 100_000_000, default=100_000)
    seed = parse_int(ns.seed, "--seed", 0)
    results = []
    for spec in specs:
        with design_lock(spec.build_dir(Path(ns.root))):
            r = run_native(spec, vectors, seed, stalls=True, root=Path(ns.root))
        print(r.summary_line(), flush=True)
        results.append(r)
    bad = [r for r in results if r.failed]
    for r in bad:
        print(f"  {r.spec_id}: first mismatches in {r.run_dir / 'run.log'}")
    xml = junit.write(junit_path(ns, "native"), "bitbranch.verify.native", "bitbranch.verify.native",
                      junit.from_native_results(results), {"vectors_per_design": str(vectors), "seed": str(seed)})
    print(f"junit: {xml}")
    print(f"\n{len(results) - len(bad)} passed, {len(bad)} failed (verilator native, {vectors} vectors per design, "
          f"seed {seed})")
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    ns = parse_args(argv)
    given = any(str(v or "").strip() for v in (ns.arch, ns.bits, ns.wbits, ns.abits, ns.n, ns.popcount, ns.adder))
    encoding = encoding_from_args(ns)  # ENCODING alone picks the default regression's encoding
    specs: list[DesignSpec] = [spec_from_args(ns)] if given or ns.netlist else default_specs(encoding)
    if _flag(ns.fast, "FAST"):
        return native_main(ns, specs)
    sim = ns.sim.strip() or "icarus"
    if sim not in SIMS:
        raise BitbranchError(f"unknown simulator {sim!r}: use SIM=icarus or SIM=verilator")
    check_simulator(sim)
    root = Path(ns.root)
    opts = RunOptions(
        sim=sim,
        waves=_flag(ns.waves, "WAVES"),
        stimulus=StimulusConfig(seed=parse_int(ns.seed, "--seed", 0), n_random=parse_int(ns.vectors, "--vectors", 0, default=500)),
        root=root,
    )

    def one(spec: DesignSpec) -> VerifResult:
        try:
            if ns.netlist:
                rtl_manifest = spec.build_dir(root) / "rtl" / "manifest.json"
                target = netlist_target(spec, rtl_manifest, [Path(x) for x in ns.netlist],
                                        [Path(x) for x in ns.cells], top=ns.top, label=ns.label)
            else:
                target = rtl_target(spec, root)
        except (BitbranchError, ManifestError) as e:
            if len(specs) == 1:
                raise
            return VerifResult(spec.id, sim, "rtl", False, {}, spec.build_dir(root), error=str(e))
        result = run(spec, target, opts)
        print(result.summary_line(), flush=True)
        return result

    jobs = parse_int(ns.jobs, "--jobs", 1)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, specs))

    print()
    print(summary_table(results))
    bad = [r for r in results if not r.passed]
    for r in bad:
        print(f"\n{r.summary_line()}")
        for msg in r.data.get("failures", []):
            print(f"  {msg}")
        if r.data.get("n_failures", 0) > len(r.data.get("failures", [])):
            print(f"  ... {r.data['n_failures'] - len(r.data['failures'])} more")
        print(f"  logs: {r.run_dir}")
    xml = junit.write(junit_path(ns, sim), f"bitbranch.verify.{sim}", f"bitbranch.verify.{sim}",
                      junit.from_verif_results(results),
                      {"simulator": sim, "seed": str(opts.stimulus.seed), "random_vectors": str(opts.stimulus.n_random)})
    print(f"\njunit: {xml}")
    if opts.waves:
        print(f"\nwaveforms (FST) under {root}/<id>/verif/{sim}-waves/")
    print(f"\n{len(results) - len(bad)} passed, {len(bad)} failed "
          f"({sim}, seed {opts.stimulus.seed}; traces and results under {root}/<id>/verif/)")
    return 1 if bad else 0


if __name__ == "__main__":
    run_main(main)
