"""One entry point: recstack train | infer | models | data | bench | demo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from recstack.errors import RecstackError


def _config(args) -> "RunConfig":  # noqa: F821
    from recstack.config import load_config

    return load_config(args.config, args.override)


def cmd_train(args) -> None:
    from recstack.train.recipes import train

    train(_config(args))


def cmd_infer(args) -> None:
    from recstack.train.recipes import infer

    infer(_config(args))


def cmd_models(args) -> None:
    from recstack.models.base import available_models

    for name, (cls, _) in available_models().items():
        doc = (cls.__module__ and sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
        print(f"{name:16s} {doc[0] if doc else ''}")


def cmd_data_synth(args) -> None:
    from recstack.data.synthetic import SyntheticSpec, generate

    oracle = generate(SyntheticSpec(train_rows=args.train_rows, test_rows=args.test_rows, seed=args.seed), args.out)
    print(json.dumps({k: oracle[k] for k in ("oracle_auc_test", "oracle_logloss_test", "ctr_test")}, indent=1))


def cmd_data_prepare(args) -> None:
    from recstack.data.prepare import prepare_criteo

    prepare_criteo(Path(args.src), Path(args.dst), args.sparse_feature_number, args.dense_transform,
                   args.test_fraction, args.skip_bad_lines)


def cmd_data_download(args) -> None:
    from recstack.data.download import download_dataset

    print(download_dataset(args.name, Path(args.out), base_url=args.base_url, extract=not args.no_extract))


def cmd_bench(args) -> None:
    from recstack.bench.throughput import main as bench_main

    bench_main(args)


def cmd_demo(args) -> None:
    from recstack.demo import quickstart

    quickstart(Path(args.out), args.train_rows, args.test_rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn, text in [("train", cmd_train, "train the model a config names"),
                           ("infer", cmd_infer, "evaluate saved epochs on the test data, write predictions")]:
        p = sub.add_parser(name, help=text)
        p.add_argument("-m", "--config", required=True, help="config.yaml (PaddleRec layout)")
        p.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. -o runner.epochs=2 (repeatable)")
        p.set_defaults(fn=fn)
    sub.add_parser("models", help="list registered models").set_defaults(fn=cmd_models)

    data = sub.add_parser("data", help="data tools").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("synth", help="write Criteo-shaped synthetic TSV with a known oracle AUC")
    p.add_argument("out")
    p.add_argument("--train-rows", type=int, default=1_000_000)
    p.add_argument("--test-rows", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=2024)
    p.set_defaults(fn=cmd_data_synth)
    p = data.add_parser("prepare", help="raw Criteo TSV (file or folder, .gz ok) -> PaddleRec slot text")
    p.add_argument("dataset", choices=["criteo"])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--sparse-feature-number", type=int, default=1000001)
    p.add_argument("--dense-transform", choices=["minmax", "log1p"], default="minmax")
    p.add_argument("--test-fraction", type=float, default=0.0, help="hold out the last fraction as test/")
    p.add_argument("--skip-bad-lines", action="store_true")
    p.set_defaults(fn=cmd_data_prepare)
    p = data.add_parser("download", help="download a public archive (checksum-verified, resumable)")
    p.add_argument("name", help="criteo, ml-1m, ml-100k, ml-latest-small")
    p.add_argument("out")
    p.add_argument("--base-url", default=None, help="mirror to fetch from instead of the public host")
    p.add_argument("--no-extract", action="store_true")
    p.set_defaults(fn=cmd_data_download)

    p = sub.add_parser("bench", help="throughput benchmark (= recstack bench throughput): parse, cache read, train "
                                     "and infer samples/s against the machine's bounds (also: recstack bench "
                                     "scaling|machine|peers --help)")
    from recstack.bench.throughput import add_arguments as bench_arguments

    bench_arguments(p)
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("demo", help="generate data, train DeepFM, evaluate, write predictions")
    p.add_argument("--out", default="output/demo")
    p.add_argument("--train-rows", type=int, default=400_000)
    p.add_argument("--test-rows", type=int, default=100_000)
    p.set_defaults(fn=cmd_demo)
    return parser


BENCH_SUITES = {"throughput": "recstack.bench.throughput", "scaling": "recstack.bench.scaling", "machine": "recstack.bench.machine", "peers": "recstack.bench.peers"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 2 and argv[0] == "bench" and argv[1] in BENCH_SUITES:
        # `recstack bench scaling|machine|peers ...`: each suite owns its options
        import importlib

        importlib.import_module(BENCH_SUITES[argv[1]]).main(argv[2:])
        return 0
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except RecstackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
