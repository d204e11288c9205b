"""The `podsim` command. Presentation only: every number comes from the model layers.

Each command lives in its own module under ``podsim.cli`` and registers itself on ``app``.
"""

from __future__ import annotations

import importlib
import sys

import typer

from podsim.errors import Interrupted, PodsimError

app = typer.Typer(
    name="podsim",
    help="Simulator and capacity planner for AI supernodes and superclusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# command modules, each with a ``register(app)`` function
COMMAND_MODULES = (
    "catalog_cmd",
    "compare",
    "claims",
    "train",
    "serve",
    "validate",
    "plan",
    "sweep",
    "goodput",
    "facility",
    "report",
)


def _interrupted() -> None:
    sys.stderr.write("podsim: interrupted\n")
    raise SystemExit(130) from None


try:
    for _name in COMMAND_MODULES:
        try:
            _mod = importlib.import_module(f"podsim.cli.{_name}")
        except ModuleNotFoundError as _exc:  # a command not built yet
            if _exc.name != f"podsim.cli.{_name}":
                raise
            continue
        _mod.register(app)
except KeyboardInterrupt:  # Ctrl-C while the commands load (numpy, pandas, ...): one line too
    _interrupted()


def fail(message: str) -> None:
    """Print a one-line error and exit with code 2."""
    sys.stderr.write(f"podsim: error: {message}\n")
    raise SystemExit(2)


def run() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2; Ctrl-C one
    line and exit code 130 (typer turns it into a silent exit 130; commands that keep partial
    work raise :class:`Interrupted` to say what was kept)."""
    try:
        app()
    except Interrupted as exc:
        sys.stderr.write(f"podsim: {exc}\n")
        raise SystemExit(130) from None
    except PodsimError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit as exc:
        if exc.code == 130:
            sys.stderr.write("podsim: interrupted\n")
        raise


if __name__ == "__main__":
    run()
