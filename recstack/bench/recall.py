"""`recstack bench recall`: recall models x datasets x seeds -> docs/benchmarks/recall.md + recall.json.

Each run is `recstack train -m configs/recall/<model>.yaml` with the dataset's and the seed's overrides (the
exact command is written beside its figures); the figure is the test metrics of the epoch best.json names
(the best validation NDCG when the data has a validation split, else the last epoch). By default a model runs on
its usual dataset (graph/CF models on the ML-1M UltraGCN split, sequence models on Beauty); `--datasets` runs
every listed model on every listed dataset.

    recstack bench recall --models lightgcn,sasrec --seeds 2024,2025,2026 --out docs/benchmarks
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from recstack.config import load_config
from recstack.train.checkpoint import write_atomic

SHARED = "../shared/data"
DATASETS = {  # name -> runner overrides, relative to the repo root (where the commands run)
    "ml1m": {"data_format": "user_items", "train_data_dir": f"{SHARED}/ml-1m/ultragcn_m1_train.txt.gz",
             "test_data_dir": f"{SHARED}/ml-1m/ultragcn_m1_test.txt"},
    "beauty": {"data_format": "user_items", "train_data_dir": f"{SHARED}/seqrec-s3rec/Beauty.txt.gz",
               "test_data_dir": "null"},
    "ml100k": {"data_format": "movielens_sequence", "train_data_dir": f"{SHARED}/ml-100k", "test_data_dir": "null"},
}
DEFAULT_DATASET = {"bpr_mf": "ml1m", "lightgcn": "ml1m", "two_tower": "ml1m", "youtube_dnn": "ml1m",
                   "sasrec": "beauty", "gru4rec": "beauty"}
PUBLISHED = {  # (model, dataset) -> what the literature reports on the same files, for the table
    ("lightgcn", "ml1m"): "LightGCN Recall@20 0.2576, NDCG@20 0.2427 (as the UltraGCN paper tables it); UltraGCN 0.2787 / 0.2642",
    ("bpr_mf", "ml1m"): "MF-BPR Recall@20 0.2153, NDCG@20 0.2175 (as the UltraGCN paper tables it)",
    ("sasrec", "beauty"): "ICLRec HR@10 0.0744, NDCG@10 0.0403 (ICLRec README); SASRec ~0.06 / ~0.03 (S3-Rec/ICLRec papers)",
    ("gru4rec", "beauty"): "ICLRec HR@10 0.0744, NDCG@10 0.0403 (ICLRec README), as the best-known bar",
}


def run_overrides(model: str, dataset: str, seed: int, epochs: int | None) -> list[str]:
    """The `-o` overrides of one run: the dataset (unless it is the config's own), the seed, the epochs."""
    overrides = [] if dataset == DEFAULT_DATASET.get(model) else [f"runner.{k}={v}" for k, v in DATASETS[dataset].items()]
    overrides.append(f"runner.seed={seed}")
    return overrides + ([f"runner.epochs={epochs}", f"runner.infer_start_epoch={epochs - 1}",
                         f"runner.infer_end_epoch={epochs}"] if epochs else [])


def run_one(model: str, dataset: str, seed: int, epochs: int | None, threads: int) -> dict:
    from recstack.train.recall import train

    overrides = run_overrides(model, dataset, seed, epochs)
    with tempfile.TemporaryDirectory(prefix="recstack-bench-recall-") as folder:
        cfg = load_config(f"configs/recall/{model}.yaml", overrides + [
            f"runner.model_save_path={folder}", "runner.progress_bar=false", f"runner.thread_num={threads}"])
        start = time.perf_counter()
        train(cfg)
        best = json.loads((Path(folder) / "best.json").read_text())
    return {"model": model, "dataset": dataset, "seed": seed, "epoch": best["epoch"], "epochs_run": cfg.runner.epochs,
            "test": best["test"], "seconds": time.perf_counter() - start,
            "command": f"OMP_NUM_THREADS={threads} recstack train -m configs/recall/{model}.yaml "
                       + " ".join(f"-o {o}" for o in overrides)}


def summarize(runs: list[dict]) -> list[dict]:
    rows = []
    for key in dict.fromkeys((r["model"], r["dataset"]) for r in runs):
        group = [r for r in runs if (r["model"], r["dataset"]) == key]
        metrics = {}
        for name in group[0]["test"]:
            values = [r["test"][name] for r in group]
            metrics[name] = (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
        rows.append({"model": key[0], "dataset": key[1], "seeds": [r["seed"] for r in group], "metrics": metrics,
                     "epochs": group[0]["epochs_run"],
                     "seconds": statistics.mean(r["seconds"] for r in group), "commands": [r["command"] for r in group],
                     "published": PUBLISHED.get(key, "")})
    return rows


def markdown(rows: list[dict], commands: list[str]) -> str:
    order = ("recall", "ndcg", "hr")
    shown = sorted({n for r in rows for n in r["metrics"] if n.split("@")[0] in order},
                   key=lambda n: (int(n.split("@")[1]), order.index(n.split("@")[0])))
    written_by = ", ".join(f"`{c}`" for c in commands)
    lines = ["# Recall benchmark", "", f"Written by {written_by} (from the repo root) on {platform.node() or 'this machine'} "
             f"({os.cpu_count()} cores, torch {torch.__version__}, load average {os.getloadavg()[0]:.1f} at the end). "
             "Full ranking over all items with the user's history excluded; test metrics of the epoch best.json "
             "names; mean ± std over the seeds listed (std 0 with one seed).", "",
             "| model | dataset | seeds | epochs | " + " | ".join(shown) + " | s/run | published on the same files |",
             "|---|---|---|---:|" + "---:|" * len(shown) + "---:|---|"]
    for r in rows:
        cells = [f"{r['metrics'][n][0]:.4f} ± {r['metrics'][n][1]:.4f}" if n in r["metrics"] else "" for n in shown]
        lines.append(f"| {r['model']} | {r['dataset']} | {len(r['seeds'])} | {r['epochs']} | " + " | ".join(cells)
                     + f" | {r['seconds']:.0f} | {r['published']} |")
    few = [f"{r['model']}/{r['dataset']}" for r in rows if len(r["seeds"]) < 3]
    if few:
        lines += ["", f"Fewer than 3 seeds (time was short): {', '.join(few)}."]
    lines += ["", "Commands (one per seed; run from the repo root):", ""]
    lines += [f"- `{c}`" for r in rows for c in r["commands"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recstack bench recall", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_DATASET))
    parser.add_argument("--datasets", default=None, help=f"any of {','.join(DATASETS)} (default: each model's own)")
    parser.add_argument("--seeds", default="2024")
    parser.add_argument("--epochs", type=int, default=None, help="override every config's runner.epochs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="docs/benchmarks", help="folder for recall.md and recall.json")
    args = parser.parse_args(argv)
    models, seeds = args.models.split(","), [int(s) for s in args.seeds.split(",")]
    unknown = [d for d in (args.datasets or "").split(",") if d and d not in DATASETS]
    if unknown:
        raise SystemExit(f"--datasets: unknown {unknown}; known: {', '.join(DATASETS)}")
    command = " ".join(["recstack bench recall", *(argv if argv is not None else sys.argv[1:])])
    runs: list[dict] = []
    for model in models:
        for dataset in args.datasets.split(",") if args.datasets else [DEFAULT_DATASET.get(model, "ml1m")]:
            for seed in seeds:
                runs.append({**run_one(model, dataset, seed, args.epochs, args.threads), "bench_command": command})
                print(json.dumps({k: runs[-1][k] for k in ("model", "dataset", "seed", "test", "seconds")}), flush=True)
                write_report(Path(args.out), runs, command)  # after every run, so a stopped benchmark keeps its rows
    print((Path(args.out) / "recall.md").read_text())


def write_report(out: Path, runs: list[dict], command: str) -> None:
    """Writes recall.json / recall.md with these runs plus the earlier ones already there (a run of the same
    model, dataset and seed replaces its earlier one), so slow models can be benchmarked one command at a time."""
    out.mkdir(parents=True, exist_ok=True)
    earlier = json.loads((out / "recall.json").read_text())["runs"] if (out / "recall.json").exists() else []
    key = lambda r: (r["model"], r["dataset"], r["seed"])  # noqa: E731
    fresh = {key(r) for r in runs}
    runs = [r for r in earlier if key(r) not in fresh] + runs
    rows = summarize(runs)
    write_atomic(out / "recall.json", json.dumps({"rows": rows, "runs": runs}, indent=1))
    write_atomic(out / "recall.md", markdown(rows, sorted({r["bench_command"] for r in runs if "bench_command" in r})))
