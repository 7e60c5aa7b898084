"""JUnit XML of one ``make verify`` run: every spec's verdict in one file, for CI and test dashboards.

``python -m verif`` writes ``<root>/verify/junit-<sim>.xml`` (``junit-native.xml`` for ``FAST=1``), or the
``--junit`` path: one ``<testsuite>`` for the run, one ``<testcase>`` per design (``classname`` =
``bitbranch.verify.<sim>``, ``name`` = the spec id), a ``<failure>`` holding the failed checks (or the
mismatch count and log of a native run), an ``<error>`` when the run could not start (a build failure, a
missing result). The format is the common JUnit subset (Jenkins, GitLab, GitHub test reporters).
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from common.files import atomic_write_text


@dataclass(frozen=True)
class Case:
    """One design's verdict: ``error`` (could not run) or ``failure`` (ran, wrong), else passed."""

    name: str
    seconds: float = 0.0
    failure: str | None = None
    error: str | None = None
    output: str = ""


def from_verif_results(results: Iterable) -> list[Case]:
    """Cases from cocotb runs (:class:`verif.runner.VerifResult`)."""
    cases = []
    for r in results:
        label = "" if r.label == "rtl" else f" [{r.label}]"
        if r.error:
            cases.append(Case(r.spec_id + label, r.wall_seconds, error=r.error))
            continue
        msgs = list(r.data.get("failures", []))
        more = int(r.data.get("n_failures", len(msgs))) - len(msgs)
        failure = None
        if not r.passed:
            failure = "\n".join(msgs + ([f"... {more} more"] if more > 0 else [])) or "the bench failed (see logs)"
        out = f"accepted {r.data.get('accepted', '-')}, checked {r.data.get('delivered', '-')}, " \
              f"cycles {r.data.get('cycles', '-')}; logs: {r.run_dir}"
        cases.append(Case(r.spec_id + label, r.wall_seconds, failure=failure, output=out))
    return cases


def from_native_results(results: Iterable) -> list[Case]:
    """Cases from native Verilator runs (:class:`verif.native.NativeResult`)."""
    cases = []
    for r in results:
        out = f"{r.passed} passed, {r.failed} failed, {r.vectors_per_s:,.0f} vectors/s; log: {r.run_dir / 'run.log'}"
        failure = f"{r.failed} of {r.passed + r.failed} vectors wrong; first mismatches in {r.run_dir / 'run.log'}" \
            if r.failed else None
        cases.append(Case(r.spec_id, r.build_seconds, failure=failure, output=out))
    return cases


def xml_text(suite: str, classname: str, cases: Sequence[Case], properties: dict[str, str] | None = None) -> str:
    """The JUnit document: ``<testsuites>`` with one ``<testsuite>``."""
    failures = sum(c.failure is not None and c.error is None for c in cases)
    errors = sum(c.error is not None for c in cases)
    total = sum(c.seconds for c in cases)
    root = ET.Element("testsuites", name="bitbranch verify", tests=str(len(cases)), failures=str(failures),
                      errors=str(errors), time=f"{total:.3f}")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                       errors=str(errors), skipped="0", time=f"{total:.3f}", hostname=socket.gethostname())
    if properties:
        props = ET.SubElement(ts, "properties")
        for k, v in properties.items():
            ET.SubElement(props, "property", name=k, value=str(v))
    for c in cases:
        tc = ET.SubElement(ts, "testcase", classname=classname, name=c.name, time=f"{c.seconds:.3f}")
        if c.error is not None:
            ET.SubElement(tc, "error", message=c.error.splitlines()[0][:200] if c.error else "error").text = c.error
        elif c.failure is not None:
            ET.SubElement(tc, "failure", message=c.failure.splitlines()[0][:200]).text = c.failure
        if c.output:
            ET.SubElement(tc, "system-out").text = c.output
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(path: Path, suite: str, classname: str, cases: Sequence[Case], properties: dict[str, str] | None = None) -> Path:
    """Write the JUnit file atomically; returns its path."""
    atomic_write_text(Path(path), xml_text(suite, classname, cases, properties))
    return Path(path)
