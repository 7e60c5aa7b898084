"""The run-time-precision PE (``ARCH=scalable``) against dedicated PEs and the conventional MAC (#16 item 4 goals).

Usage: python bench/scalable.py [--bits 4] [--n 32] [--encoding pm1] [--root /tmp/scal-build] [--jobs 1]
                                [--no-run] [--model]
Runs ``python -m flow synth`` and ``power`` (post-synthesis: yosys 0.23, sky130_fd_sc_hd tt, 10 ns, the flow's
gate-level activity: 200 random vectors, seed 1, valid and ready every cycle) for

- ``scalable`` at the maximum widths WBITS=ABITS=--bits, its power measured at every run-time width b = 1..bits
  (``--run-bits b``: every input comes with wprec = aprec = b, m-/k-bit words in the low bits);
- ``baseline`` (the conventional MAC) of the maximum width, its power measured on the same b-bit values
  re-encoded in its own widths (``--run-bits b``: low-bit data on a full-width multiplier);
- dedicated ``parallel`` and ``serial`` PEs of each width b (power at their own width);

then prints one table (area, energy per MAC, cycles per dot product) and the two goals: area of scalable at the
maximum width within 1.5x the dedicated parallel PE of that width, and energy per MAC at low run-time widths below
the baseline of the maximum width running the same data. Power runs one design at a time per run-time width (the
metrics file of a design holds the latest run), so the numbers are read right after each run and kept in
``<root>/bench-scalable-<encoding>-w<bits>-n<n>.json``. ``--no-run`` reprints that file; ``--model`` adds the
area/energy model's estimates (``model.energy`` with model.runtime's activities) beside the flow's numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.files import atomic_write_json  # noqa: E402
from flow.metrics import read_metrics  # noqa: E402
from model.spec import DesignSpec  # noqa: E402
from reports.sweep import run_flow_job  # noqa: E402

AREA_GOAL = 1.5
"""Scalable area at its maximum width over the dedicated parallel PE of that width: at most this."""


def runs(bits: int, n: int, encoding: str) -> list[tuple[str, DesignSpec, int]]:
    """(row label, spec, run-time width b; 0 = the spec's own widths) of every power measurement."""
    out = []
    for b in range(1, bits + 1):
        out.append((f"scalable W{bits}A{bits} @ {b}-bit", DesignSpec("scalable", bits, bits, n, encoding=encoding), b))
    for b in range(1, bits + 1):
        out.append((f"baseline W{bits}A{bits} @ {b}-bit data", DesignSpec("baseline", bits, bits, n, encoding=encoding), b))
    for arch in ("parallel", "serial"):
        for b in range(1, bits + 1):
            out.append((f"{arch} W{b}A{b} (dedicated)", DesignSpec(arch, b, b, n, encoding=encoding), 0))
    return out


def measure(root: Path, bits: int, n: int, encoding: str) -> list[dict]:
    """Run synth (once per design) and power (once per run-time width) and read the metrics after each."""
    rows = []
    synthesized: set[str] = set()
    for label, spec, b in runs(bits, n, encoding):
        if spec.id not in synthesized:
            r = run_flow_job(spec, "synth", None, root)
            if not r.ok:
                raise SystemExit(f"error: synth of {spec.id} failed: {r.message} (log {r.log})")
            synthesized.add(spec.id)
        extra = ["--run-bits", str(b)] if b else []
        r = run_flow_job(spec, "power", None, root, extra)
        if not r.ok:
            raise SystemExit(f"error: power of {spec.id} at {b or 'own'} bits failed: {r.message} (log {r.log})")
        m = read_metrics(spec.build_dir(root) / "flow" / "metrics.json")
        rows.append({
            "label": label, "spec_id": spec.id, "arch": spec.arch, "wbits": spec.wbits, "run_bits": b or spec.wbits,
            "area_um2": m["design__instance__area"], "energy_per_mac_pj": m["power__energy_per_mac__pj"],
            "cycles_per_dot": (b * b if spec.arch == "scalable" else spec.wbits * spec.abits if spec.arch == "serial" else 1),
            "activity_source": (m.get("provenance") or {}).get("04-power", {}).get("config", {}).get("activity_source", ""),
            "seconds": r.seconds,
        })
        print(f"  measured {label:<36} {rows[-1]['area_um2']:9.0f} um2  {rows[-1]['energy_per_mac_pj']:.4f} pJ/MAC",
              flush=True)
    return rows


def model_estimates(rows: list[dict], encoding: str, n: int) -> dict[str, tuple[float, float]]:
    """label -> (area, post-synthesis energy per MAC) of the area/energy model for the same runs."""
    from model.energy import estimate
    from model.runtime import RunBits, low_bit_activity, runtime_activity_at
    from rtl import archs

    out = {}
    for r in rows:
        spec = DesignSpec.from_id(r["spec_id"])
        act = archs.get(spec.arch).activity
        if r["run_bits"] != spec.wbits:
            rb = RunBits(r["run_bits"], r["run_bits"])
            act = runtime_activity_at(rb) if spec.arch == "scalable" else low_bit_activity(act, rb)
        out[r["label"]] = estimate(spec, act, stage="post-synthesis")
    return out


def table(rows: list[dict], bits: int, model: dict[str, tuple[float, float]] | None) -> list[str]:
    """The comparison table and the goal lines."""
    by = {r["label"]: r for r in rows}
    base = {r["run_bits"]: r for r in rows if r["arch"] == "baseline"}
    par = {r["wbits"]: r for r in rows if r["arch"] == "parallel"}
    head = f"{'design':<36} {'area um2':>9} {'E/MAC pJ':>9} {'cyc/dot':>7} {'E vs base':>9} {'A vs par':>8}"
    # E vs base: over the W<bits>A<bits> baseline on data of the row's width; A vs par: over the dedicated parallel
    # PE of the row's design width
    if model:
        head += f" {'model A':>8} {'model E':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        b = base.get(r["run_bits"])
        p = par.get(r["wbits"])  # the dedicated parallel PE of the design's own (maximum) width
        line = (f"{r['label']:<36} {r['area_um2']:>9.0f} {r['energy_per_mac_pj']:>9.4f} {r['cycles_per_dot']:>7} "
                f"{r['energy_per_mac_pj'] / b['energy_per_mac_pj'] if b else float('nan'):>9.2f} "
                f"{r['area_um2'] / p['area_um2'] if p else float('nan'):>8.2f}")
        if model:
            a, e = model[r["label"]]
            line += f" {a:>8.0f} {e:>8.4f}"
        lines.append(line)
    sc_max = by[f"scalable W{bits}A{bits} @ {bits}-bit"]
    ratio = sc_max["area_um2"] / par[bits]["area_um2"]
    lines += ["", f"goal 1: scalable W{bits}A{bits} area / dedicated parallel W{bits}A{bits} = {ratio:.2f} "
              f"(goal <= {AREA_GOAL}): {'met' if ratio <= AREA_GOAL else 'NOT met'}"]
    for b in range(1, bits):
        s, c = by[f"scalable W{bits}A{bits} @ {b}-bit"], base[b]
        q = s["energy_per_mac_pj"] / c["energy_per_mac_pj"]
        lines.append(f"goal 2 at {b}-bit: scalable {s['energy_per_mac_pj']:.4f} pJ/MAC vs baseline W{bits}A{bits} on the "
                     f"same {b}-bit data {c['energy_per_mac_pj']:.4f} pJ/MAC = {q:.2f}x: {'below' if q < 1 else 'NOT below'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--encoding", default="pm1")
    p.add_argument("--root", default="build")
    p.add_argument("--no-run", action="store_true", help="reprint the saved measurements")
    p.add_argument("--model", action="store_true", help="add the area/energy model's estimates")
    ns = p.parse_args(argv)
    root = Path(ns.root).resolve()
    saved = root / f"bench-scalable-{ns.encoding}-w{ns.bits}-n{ns.n}.json"
    if ns.no_run:
        if not saved.is_file():
            raise SystemExit(f"error: no saved measurements at {saved}: run without --no-run first")
        rows = json.loads(saved.read_text())["rows"]
    else:
        rows = measure(root, ns.bits, ns.n, ns.encoding)
        atomic_write_json(saved, {"bits": ns.bits, "n": ns.n, "encoding": ns.encoding, "rows": rows})
    model = model_estimates(rows, ns.encoding, ns.n) if ns.model else None
    print(f"\nrun-time-precision PE vs dedicated PEs and the W{ns.bits}A{ns.bits} conventional MAC, N={ns.n}, "
          f"{ns.encoding}; yosys 0.23 + sky130_fd_sc_hd tt 1.80 V 25 C, 10 ns, post-synthesis power from the "
          f"gate-level activity (200 random vectors, seed 1); saved in {saved}")
    print("\n".join(table(rows, ns.bits, model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
