"""`logferry local up|down|status`: the commands behind `make up`, `make down`, `make status`."""

from __future__ import annotations

import argparse
import sys

from logferry.local import deploy_cli, stack


def _up(args: argparse.Namespace) -> int:
    try:
        endpoints = stack.up(args.components or None)
    except (RuntimeError, ValueError) as error:  # port, backend, search install, start-up
        print(f"logferry local up: {error}", file=sys.stderr)
        return 1
    for name in ("aws", "search", "slack", "gateway"):
        url = getattr(endpoints, name)
        if url:
            print(f"  {name:<9} {url}")
    return 0


def _down(args: argparse.Namespace) -> int:
    if stack.down() == 0:
        print("local stack: nothing was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = stack.status()
    if not rows:
        print("local stack: not running (start it with `make up`)")
        return 3
    print(f"{'COMPONENT':<10} {'PID':>7}  {'HEALTH':<9} URL")
    for row in rows:
        health = "healthy" if row.healthy else "UNHEALTHY"
        print(f"{row.name:<10} {row.pid or '-':>7}  {health:<9} {row.url or '-'}")
    return 0 if all(row.healthy for row in rows) else 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `local {up,down,status}`; each sets `func(args) -> exit status`."""
    local = subparsers.add_parser("local", help="the Docker-free local stack")
    commands = local.add_subparsers(dest="local_command", required=True)
    up = commands.add_parser("up", help="start emulator, search node, Slack capture, gateway")
    up.add_argument("components", nargs="*", help=f"some of {', '.join(stack.ALL)}; default: all")
    up.set_defaults(func=_up)
    commands.add_parser("down", help="stop what `up` started").set_defaults(func=_down)
    commands.add_parser("status", help="each component's pid, url, health").set_defaults(
        func=_status
    )
    deploy_cli.register(commands)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: `python -m logferry.local.cli up|down|status`."""
    parser = argparse.ArgumentParser(prog="logferry")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["local", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
