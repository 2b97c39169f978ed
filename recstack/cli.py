"""One entry point: recstack train | infer | models | data | bench | demo | export | predict | serve."""

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
    from recstack.train import recall, recipes, text

    cfg = _config(args)
    if text.is_text_model(cfg.model):
        text.train(cfg)
        return
    (recall.train if recall.is_recall_model(cfg.model) else recipes.train)(cfg)


def cmd_infer(args) -> None:
    from recstack.train import recall, recipes, text

    cfg = _config(args)
    if text.is_text_model(cfg.model):
        text.infer(cfg)
        return
    (recall.infer if recall.is_recall_model(cfg.model) else recipes.infer)(cfg)


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


def cmd_export(args) -> None:
    from recstack.export.commands import export_checkpoint

    export_checkpoint(_config(args), Path(args.out), args.epoch)


def cmd_export_embeddings(args) -> None:
    from recstack.export.embeddings import export_embeddings

    result = export_embeddings(_config(args), Path(args.out), args.epoch, args.index, args.k)
    recall = result[f"recall@{result['k']}"]
    print(f"{result['items']:,} items and {result['users']:,} users ({result['dim']}-d, epoch {result['epoch']}) -> "
          f"{args.out}; {args.index} index built in {result['build_s']:.2f}s, recall@{result['k']} vs exact "
          f"{recall:.4f}, {result['batched_qps']:,.0f} queries/s batched, "
          f"{result['single_qps']:,.0f} one at a time")


def cmd_retrieve(args) -> None:
    from recstack.export.embeddings import retrieve
    from recstack.train.checkpoint import write_atomic

    users = None if args.all else [int(u) for u in args.users.split(",") if u.strip()]
    rows = retrieve(Path(args.embeddings), users, args.k)
    lines = [f"{user},{' '.join(map(str, items))},{' '.join(f'{s:.5f}' for s in scores)}" for user, items, scores in rows]
    text = "user,items,scores\n" + "\n".join(lines) + "\n"
    if args.out:
        write_atomic(Path(args.out), text)
        print(f"top-{args.k} items for {len(rows):,} users -> {args.out}")
    else:
        print(text, end="")


def cmd_predict(args) -> None:
    from recstack.export.commands import predict_files

    result = predict_files(Path(args.model), [Path(f) for f in args.data], Path(args.out) if args.out else None,
                           args.threads, args.batch_size)
    print(f"{result['rows']} samples scored in {result['seconds']:.2f}s ({result['samples_per_second']:,.0f}/s)"
          + "".join(f", {k} {v:.6f}" for k, v in result.items() if k.endswith("/auc"))
          + (f"; scores: {result['out']}" if "out" in result else ""))


def cmd_serve(args) -> None:
    from recstack.serve.app import serve

    serve(Path(args.model), args.host, args.port, args.threads)


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
                                     "scaling|machine|peers|rank|predict|serve|recall|index --help)")
    from recstack.bench.throughput import add_arguments as bench_arguments

    bench_arguments(p)
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("demo", help="generate data, train DeepFM, evaluate, write predictions (`recstack demo "
                                    "movielens --help`: the online recall -> rank system on MovieLens, with its page)")
    p.add_argument("--out", default="output/demo")
    p.add_argument("--train-rows", type=int, default=400_000)
    p.add_argument("--test-rows", type=int, default=100_000)
    p.set_defaults(fn=cmd_demo)

    p = sub.add_parser("export", help="checkpoint -> ONNX (TorchScript fallback) + manifest.json for inference")
    p.add_argument("-m", "--config", required=True, help="the config the model was trained with")
    p.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--epoch", type=int, default=None, help="default: best.json's epoch, else the newest saved")
    p.add_argument("--out", required=True, help="artifact folder (replaced atomically)")
    p.set_defaults(fn=cmd_export)
    p = sub.add_parser("export-embeddings", help="recall checkpoint -> item and user vectors with ids + an ANN index")
    p.add_argument("-m", "--config", required=True, help="the recall config the model was trained with")
    p.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--epoch", type=int, default=None, help="default: best.json's epoch, else the last")
    p.add_argument("--index", choices=["hnsw", "ivf", "flat"], default="hnsw")
    p.add_argument("--k", type=int, default=100, help="top-K for the index's recall against exact search")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_export_embeddings)
    p = sub.add_parser("retrieve", help="top-K item ids for users from exported embeddings")
    p.add_argument("--embeddings", required=True, help="folder written by recstack export-embeddings")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--users", help="comma-separated raw user ids")
    who.add_argument("--all", action="store_true", help="every exported user")
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--out", default=None, help="CSV file (default: print)")
    p.set_defaults(fn=cmd_retrieve)
    p = sub.add_parser("predict", help="score raw data files with an exported model on onnxruntime")
    p.add_argument("--model", required=True, help="artifact folder written by recstack export")
    p.add_argument("--data", required=True, nargs="+", help="files or folders in the artifact's data format")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=8192)
    p.add_argument("--out", default=None, help="CSV of scores: file, line, one column per task")
    p.set_defaults(fn=cmd_predict)
    p = sub.add_parser("serve", help="HTTP scoring service for an exported model (FastAPI + uvicorn)")
    p.add_argument("--model", required=True, help="artifact folder written by recstack export")
    p.add_argument("--host", default="127.0.0.1", help="default: loopback only")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    p.set_defaults(fn=cmd_serve)
    return parser


BENCH_SUITES = {"throughput": "recstack.bench.throughput", "scaling": "recstack.bench.scaling", "machine": "recstack.bench.machine", "peers": "recstack.bench.peers",
                "rank": "recstack.bench.rank",
                "predict": "recstack.bench.predict", "serve": "recstack.bench.serve",
                "recall": "recstack.bench.recall", "index": "recstack.bench.index",
                "demo-serve": "recstack.demos.movielens.bench"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 2 and argv[0] == "bench" and argv[1] in BENCH_SUITES:
        # `recstack bench scaling|machine|peers ...`: each suite owns its options
        import importlib

        importlib.import_module(BENCH_SUITES[argv[1]]).main(argv[2:])
        return 0
    if argv[:2] == ["demo", "movielens"]:  # the online-system demo owns its options
        from recstack.demos.movielens.command import main as movielens_demo

        try:
            movielens_demo(argv[2:])
        except RecstackError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
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
