"""``safecity bench gallery|matcher|stages|pipeline|plates|scale [OPTIONS]``."""

from __future__ import annotations

import argparse

from cluster.runtime import Runtime
from serve.errors import SafeCityError


def bench(args: argparse.Namespace, runtime: Runtime) -> int:
    """Run one benchmark with the options given after its name."""
    if args.data_dir is not None:
        raise SafeCityError(f"bench {args.which} reads and writes no data directory; drop --data-dir")
    from cluster.bench import gallery, matcher, pipeline, plates, scale, stages

    if args.which == "gallery":
        if args.config is not None:
            raise SafeCityError("bench gallery searches generated vectors and reads no config; drop --config")
        return gallery.main(args.bench_args)
    if args.which == "matcher":
        if args.config is not None:
            raise SafeCityError(
                "bench matcher decides on a generated watchlist and reads no config; drop --config"
            )
        return matcher.main(args.bench_args)
    if args.which == "pipeline":
        config = [] if args.config is None else ["--config", str(args.config)]
        return pipeline.main([*config, *args.bench_args])
    if args.which == "scale":
        config = [] if args.config is None else ["--config", str(args.config)]
        return scale.main([*config, *args.bench_args])
    if args.which == "plates":
        return plates.main(args.bench_args, runtime)
    return stages.main(args.bench_args, runtime)
