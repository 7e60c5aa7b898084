"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every generated or state file of bitbranch is written through here: a temp file with a per-process
unique name in the same folder, then a rename.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping


def atomic_write_bytes(path: Path | str, data: bytes, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` via a unique temp file in the same folder and a rename; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if e.filename is None:  # a full disk fails in write(), which names no file: name the one being written
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def atomic_output(path: Path | str, mode: int = 0o644) -> Iterator[Path]:
    """For a tool that writes a file itself: yields a per-process unique temp name in the same folder, with the
    same suffix (tools choose the format by it), renamed to ``path`` when the block succeeds, removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_text(path: Path | str, text: str, mode: int = 0o644) -> Path:
    """Text (UTF-8) written atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode(), mode)


def json_safe(value: Any) -> Any:
    """JSON-safe values: NaN/inf become None (JSON has no NaN), paths become strings, tuples lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_text(obj: Any, compact: bool = False) -> str:
    """Deterministic JSON: sorted keys, trailing newline (same data, same bytes); 2-space indent unless
    ``compact`` (bulk data such as simulation traces)."""
    if compact:
        return json.dumps(json_safe(obj), separators=(",", ":"), sort_keys=True) + "\n"
    return json.dumps(json_safe(obj), indent=2, sort_keys=True) + "\n"


def atomic_write_json(path: Path | str, obj: Any, compact: bool = False) -> Path:
    """Deterministic JSON (:func:`json_text`), written atomically."""
    return atomic_write_text(path, json_text(obj, compact))


class Under:
    """A path attribute defined as a fixed relative path under another path attribute of the same object:
    ``lef = Under("lib_dir", "lef", "x.lef")`` reads as ``obj.lib_dir / "lef" / "x.lef"`` (a table of paths instead
    of a property per file)."""

    def __init__(self, base: str, *parts: str) -> None:
        self.base, self.parts = base, parts

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return Path(getattr(obj, self.base)).joinpath(*self.parts)
