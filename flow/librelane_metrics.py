"""The flow's metrics also in LibreLane's layout, so LibreLane's own tools can read and compare bitbranch runs.

After a complete flow command (``flow__status`` = ``ok``), :func:`export` writes

- ``build/<id>/flow/final/metrics.json`` and ``metrics.csv``: what LibreLane leaves in ``runs/<tag>/final/``
  (a flat JSON object of metric name -> number, indented 4; a CSV with the header ``Metric,Value``);
- ``build/librelane/{pdk}-{scl}-{id}.metrics.json`` (``sky130A-sky130_fd_sc_hd-<id>.metrics.json``): the same
  object under the name LibreLane's ``compare-multiple`` wants, one per design of the build root.

Only numbers go in, and LibreLane's ``timing__setup__wns``/``timing__hold__wns`` derived from the worst slacks (the
provenance, ``flow__config`` and ``flow__status`` stay in ``flow/metrics.json``). The
names are already OpenLane/LibreLane's (``design__instance__area``, ``timing__setup__ws``, ``power__total``,
``route__wirelength``, ``magic__drc_error__count``, ...; units um^2, ns, W); bitbranch's corners are ``tt``,
``ss``, ``ff`` (``timing__setup__ws__corner:ss``), where LibreLane names its own (``nom_tt_025C_1v80``, ...).
When a new flow command starts, :func:`clear` removes the design's LibreLane files, so they only ever
describe a complete run. Compare two runs with LibreLane (PyPI ``librelane``, the ``ecosystem`` extra):

    python -m librelane.common.metrics compare A/<id>/flow/final/metrics.json B/<id>/flow/final/metrics.json
    python -m librelane.common.metrics compare-multiple A/librelane B/librelane
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Mapping

from common.files import atomic_write_text
from flow.pdk import LIBRARY, VARIANT

FINAL_DIR = "final"
COLLECTED_DIR = "librelane"
"""Folder of the build root holding every design's ``{pdk}-{scl}-{id}.metrics.json``."""


def collected_name(design: str, pdk: str = VARIANT, scl: str = LIBRARY) -> str:
    return f"{pdk}-{scl}-{design}.metrics.json"


def flat_metrics(metrics: Mapping[str, Any]) -> dict[str, int | float]:
    """The numeric metrics, sorted by name (what a LibreLane metrics file holds), plus LibreLane's worst negative
    slack ``timing__{setup,hold}__wns[__corner:<c>]`` = min(0, worst slack), which its default compare shows."""
    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for k, v in list(flat.items()):
        base, _, corner = k.partition("__corner:")
        if base in ("timing__setup__ws", "timing__hold__ws"):
            flat[base[:-2] + "wns" + (f"__corner:{corner}" if corner else "")] = min(0.0, float(v))
    return {k: flat[k] for k in sorted(flat)}


def json_text(flat: Mapping[str, int | float]) -> str:
    return json.dumps(dict(flat), indent=4) + "\n"


def csv_text(flat: Mapping[str, int | float]) -> str:
    """LibreLane's ``metrics.csv``: ``Metric,Value`` then one row per metric."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("Metric", "Value"))
    for item in flat.items():
        w.writerow(item)
    return buf.getvalue()


def paths(root: Path | str, design: str, flow_dir: Path | str) -> list[Path]:
    """The three files :func:`export` writes for one design."""
    final = Path(flow_dir) / FINAL_DIR
    return [final / "metrics.json", final / "metrics.csv", Path(root) / COLLECTED_DIR / collected_name(design)]


def export(metrics: Mapping[str, Any], root: Path | str, design: str, flow_dir: Path | str) -> list[Path]:
    """Write the LibreLane-layout files of a complete run; returns their paths."""
    flat = flat_metrics(metrics)
    final_json, final_csv, collected = paths(root, design, flow_dir)
    atomic_write_text(final_json, json_text(flat))
    atomic_write_text(final_csv, csv_text(flat))
    atomic_write_text(collected, json_text(flat))
    return [final_json, final_csv, collected]


def clear(root: Path | str, design: str, flow_dir: Path | str) -> None:
    """Remove the design's LibreLane files (a new run started: they no longer describe the metrics file)."""
    for p in paths(root, design, flow_dir):
        p.unlink(missing_ok=True)
