"""The design spec: validation, stable ids, Makefile variable resolution, CLI errors."""

import subprocess
import sys

import pytest

from model.contract import (
    ManifestError,
    check_manifest,
    pack_bus,
    read_manifest,
    to_signed,
    unpack_bus,
)
from model.spec import DesignSpec, SpecError, spec_from_vars


def test_default_id_and_widths():
    s = DesignSpec()
    assert s.id == "parallel_w2a2_n32"
    assert s.y_max == 32 * 3 * 3 and s.out_width == 10  # 288 needs 9 bits + sign
    assert s.w_width == 64 and s.a_width == 64


@pytest.mark.parametrize("w,a,n", [(1, 1, 1), (1, 4, 7), (16, 16, 65536), (3, 2, 9)])
def test_out_width_is_minimal(w, a, n):
    s = DesignSpec("serial", w, a, n)
    lo, hi = -(1 << (s.out_width - 1)), (1 << (s.out_width - 1)) - 1
    assert lo <= -s.y_max and s.y_max <= hi
    assert s.y_max > (1 << (s.out_width - 2)) - 1, "one bit fewer would not hold y_max"


def test_id_round_trip_with_knob():
    s = DesignSpec("baseline", 3, 1, 7, popcount="wallace")
    assert s.id == "baseline_w3a1_n7_popcount-wallace"
    assert DesignSpec.from_id(s.id) == s


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(wbits=0), "wbits=0 is out of range"),
        (dict(abits=99), "abits=99 is out of range"),
        (dict(n=0), "n=0 is out of range"),
        (dict(arch="Systolic"), "arch must be a lower-case name"),
        (dict(arch="two_words"), "arch must be a lower-case name"),
        (dict(wbits=2.5), "must be an integer"),
        (dict(wbits=True), "must be an integer"),
        (dict(n="abc"), "must be an integer"),
        (dict(popcount="ripple"), "unknown popcount"),
    ],
)
def test_invalid_specs(kw, match):
    with pytest.raises(SpecError, match=match):
        DesignSpec(**kw)


def test_the_spec_checks_only_the_form_of_arch():
    """Which archs exist is the registry's business (rtl.archs, tests/test_arch_registry.py), not the model's."""
    s = DesignSpec("systolic", 2, 2, 8)
    assert s.id == "systolic_w2a2_n8" and DesignSpec.from_id(s.id) == s
    assert DesignSpec.from_id("arch2_w1a1_n1").arch == "arch2"


def test_make_variables():
    assert spec_from_vars(bits="3").id == "parallel_w3a3_n32"
    assert spec_from_vars(bits="3", abits="1", arch="serial", n="7").id == "serial_w3a1_n7"
    assert spec_from_vars(arch="", bits="", wbits="", abits="", n="").id == "parallel_w2a2_n32"
    with pytest.raises(SpecError, match="BITS must be an integer"):
        spec_from_vars(bits="x", wbits="2", abits="2")
    with pytest.raises(SpecError, match="unknown spec field"):
        DesignSpec.from_mapping({"arch": "parallel", "colour": "red"})


def test_bus_packing_is_element_major():
    assert pack_bus([1, 2, 3], 2) == 0b11_10_01
    assert list(unpack_bus(0b11_10_01, 2, 3)) == [1, 2, 3]
    assert to_signed(0b1111, 4) == -1 and to_signed(0b0111, 4) == 7
    with pytest.raises(ValueError, match="does not fit"):
        pack_bus([4], 2)


def test_manifest_errors(tmp_path):
    with pytest.raises(ManifestError, match="run `make rtl`"):
        read_manifest(tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        read_manifest(tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text('{"top": "x"}')
    with pytest.raises(ManifestError, match="lacks arch"):
        read_manifest(tmp_path / "manifest.json")
    with pytest.raises(ManifestError, match="does not match"):
        check_manifest(DesignSpec(), {"arch": "serial", "wbits": 2, "abits": 2, "n": 32, "out_width": 10})


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "rtl", "spec", *args], capture_output=True, text=True)


def test_cli_prints_spec():
    r = _cli("--bits", "3", "--arch", "serial", "--n", "7")
    assert r.returncode == 0, r.stderr
    assert '"id": "serial_w3a3_n7"' in r.stdout


@pytest.mark.parametrize("args, msg", [(("--bits", "0"), "BITS=0 is out of range"), (("--bits", "99"), "BITS=99"),
                                       (("--wbits", "17"), "WBITS=17"), (("--n", "0"), "N=0"),
                                       (("--arch", "foo"), "unknown arch 'foo': choose one of parallel, serial, baseline, scalable"),
                                       (("--arch", "Foo", "--bits", "99"), "unknown arch 'Foo'")])
def test_cli_bad_spec_is_one_line(args, msg):
    r = _cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and msg in lines[0], r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
