"""The one loader of bitbranch's state files (RTL manifest, metrics, stage stamps, tool-run records, caches).

A state file can be damaged: truncated by a full disk, emptied, hand-edited into valid JSON of the wrong shape
(``null``, ``[]``). ``load_state`` reads one and checks its shape; a missing file is ``None``, a damaged one is
reported in one ``warning:`` line (once per file and process) and is also ``None``: the caller treats it as
absent (the stage reruns, the row is missing), never as a traceback.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

Check = Callable[[Any], "str | None"]
"""A shape check: returns why the value is wrong, or None when it is right."""

_warned: set[str] = set()
_lock = threading.Lock()


def keys_of(required: Mapping[str, type | tuple[type, ...]]) -> Check:
    """A check for a JSON object holding ``required`` keys of the given types."""

    def check(value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"not a JSON object but {type(value).__name__ if value is not None else 'null'}"
        for k, t in required.items():
            if k not in value:
                return f"no {k!r}"
            if not isinstance(value[k], t):
                return f"{k!r} is {type(value[k]).__name__}, not {getattr(t, '__name__', t)}"
        return None

    return check


def is_object(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"not a JSON object but {type(value).__name__ if value is not None else 'null'}"


class DamagedState(ValueError):
    """A state file exists but is unreadable or of the wrong shape (``why``)."""

    def __init__(self, path: Path, why: str):
        self.path, self.why = path, why
        super().__init__(f"{path} is damaged ({why})")


def read_state(path: Path | str, check: Check = is_object) -> Any:
    """The parsed file; ``None`` when it does not exist; raises ``DamagedState`` when it is damaged."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (IsADirectoryError, UnicodeDecodeError) as e:
        raise DamagedState(path, type(e).__name__) from None
    except OSError as e:
        raise DamagedState(path, e.strerror or type(e).__name__) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise DamagedState(path, "empty" if not text.strip() else f"not valid JSON: {e.msg} at line {e.lineno}") from None
    why = check(value)
    if why is not None:
        raise DamagedState(path, why)
    return value


def load_state(path: Path | str, what: str, check: Check = is_object, then: str = "treated as absent",
               warn: Callable[[str], None] | None = None) -> Any:
    """Like ``read_state``, but a damaged file is one warning line (``what`` names it, ``then`` says what happens
    next, e.g. 'the stage reruns') and ``None``."""
    try:
        return read_state(path, check)
    except DamagedState as e:
        note_damage(e, what, then, warn)
        return None


def note_damage(e: DamagedState, what: str, then: str, warn: Callable[[str], None] | None = None) -> None:
    """Report a damaged state file once per process."""
    key = f"{e.path}"
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    (warn or _stderr)(f"warning: {what} {e.path} is damaged ({e.why}); {then}")


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
