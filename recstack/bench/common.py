"""Pieces every benchmark shares: the machine's name, median/min/max summaries, the benchmark model config."""

from __future__ import annotations

import argparse
import platform
import statistics
from pathlib import Path

from recstack.config import RunConfig, load_config


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
