"""Benchmark: full adders of the generated popcount trees against the bound N - floor(log2 N) - 1.

For N = 64 and BITS 1..4 it generates the parallel PE (both popcount styles) under build/, counts the
full and half adders in the emitted Verilog (3-input XOR = FA sum, 2-input XOR = HA sum) and checks
them against the manifest. Run: .venv/bin/python bench/popcount_fa.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.compressor import fa_lower_bound  # noqa: E402
from model.spec import DesignSpec  # noqa: E402
from rtl.generate import generate  # noqa: E402
from rtl.verilog import GENERATOR  # noqa: E402

FA_SUM = re.compile(r"^\s*assign \w+ = [\w\[\]]+ \^ [\w\[\]]+ \^ [\w\[\]]+;$", re.M)
HA_SUM = re.compile(r"^\s*assign \w+ = [\w\[\]]+ \^ [\w\[\]]+;$", re.M)


def count_cells(verilog: str) -> tuple[int, int]:
    """(full adders, half adders) in an emitted popcount module, from its sum assigns."""
    return len(FA_SUM.findall(verilog)), len(HA_SUM.findall(verilog))


def main() -> int:
    n = 64
    bound = fa_lower_bound(n)
    print(f"popcount full adders vs bound N - floor(log2 N) - 1 = {bound} for N = {n}")
    print(f"source: Verilog emitted by {GENERATOR} under build/<id>/rtl/, counted from its FA/HA assigns")
    print(f"{'spec id':<36} {'style':<8} {'FA':>4} {'HA':>4} {'FA/bound':>9} {'branches':>8} {'PE FA':>6} {'PE HA':>6} {'stages':>6}")
    ok = True
    for bits in range(1, 5):
        for style in ("dadda", "wallace"):
            spec = DesignSpec("parallel", bits, bits, n, popcount=style)
            mpath = generate(spec, "build")
            manifest = json.loads(mpath.read_text())
            pc_file = mpath.parent / f"{manifest['top']}_popcount.v"
            fa, ha = count_cells(pc_file.read_text())
            stats = manifest["popcount"]
            if (fa, ha) != (stats["full_adders"], stats["half_adders"]):
                print(f"MISMATCH {spec.id}: Verilog has {fa} FA/{ha} HA, manifest says "
                      f"{stats['full_adders']}/{stats['half_adders']}")
                ok = False
            branches = stats["per_pe"]["branch_units"]
            print(f"{spec.id:<36} {style:<8} {fa:>4} {ha:>4} {fa / bound:>9.3f} {branches:>8} "
                  f"{branches * fa:>6} {branches * ha:>6} {stats['reduction_stages']:>6}")
    print("stages = compressor layers + 1 for the final ripple-carry adder of explicit FA/HA cells")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
