"""KLayout DRC with the PDK's sky130 runset (``sky130A_mr.drc``): the command line and the report database.

OpenLane checks every layout with two decks, magic's and KLayout's; this is the second one. It needs Debian's
``klayout`` executable (0.28.5 has the Ruby DRC engine); the PyPI ``klayout`` module used for the GDS merge and the
render has none. The deck runs FEOL, BEOL and the off-grid checks (``feol=1 beol=1 offgrid=1``); its result is a
KLayout report database (lyrdb XML) whose ``<item>`` entries are the violations, each under a rule category.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

CHECKS: tuple[tuple[str, str], ...] = (("feol", "1"), ("beol", "1"), ("offgrid", "1"))
"""Deck switches: front end of line, back end of line (metals, vias), shapes off the manufacturing grid."""

INSTALL_HINT = "install Debian's klayout (apt-get install klayout, or make debian-deps)"


def argv(deck: Path, gds: Path, top: str, report: Path, threads: int) -> list[str]:
    """``klayout -b -r <deck> -rd input=... -rd top_cell=... -rd report=... -rd feol=1 ...`` (batch mode)."""
    cmd = ["klayout", "-b", "-r", str(deck), "-rd", f"input={gds}", "-rd", f"top_cell={top}", "-rd", f"report={report}"]
    for k, v in CHECKS:
        cmd += ["-rd", f"{k}={v}"]
    return [*cmd, "-rd", f"thr={max(1, int(threads))}"]


def why_unusable(deck: Path) -> str | None:
    """Why the KLayout DRC cannot run here (the fix included), or None when it can."""
    if not Path(deck).is_file():
        return (f"the KLayout DRC deck {deck} is missing: use a sky130A PDK that ships "
                f"libs.tech/klayout/drc/{Path(deck).name} (open_pdks, e.g. via ciel/volare) and point PDK_ROOT at it")
    if shutil.which("klayout") is None:
        return (f"no klayout executable on PATH: {INSTALL_HINT}; the PyPI klayout Python module has no DRC engine")
    return None


def _category(text: str) -> str:
    """A report item's category reference ``'m3.2'`` (or ``'parent'.'child'``) as a rule name ``m3.2``."""
    parts = re.findall(r"'((?:[^'\\]|\\.)*)'", text or "")
    return ".".join(parts) if parts else (text or "").strip()


def parse_report(xml_text: str) -> dict[str, int]:
    """Violations per rule (only rules with at least one), from a KLayout report database; raises ValueError
    when the text is not one."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        raise ValueError(f"not a KLayout report database: {e}") from None
    if root.tag != "report-database":
        raise ValueError(f"not a KLayout report database (root element <{root.tag}>)")
    counts: dict[str, int] = {}
    items = root.find("items")
    for item in (items if items is not None else ()):
        rule = _category(item.findtext("category", ""))
        counts[rule] = counts.get(rule, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def rule_metric(rule: str) -> str:
    """Per-rule count under OpenLane's modifier convention: ``klayout__drc_error__count__rule:m3.2``."""
    return f"klayout__drc_error__count__rule:{rule}"
