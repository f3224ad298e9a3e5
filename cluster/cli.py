"""The ``safecity`` command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cluster.commands import analyze as analyze_command
from cluster.commands import demo as demo_command
from cluster.commands import lists, models
from cluster.config import SafeCityConfig, load_config
from cluster.runtime import Runtime
from serve.errors import SafeCityError
from serve.models.registry import ModelRole

Handler = Callable[[argparse.Namespace, Runtime], int]


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before or after the sub-command (``safecity --data-dir D watchlist list``)."""
    default: object = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config", type=Path, default=default, help="YAML config file (defaults apply without one)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default,
        help="where watchlist, hotlist and audit log live (overrides config)",
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


def _bench(args: argparse.Namespace, runtime: Runtime) -> int:
    from cluster.bench import gallery, pipeline, plates, stages

    if args.which == "gallery":
        return gallery.main(args.bench_args)
    if args.which == "pipeline":
        return pipeline.main(args.bench_args)
    if args.which == "plates":
        return plates.main(args.bench_args, runtime)
    return stages.main(args.bench_args, runtime)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="safecity", description="SafeCity: face and number-plate recognition with human-verified alerts."
    )
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        handler: Handler,
        help_text: str,
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        sub.set_defaults(handler=handler)
        return sub

    models_parser = commands.add_parser("models", help="model weights: pull, list")
    model_commands = models_parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    pull = command(model_commands, "pull", models.pull, "fetch the pinned default weights into the cache")
    pull.add_argument(
        "roles", nargs="*", metavar="ROLE", help=f"roles (default: all): {', '.join(ModelRole)}"
    )
    pull.add_argument("--force", action="store_true", help="fetch again even if present and verified")
    listing = command(
        model_commands, "list", models.list_models, "show each role, its source, checksum, licence, state"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per role")

    watchlist = commands.add_parser("watchlist", help="wanted people: enrol, list, remove")
    watch_commands = watchlist.add_subparsers(dest="watchlist_command", required=True, metavar="ACTION")
    enrol = command(watch_commands, "enrol", lists.watchlist_enrol, "enrol a subject from one or more photos")
    enrol.add_argument("--id", required=True, help="stable subject id (letters, digits, . _ -)")
    enrol.add_argument("--label", required=True, help="display label; use neutral labels in demos and tests")
    enrol.add_argument("--category", default="", help="category or reason, e.g. 'wanted: case 2026/114'")
    enrol.add_argument(
        "--threshold", type=float, help="this subject's match threshold (default: faces.match_threshold)"
    )
    enrol.add_argument(
        "--face", type=int, help="which face to use when a photo shows several (index, 0 = first)"
    )
    enrol.add_argument("photos", nargs="+", metavar="PHOTO")
    wl_list = command(watch_commands, "list", lists.watchlist_list, "list subjects")
    wl_list.add_argument("--json", action="store_true")
    wl_remove = command(watch_commands, "remove", lists.watchlist_remove, "remove a subject and its photos")
    wl_remove.add_argument("id")

    hotlist = commands.add_parser("hotlist", help="wanted vehicles: add, list, remove")
    hot_commands = hotlist.add_subparsers(dest="hotlist_command", required=True, metavar="ACTION")
    add = command(hot_commands, "add", lists.hotlist_add, "add or update a wanted plate")
    add.add_argument("plate")
    add.add_argument("--reason", required=True)
    add.add_argument("--expires", help="ISO 8601 time after which the entry no longer matches")
    hl_list = command(hot_commands, "list", lists.hotlist_list, "list plates")
    hl_list.add_argument("--json", action="store_true")
    hl_list.add_argument("--all", action="store_true", help="include expired entries")
    hl_remove = command(hot_commands, "remove", lists.hotlist_remove, "remove a plate")
    hl_remove.add_argument("plate")

    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    command(audit_commands, "show", lists.audit_show, "verify the hash chain and print every entry")

    analyze = command(
        commands, "analyze", analyze_command.analyze, "find faces and plates in images and videos"
    )
    analyze.add_argument("paths", nargs="+", metavar="PATH", help="image or video files")
    analyze.add_argument("--json", action="store_true", help="one JSON object per image or frame")
    analyze.add_argument("--every", type=_positive_int, default=1, help="analyse every Nth frame of videos")

    run = commands.add_parser("run", help="run the live pipeline for the config's cameras until stopped")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--report-every", type=float, default=30.0, help="seconds between counter reports")
    run.set_defaults(handler=None)

    demo = command(commands, "demo", demo_command.demo, "a demo city through the live pipeline (local Ray)")
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
        _bench,
        "benchmarks: gallery (ScaNN vs exact), stages (images/s), pipeline (vs one process),"
        " plates (OCR exact reads and plates/s)",
    )
    bench.add_argument("which", choices=["gallery", "stages", "pipeline", "plates"])
    bench.add_argument(
        "bench_args", nargs=argparse.REMAINDER, help="options for the benchmark (see --help after it)"
    )
    return parser


def build_runtime(args: argparse.Namespace) -> Runtime:
    """Config (file or defaults) with command-line overrides applied."""
    config = load_config(args.config) if args.config is not None else SafeCityConfig()
    if args.data_dir is not None:
        config = config.model_copy(update={"data_dir": args.data_dir})
    actor = args.actor or getpass.getuser()
    return Runtime(config=config, actor=actor)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``safecity`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        from cluster import job

        return job.main(["--config", str(args.config), "--report-every", str(args.report_every)])
    try:
        runtime = build_runtime(args)
        handler: Handler = args.handler
        return handler(args, runtime)
    except SafeCityError as exc:
        message = str(exc).replace("\n", "; ")
        print(f"safecity: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
