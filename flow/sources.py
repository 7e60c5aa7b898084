"""Which project code a stage runs: the repository modules its module imports, transitively (its import closure).

A stage's fingerprint covers this closure (``Stage.__init_subclass__`` hashes it when the class is defined), so
editing one helper reruns exactly the stages whose modules reach it through imports, and an edit to a module a
stage depends on (e.g. ``verif/activity.py`` behind the gatesim stage) can never leave a stale result. No list is
kept by hand: the closure is computed from the import statements of the files (every ``import`` and
``from ... import`` anywhere in a module, including imports inside functions; ``from pkg import name`` counts
``pkg.name`` when that is a module; importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``).
Only the repository's own packages are followed; third-party code and tools are covered by tool versions.

Each module is hashed as its syntax tree without docstrings (``code_digest``): editing a comment, a docstring or
the layout of a file reruns nothing, editing code does. Non-Python files a stage's code reads at run time (data
such as ``flow/pnr/qrouter_dont_use.txt``) are still declared in the stage's ``sources``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=None)
def project_packages(repo: Path = REPO) -> frozenset[str]:
    """Top-level packages of the repository (folders with an ``__init__.py``)."""
    return frozenset(p.parent.name for p in repo.glob("*/__init__.py"))


@functools.lru_cache(maxsize=None)
def module_file(name: str, repo: Path = REPO) -> Path | None:
    """The file of repository module ``name`` (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``), None when it is not
    one of the repository's modules."""
    if not name or name.split(".")[0] not in project_packages(repo):
        return None
    base = repo.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def module_name(path: Path, repo: Path = REPO) -> str | None:
    """The dotted module name of a repository file, None when it is outside the repository's packages."""
    try:
        rel = Path(path).resolve().relative_to(repo)
    except ValueError:
        return None
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    name = ".".join(parts)
    return name if module_file(name, repo) is not None else None


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


class _StripDocstrings(ast.NodeTransformer):
    def _strip(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
        return node

    visit_Module = visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _strip


def imported_modules(path: Path, name: str | None, repo: Path = REPO) -> frozenset[str]:
    """Repository modules the file ``path`` (module ``name``, None if unknown) imports, each with its parent
    packages; relative imports need ``name``."""
    return _file_info(Path(path), name, repo)[0]


def _file_info(path: Path, name: str | None, repo: Path) -> tuple[frozenset[str], str]:
    st = path.stat()
    return _info(path, name, repo, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=None)
def _info(path: Path, name: str | None, repo: Path, size: int, mtime_ns: int) -> tuple[frozenset[str], str]:
    """(imported repository modules, code digest) of one file, from one parse."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not name:
                    continue
                pkg = name.split(".")
                pkg = pkg if is_pkg else pkg[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join([*pkg, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            targets = [base, *(f"{base}.{a.name}" for a in node.names if a.name != "*")]
        else:
            continue
        for t in targets:
            for m in _parents(t):
                if module_file(m, repo) is not None:
                    found.add(m)
    stripped = _StripDocstrings().visit(tree)
    digest = hashlib.sha256(ast.dump(stripped, annotate_fields=False, include_attributes=False).encode()).hexdigest()
    return frozenset(found), digest


def closure(path: Path, repo: Path = REPO) -> dict[str, Path]:
    """The file ``path`` and every repository module it reaches through imports: {module name: file}."""
    path = Path(path).resolve()
    start = module_name(path, repo) or f"<file>{path}"
    out: dict[str, Path] = {start: path}
    todo = [(start, path)]
    while todo:
        name, p = todo.pop()
        for m in imported_modules(p, None if name.startswith("<file>") else name, repo):
            if m not in out:
                out[m] = module_file(m, repo)  # type: ignore[assignment]
                todo.append((m, out[m]))
    return dict(sorted(out.items()))


def code_digest(path: Path, repo: Path = REPO) -> str:
    """Hash of a module's code: its syntax tree without docstrings, comments, line numbers or layout."""
    p = Path(path).resolve()
    return _file_info(p, module_name(p, repo), repo)[1]


def closure_digest(path: Path, repo: Path = REPO) -> str:
    """One hash of the code of ``path`` and of every repository module it imports, transitively."""
    h = hashlib.sha256()
    for name, p in closure(path, repo).items():
        h.update(f"{name if not name.startswith('<file>') else '<stage file>'}\0{code_digest(p, repo)}\n".encode())
    return h.hexdigest()
