"""How cost grows: training speed and memory against the embedding-table size, training speed against the
number of sparse fields, and raw-TSV parse time against the file size.

    python -m recstack.bench.scaling --out docs/benchmarks [--max-rows 10000000]

(a) table: DeepFM (dim 10, MLP 400-400-400, Adam with row-sparse lazy Adam on the tables, bf16 autocast where the CPU
    has it, all as `recstack train` builds them) on 26 hashed Criteo fields + 13 dense, with
    sparse_feature_number = 1e5 .. 1e8 rows. Ids come from the Criteo reader's hash modulo the table size,
    so lookups spread over the whole table. Reports training samples/s and the process's peak RSS (VmHWM,
    reset before each point; the model, the sparse Adam's two moment tables and everything already loaded).
    A size whose table + optimizer state would not fit in MemAvailable is skipped and says so.
(b) fields: the same model and a 1e6+1-row table with 8 .. 64 sparse fields (the synthetic generator's
    Criteo cardinalities, cycled), plus the model's FLOPs per sample (recstack.bench.machine).
(c) parse: the Criteo TSV reader (compiled pass: hash ids, log1p dense; no cache) over the first 1e4 .. 1e6 lines
    of one synthetic file, read from the page cache.

A training point builds the model and optimizers once, runs `--warmup` steps (the sparse Adam allocates its state
here), then `--repeats` timed runs of `--steps` steps through Trainer.train_epoch fed by a shuffled
BatchLoader over in-memory columns; the figure is the median run, with min and max. Writes
<out>/scaling.json, <out>/scaling.md and <out>/scaling_{table,fields,parse}.png.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import resource
import shlex
import statistics
import time
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from recstack.bench.machine import model_flops_per_sample
from recstack.bench.common import cpu_model
from recstack.config import RunConfig, load_config
from recstack.data import synthetic
from recstack.data.batch import Batch
from recstack.data.cache import ColumnStore, default_cache_root
from recstack.data.datasets import build_schema
from recstack.data.formats import ReadOptions, SkipCounter, criteo
from recstack.data.loader import BatchLoader
from recstack.data.schema import FeatureSchema
from recstack.layers.mlp import MLP
from recstack.train.optim import build_optimizers
from recstack.train.recipes import make_model, setup_runtime
from recstack.train.trainer import Trainer

GB = 1e9
OPTIONS = ("out", "model", "table_rows", "max_rows", "fields", "field_table_rows", "parse_lines", "steps", "warmup",
           "repeats", "batch_size", "dim", "fc_sizes", "threads", "cache_dir")


# ---------------------------------------------------------------- memory

def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Resets the kernel's peak-RSS mark (VmHWM) of this process; False where Linux does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Peak resident set of this process since the last reset_peak_rss (VmHWM), else since start (ru_maxrss)."""
    kb = _status_kb("VmHWM")
    return (kb if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def rss_bytes() -> int:
    kb = _status_kb("VmRSS")
    return (kb if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None off Linux)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def table_bytes(rows: int, dim: int, optimizer_copies: int = 3) -> int:
    """Bytes of the fused tables DeepFM holds for `rows` ids (dim-wide vectors + 1-wide first-order weights,
    fp32), times the parameter + Adam's two moments."""
    return rows * (dim + 1) * 4 * optimizer_copies


# ---------------------------------------------------------------- data

def summary(runs: list[float]) -> dict:
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs), "runs": runs}


def make_config(args: argparse.Namespace, num_fields: int, table_rows: int) -> RunConfig:
    """The run config `recstack train` would use for this point (the data comes in memory, not from files)."""
    runner = {"data_format": "criteo", "train_batch_size": args.batch_size, "thread_num": args.threads,
              "print_interval": 1 << 30, "progress_bar": False}
    hyper = {"sparse_feature_number": table_rows, "sparse_inputs_slots": num_fields + 1,
             "sparse_feature_dim": args.dim, "fc_sizes": args.fc_sizes,
             "optimizer": {"class": "Adam", "learning_rate": 1e-3}}
    return load_config(raw={"model": args.model, "runner": runner, "hyper_parameters": hyper})


@dataclass
class RawRows:
    """Parsed but not yet hashed Criteo rows: what the reader holds before it maps values to table ids."""
    labels: np.ndarray  # [N]
    dense: np.ndarray  # [N, D] float32, transformed
    cats: np.ndarray  # [N, F] int64 raw categorical values, -1 = missing

    def store(self, num_fields: int, num_embeddings: int) -> ColumnStore:
        """Columns for a table of num_embeddings rows over the first num_fields fields (the reader's hash)."""
        ids = criteo.hash_ids(self.cats[:, :num_fields], num_embeddings)
        return ColumnStore({"labels": self.labels[:, None], "dense": self.dense, "sparse": ids,
                            "line": np.arange(1, len(self.labels) + 1)})


def training_rows(args: argparse.Namespace, cache_dir: Path) -> RawRows:
    """Synthetic Criteo-shaped rows with max(fields) categorical fields, generated once under the cache dir."""
    num_fields = max([26, *args.fields])
    rows = max(args.batch_size * args.steps, args.batch_size)
    cards = tuple(islice(cycle(synthetic.CRITEO_CARDINALITIES), num_fields))
    spec = synthetic.SyntheticSpec(train_rows=rows, test_rows=1, cardinalities=cards)
    folder = cache_dir / f"train-{rows}x{num_fields}"
    synthetic.ensure(spec, folder)
    cfg = make_config(args, num_fields, 1)
    options = ReadOptions(build_schema(cfg))
    parts = list(criteo.iter_raw(folder / "train.txt", options, SkipCounter()))
    return RawRows(labels=np.concatenate([p[0] for p in parts]),
                   dense=criteo.transform_dense(np.concatenate([p[1] for p in parts]), "log1p"),
                   cats=np.concatenate([p[2] for p in parts]))


class Steps:
    """The first `count` batches of a loader, starting a new epoch whenever it runs out (len() is `count`)."""

    def __init__(self, loader: BatchLoader, count: int):
        self.loader, self.count = loader, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Batch]:
        done = 0
        while done < self.count:
            batches = iter(self.loader)
            try:
                for batch in batches:
                    yield batch
                    done += 1
                    if done == self.count:
                        return
            finally:
                batches.close()  # stops the loader's background thread
            self.loader.set_epoch(self.loader.epoch + 1)


# ---------------------------------------------------------------- measurements

def train_point(cfg: RunConfig, schema: FeatureSchema, store: ColumnStore, args: argparse.Namespace) -> dict:
    """Builds the model + optimizers, warms up, times `repeats` runs of `steps` training steps."""
    setup_runtime(cfg)
    exact_peak = reset_peak_rss()
    rss_before = rss_bytes()
    start = time.perf_counter()
    model = make_model(cfg, schema)
    optimizers = build_optimizers(model, cfg.hyper_parameters.optimizer)
    build_seconds = time.perf_counter() - start
    trainer = Trainer(model, optimizers, cfg.runner.print_interval, cfg.runner.use_auc, progress_bar=False)
    loader = BatchLoader(store, schema, cfg.runner.train_batch_size, shuffle=True, seed=cfg.runner.seed,
                         drop_last=True)
    start = time.perf_counter()
    trainer.train_epoch(Steps(loader, args.warmup), epoch=0)
    warmup_seconds = time.perf_counter() - start
    runs = [trainer.train_epoch(Steps(loader, args.steps), epoch=0).samples_per_second for _ in range(args.repeats)]
    peak = peak_rss_bytes()
    flops = model_flops_per_sample(model, loader.make_batch(slice(0, min(256, store.num_rows))))
    result = {"samples_per_s": summary(runs), "peak_rss_bytes": peak, "rss_before_bytes": rss_before,
              "peak_rss_method": "VmHWM reset per point" if exact_peak else "ru_maxrss (process lifetime)",
              "build_seconds": build_seconds, "warmup_seconds": warmup_seconds,
              "parameters": sum(p.numel() for p in model.parameters()),
              "bf16": any(m.bf16 for m in model.modules() if isinstance(m, MLP)),
              "sparse_grad": cfg.hyper_parameters.optimizer.sparse,
              "flops_per_sample": {"forward": flops["forward"], "forward_backward": flops["forward_backward"]}}
    result["achieved_gflops"] = result["samples_per_s"]["median"] * flops["forward_backward"] / 1e9
    del trainer, optimizers, model, loader
    gc.collect()
    return result


def table_sweep(args: argparse.Namespace, raw: RawRows) -> list[dict]:
    points = []
    for rows in args.table_rows:
        point: dict = {"rows": rows, "expected_table_bytes": table_bytes(rows, args.dim)}
        free = available_bytes()
        if args.max_rows is not None and rows > args.max_rows:
            point["skipped"] = f"above --max-rows {args.max_rows:,}"
        elif free is not None and point["expected_table_bytes"] * 1.1 + (1 << 30) > free:
            point["skipped"] = (f"table + Adam state {point['expected_table_bytes'] / GB:.1f} GB would not fit in "
                                f"MemAvailable {free / GB:.1f} GB")
        if "skipped" in point:
            print(f"table {rows:,} rows: skipped, {point['skipped']}", flush=True)
            points.append(point)
            continue
        cfg = make_config(args, 26, rows)
        point.update(train_point(cfg, build_schema(cfg), raw.store(26, rows), args))
        print(f"table {rows:,} rows: {point['samples_per_s']['median']:,.0f} samples/s, "
              f"peak RSS {point['peak_rss_bytes'] / GB:.2f} GB", flush=True)
        points.append(point)
    return points


def fields_sweep(args: argparse.Namespace, raw: RawRows) -> list[dict]:
    points = []
    for num_fields in args.fields:
        cfg = make_config(args, num_fields, args.field_table_rows)
        point = {"fields": num_fields, "table_rows": args.field_table_rows,
                 **train_point(cfg, build_schema(cfg), raw.store(num_fields, args.field_table_rows), args)}
        print(f"{num_fields} fields: {point['samples_per_s']['median']:,.0f} samples/s", flush=True)
        points.append(point)
    return points


def parse_files(lines: list[int], folder: Path) -> dict[int, Path]:
    """One synthetic Criteo TSV of max(lines) lines (generated once) and, for each smaller count, its first lines."""
    biggest = max(lines)
    synthetic.ensure(synthetic.SyntheticSpec(train_rows=biggest, test_rows=1), folder / f"criteo-{biggest}")
    source = folder / f"criteo-{biggest}" / "train.txt"
    files = {}
    for n in sorted(set(lines)):
        if n == biggest:
            files[n] = source
            continue
        target = folder / f"criteo-{biggest}" / f"head-{n}.txt"
        if not target.exists() or target.stat().st_mtime_ns < source.stat().st_mtime_ns:
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            with source.open("rb") as src, tmp.open("wb") as dst:
                dst.writelines(islice(src, n))
            os.replace(tmp, target)
        files[n] = target
    return files


def parse_sweep(args: argparse.Namespace, cache_dir: Path) -> list[dict]:
    files = parse_files(args.parse_lines, cache_dir / "parse")
    options = ReadOptions(build_schema(make_config(args, 26, 1000001)))
    points = []
    for n in args.parse_lines:
        path = files[n]
        runs = []
        for _ in range(args.repeats + 1):  # the first read warms the page cache and is dropped
            start = time.perf_counter()
            parsed = sum(len(c["labels"]) for c in criteo.iter_columns(path, options, SkipCounter()))
            runs.append(time.perf_counter() - start)
        if parsed != n:
            raise RuntimeError(f"{path}: parsed {parsed} lines, expected {n}")
        seconds = summary(runs[1:])
        size = path.stat().st_size
        points.append({"lines": n, "bytes": size, "seconds": seconds, "lines_per_s": n / seconds["median"],
                       "mb_per_s": size / 1e6 / seconds["median"]})
        print(f"parse {n:,} lines: {seconds['median']:.3f} s ({n / seconds['median']:,.0f} lines/s)", flush=True)
    return points


# ---------------------------------------------------------------- report

def plot(result: dict, out: Path) -> list[Path]:
    """Writes scaling_table.png, scaling_fields.png and scaling_parse.png; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def rate_axis(ax, xs: list, figures: list[dict], label: str) -> None:
        med = [f["median"] for f in figures]
        err = [[m - f["min"] for m, f in zip(med, figures)], [f["max"] - m for m, f in zip(med, figures)]]
        ax.errorbar(xs, med, yerr=err, marker="o", capsize=3)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)

    model, batch = result["settings"]["model"], result["settings"]["batch_size"]
    paths = []
    table = [p for p in result["table"] if "skipped" not in p]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if table:
        rows = [p["rows"] for p in table]
        rate_axis(left, rows, [p["samples_per_s"] for p in table], "training samples/s")
        right.plot(rows, [p["peak_rss_bytes"] / GB for p in table], marker="o", label="peak RSS")
        right.plot(rows, [p["expected_table_bytes"] / GB for p in table], linestyle="--",
                   label="tables + Adam state (fp32)")
        right.legend()
    skipped = [p["rows"] for p in result["table"] if "skipped" in p]
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("embedding table rows (sparse_feature_number)")
    right.set_ylabel("GB")
    right.grid(True, alpha=0.3)
    left.set_title(f"{model}, batch {batch}" + (f" (skipped: {', '.join(f'{r:.0e}' for r in skipped)})"
                                               if skipped else ""))
    right.set_title("memory")
    fig.tight_layout()
    paths.append(out / "scaling_table.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fields = result["fields"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    xs = [p["fields"] for p in fields]
    rate_axis(left, xs, [p["samples_per_s"] for p in fields], "training samples/s")
    left.set_title(f"{model}, batch {batch}, table {result['settings']['field_table_rows']:,} rows")
    right.plot(xs, [p["flops_per_sample"]["forward_backward"] / 1e6 for p in fields], marker="o", color="C1")
    right.set_ylabel("fwd+bwd MFLOPs per sample", color="C1")
    twin = right.twinx()
    twin.plot(xs, [p["achieved_gflops"] for p in fields], marker="s", color="C2")
    twin.set_ylabel("achieved GFLOP/s", color="C2")
    twin.set_ylim(bottom=0)
    right.set_ylim(bottom=0)
    right.grid(True, alpha=0.3)
    right.set_title("work per sample and rate achieved")
    for ax in (left, right):
        ax.set_xlabel("sparse fields")
    fig.tight_layout()
    paths.append(out / "scaling_fields.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    parse = result["parse"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    xs = [p["lines"] for p in parse]
    med = [p["seconds"]["median"] for p in parse]
    left.errorbar(xs, med, yerr=[[m - p["seconds"]["min"] for m, p in zip(med, parse)],
                                 [p["seconds"]["max"] - m for m, p in zip(med, parse)]], marker="o", capsize=3)
    left.plot(xs, [med[-1] * x / xs[-1] for x in xs], linestyle="--", color="gray", label="linear in lines")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_ylabel("parse seconds")
    left.legend()
    right.plot(xs, [p["lines_per_s"] for p in parse], marker="o")
    right.set_xscale("log")
    right.set_ylabel("lines/s")
    right.set_ylim(bottom=0)
    for ax in (left, right):
        ax.set_xlabel("lines in the TSV file")
        ax.grid(True, alpha=0.3)
    left.set_title("raw Criteo TSV -> columns (hash ids, log1p)")
    fig.tight_layout()
    paths.append(out / "scaling_parse.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    lines = ["## Scaling", "", f"`{result['command']}`", "",
             f"{m['cpu']}, {m['cores']} cores, {m['memory_bytes'] / GB:.1f} GB, torch {m['torch']} with "
             f"{m['torch_threads']} threads, load {m['loadavg_1min_before']:.2f} -> {m['loadavg_1min_after']:.2f}, "
             f"{m['date']}. {s['model']} (dim {s['dim']}, MLP {'-'.join(map(str, s['fc_sizes']))}, Adam + "
             f"row-sparse lazy Adam), batch {s['batch_size']}; each training figure is the median of {s['repeats']} runs of "
             f"{s['steps']} steps after {s['warmup']} warm-up steps (min-max in brackets).", "",
             "### Embedding-table size (26 sparse + 13 dense fields)", "",
             "| table rows | samples/s | peak RSS GB | tables + Adam state GB | build s | warm-up s |",
             "|---:|---:|---:|---:|---:|---:|"]
    for p in result["table"]:
        if "skipped" in p:
            lines.append(f"| {p['rows']:,} | skipped: {p['skipped']} | | {p['expected_table_bytes'] / GB:.2f} | | |")
            continue
        f = p["samples_per_s"]
        lines.append(f"| {p['rows']:,} | {f['median']:,.0f} ({f['min']:,.0f}-{f['max']:,.0f}) | "
                     f"{p['peak_rss_bytes'] / GB:.2f} | {p['expected_table_bytes'] / GB:.2f} | "
                     f"{p['build_seconds']:.1f} | {p['warmup_seconds']:.1f} |")
    lines += ["", "![table scaling](scaling_table.png)", "",
              f"### Sparse fields (13 dense, table {s['field_table_rows']:,} rows)", "",
              "| fields | samples/s | fwd+bwd MFLOPs/sample | achieved GFLOP/s |", "|---:|---:|---:|---:|"]
    for p in result["fields"]:
        f = p["samples_per_s"]
        lines.append(f"| {p['fields']} | {f['median']:,.0f} ({f['min']:,.0f}-{f['max']:,.0f}) | "
                     f"{p['flops_per_sample']['forward_backward'] / 1e6:.2f} | {p['achieved_gflops']:.1f} |")
    lines += ["", "![fields scaling](scaling_fields.png)", "",
              "### Raw Criteo TSV parse (26 sparse + 13 dense, from the page cache)", "",
              "| lines | MB | seconds | lines/s | MB/s |", "|---:|---:|---:|---:|---:|"]
    for p in result["parse"]:
        t = p["seconds"]
        lines.append(f"| {p['lines']:,} | {p['bytes'] / 1e6:.1f} | {t['median']:.3f} ({t['min']:.3f}-{t['max']:.3f}) | "
                     f"{p['lines_per_s']:,.0f} | {p['mb_per_s']:.1f} |")
    lines += ["", "![parse scaling](scaling_parse.png)"]
    return "\n".join(lines) + "\n"


def command_line(args: argparse.Namespace) -> str:
    parts = ["python", "-m", "recstack.bench.scaling"]
    for key in OPTIONS:
        value = getattr(args, key)
        if value is None:
            continue
        text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        parts += [f"--{key.replace('_', '-')}", text]
    return shlex.join(parts)


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m recstack.bench.scaling", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="docs/benchmarks", help="folder for scaling.json/.md and the PNG plots")
    p.add_argument("--model", default="deepfm", help="registered model name")
    p.add_argument("--table-rows", type=_ints, default=_ints("1e5,1e6,1e7,1e8"), help="table sizes (a)")
    p.add_argument("--max-rows", type=lambda t: int(float(t)), default=None, help="skip table sizes above this")
    p.add_argument("--fields", type=_ints, default=_ints("8,16,26,39,64"), help="sparse field counts (b)")
    p.add_argument("--field-table-rows", type=lambda t: int(float(t)), default=1000001, help="table size in (b)")
    p.add_argument("--parse-lines", type=_ints, default=_ints("1e4,1e5,1e6"), help="TSV line counts (c)")
    p.add_argument("--steps", type=int, default=30, help="timed training steps per run")
    p.add_argument("--warmup", type=int, default=5, help="untimed training steps before the runs")
    p.add_argument("--repeats", type=int, default=3, help="runs per point (the median is reported)")
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--dim", type=int, default=10, help="sparse_feature_dim")
    p.add_argument("--fc-sizes", type=_ints, default=[400, 400, 400], help="MLP widths, e.g. 400,400,400")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--cache-dir", default=None, help="generated data (default: $RECSTACK_CACHE/bench/scaling)")
    return p


def main(argv: list[str] | None = None) -> dict:
    """Runs the three sweeps; writes <out>/scaling.json, scaling.md and the three PNGs; returns the JSON."""
    args = parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_root() / "bench" / "scaling"
    raw = training_rows(args, cache_dir)
    table = table_sweep(args, raw)
    fields = fields_sweep(args, raw)
    parse = parse_sweep(args, cache_dir)
    result = {
        "command": command_line(args),
        "settings": {"model": args.model, "batch_size": args.batch_size, "steps": args.steps, "warmup": args.warmup,
                     "repeats": args.repeats, "dim": args.dim, "fc_sizes": args.fc_sizes,
                     "field_table_rows": args.field_table_rows, "train_rows_in_memory": len(raw.labels),
                     "optimizer": "Adam (dense) + row-sparse lazy Adam (tables), lr 1e-3"},
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(),
                    "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
                    "loadavg_1min_before": load_before, "loadavg_1min_after": os.getloadavg()[0],
                    "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")},
        "table": table, "fields": fields, "parse": parse,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, out)
    text = markdown(result)
    (out / "scaling.md").write_text(text)
    print(text, end="")
    return result


if __name__ == "__main__":
    main()
