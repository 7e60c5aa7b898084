"""OpenLane 2 config generation, metrics reading and runner detection (no tool runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import BitbranchError
from flow import openlane as ol


def make_cfg(**kw) -> ol.OpenLaneConfig:
    base = dict(design_name="pe_top", verilog_files=("pe_top.v", "popcount.v"), clock_port="clk", clock_period_ns=10.0)
    base.update(kw)
    return ol.OpenLaneConfig(**base)


def write_sources(d: Path) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for name in ("pe_top.v", "popcount.v"):
        p = d / name
        p.write_text(f"module {p.stem}(); endmodule\n")
        out.append(p)
    return out


def test_config_has_required_keys_and_version(tmp_path: Path) -> None:
    path = ol.write_config(make_cfg(clock_period_ns=7.5), write_sources(tmp_path / "rtl"), tmp_path / "ol")
    cfg = json.loads(path.read_text())
    assert cfg["meta"]["version"] == 2
    assert cfg["DESIGN_NAME"] == "pe_top"
    assert cfg["CLOCK_PORT"] == "clk" and cfg["CLOCK_PERIOD"] == 7.5
    assert cfg["PDK"] == "sky130A" and cfg["STD_CELL_LIBRARY"] == "sky130_fd_sc_hd"
    assert cfg["FP_SIZING"] == "relative" and cfg["FP_CORE_UTIL"] == 50
    assert cfg["VERILOG_FILES"] == ["dir::src/pe_top.v", "dir::src/popcount.v"]
    for f in cfg["VERILOG_FILES"]:
        assert (path.parent / f.removeprefix("dir::")).is_file()


def test_adder_mapping_becomes_synth_adder_type() -> None:
    from model.spec import ADDER_MAPPINGS

    assert set(ol.ADDER_TYPES) == set(ADDER_MAPPINGS)
    assert "SYNTH_ADDER_TYPE" not in ol.config_dict(make_cfg(adder_type=ol.ADDER_TYPES["abc"]))  # OpenLane's default
    assert ol.config_dict(make_cfg(adder_type=ol.ADDER_TYPES["fa"]))["SYNTH_ADDER_TYPE"] == "FA"


def test_config_is_byte_identical(tmp_path: Path) -> None:
    srcs = write_sources(tmp_path / "rtl")
    a = ol.write_config(make_cfg(), srcs, tmp_path / "a").read_bytes()
    b = ol.write_config(make_cfg(), srcs, tmp_path / "b").read_bytes()
    assert a == b


@pytest.mark.parametrize(
    "kw, msg",
    [(dict(verilog_files=()), "no Verilog"), (dict(clock_period_ns=0), "clock period"), (dict(core_util_pct=0), "utilisation")],
)
def test_bad_config_one_clear_error(kw, msg) -> None:
    with pytest.raises(BitbranchError, match=msg):
        make_cfg(**kw)


def test_missing_source_is_an_error_and_writes_no_config(tmp_path: Path) -> None:
    with pytest.raises(BitbranchError, match="make rtl"):
        ol.write_config(make_cfg(), [tmp_path / "pe_top.v", tmp_path / "popcount.v"], tmp_path / "ol")
    assert not (tmp_path / "ol" / "config.json").exists()


OPENLANE_METRICS = {
    "design__die__area": 10000.5,
    "design__core__area": 8000.25,
    "design__instance__count": 812,
    "route__wirelength": 12345,
    "magic__drc_error__count": 0,
    "design__lvs_error__count": 0,
    "timing__setup__ws": 1.25,
    "timing__setup__ws__corner:nom_ss_100C_1v60": -0.5,
    "power__total": 0.00123,
    "flow__warnings__count": 7,
    "design__xor__count": 3,
}


def test_read_metrics_keeps_openlane_names(tmp_path: Path) -> None:
    p = tmp_path / "runs" / "bitbranch" / "final" / "metrics.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps(OPENLANE_METRICS))
    assert ol.latest_run_metrics(tmp_path) == p
    m = ol.read_metrics(p)
    assert m["design__die__area"] == 10000.5
    assert m["timing__setup__ws__corner:nom_ss_100C_1v60"] == -0.5
    assert m["magic__drc_error__count"] == 0
    assert "flow__warnings__count" not in m and "design__xor__count" not in m


@pytest.mark.parametrize("content, msg", [(None, "not found"), ("{bad", "not valid JSON"), ("[1]", "expected a JSON object"), ('{"x": 1}', "none of the expected")])
def test_read_metrics_errors(tmp_path: Path, content, msg) -> None:
    p = tmp_path / "metrics.json"
    if content is not None:
        p.write_text(content)
    with pytest.raises(BitbranchError, match=msg):
        ol.read_metrics(p)


def test_runner_detection() -> None:
    paths = {"openlane": "/x/openlane", "docker": "/x/docker"}
    none = ol.find_runner(which=lambda n: None, engine_ok=lambda c: True)
    assert none.kind == "none" and "install" in none.reason and "\n" not in none.reason
    # a docker CLI without a running engine does not count
    dead = ol.find_runner(which=paths.get, engine_ok=lambda c: False)
    assert dead.kind == "none"
    dock = ol.find_runner(which=paths.get, engine_ok=lambda c: c == "docker")
    assert dock.kind == "dockerized" and dock.argv == ("/x/openlane", "--dockerized")
    native = ol.find_runner(which={**paths, "openroad": "/x/openroad", "yosys": "/x/yosys"}.get, engine_ok=lambda c: False)
    assert native.kind == "native" and native.argv == ("/x/openlane",)


def test_run_without_runner_says_what_to_install(tmp_path: Path) -> None:
    r = ol.Runner((), "none", "OpenLane cannot run here: install Docker")
    with pytest.raises(BitbranchError, match="install Docker.*config written"):
        ol.run(r, tmp_path / "config.json", None, tmp_path / "log")
