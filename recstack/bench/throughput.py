"""Throughput on Criteo-shaped synthetic data: parse lines/s, train and infer samples/s per model.

    recstack bench --rows 1000000 --models dnn,deepfm --batch-size 4096 --repeats 3 --out bench_out

Raw TSV (rows train lines, rows/10 test lines) is generated once under the cache dir and reused.
Each repeat times: parsing train.txt (hash ids, log1p dense, no cache); per model (order alternating
between repeats) one training epoch through the real path (cached columns -> shuffled BatchLoader ->
Trainer.train_epoch, a fresh model each time) and a forward-only pass over the train columns at
the inference batch size. Each figure is the median of the repeats with min and max; the last
repeat's test AUC shows that a speed-up did not break learning. Writes <out>/throughput.json and
<out>/throughput.md (the table is also printed).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import time
from pathlib import Path

import torch

from recstack.config import RunConfig, load_config
from recstack.data import synthetic
from recstack.data.cache import default_cache_root
from recstack.data.datasets import build_schema, load_data
from recstack.data.formats import ReadOptions, SkipCounter, criteo
from recstack.data.loader import BatchLoader
from recstack.train.optim import build_optimizers
from recstack.train.recipes import make_model, setup_runtime
from recstack.train.trainer import Trainer

OPTIONS = ("rows", "models", "batch_size", "infer_batch_size", "repeats", "threads", "cache_dir", "data_dir", "out")


def command_line(args: argparse.Namespace) -> str:
    """The `recstack bench` command that reproduces this run, every option spelled out."""
    parts = ["recstack", "bench"]
    for key in OPTIONS:
        if getattr(args, key) is not None:
            parts += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    return shlex.join(parts)


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def summary(runs: list[float]) -> dict:
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs), "runs": runs}


def make_config(model: str, args: argparse.Namespace, data_dir: Path, cache_dir: Path) -> RunConfig:
    runner = {"data_format": "criteo", "train_data_dir": str(data_dir / "train.txt"),
              "test_data_dir": str(data_dir / "test.txt"), "cache_dir": str(cache_dir),
              "train_batch_size": args.batch_size, "infer_batch_size": args.infer_batch_size,
              "thread_num": args.threads, "print_interval": 1 << 30, "progress_bar": False}
    hyper = {"sparse_feature_dim": 10, "fc_sizes": [400, 400, 400],
             "optimizer": {"class": "Adam", "learning_rate": 1e-3}}
    return load_config(raw={"model": model, "runner": runner, "hyper_parameters": hyper})


def main(args: argparse.Namespace) -> dict:
    """Runs the benchmark and writes <out>/throughput.json and throughput.md; returns the JSON."""
    load_before = os.getloadavg()[0]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_root() / "bench"
    data_dir = Path(args.data_dir) if args.data_dir else cache_dir / f"criteo-{args.rows}"
    oracle = synthetic.ensure(synthetic.SyntheticSpec(train_rows=args.rows, test_rows=max(args.rows // 10, 1)),
                              data_dir)
    configs = {m: make_config(m, args, data_dir, cache_dir) for m in models}
    cfg = configs[models[0]]
    setup_runtime(cfg)
    data = load_data(cfg)  # builds the memory-mapped column cache the first time; not timed
    options = ReadOptions(build_schema(cfg))
    parse: list[float] = []
    train: dict[str, list[float]] = {m: [] for m in models}
    infer: dict[str, list[float]] = {m: [] for m in models}
    test_auc: dict[str, float] = {}
    for repeat in range(args.repeats):
        start = time.perf_counter()
        lines = sum(len(c["labels"]) for c in criteo.iter_columns(data_dir / "train.txt", options, SkipCounter()))
        parse.append(lines / (time.perf_counter() - start))
        for name in models if repeat % 2 == 0 else models[::-1]:
            cfg = configs[name]
            setup_runtime(cfg)  # same seed every repeat: the same initial weights and batch order
            model = make_model(cfg, data.schema)  # what `recstack train` builds: bf16 MLPs where the CPU has them
            trainer = Trainer(model, build_optimizers(model, cfg.hyper_parameters.optimizer),
                              cfg.runner.print_interval, progress_bar=False)
            loader = BatchLoader(data.train, data.schema, args.batch_size, shuffle=True, seed=cfg.runner.seed)
            train[name].append(trainer.train_epoch(loader, epoch=0).samples_per_second)
            start = time.perf_counter()
            trainer.evaluate(BatchLoader(data.train, data.schema, args.infer_batch_size), metrics={})
            infer[name].append(data.train.num_rows / (time.perf_counter() - start))
            if repeat == args.repeats - 1:
                test_auc[name] = trainer.evaluate(BatchLoader(data.test, data.schema, args.infer_batch_size))[0]["auc"]
    hyper = configs[models[0]].hyper_parameters
    result = {
        "command": command_line(args),
        "settings": {"rows": data.train.num_rows, "test_rows": data.test.num_rows, "models": models,
                     "batch_size": args.batch_size, "infer_batch_size": args.infer_batch_size,
                     "repeats": args.repeats, "embedding_dim": hyper.sparse_feature_dim, "fc_sizes": hyper.fc_sizes,
                     "optimizer": hyper.optimizer.model_dump(by_alias=True), "batch_norm": hyper.batch_norm},
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(), "loadavg_1min_before": load_before,
                    "loadavg_1min_after": os.getloadavg()[0],
                    "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")},
        "oracle_auc_test": oracle["oracle_auc_test"],
        "parse_lines_per_s": summary(parse),
        "train_samples_per_s": {m: {**summary(train[m]), "test_auc": test_auc[m]} for m in models},
        "infer_samples_per_s": {m: summary(infer[m]) for m in models},
    }
    table = markdown(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "throughput.md").write_text(table)
    print(table, end="")
    return result


def markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    rows = [("parse criteo TSV (lines/s)", result["parse_lines_per_s"], "")]
    for name, figures in result["train_samples_per_s"].items():
        rows.append((f"train {name} (samples/s, batch {s['batch_size']})", figures, f"{figures['test_auc']:.4f}"))
    for name, figures in result["infer_samples_per_s"].items():
        rows.append((f"infer {name} (samples/s, batch {s['infer_batch_size']})", figures, ""))
    lines = [f"`{result['command']}`", "",
             f"{m['cpu']}, {m['cores']} cores, torch {m['torch']} with {m['torch_threads']} threads, "
             f"load {m['loadavg_1min_before']:.2f} -> {m['loadavg_1min_after']:.2f}, {m['date']}; "
             f"{s['rows']:,} train / {s['test_rows']:,} test rows, median of {s['repeats']} "
             f"(oracle test AUC {result['oracle_auc_test']:.4f})", "",
             "| stage | median | min | max | test AUC |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {label} | {f['median']:,.0f} | {f['min']:,.0f} | {f['max']:,.0f} | {auc} |" for label, f, auc in rows]
    return "\n".join(lines) + "\n"
