"""The default verification regression (which specs) and its summary table."""

from __future__ import annotations

from typing import Sequence

from model.spec import DesignSpec
from rtl import archs
from verif.runner import VerifResult


def default_specs(encoding: str = DesignSpec().encoding) -> list[DesignSpec]:
    """Every registered arch at BITS 1..4 (N=32), asymmetric W1A4, W4A1, W2A3 and odd N=1, N=7 (BITS 2), in one
    encoding (default pm1; ``make verify ENCODING=twos`` runs the same set in twos)."""
    specs: list[DesignSpec] = []
    for arch in archs.names():
        specs += [DesignSpec(arch, b, b, 32, encoding=encoding) for b in range(1, 5)]
        specs += [DesignSpec(arch, w, a, 32, encoding=encoding) for w, a in ((1, 4), (4, 1), (2, 3))]
        specs += [DesignSpec(arch, 2, 2, n, encoding=encoding) for n in (1, 7)]
    return specs


def summary_table(results: Sequence[VerifResult]) -> str:
    """Fixed-width table: one row per run with result, counts, latency/II and key coverage bins."""
    head = ("spec", "sim", "target", "result", "accepted", "checked", "cycles", "lat m/meas", "II m/meas",
            "backpr", "y_max", "y_min", "resets", "sec")
    rows = [head]
    for r in results:
        d = r.data
        cov = d.get("coverage", {})

        def mm(span: list[int] | None) -> str:
            return "-" if not span else (str(span[0]) if span[0] == span[1] else f"{span[0]}..{span[1]}")

        rows.append((
            r.spec_id, r.sim, r.label,
            "ERROR" if r.error else ("PASS" if r.passed else "FAIL"),
            str(d.get("accepted", "-")), str(d.get("delivered", "-")), str(d.get("cycles", "-")),
            f"{d.get('manifest_latency', '-')}/{mm(d.get('clean_latency_min_max'))}",
            f"{d.get('manifest_ii', '-')}/{mm(d.get('clean_interval_min_max'))}",
            str(cov.get("output_backpressure", "-")), str(cov.get("y_max_hit", "-")),
            str(cov.get("y_min_hit", "-")), str(cov.get("reset_mid_stream", "-")),
            f"{r.wall_seconds:.1f}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
