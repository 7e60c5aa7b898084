"""JUnit XML of a `make verify` run: one testcase per design, failures and errors counted, valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from verif import junit
from verif.native import NativeResult
from verif.runner import VerifResult


def _parse(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and len(root) == 1 and root[0].tag == "testsuite"
    return root[0]


def test_cocotb_results_become_one_suite(tmp_path):
    ok = VerifResult("parallel_w2a2_n32", "icarus", "rtl", True, {"accepted": 510, "delivered": 510}, tmp_path, wall_seconds=1.5)
    bad = VerifResult("serial_w1a1_n7", "icarus", "rtl", False,
                      {"failures": ["vector 3: y=5 expected 7"], "n_failures": 4}, tmp_path, wall_seconds=2.0)
    err = VerifResult("baseline_w3a3_n32", "icarus", "rtl", False, {}, tmp_path, error="icarus build failed; see x.log")
    gl = VerifResult("parallel_w1a1_n4", "icarus", "gl", True, {}, tmp_path)
    path = junit.write(tmp_path / "j" / "junit.xml", "bitbranch.verify.icarus", "bitbranch.verify.icarus",
                       junit.from_verif_results([ok, bad, err, gl]), {"seed": "1"})
    suite = _parse(path)
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("errors") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"parallel_w2a2_n32", "serial_w1a1_n7", "baseline_w3a3_n32", "parallel_w1a1_n4 [gl]"}
    assert cases["parallel_w2a2_n32"].find("failure") is None and cases["parallel_w2a2_n32"].get("time") == "1.500"
    failure = cases["serial_w1a1_n7"].find("failure")
    assert failure.get("message") == "vector 3: y=5 expected 7" and "... 3 more" in failure.text
    assert cases["baseline_w3a3_n32"].find("error").get("message").startswith("icarus build failed")
    assert suite.find("properties/property").get("name") == "seed"


def test_native_results(tmp_path):
    good = NativeResult("parallel_w2a2_n32", 1000, 0, 2e6, 1100, 3.0, tmp_path)
    bad = NativeResult("serial_w2a2_n32", 990, 10, 1e6, 9000, 0.0, tmp_path)
    suite = _parse(junit.write(tmp_path / "n.xml", "s", "c", junit.from_native_results([good, bad])))
    assert suite.get("tests") == "2" and suite.get("failures") == "1" and suite.get("errors") == "0"
    assert "10 of 1000 vectors wrong" in suite.findall("testcase")[1].find("failure").text


@pytest.mark.slow
def test_verify_cli_writes_junit(tmp_path, need_tools):
    """`python -m verif` writes its JUnit file at --junit, else at <root>/verify/junit-icarus.xml."""
    need_tools("iverilog", "vvp")
    from verif.__main__ import main

    xml = tmp_path / "out" / "verify.xml"
    assert main(["--arch", "serial", "--bits", "1", "--n", "3", "--vectors", "20", "--root", str(tmp_path / "b"),
                 "--junit", str(xml)]) == 0
    suite = _parse(xml)
    assert [c.get("name") for c in suite.iter("testcase")] == ["serial_w1a1_n3"] and suite.get("failures") == "0"
    assert main(["--arch", "parallel", "--bits", "1", "--n", "3", "--vectors", "20", "--root", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "verify" / "junit-icarus.xml").is_file()
