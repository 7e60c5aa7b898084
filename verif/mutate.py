"""Deliberately broken copies of generated RTL, to prove the bench catches a wrong PE.

Each mutation operator rewrites one spot of the Verilog text (the first match); the copy lives
under build/ and gets its own manifest, the original is never touched.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from common.errors import BitbranchError


@dataclass(frozen=True)
class Mutation:
    """A named single-spot rewrite: regex, replacement and what it breaks."""

    name: str
    pattern: str
    replacement: str
    meaning: str


MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in (
        # bit 0 of element 0's weight word, where the registered weights are split into planes
        Mutation("flip_weight_bit", r"(?<![~\w])(\w+_w)\[0\]", r"~\1[0]", "weight bit 0 of element 0 inverted"),
        # shift-add: the last branch term's shift {pc, k'd0} loses one bit of weight
        Mutation("shift_add_weight", r"\{(\w+), (\d+)'d0\}(;)(?![\s\S]*\{\w+, \d+'d0\};)",
                 r"{1'd0, \1, 1'd0}\3", "one branch term of the shift-add weighted by the wrong power of 2"),
        # branch unit: XNOR replaced by XOR
        Mutation("xnor_to_xor", r"~\((\w+) \^ (\w+)\)", r"(\1 ^ \2)", "XNOR replaced by XOR in a branch unit"),
    )
}


def mutate_text(text: str, mutation: Mutation) -> tuple[str, int]:
    """Apply the mutation at its first match; return the new text and the match count (0 or 1)."""
    return re.subn(mutation.pattern, mutation.replacement, text, count=1)


def mutate_rtl(rtl_dir: Path, out_dir: Path, mutation_name: str) -> Path:
    """Copy an rtl folder to out_dir with one mutation applied; return the copy's manifest path."""
    if mutation_name not in MUTATIONS:
        raise BitbranchError(f"unknown mutation {mutation_name!r}: choose one of {', '.join(MUTATIONS)}")
    mutation = MUTATIONS[mutation_name]
    rtl_dir, out_dir = Path(rtl_dir), Path(out_dir)
    manifest = json.loads((rtl_dir / "manifest.json").read_text())
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(rtl_dir, out_dir)
    for name in manifest["verilog_files"]:
        path = out_dir / name
        text, hits = mutate_text(path.read_text(), mutation)
        if hits:
            path.write_text(text)
            manifest["mutation"] = {"name": mutation.name, "file": name, "meaning": mutation.meaning}
            (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            return out_dir / "manifest.json"
    raise BitbranchError(f"mutation {mutation_name} found nothing to change in {rtl_dir}")
