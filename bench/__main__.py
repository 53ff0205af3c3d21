"""`python -m bench` (`make bench`): run the chosen figures and print each with its raw baseline and ratio.

Environment (or the matching flags): `BENCH=B1,B3` which figures (default all), `BENCH_SIZES=2000,10000`
event counts for B3 (B4 uses the largest), `BENCH_DURATION=10` seconds per measurement,
`BENCH_REBUILD_LIMIT=120` seconds after which a rebuild is cut (and its rate so far reported).
`DATABASE_URL` / `KAFKA_BOOTSTRAP_SERVERS` name the servers to measure on; without them they are started here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.end_to_end import Options, b1_embedded, b2_distributed
from bench.history import b3_rebuild, b4_reads, seeded
from bench.report import Figure, format_table, write_results
from bench.servers import DATA_ROOT, servers
from bench.startup import b5_startup

ALL = ("B1", "B2", "B3", "B4", "B5")
RESULTS = Path(__file__).resolve().parents[1] / "bench-results"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=os.environ.get("BENCH", ",".join(ALL)), help="e.g. B1,B3")
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "2000,10000"), help="B3/B4 event counts")
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--rebuild-limit", type=float, default=float(os.environ.get("BENCH_REBUILD_LIMIT", "120")))
    args = parser.parse_args(argv)
    args.only = [name.strip().upper() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in ALL]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    args.sizes = sorted(int(size) for size in args.sizes.split(",") if size.strip())
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    work_dir = DATA_ROOT / f"bench-work-{os.getpid()}"
    work_dir.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    with servers() as given:
        database = given.database()
        kafka = given.kafka() if {"B2", "B3"} & set(args.only) else None
        options = Options(seconds=args.duration, work_dir=work_dir)
        print(
            f"measuring {', '.join(args.only)} on PostgreSQL {database.split('@')[-1]}"
            + (f" and Kafka {kafka}" if kafka else ""),
            file=sys.stderr,
            flush=True,
        )

        def step(name: str, run: Any) -> None:
            started = time.monotonic()
            print(f"-- {name} ...", file=sys.stderr, flush=True)
            result = asyncio.run(run)
            timings[name] = round(time.monotonic() - started, 1)
            figures.extend(result)
            print(format_table(result), file=sys.stderr, flush=True)

        if "B1" in args.only:
            step("B1", b1_embedded(database, options))
        if "B2" in args.only:
            assert kafka is not None
            step("B2", b2_distributed(database, kafka, options))
        histories = []
        if {"B3", "B4"} & set(args.only):
            sizes = args.sizes if "B3" in args.only else args.sizes[-1:]
            for size in sizes:
                print(f"-- seeding {size} events ...", file=sys.stderr, flush=True)
                history = asyncio.run(seeded(database, size))
                histories.append(history)
                if "B3" in args.only:
                    step(f"B3 {size}", b3_rebuild(history, kafka, work_dir, args.rebuild_limit))
        if "B4" in args.only:
            if "B3" not in args.only:
                from bench.history import run_rebuild
                from bench.processes import lif_env

                asyncio.run(
                    run_rebuild(
                        lif_env(DATABASE_URL=histories[-1].database_url), "logs", work_dir / "b4-rebuild.log", 24 * 3600
                    )
                )
            step("B4", b4_reads(histories[-1], work_dir, args.duration))
        if "B5" in args.only:
            step("B5", b5_startup(work_dir))
        started_here = given.started

    print("\n" + format_table(figures))
    meta = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "options": {
            "only": args.only,
            "sizes": args.sizes,
            "duration": args.duration,
            "rebuild_limit": args.rebuild_limit,
        },
        "servers_started_here": started_here,
        "seconds_per_step": timings,
    }
    path = write_results(figures, meta, RESULTS)
    print(f"results: {path}")
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
