"""``maillon``: each command registered by the modules named for it, and the workers and the relay
started without FastAPI or the API (decision 0066)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from services.cli import COMMAND_MODULES, MODULES, commands
from tests.conftest import ROOT

# What ``maillon worker matching``, ``maillon worker notifications`` and ``maillon relay`` run:
# the command line's dispatch, then the modules each command imports when it starts.
STARTS = """
import json, sys
from services.cli import main
for argv in (["worker", "matching"], ["worker", "notifications"], ["relay"]):
    sys.argv = ["maillon", *argv, "--help"]
    try:
        main()
    except SystemExit as done:
        assert done.code == 0, argv
import services.matching.worker
import services.notifications.worker
import services.cli.run
import services.core.relay, services.core.reconcile, services.core.queue, services.core.worker
print(json.dumps(sorted(sys.modules)))
"""


def _run(script: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    env.update(COLUMNS="200")  # the help on one line per item
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _loaded(script: str) -> list[str]:
    loaded: list[str] = json.loads(_run(script).stdout.splitlines()[-1])
    return loaded


def test_workers_and_relay_start_without_fastapi_or_the_api() -> None:
    loaded = _loaded(STARTS)
    assert "services.matching.worker" in loaded and "services.notifications.worker" in loaded
    assert "fastapi" not in loaded
    assert [m for m in loaded if m.startswith(("fastapi.", "starlette", "uvicorn"))] == []
    assert [m for m in loaded if m == "services.api" or m.startswith("services.api.")] == []


def test_the_help_lists_every_command() -> None:
    """Without a command, every module is loaded: the help lists them all."""
    loaded = _loaded(
        "import json, sys\nfrom services.cli import main\nsys.argv = ['maillon', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)))"
    )
    assert {f"services.cli.{m}" for m in MODULES} <= set(loaded)


@pytest.mark.parametrize("command", sorted(COMMAND_MODULES))
def test_each_command_runs_with_only_its_modules(command: str) -> None:
    """``maillon <command>`` loads only the modules named for it, and they are enough."""
    done = _run(
        "import json, sys\nfrom services.cli import main\n"
        f"sys.argv = ['maillon', {command!r}, '--help']\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    # The command's own help (a single command registered stays a command of the group).
    assert f"Usage: maillon {command} " in done.stdout
    loaded = json.loads(done.stdout.splitlines()[-1])
    ours = {m.removeprefix("services.cli.") for m in loaded if m.startswith("services.cli.")}
    assert ours - {"app", "progress", "runtime"} == set(COMMAND_MODULES[command])


def _callback_modules(group: typer.Typer) -> set[str]:
    found = {c.callback.__module__ for c in group.registered_commands if c.callback}
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        found |= _callback_modules(sub.typer_instance)
    return found


def test_each_command_comes_from_the_modules_named_for_it() -> None:
    """The table the dispatch reads is complete: loading a command's modules registers it and
    everything under it."""
    app = commands()
    registered: dict[str, set[str]] = {}
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__.replace("_", "-")
        registered[name] = {command.callback.__module__}
    for group in app.registered_groups:
        assert group.name is not None and group.typer_instance is not None
        registered[group.name] = _callback_modules(group.typer_instance)
    assert set(registered) == set(COMMAND_MODULES)
    assert {m for modules in COMMAND_MODULES.values() for m in modules} == set(MODULES)
    for name, modules in registered.items():
        assert modules <= {f"services.cli.{m}" for m in COMMAND_MODULES[name]}, name


def test_bench_seed_is_refused_outside_a_checkout(tmp_path: Path) -> None:
    """The generator is run as ``python -m bench.seed`` from the root of a checkout, never
    found by editing ``sys.path``: elsewhere, a sentence says where to run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "bench", "seed", "--candidates", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "lancez la commande depuis sa racine" in done.stderr
