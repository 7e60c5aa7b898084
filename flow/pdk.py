"""Find the Sky130 PDK (sky130_fd_sc_hd) and name its files; the do-not-use cell list as data.

Stable API (the back end builds on it):
- ``CORNERS``: corner name -> liberty corner suffix (``tt``/``ss``/``ff``).
- ``find_pdk(env=None, repo_root=None, home=None) -> Pdk``: search ``$PDK_ROOT``, then
  ``<repo>/../shared/pdk``, then ``~/.ciel`` and ``~/.volare``; raises ``PdkError`` naming every place tried.
- ``Pdk``: frozen; ``.root`` (the folder holding ``sky130A/``), ``.source`` (how it was found), and
  paths ``.liberty(corner)``, ``.lef``, ``.techlef``, ``.gds``, ``.cdl``, ``.verilog_models``,
  ``.magic_tech``, ``.klayout_tech``, ``.klayout_lyp``, ``.klayout_drc_deck`` (the KLayout sky130 DRC deck).
- ``DONT_USE_PATTERNS``: glob patterns of cells unsuitable for synthesis (yosys 0.23 has no -dont_use);
  ``read_cell_list(path)`` reads one-name-a-line lists such as qrouter's bad-cell list, to add to them.
- ``derived_liberty(pdk, corner, pdk_build_dir, extra_dont_use=()) -> Path``: a filtered copy under
  ``<pdk_build_dir>/lib/`` (pass ``FlowContext.pdk_build_dir`` = ``build/pdk``; never in the repository),
  its name carries a hash of the source and the filter, so it is written once per filter.
  ``derived_liberty_path(...)``: the same path, without writing (what a stage's ``inputs()`` may call).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from common.errors import BitbranchError
from common.files import Under

VARIANT = "sky130A"
LIBRARY = "sky130_fd_sc_hd"

CORNERS: dict[str, str] = {"tt": "tt_025C_1v80", "ss": "ss_n40C_1v40", "ff": "ff_100C_1v95"}
"""Process/voltage/temperature corners of the liberty files, by short name."""

DONT_USE_PATTERNS: tuple[str, ...] = (
    "*__lpflow_*",  # low-power flow cells (isolation, retention, level shifters): need special supplies
    "*__probe_*",  # probe pads
    "*__macro_sparecell*",
    "*_0",  # zero-drive variants (e.g. buf_0? and conb-like helpers)
    "*__dlygate*",  # delay cells: for hold fixing, not logic
    "*__dlymetal*",
    "*__clkdlybuf4s*",
    "*__einv*",  # tri-state drivers
    "*__ebufn*",
    "*__dlclkp*",  # clock gates (no clock gating in this flow)
    "*__sdlclkp*",
    "*__sdf*",  # scan flops
    "*__edf*",
    "*__sedf*",
    "*__dlxt*",  # latches
    "*__dlxb*",
    "*__dlrt*",
    "*__dlrb*",
    "*__clkinvlp_*",
    "*__tap*",  # physical-only cells
    "*__fill*",
    "*__decap*",
    "*__diode*",
)
"""Cells excluded from synthesis; the back end may add router-inaccessible cells via ``extra_dont_use``."""

PDK_ROOT_ENV = "PDK_ROOT"


class PdkError(BitbranchError):
    """No usable Sky130 PDK was found; the message names every place looked at."""


@dataclass(frozen=True)
class Pdk:
    """Paths of one sky130A / sky130_fd_sc_hd installation (open_pdks layout)."""

    root: Path
    source: str

    variant_dir = Under("root", VARIANT)
    lib_dir = Under("variant_dir", "libs.ref", LIBRARY)
    lef = Under("lib_dir", "lef", f"{LIBRARY}.lef")
    techlef = Under("lib_dir", "techlef", f"{LIBRARY}__nom.tlef")
    gds = Under("lib_dir", "gds", f"{LIBRARY}.gds")
    cdl = Under("lib_dir", "cdl", f"{LIBRARY}.cdl")
    tech_dir = Under("variant_dir", "libs.tech")
    magic_tech = Under("tech_dir", "magic", f"{VARIANT}.tech")
    klayout_tech = Under("tech_dir", "klayout", "tech", f"{VARIANT}.lyt")
    klayout_lyp = Under("tech_dir", "klayout", "tech", f"{VARIANT}.lyp")
    klayout_drc_deck = Under("tech_dir", "klayout", "drc", f"{VARIANT}_mr.drc")
    """The KLayout sky130 DRC runset (OpenLane's second DRC deck), for Debian's ``klayout -b -r``."""

    def liberty(self, corner: str = "tt") -> Path:
        if corner not in CORNERS:
            raise PdkError(f"unknown corner {corner!r}: choose one of {', '.join(CORNERS)}")
        return self.lib_dir / "lib" / f"{LIBRARY}__{CORNERS[corner]}.lib"

    @property
    def verilog_models(self) -> tuple[Path, ...]:
        """Cell simulation models: the UDP primitives first, then the cells."""
        d = self.lib_dir / "verilog"
        return (d / "primitives.v", d / f"{LIBRARY}.v")


def _usable(root: Path) -> bool:
    """A root is usable when it holds the tt liberty of sky130_fd_sc_hd in the open_pdks layout."""
    return Pdk(root, "").liberty("tt").is_file()


def _volare_like_roots(base: Path) -> list[Path]:
    """Candidate roots in a ciel/volare folder: the folder itself, and each ``*/versions/<hash>``."""
    found = [base]
    if base.is_dir():
        found += sorted(p for p in base.glob("*/versions/*") if p.is_dir())
    return found


def pdk_candidates(
    env: Mapping[str, str] | None = None, repo_root: Path | None = None, home: Path | None = None
) -> list[tuple[Path, str]]:
    """Every root searched, in order, with a label saying where it came from."""
    env = os.environ if env is None else env
    repo_root = Path(__file__).resolve().parents[1] if repo_root is None else Path(repo_root)
    home = Path.home() if home is None else Path(home)
    cands: list[tuple[Path, str]] = []
    if env.get(PDK_ROOT_ENV):
        cands.append((Path(env[PDK_ROOT_ENV]), f"${PDK_ROOT_ENV}"))
    cands.append(((repo_root / ".." / "shared" / "pdk").resolve(), "../shared/pdk next to the repository"))
    for name in (".ciel", ".volare"):
        cands += [(p, f"~/{name}") for p in _volare_like_roots(home / name)]
    return cands


def find_pdk(
    env: Mapping[str, str] | None = None, repo_root: Path | None = None, home: Path | None = None
) -> Pdk:
    """The first usable PDK root; PDK_ROOT, if set, must be usable (no silent fallback past it)."""
    cands = pdk_candidates(env, repo_root, home)
    for root, label in cands:
        if _usable(root):
            return Pdk(root.resolve(), label)
        if label.startswith("$"):
            raise PdkError(
                f"PDK_ROOT={root} has no {VARIANT}/libs.ref/{LIBRARY}/lib/{LIBRARY}__tt_025C_1v80.lib: "
                f"point PDK_ROOT at the folder holding {VARIANT}/ (open_pdks layout) or unset it"
            )
    tried = ", ".join(f"{r} ({label})" for r, label in cands)
    raise PdkError(
        f"no Sky130 PDK found (need {VARIANT}/libs.ref/{LIBRARY}/lib/*.lib); looked in: {tried}. "
        f"Set PDK_ROOT to an open_pdks root, e.g. one installed by `ciel enable` or `volare enable`"
    )


def damaged_liberty(path: Path, why: object) -> PdkError:
    """The one-line error for a liberty file that cannot be read (truncated, edited)."""
    return PdkError(f"liberty {path} is damaged ({why}): reinstall the PDK (e.g. `ciel enable`) or point PDK_ROOT at "
                    f"a good copy")


def read_cell_list(path: Path | str) -> tuple[str, ...]:
    """Cell names, one a line (blank lines and '#' comments ignored), e.g. a router's bad-cell list."""
    names = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return tuple(names)


ROUTER_DONT_USE_FILE = Path(__file__).resolve().parent / "pnr" / "qrouter_dont_use.txt"
"""Cells the local router cannot reach or LVS cannot match, with where each came from (see the file)."""


def router_dont_use() -> tuple[str, ...]:
    """The router's dont-use cells: every flow stage excludes them by default, so synth, sta, power
    and the layout all describe one netlist."""
    return read_cell_list(ROUTER_DONT_USE_FILE)


def is_dont_use(cell: str, patterns: Sequence[str] = DONT_USE_PATTERNS, extra: Iterable[str] = ()) -> bool:
    """True when ``cell`` matches a dont-use glob pattern or is named in ``extra``."""
    return cell in set(extra) or any(fnmatch.fnmatchcase(cell, p) for p in patterns)


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=16)
def _content_digest(path: Path, size: int, mtime_ns: int) -> str:
    """file_digest cached per (path, size, mtime): a 13 MB liberty is hashed once per process."""
    return file_digest(path)


def derived_liberty_path(
    pdk: Pdk, corner: str, pdk_build_dir: Path | str, extra_dont_use: Iterable[str] = ()
) -> Path:
    """Where the filtered liberty for ``corner`` is, under ``<pdk_build_dir>/lib/``; its name carries a hash of the
    source liberty's content and of the filter. Reads the source liberty (hashed once per process), writes nothing.

    The name is keyed on the source liberty's content, not its path or time stamp: a PDK copied or unpacked
    again (new mtime, same bytes) keeps the same derived file, so no flow result goes stale for nothing.
    """
    extra = tuple(sorted(set(extra_dont_use)))
    src = pdk.liberty(corner)
    if not src.is_file():
        raise PdkError(f"the PDK at {pdk.root} has no {corner} corner liberty {src}: the flow needs all of "
                       f"{', '.join(CORNERS)}; install the complete {LIBRARY} library (e.g. `ciel enable`) or point "
                       f"PDK_ROOT at a complete copy")
    key = hashlib.sha256(
        "\n".join([_content_digest(src, src.stat().st_size, src.stat().st_mtime_ns), *DONT_USE_PATTERNS, "--", *extra]).encode()
    ).hexdigest()[:12]
    return Path(pdk_build_dir) / "lib" / f"{LIBRARY}__{CORNERS[corner]}.{key}.lib"


def derived_liberty(
    pdk: Pdk, corner: str, pdk_build_dir: Path | str, extra_dont_use: Iterable[str] = ()
) -> Path:
    """The filtered liberty for ``corner`` (``derived_liberty_path``), written when it is missing.

    In the flow the ``liberty`` stage (``flow/derived.py``) calls this; other stages read its artifact.
    """
    from flow.liberty import filter_liberty_text

    out = derived_liberty_path(pdk, corner, pdk_build_dir, extra_dont_use)
    if out.is_file():
        return out
    extra = tuple(sorted(set(extra_dont_use)))
    src = pdk.liberty(corner)
    try:
        text, _dropped = filter_liberty_text(src.read_text(errors="replace"),
                                             lambda c: is_dont_use(c, DONT_USE_PATTERNS, extra))
    except ValueError as e:
        raise damaged_liberty(src, e) from None
    from common.files import atomic_write_text

    atomic_write_text(out, text)
    return out
