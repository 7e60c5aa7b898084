"""What the registries (architectures in ``rtl.archs``, encodings in ``model.encodings``) share: looking a
descriptor up by name and checking that every registered one has all its parts."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, TypeVar

from common.errors import BitbranchError

T = TypeVar("T")
Problems = Callable[[str, Any], list[str]]
"""(registry key, descriptor) -> what is missing or malformed in it, one phrase each."""


class RegistryError(BitbranchError):
    """A registered descriptor lacks a part or is filed under the wrong name (a programming error)."""


def lookup(registry: Mapping[str, T], name: object, what: str, registry_name: str, problems: Problems,
           unknown: type[BitbranchError]) -> T:
    """The descriptor registered as ``name``; ``unknown`` ("unknown <what> 'x': choose one of ...") for any other
    name, RegistryError when the registered one is incomplete."""
    item = registry.get(name) if isinstance(name, str) else None
    if item is None:
        raise unknown(f"unknown {what} {name!r}: choose one of {', '.join(registry)}")
    found = problems(name, item)  # type: ignore[arg-type]
    if found:
        raise RegistryError(f"{registry_name} registry: " + "; ".join(found))
    return item


def check_all(registry: Mapping[str, Any], registry_name: str, problems: Problems, extra: Iterable[str] = ()) -> None:
    """Raise RegistryError naming every problem of every registered descriptor (plus ``extra`` ones)."""
    found = [p for key, item in registry.items() for p in problems(key, item)] + list(extra)
    if found:
        raise RegistryError(f"{registry_name} registry: " + "; ".join(found))
