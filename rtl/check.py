"""Validate generated Verilog with pyverilog's parser (no preprocessor; ply writes its tables under build/)."""

from __future__ import annotations

import contextlib
import functools
import io
from pathlib import Path

from common.errors import BitbranchError


@functools.lru_cache(maxsize=4)
def _parser(table_dir: str) -> object:
    """One pyverilog parser per process and table folder: ply rebuilds its LALR tables (~1.5 s) per instance."""
    from pyverilog.vparser.parser import VerilogParser

    Path(table_dir).mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return VerilogParser(outputdir=table_dir, debug=False)


def parse_verilog(text: str, table_dir: Path | str, label: str = "<generated>") -> object:
    """Parse one Verilog source with pyverilog; raise BitbranchError naming the file on a syntax error."""
    from pyverilog.vparser.parser import ParseError

    parser = _parser(str(Path(table_dir).resolve()))
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            ast = parser.parse(text)  # type: ignore[attr-defined]
    except ParseError as e:
        raise BitbranchError(f"generated {label} does not parse with pyverilog: {e} (generator bug)") from None
    if ast is None:
        raise BitbranchError(f"generated {label} gave no pyverilog AST (generator bug)")
    return ast


def module_names(ast: object) -> list[str]:
    """Names of the module definitions in a pyverilog AST."""
    from pyverilog.vparser.ast import ModuleDef

    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, ModuleDef):
            found.append(node.name)
        for child in getattr(node, "children", lambda: ())():
            walk(child)

    walk(ast)
    return found
