"""The ``safecity`` command line.

Each command's module is imported when that command runs, so ``--help``, ``--version`` and
``config check`` answer without loading the models' libraries, ScaNN, pyarrow or OpenCV.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from cluster import __version__
from cluster.api.roles import Role
from serve.errors import SafeCityError
from serve.models.registry import ModelRole

if TYPE_CHECKING:
    from cluster.runtime import Runtime

Handler = Callable[[argparse.Namespace, "Runtime"], int]
GLOBAL_OPTIONS = ("config", "data_dir", "actor")


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before or after the sub-command (``safecity --data-dir D watchlist list``).

    Sub-commands add them with ``SUPPRESS`` defaults, so an option given after the sub-command
    replaces the top level's value and an option not given there leaves it alone.
    """
    default: object = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config", type=Path, default=default, help="YAML config file (defaults apply without one)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default,
        help="where watchlist, hotlist, audit and alert logs live (overrides the config's data_dir)",
    )
    parser.add_argument(
        "--actor", default=default, help="who is acting, for the audit log (default: the OS login name)"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="safecity", description="SafeCity: face and number-plate recognition with human-verified alerts."
    )
    parser.add_argument("--version", action="version", version=f"safecity {__version__}")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        handler: str,
        help_text: str,
    ) -> argparse.ArgumentParser:
        """A sub-command whose ``handler`` ("module:function") is imported only when it runs."""
        sub: argparse.ArgumentParser = parent.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        sub.set_defaults(handler=handler)
        return sub

    def group(name: str, help_text: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        return sub.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")

    model_commands = group("models", "model weights: pull, list")
    pull = command(
        model_commands,
        "pull",
        "cluster.commands.models:pull",
        "fetch the pinned default weights into the cache",
    )
    pull.add_argument(
        "roles", nargs="*", metavar="ROLE", help=f"roles (default: all): {', '.join(ModelRole)}"
    )
    pull.add_argument("--force", action="store_true", help="fetch again even if present and verified")
    listing = command(
        model_commands,
        "list",
        "cluster.commands.models:list_models",
        "show each role, its source, checksum, licence, state",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per role")

    lists = "cluster.commands.lists"
    watch_commands = group("watchlist", "wanted people: enrol, list, remove")
    enrol = command(
        watch_commands, "enrol", f"{lists}:watchlist_enrol", "enrol a subject from one or more photos"
    )
    enrol.add_argument("id", metavar="ID", help="stable subject id (letters, digits, . _ -)")
    enrol.add_argument("--label", required=True, help="display label; use neutral labels in demos and tests")
    enrol.add_argument("--category", default="", help="category or reason, e.g. 'wanted: case 2026/114'")
    enrol.add_argument(
        "--threshold", type=float, help="this subject's match threshold (default: faces.match_threshold)"
    )
    enrol.add_argument(
        "--face", type=int, help="which face to use when a photo shows several (index, 0 = first)"
    )
    enrol.add_argument("photos", nargs="+", metavar="PHOTO", help="photos of the subject's face")
    wl_list = command(watch_commands, "list", f"{lists}:watchlist_list", "list subjects")
    wl_list.add_argument("--json", action="store_true", help="one JSON object per subject")
    wl_remove = command(
        watch_commands, "remove", f"{lists}:watchlist_remove", "remove a subject and its photos"
    )
    wl_remove.add_argument("id", metavar="ID", help="the subject id")

    hot_commands = group("hotlist", "wanted vehicles: add, list, remove")
    add = command(hot_commands, "add", f"{lists}:hotlist_add", "add or update a wanted plate")
    add.add_argument("plate", metavar="PLATE", help="the plate as written (separators are ignored)")
    add.add_argument("--reason", required=True)
    add.add_argument("--expires", help="ISO 8601 time after which the entry no longer matches")
    hl_list = command(hot_commands, "list", f"{lists}:hotlist_list", "list plates")
    hl_list.add_argument("--json", action="store_true", help="one JSON object per plate")
    hl_list.add_argument("--all", action="store_true", help="include expired entries")
    hl_remove = command(hot_commands, "remove", f"{lists}:hotlist_remove", "remove a plate")
    hl_remove.add_argument("plate", metavar="PLATE")

    audit_commands = group("audit", "the audit log")
    command(audit_commands, "show", f"{lists}:audit_show", "verify the hash chain and print every entry")

    key_commands = group("keys", "API keys of the operator service: create, list, revoke")
    keys = "cluster.commands.keys"
    key_create = command(key_commands, "create", f"{keys}:keys_create", "make a key (printed once)")
    key_create.add_argument("--name", required=True, help="unique name, shown in the audit log")
    key_create.add_argument(
        "--role",
        required=True,
        choices=[str(role) for role in Role],
        help="admin: keys; supervisor: watchlist, hotlist, alerts; operator: alerts and review; "
        "auditor: the audit log",
    )
    key_list = command(key_commands, "list", f"{keys}:keys_list", "list keys (names and roles, never keys)")
    key_list.add_argument("--json", action="store_true", help="one JSON object per key")
    key_revoke = command(key_commands, "revoke", f"{keys}:keys_revoke", "revoke a key")
    key_revoke.add_argument("name", metavar="NAME", help="the key's name")

    command(
        commands,
        "serve",
        "cluster.commands.serve:serve_api",
        "run the operator API and console alone (on api.host:api.port; lists, alerts, review)",
    )

    purge = command(
        commands,
        "purge",
        "cluster.commands.purge:purge_now",
        "purge alerts, their evidence and reviews older than retention.alert_days, except those confirmed "
        "and marked to keep (a running dispatcher does this itself every retention.purge_every_s)",
    )
    purge.add_argument("--dry-run", action="store_true", help="say what would go; remove and audit nothing")

    config_commands = group("config", "the YAML config: check")
    check = command(
        config_commands,
        "check",
        "cluster.commands.config_check:check",
        "validate a config file and print its effective values (defaults filled in, paths resolved)",
    )
    check.add_argument("file", nargs="?", type=Path, metavar="FILE", help="the config (default: --config)")
    check.add_argument("--schema", action="store_true", help="print the config's JSON schema instead")

    analyze = command(
        commands, "analyze", "cluster.commands.analyze:analyze", "find faces and plates in images and videos"
    )
    analyze.add_argument("paths", nargs="+", metavar="PATH", help="image or video files")
    analyze.add_argument("--json", action="store_true", help="one JSON object per image or frame")
    analyze.add_argument("--every", type=_positive_int, default=1, help="analyse every Nth frame of videos")

    run = command(
        commands,
        "run",
        "cluster.commands.run:run",
        "run the live pipeline for the config's cameras until stopped (needs --config)",
    )
    run.add_argument(
        "--report-every", type=_positive_float, default=30.0, help="seconds between counter reports"
    )
    run.add_argument(
        "--drain-timeout",
        type=_positive_float,
        default=30.0,
        help="seconds to deliver pending alerts when stopping",
    )

    demo = command(
        commands, "demo", "cluster.commands.demo:demo", "a demo city through the live pipeline (local Ray)"
    )
    demo.add_argument("--images", action="store_true", help="analyse the bundled images only (no Ray)")
    demo.add_argument("--timeout", type=float, default=100.0, help="longest the cameras may stream (seconds)")
    demo.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="run a six-camera demo city and keep its data in DIR for the notebooks (see notebooks/)",
    )
    demo.add_argument("--seconds", type=float, default=60.0, help="how long --record streams (seconds)")

    bench = command(
        commands,
        "bench",
        "cluster.commands.bench:bench",
        "benchmarks: gallery (ScaNN vs exact), matcher (decisions/s, batched searches), stages (images/s),"
        " pipeline (vs one process), scale (1,000 streamed cameras),"
        " plates (OCR exact reads and plates/s)",
    )
    bench.add_argument("which", choices=["gallery", "matcher", "stages", "pipeline", "plates", "scale"])
    bench.add_argument(
        "bench_args", nargs=argparse.REMAINDER, help="options for the benchmark (see --help after it)"
    )
    return parser


def _lift_global_options(args: argparse.Namespace) -> None:
    """Take the global options out of ``bench NAME ...``'s arguments, which argparse hands over whole."""
    lifter = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _global_options(lifter, suppress=True)
    lifted, rest = lifter.parse_known_args(args.bench_args)
    for name, value in vars(lifted).items():
        setattr(args, name, value)
    args.bench_args = rest


def build_runtime(args: argparse.Namespace) -> Runtime:
    """Config (file or defaults) with command-line overrides applied."""
    from cluster.config import SafeCityConfig, load_config
    from cluster.runtime import Runtime

    config = load_config(args.config) if args.config is not None else SafeCityConfig()
    if args.data_dir is not None:
        config = config.model_copy(update={"data_dir": args.data_dir})
    actor = args.actor or getpass.getuser()
    return Runtime(config=config, actor=actor)


def _handler(spec: str) -> Handler:
    module, _, name = spec.partition(":")
    return cast(Handler, getattr(importlib.import_module(module), name))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``safecity`` console script."""
    args = build_parser().parse_args(argv)
    # Modules log under their own names; warnings and errors show with that name, like the error line.
    logging.basicConfig(level=logging.WARNING, format="safecity: %(levelname)s: %(name)s: %(message)s")
    if args.command == "bench":
        _lift_global_options(args)
    if args.command == "config" and args.file is not None:
        if args.config is not None and args.config != args.file:
            print(
                f"safecity: error: two configs given: {args.file} and --config {args.config}", file=sys.stderr
            )
            return 2
        args.config = args.file
    try:
        runtime = build_runtime(args)
        return _handler(args.handler)(args, runtime)
    except SafeCityError as exc:
        message = str(exc).replace("\n", "; ")
        print(f"safecity: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
