"""The ``copilot`` command. Each built-in sub-command lives in its own module and is listed in COMMANDS;
other packages add theirs through the ``copilot.commands`` entry point group (``copilot eval`` comes
from the evals package that way, so the core never imports it)."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

import click

from copilot import __version__
from copilot.errors import CopilotError

__all__ = ["main", "cli", "COMMANDS", "PLUGIN_GROUP"]

PLUGIN_GROUP = "copilot.commands"

# module path -> attribute: each a click command or group added to ``copilot``.
COMMANDS: list[tuple[str, str]] = [
    ("copilot.cli.serve", "serve"),
    ("copilot.cli.db", "db"),
    ("copilot.cli.users", "users"),
    ("copilot.cli.demo", "demo"),
    ("copilot.cli.importing", "import_group"),
    ("copilot.cli.plan", "plan"),
    ("copilot.cli.guard", "guard"),
    ("copilot.cli.chat", "chat"),
    ("copilot.cli.segments", "segments"),
    ("copilot.cli.worker", "worker"),
    ("copilot.cli.campaigns", "campaigns"),
    ("copilot.cli.workspace", "workspace"),
]


class _Group(click.Group):
    """Turns the product's errors into one clear line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except CopilotError as exc:
            click.echo(f"error: {exc.message}", err=True)
            for problem in exc.context.get("problems", [])[1:20]:
                if isinstance(problem, dict):
                    where = " ".join(str(problem.get(k)) for k in ("file", "line", "path") if problem.get(k))
                    click.echo(f"  {where}: {problem.get('message', problem.get('reason', ''))}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="copilot")
def cli() -> None:
    """Campaign copilot: plan, guard, review and schedule personalized email campaigns."""


for _module, _attr in COMMANDS:
    cli.add_command(getattr(importlib.import_module(_module), _attr))
for _entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
    cli.add_command(_entry.load(), name=_entry.name)


def main() -> None:
    cli(prog_name="copilot")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
