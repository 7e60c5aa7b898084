"""Paths in generated scripts, quoted for the script's language (yosys, Tcl, tcsh), or refused in one line.

Every path that goes into a generated yosys, Tcl (OpenSTA, magic, qrouter, netgen) or tcsh (qflow) script goes
through one of these. A path the language cannot carry (a newline anywhere; a double quote in yosys; a single
quote or ``!`` in tcsh) is an ``UnsafePath`` error naming the path and what to do, never a script that does
something else. ``plain_path`` is for tools that paste paths into their own scripts unquoted (qflow): only
letters, digits and ``_ . / + , @ % = : -`` pass.
"""

from __future__ import annotations

import re
from pathlib import Path

from common.errors import BitbranchError

_TCL_SPECIAL = re.compile(r'([\\$\[\]"{}])')
_PLAIN = re.compile(r"[A-Za-z0-9_./+,@%=:-]+")


class UnsafePath(BitbranchError):
    """A path a generated script cannot carry."""


def _text(path: Path | str) -> str:
    s = str(path)
    if "\n" in s or "\r" in s or "\0" in s:
        raise UnsafePath(f"path {s!r} contains a line break: rename it (or choose another --root / PDK_ROOT)")
    return s


def tcl(path: Path | str) -> str:
    """One Tcl word: double-quoted, with ``\\ $ [ ] " { }`` backslash-escaped (no substitution happens)."""
    return '"' + _TCL_SPECIAL.sub(r"\\\1", _text(path)) + '"'


def yosys(path: Path | str) -> str:
    """One yosys script argument: double-quoted (yosys has no escape inside quotes, so a ``"`` is refused)."""
    s = _text(path)
    if '"' in s:
        raise UnsafePath(f"path {s!r} contains a double quote, which a yosys script cannot carry: rename it "
                         f"(or choose another --root / PDK_ROOT)")
    return f'"{s}"'


def tcsh(path: Path | str) -> str:
    """One tcsh word: single-quoted (no variable, command or glob substitution); ``'`` and ``!`` are refused."""
    s = _text(path)
    bad = sorted({c for c in s if c in "'!"})
    if bad:
        raise UnsafePath(f"path {s!r} contains {' and '.join(repr(c) for c in bad)}, which a tcsh script cannot "
                         f"carry: rename it (or choose another --root / PDK_ROOT)")
    return f"'{s}'"


def plain_path(path: Path | str, what: str, fix: str) -> str:
    """A path for a tool that pastes it unquoted into its own shell scripts: refused unless every character is
    plain (``what`` names the path, ``fix`` says what to do instead)."""
    s = _text(path)
    if not _PLAIN.fullmatch(s):
        odd = "".join(sorted({c for c in s if not _PLAIN.fullmatch(c)}))
        raise UnsafePath(f"{what} {s!r} contains {odd!r}: the place-and-route tools (qflow, qrouter) paste paths "
                         f"into their scripts unquoted; {fix}")
    return s
