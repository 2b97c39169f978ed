"""Throughput on Criteo-shaped synthetic data, each figure beside this machine's bound for it.

    recstack bench throughput --rows 1000000 --repeats 3 --peers deepctr,fuxictr --out docs/benchmarks

Raw TSV (rows train lines, rows/10 test lines; Criteo's 26 cardinalities with Zipf skew, 13 dense) is
generated once under the cache dir and reused. Each repeat times, in an order that alternates between
repeats: parsing train.txt (hash ids, log1p dense, no cache); reading the cached columns as shuffled
batches (no model); per model and batch size, training on the first --train-rows rows through the real
path (memory-mapped columns -> shuffled BatchLoader -> Trainer.train_epoch, a fresh model built as
`recstack train` builds it, same seed every repeat); and a forward pass over the train columns at the
inference batch size. Figures are the median of the repeats with min and max. The machine's GEMM rate,
memory bandwidth and each model's FLOPs per sample (recstack.bench.machine) turn every training and
inference figure into a fraction of its compute bound. With --peers, the peer toolkits' DeepFM trains
on the same files in the same run, alternating with recstack's (recstack.bench.peers).
Writes <out>/throughput.json and <out>/throughput.md (the table is also printed).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import time
from pathlib import Path

import torch

from recstack.bench import machine, peers
from recstack.bench.common import cpu_model, make_config, summary
from recstack.config import RunConfig
from recstack.data import synthetic
from recstack.data.cache import default_cache_root
from recstack.data.datasets import build_schema, load_data
from recstack.data.formats import ReadOptions, SkipCounter, criteo
from recstack.data.loader import BatchLoader
from recstack.layers.mlp import cpu_has_bf16
from recstack.train.optim import build_optimizers
from recstack.train.recipes import make_model, setup_runtime
from recstack.train.trainer import Trainer

OPTIONS = ("rows", "train_rows", "models", "batch_sizes", "infer_batch_size", "repeats", "threads", "peers",
           "peer_repeats", "gemm_size", "cache_dir", "data_dir", "out")


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--rows", type=int, default=1_000_000, help="generated train rows (test: rows / 10)")
    p.add_argument("--train-rows", type=int, default=300_000, help="rows per timed training run")
    p.add_argument("--models", default="lr,dnn,deepfm,dcn_v2,dlrm")
    p.add_argument("--batch-sizes", default="512,2048,4096,8192", help="training batch sizes")
    p.add_argument("--infer-batch-size", type=int, default=8192)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--peers", default="none", help="peer toolkits to run beside recstack: deepctr,fuxictr or none")
    p.add_argument("--peer-repeats", type=int, default=3)
    p.add_argument("--gemm-size", type=int, default=1536, help="square matmul size for the machine's GEMM rate")
    p.add_argument("--cache-dir", default=None, help="default: $RECSTACK_CACHE/bench or ~/.cache/recstack/bench")
    p.add_argument("--data-dir", default=None, help="generated TSV (default: <cache-dir>/criteo-<rows>)")
    p.add_argument("--out", default="bench_out")
    return p


def command_line(args: argparse.Namespace) -> str:
    """The `recstack bench throughput` command that reproduces this run, every option spelled out."""
    parts = ["recstack", "bench", "throughput"]
    for key in OPTIONS:
        if getattr(args, key) is not None:
            parts += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    return shlex.join(parts)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip() and n.strip() != "none"]


def time_cache_read(data, batch_size: int) -> float:
    start = time.perf_counter()
    rows = sum(len(batch) for batch in BatchLoader(data.train, data.schema, batch_size, shuffle=True))
    return rows / (time.perf_counter() - start)


def time_model(cfg: RunConfig, data, train_rows: int, batch_size: int, infer_batch_size: int | None
               ) -> tuple[float, float | None, Trainer]:
    """Training samples/s over the first train_rows rows and (when asked) inference samples/s over all rows."""
    setup_runtime(cfg)  # same seed every repeat: the same initial weights and batch order
    model = make_model(cfg, data.schema)
    trainer = Trainer(model, build_optimizers(model, cfg.hyper_parameters.optimizer), 1 << 30, progress_bar=False)
    store = data.train.slice(0, min(train_rows, data.train.num_rows))
    train = trainer.train_epoch(BatchLoader(store, data.schema, batch_size, shuffle=True, seed=cfg.runner.seed),
                                epoch=0).samples_per_second
    if infer_batch_size is None:
        return train, None, trainer
    start = time.perf_counter()
    trainer.evaluate(BatchLoader(data.train, data.schema, infer_batch_size), metrics={})
    return train, data.train.num_rows / (time.perf_counter() - start), trainer


def main(args: argparse.Namespace | list[str] | None = None) -> dict:
    """Runs the benchmark and writes <out>/throughput.json and throughput.md; returns the JSON."""
    if not isinstance(args, argparse.Namespace):
        args = add_arguments(argparse.ArgumentParser(prog="recstack bench throughput")).parse_args(args)
    load_before = os.getloadavg()[0]
    models, batch_sizes = _names(args.models), [int(b) for b in _names(args.batch_sizes)]
    args.batch_size = batch_sizes[0]
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_root() / "bench"
    data_dir = Path(args.data_dir) if args.data_dir else cache_dir / f"criteo-{args.rows}"
    oracle = synthetic.ensure(synthetic.SyntheticSpec(train_rows=args.rows, test_rows=max(args.rows // 10, 1)),
                              data_dir)
    configs = {m: make_config(m, args, data_dir, cache_dir) for m in models}
    setup_runtime(configs[models[0]])
    runner_bf16 = configs[models[0]].runner.bf16
    machine_result = {**machine.measure(models, gemm_size=args.gemm_size),
                      "mlp_dtype": "bf16" if (cpu_has_bf16() if runner_bf16 == "auto" else runner_bf16) else "fp32"}
    data = load_data(configs[models[0]])  # builds the memory-mapped column cache the first time; not timed
    options = ReadOptions(build_schema(configs[models[0]]))
    parse, cache_read = [], []
    train = {m: {b: [] for b in batch_sizes} for m in models}
    infer: dict[str, list[float]] = {m: [] for m in models}
    test_auc: dict[str, float] = {}
    auc_batch = 4096 if 4096 in batch_sizes else batch_sizes[0]
    for repeat in range(args.repeats):
        start = time.perf_counter()
        lines = sum(len(c["labels"]) for c in criteo.iter_columns(data_dir / "train.txt", options, SkipCounter()))
        parse.append(lines / (time.perf_counter() - start))
        cache_read.append(time_cache_read(data, 4096))
        for name in models if repeat % 2 == 0 else models[::-1]:
            for batch_size in batch_sizes if repeat % 2 == 0 else batch_sizes[::-1]:
                measure_infer = batch_size == batch_sizes[0]
                rate, infer_rate, trainer = time_model(configs[name], data, args.train_rows, batch_size,
                                                       args.infer_batch_size if measure_infer else None)
                train[name][batch_size].append(rate)
                if infer_rate is not None:
                    infer[name].append(infer_rate)
                if repeat == args.repeats - 1 and batch_size == auc_batch:
                    test_auc[name] = trainer.evaluate(BatchLoader(data.test, data.schema, args.infer_batch_size))[0]["auc"]
    peer_names = _names(args.peers)
    peer_result = peers.compare(args.peer_repeats, data_dir, batch_size=4096, infer_batch_size=args.infer_batch_size,
                                threads=args.threads, peers=tuple(peer_names)) \
        if peer_names else None
    hyper = configs[models[0]].hyper_parameters
    result = {
        "command": command_line(args),
        "settings": {"rows": data.train.num_rows, "test_rows": data.test.num_rows, "train_rows": args.train_rows,
                     "models": models, "batch_sizes": batch_sizes, "infer_batch_size": args.infer_batch_size,
                     "repeats": args.repeats, "embedding_dim": hyper.sparse_feature_dim, "fc_sizes": hyper.fc_sizes,
                     "optimizer": hyper.optimizer.model_dump(by_alias=True), "batch_norm": hyper.batch_norm,
                     "mlp_dtype": machine_result["mlp_dtype"], "auc_batch": auc_batch},
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(), "loadavg_1min_before": load_before,
                    "loadavg_1min_after": os.getloadavg()[0],
                    "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "gemm_gflops": machine_result["gemm_gflops"],
                    "memory_bandwidth_gbs": machine_result["memory_bandwidth_gbs"]},
        "flops_per_sample": {m: {k: machine_result["models"][m][k] for k in ("forward", "forward_backward")}
                             for m in models},
        "oracle_auc_test": oracle["oracle_auc_test"],
        "parse_lines_per_s": summary(parse),
        "cache_read_samples_per_s": summary(cache_read),
        "train_samples_per_s": {m: {str(b): summary(train[m][b]) for b in batch_sizes} for m in models},
        "test_auc": test_auc,
        "infer_samples_per_s": {m: summary(infer[m]) for m in models},
        "peers": peer_result,
    }
    table = markdown(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "throughput.md").write_text(table)
    print(table, end="")
    return result


def _bound(result: dict, model: str, kind: str) -> float:
    rate = result["machine"]["gemm_gflops"][result["settings"]["mlp_dtype"]]
    return machine.bound_samples_per_s(result["flops_per_sample"][model][kind], rate)


def markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    g, bw = m["gemm_gflops"], m["memory_bandwidth_gbs"]
    lines = ["# Throughput", "", f"`{result['command']}`", "",
             f"{m['cpu']}, {m['cores']} cores, torch {m['torch']} with {m['torch_threads']} threads, "
             f"load {m['loadavg_1min_before']:.2f} -> {m['loadavg_1min_after']:.2f}, {m['date']}. "
             f"Measured bounds: GEMM fp32 {g['fp32']:.0f} GFLOP/s, bf16 {g['bf16']:.0f} GFLOP/s; memory copy "
             f"{bw['copy']:.1f} GB/s. MLPs run in {s['mlp_dtype']} (`runner.bf16: auto`). "
             f"{s['rows']:,} train / {s['test_rows']:,} test rows; training runs over the first "
             f"{s['train_rows']:,} rows; dim {s['embedding_dim']}, MLP {'-'.join(map(str, s['fc_sizes']))}, "
             f"Adam 1e-3; median of {s['repeats']} (min-max). Bound = the {s['mlp_dtype']} GEMM rate / the "
             f"model's FLOPs per sample (forward+backward for training, forward for inference); memory traffic "
             f"(embedding gathers, optimizer rows) is what keeps the figures below it. "
             f"Oracle test AUC {result['oracle_auc_test']:.4f}.", "",
             "| stage | samples/s (median) | min | max | FLOPs/sample | bound | of bound | test AUC |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def row(label: str, f: dict, flops: float | None = None, bound: float | None = None, auc: str = "") -> str:
        if flops is not None and flops < 1e4:  # no matmul to bound (LR): memory-bound, see the note above
            flops_text, bound = "< 0.01 M", None
        else:
            flops_text = f"{flops / 1e6:.2f} M" if flops is not None else ""
        share = f"{f['median'] / bound:.0%}" if bound else ""
        return (f"| {label} | {f['median']:,.0f} | {f['min']:,.0f} | {f['max']:,.0f} | {flops_text} | "
                f"{f'{bound:,.0f}' if bound else ''} | {share} | {auc} |")

    lines.append(row("parse raw Criteo TSV (lines/s)", result["parse_lines_per_s"]))
    lines.append(row("read cached columns as shuffled batches of 4096", result["cache_read_samples_per_s"]))
    for name, by_batch in result["train_samples_per_s"].items():
        flops = result["flops_per_sample"][name]["forward_backward"]
        for batch, f in by_batch.items():
            auc = f"{result['test_auc'][name]:.4f}" if batch == str(s["auc_batch"]) else ""
            lines.append(row(f"train {name}, batch {batch}", f, flops, _bound(result, name, "forward_backward"), auc))
    for name, f in result["infer_samples_per_s"].items():
        flops = result["flops_per_sample"][name]["forward"]
        lines.append(row(f"infer {name}, batch {s['infer_batch_size']}", f, flops, _bound(result, name, "forward")))
    lines.append("")
    if result["peers"]:
        lines += peers.markdown_lines(result["peers"])
    return "\n".join(lines) + "\n"
