"""RTL generator: lint + parse grid, determinism, manifest, atomic writes, CLI errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common.errors import BitbranchError
from model.contract import check_manifest, read_manifest
from model.spec import DesignSpec
from rtl import archs
from rtl import generate as gen_mod
from rtl.check import module_names, parse_verilog
from rtl.generate import generate
from rtl.verilog import GENERATOR, header_fields, top_name

REPO = Path(__file__).resolve().parents[1]
ARCHS = archs.names()
BIT_PAIRS = [(1, 1), (2, 2), (3, 3), (4, 4), (1, 4), (4, 1)]
NS = [1, 7, 32, 64]
GRID = [DesignSpec(arch, w, a, n, encoding=enc) for enc in ("pm1", "twos") for arch in ARCHS for (w, a) in BIT_PAIRS
        for n in NS]


def lint_tool() -> str:
    """Verilator for lint: Debian's /usr/bin/verilator, else whatever is on PATH; fail loudly if none."""
    for cand in ("/usr/bin/verilator", shutil.which("verilator")):
        if cand and Path(cand).exists():
            return cand
    pytest.fail("verilator not found: install Debian verilator (make debian-deps) to lint the generated RTL")


def lint(manifest_path: Path) -> None:
    manifest = json.loads(manifest_path.read_text())
    files = [str(manifest_path.parent / f) for f in manifest["verilog_files"]]
    run = subprocess.run(
        [lint_tool(), "--lint-only", "-Wall", "--top-module", manifest["top"], *files],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and "%Warning" not in run.stderr, run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_grid_lints_and_parses(arch: str, tmp_path: Path) -> None:
    """Every (arch, bits, N) of the grid generates, parses back with pyverilog and lints clean with -Wall."""
    root = tmp_path / "build"
    for spec in [s for s in GRID if s.arch == arch]:
        mpath = generate(spec, root)
        manifest = read_manifest(mpath)
        check_manifest(spec, manifest)
        assert manifest["top"] == top_name(spec) and manifest["modules"][0] == manifest["top"]
        for fname, mod in zip(manifest["verilog_files"], manifest["modules"]):
            ast = parse_verilog((mpath.parent / fname).read_text(), root / ".pyverilog", fname)
            assert module_names(ast) == [mod]
        lint(mpath)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_width16_generates_and_lints(arch: str, tmp_path: Path) -> None:
    for spec in (DesignSpec(arch, 16, 16, 4), DesignSpec(arch, 16, 16, 4, encoding="twos")):
        mpath = generate(spec, tmp_path)
        assert read_manifest(mpath)["out_width"] == spec.out_width
        lint(mpath)


@pytest.mark.parametrize("arch", ARCHS)
def test_regeneration_is_byte_identical_and_untouched(arch: str, tmp_path: Path) -> None:
    spec = DesignSpec(arch, 3, 2, 7, popcount="wallace")
    first = generate(spec, tmp_path / "one").parent
    second = generate(spec, tmp_path / "two").parent
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    mtimes = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    generate(spec, tmp_path / "one")
    assert {p.name: p.stat().st_mtime_ns for p in first.iterdir()} == mtimes
    text = (first / f"{top_name(spec)}.v").read_text()
    assert GENERATOR in text and json.dumps(header_fields(spec), sort_keys=True) in text


def test_changed_file_is_replaced(tmp_path: Path) -> None:
    spec = DesignSpec("parallel", 2, 2, 8)
    mpath = generate(spec, tmp_path)
    top_file = mpath.parent / f"{top_name(spec)}.v"
    good = top_file.read_text()
    top_file.write_text("// stale\n")
    (mpath.parent / "junk.v").write_text("// not ours\n")
    generate(spec, tmp_path)
    assert top_file.read_text() == good and not (mpath.parent / "junk.v").exists()


def test_manifest_contents(tmp_path: Path) -> None:
    spec = DesignSpec("parallel", 2, 3, 64)
    m = json.loads(generate(spec, tmp_path).read_text())
    assert m["spec_id"] == spec.id and m["spec"] == spec.to_dict()
    assert m["reset"] == "sync" and m["reset_active"] == "low" and m["clock_port"] == "clk"
    assert (m["latency_cycles"], m["initiation_interval"]) == (2, 1)
    pc = m["popcount"]
    assert pc["n_inputs"] == 64 and pc["bound"] == 64 - 6 - 1
    assert pc["fa_over_bound"] == pytest.approx(pc["full_adders"] / pc["bound"], rel=1e-5)
    assert pc["per_pe"] == {"branch_units": 6, "full_adders": 6 * pc["full_adders"],
                            "half_adders": 6 * pc["half_adders"]}
    assert [s["name"] for s in m["pipeline"]["stages"]] == ["s1", "s2", "out"]
    serial = json.loads(generate(DesignSpec("serial", 2, 3, 64), tmp_path).read_text())
    assert (serial["latency_cycles"], serial["initiation_interval"]) == (6, 6)
    assert len(serial["pipeline"]["step_schedule"]) == 6
    base = json.loads(generate(DesignSpec("baseline", 2, 3, 64), tmp_path).read_text())
    assert "popcount" not in base and base["baseline"]["multipliers"] == 64


def test_top_name_is_a_verilog_identifier() -> None:
    name = top_name(DesignSpec("parallel", 2, 2, 32, popcount="wallace"))
    assert name == "bb_parallel_w2a2_n32_popcount_wallace"


def test_failed_render_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = DesignSpec("serial", 2, 2, 8)
    mpath = generate(spec, tmp_path)
    before = {p.name: p.read_bytes() for p in mpath.parent.iterdir()}

    def broken(_spec: DesignSpec) -> None:
        raise BitbranchError("boom")

    monkeypatch.setattr(gen_mod, "design_for", broken)
    with pytest.raises(BitbranchError):
        generate(spec, tmp_path)
    with pytest.raises(BitbranchError):
        generate(DesignSpec("serial", 3, 2, 8), tmp_path)
    assert {p.name: p.read_bytes() for p in mpath.parent.iterdir()} == before
    assert not DesignSpec("serial", 3, 2, 8).build_dir(tmp_path).exists()


def test_failed_write_keeps_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = DesignSpec("parallel", 1, 2, 5)
    mpath = generate(spec, tmp_path)
    before = {p.name: p.read_bytes() for p in mpath.parent.iterdir()}
    real_render = gen_mod.render
    monkeypatch.setattr(gen_mod, "render", lambda s, t: {**real_render(s, t), "manifest.json": "changed"})
    real_write = Path.write_text

    def failing_write(self: Path, text: str, *a: object, **k: object) -> int:
        if self.name == "manifest.json":
            raise OSError("disk full")
        return real_write(self, text, *a, **k)

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(OSError):
        generate(spec, tmp_path)
    assert {p.name: p.read_bytes() for p in mpath.parent.iterdir()} == before
    assert sorted(p.name for p in spec.build_dir(tmp_path).iterdir()) == [".lock", "rtl"]


@pytest.mark.parametrize(
    "args, needle",
    [(["--bits", "0"], "BITS=0"), (["--arch", "systolic"], "unknown arch"), (["--n", "x"], "N must be"),
     (["--wbits", "17"], "WBITS=17"), (["--popcount", "ripple"], "popcount")],
)
def test_cli_bad_parameters(args: list[str], needle: str, tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "rtl", *args, "--root", str(tmp_path / "b")],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], run.stderr
    assert not (tmp_path / "b").exists()


def test_cli_prints_rtl_folder(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "rtl", "--bits", "2", "--n", "", "--arch", "",
                          "--root", str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"{tmp_path}/parallel_w2a2_n32/rtl/"
    assert (tmp_path / "parallel_w2a2_n32" / "rtl" / "manifest.json").is_file()
