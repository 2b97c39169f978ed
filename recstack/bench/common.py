"""Pieces every benchmark shares: the machine's name, median/min/max summaries, the benchmark model config, and
results files that several benchmark invocations update side by side."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import statistics
from pathlib import Path
from typing import Callable, Iterator

from recstack.config import RunConfig, load_config
from recstack.train.checkpoint import write_atomic


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


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Holds an exclusive lock on `folder` (flock on the directory itself, so no lock file is left behind)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def update_results(path: Path, change: Callable[[dict], dict], empty: Callable[[], dict],
                   reports: Callable[[dict], None] = lambda results: None) -> dict:
    """Read-modify-write of a JSON results file under a lock on its folder, written atomically: the file is re-read
    inside the lock, so runs other invocations merged meanwhile are kept. `change` gets the current contents
    (`empty()` when there is no file) and returns what to write; `reports` then rewrites the files made from it
    (still under the lock, so they follow the same order). Returns the written contents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.parent):
        results = change(json.loads(path.read_text()) if path.exists() else empty())
        write_atomic(path, json.dumps(results, indent=1, sort_keys=True))
        reports(results)
    return results


def rewrite_reports(parser: argparse.ArgumentParser, path: Path, change: Callable[[dict], dict],
                    reports: Callable[[dict], None]) -> dict:
    """--report-only: the reports rewritten from the results file at `path`, training nothing (a usage error naming
    the file when there is none)."""
    if not path.exists():
        parser.error(f"--report-only: no results file {path}")
    return update_results(path, change, dict, reports)


REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "docs" / "benchmarks"  # the committed results; only they rewrite the repo's README


def readme_for(out: Path) -> Path | None:
    """The README whose summary blocks a benchmark writing into `out` keeps current: the repo's own when `out` is
    the committed results folder, none otherwise (a scratch --out never touches the repo)."""
    return REPO / "README.md" if out.resolve() == RESULTS_DIR.resolve() else None


def replace_block(path: Path, name: str, text: str) -> None:
    """Rewrites what lies between the lines `<!-- name -->` and `<!-- /name -->` in `path` with `text`
    (atomically); the markers stay, so the block can be rewritten again. Missing markers are an error naming them."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    content = path.read_text()
    start, stop = content.find(begin), content.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"{path}: no '{begin}' ... '{end}' block to write the {name} summary into")
    start += len(begin)
    write_atomic(path, content[:start] + "\n" + text.strip("\n") + "\n" + content[stop:])


def config_digest(path: Path) -> str:
    """A short hash of a config file's bytes, kept with each benchmark run: --skip-done re-runs a cell whose config
    changed since it ran, or whose run carries no digest."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
