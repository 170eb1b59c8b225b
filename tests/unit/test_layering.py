"""The packages' layering, read from their source with ``ast``: no import circles,
and s3lite standing alone (stdlib and tornado only)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = ("s3lite", "jupyters3")
OTHER_S3_CLIENTS = ("boto3", "botocore", "aiohttp", "s3fs")
FORBIDDEN_IN_S3LITE = ("jupyters3", *OTHER_S3_CLIENTS)
# s3lite.transport is the one HTTP client of s3lite: no second one beside it.
OTHER_HTTP_CLIENTS = (
    "tornado.httpclient",
    "tornado.simple_httpclient",
    "tornado.curl_httpclient",
    "http.client",
    "urllib.request",
)


def _modules(package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package``."""
    out: dict[str, Path] = {}
    for path in sorted((SRC / package).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, anywhere in it (function bodies and
    ``TYPE_CHECKING`` blocks too: a circle hidden in a function is still one)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                mod = node.module or ""
            found.add(mod)
            # ``from pkg import sub`` imports the module pkg.sub when there is one.
            found.update(f"{mod}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    """Import edges between the project's own modules. Importing ``a.b.c`` runs
    ``a`` and ``a.b`` first, so those count too, except the importer's own
    ancestors (already being imported when it runs)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        modules.update(_modules(package))
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        if path.name == "__init__.py":
            ancestors.add(name)
        edges: set[str] = set()
        for target in _imports(name, path):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                mod = ".".join(parts[:i])
                if mod in modules and mod not in ancestors and mod != name:
                    edges.add(mod)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_real_imports() -> None:
    graph = _graph()
    assert "s3lite.messages" in graph["s3lite.signing"]
    assert "s3lite.transport" in graph["s3lite.credentials.fetch"]
    assert any(m.split(".")[0] == "s3lite" for m in graph["jupyters3.manager"])


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circles(package: str) -> None:
    graph = _graph()
    circles = [c for c in _cycles(graph) if any(m.split(".")[0] == package for m in c)]
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_s3lite_stands_alone() -> None:
    bad = []
    for name, path in _modules("s3lite").items():
        for target in _imports(name, path):
            if target.split(".")[0] in FORBIDDEN_IN_S3LITE or target.startswith(OTHER_HTTP_CLIENTS):
                bad.append(f"{name} imports {target}")
    assert not bad, "; ".join(bad)


def test_jupyters3_reaches_s3_only_through_s3lite() -> None:
    bad = [
        f"{name} imports {target}"
        for name, path in _modules("jupyters3").items()
        for target in _imports(name, path)
        if target.split(".")[0] in OTHER_S3_CLIENTS
    ]
    assert not bad, "; ".join(bad)


def test_transfer_is_built_on_the_clients_public_operations() -> None:
    """s3lite.transfer sends nothing itself: no request building, signing or
    transport (beyond the sink type), and no private member of the client."""
    path = SRC / "s3lite" / "transfer.py"
    imported = _imports("s3lite.transfer", path)
    lower = {"s3lite.client", "s3lite.protocol", "s3lite.signing", "s3lite.messages"}
    assert not imported & lower
    tree = ast.parse(path.read_text())
    from_transport = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "transport"
        for alias in node.names
    }
    assert from_transport <= {"BodySink"}
    private = sorted(
        {
            f"{node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "ops"
            and node.attr.startswith("_")
        }
    )
    assert not private, private
    assert "s3lite.transfer" in _graph()["s3lite.client"]  # the client hands its jobs over


def test_the_store_knows_nothing_of_jupyter() -> None:
    """jupyters3.store is the S3 side: no Jupyter models, hooks or HTTP errors."""
    jupyter = ("jupyter_server", "jupyter_core", "nbformat", "traitlets", "tornado.web")
    contract = ("jupyters3.manager", "jupyters3.models", "jupyters3.errors", "jupyters3.uploads")
    name = "jupyters3.store"
    found = _imports(name, _modules("jupyters3")[name])
    bad = sorted(t for t in found if t.startswith(jupyter) or t.startswith(contract))
    assert not bad, f"{name} imports " + ", ".join(bad)
