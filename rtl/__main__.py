"""`python -m rtl [generate] <spec args>`: generate one PE and print its rtl folder;
`python -m rtl spec <spec args>`: print the resolved spec, its architecture, id and port widths as JSON."""

from __future__ import annotations

import argparse
import json
from typing import Sequence

from common.cli import run_main
from rtl import archs
from rtl.cli import add_spec_arguments, spec_from_args


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command and the spec (its arch resolved through the registry), then act."""
    p = argparse.ArgumentParser(prog="python -m rtl", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", nargs="?", default="generate", choices=("generate", "spec"),
                   help="generate (default): write build/<id>/rtl/; spec: print the resolved spec")
    add_spec_arguments(p)
    p.add_argument("--root", default="build", help="build root folder (default build)")
    ns = p.parse_args(argv)
    spec = spec_from_args(ns)
    if ns.command == "spec":
        info = dict(
            id=spec.id,
            spec=spec.to_dict(),
            arch=archs.get(spec.arch).description,
            ports=dict(w=spec.w_width, a=spec.a_width, y=spec.out_width),
            y_range=[-spec.y_max, spec.y_max],
            build_dir=str(spec.build_dir(ns.root)),
        )
        print(json.dumps(info, indent=2))
        return 0
    from rtl.generate import generate

    manifest = generate(spec, ns.root)
    print(f"{manifest.parent}/")
    return 0


if __name__ == "__main__":
    run_main(main)
