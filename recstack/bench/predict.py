"""Inference throughput: the exported model on onnxruntime vs the same model in eager PyTorch, same run.

    recstack bench predict [--models deepfm,dnn] [--batch-sizes 1,64,2048] [--repeats 5] [--threads 1]
                           [-o key=value ...] [--out docs/benchmarks]

Each model is built from configs/rank/<model>.yaml (freshly initialised: weights do not change the
speed), exported with `recstack.export`, and scored on random inputs at each batch size by
  - onnxruntime: the artifact's model.onnx (`Predictor.score`, inputs already encoded);
  - onnxruntime + rows: `Predictor.predict_rows` on raw JSON-like rows (preprocessing included);
  - pytorch eager: the same model in fp32 under torch.no_grad (the graph that was exported).
A run repeats calls for at least --min-seconds; samples/s is the median of --repeats runs, with the
min and max. Engines alternate run by run, so a change in machine load hits them alike. Writes
predict.json and predict.md into --out (atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import shlex
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from recstack.bench.throughput import cpu_model
from recstack.config import load_config
from recstack.data.datasets import build_schema
from recstack.export.commands import export_model
from recstack.export.graph import ScoringGraph, input_names, random_inputs
from recstack.export.predictor import Predictor
from recstack.train.checkpoint import write_atomic
from recstack.train.recipes import make_model

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "rank"


def samples_per_second(call: Callable[[], object], batch_size: int, min_seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    while True:
        call()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls * batch_size / elapsed


def measure_model(name: str, batch_sizes: list[int], repeats: int, threads: int, min_seconds: float,
                  overrides: list[str], workdir: Path) -> list[dict]:
    cfg = load_config(CONFIGS / f"{name}.yaml", overrides)
    torch.manual_seed(0)
    model = make_model(cfg, build_schema(cfg))
    export_model(cfg, model, workdir / name, {"initialized": True})
    predictor = Predictor(workdir / name, threads)
    graph = ScoringGraph(model).eval()  # export_model left the model in eval mode, bf16 off: fp32 like the artifact
    results = []
    for batch_size in batch_sizes:
        inputs = random_inputs(model.schema, batch_size, seed=batch_size)
        tensors = [torch.from_numpy(inputs[n]) for n in input_names(model.schema)]
        rows = predictor.encoder.example_rows(batch_size, seed=batch_size)
        with torch.no_grad():
            diff = float(np.abs(predictor.score(inputs) - graph(*tensors).numpy()).max())
        engines = {"onnxruntime": lambda: predictor.score(inputs),
                   "onnxruntime + rows": lambda: predictor.predict_rows(rows),
                   "pytorch eager": lambda: graph(*tensors)}
        runs: dict[str, list[float]] = {engine: [] for engine in engines}
        with torch.no_grad():
            for call in engines.values():  # warm-up: first calls allocate, and polars starts its thread pool
                call()
            for _ in range(repeats):
                for engine, call in engines.items():
                    runs[engine].append(samples_per_second(call, batch_size, min_seconds))
        for engine, values in runs.items():
            results.append({"model": name, "batch_size": batch_size, "engine": engine,
                            "median": statistics.median(values), "min": min(values), "max": max(values),
                            "runs": values, "max_abs_diff_vs_pytorch": diff})
    return results


def machine_info(load_before: float) -> dict:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "nice": os.nice(0), "loadavg_before": load_before,
            "loadavg_after": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def write_report(out: Path, name: str, result: dict, table: str) -> None:
    """out/<name>.json and out/<name>.md, each written atomically; the table is printed too."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / f"{name}.json", json.dumps(result, indent=1))
    write_atomic(out / f"{name}.md", table)
    print(table)


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"# Inference throughput: onnxruntime vs eager PyTorch", "",
             f"Command: `{result['command']}`", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} thread(s) per engine, torch {m['torch']}, "
             f"onnxruntime {m['onnxruntime']}, nice {m['nice']}, load {m['loadavg_before']:.2f} -> {m['loadavg_after']:.2f} "
             f"(other jobs included), {m['date']}. "
             f"Samples/s: median of {result['repeats']} runs [min - max]; models freshly initialised from "
             f"configs/rank/<model>.yaml, fp32 in both engines. `onnxruntime + rows` includes encoding raw rows "
             f"(Criteo values -> hashed ids, log1p) through the manifest.", "",
             "| model | batch | onnxruntime | onnxruntime + rows | pytorch eager | ort / eager |",
             "|---|---:|---:|---:|---:|---:|"]
    table: dict[tuple, dict] = {}
    for r in result["results"]:
        table.setdefault((r["model"], r["batch_size"]), {})[r["engine"]] = r
    for (model, batch), engines in table.items():
        cells = [f"{e['median']:,.0f} [{e['min']:,.0f} - {e['max']:,.0f}]" for e in
                 (engines["onnxruntime"], engines["onnxruntime + rows"], engines["pytorch eager"])]
        ratio = engines["onnxruntime"]["median"] / engines["pytorch eager"]["median"]
        lines.append(f"| {model} | {batch} | " + " | ".join(cells) + f" | {ratio:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="recstack bench predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="deepfm,dnn", help="comma-separated; each needs configs/rank/<model>.yaml")
    parser.add_argument("--batch-sizes", default="1,64,2048")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument("-o", "--override", action="append", default=[], help="config override for every model")
    parser.add_argument("--out", default="docs/benchmarks")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import onnxruntime

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as workdir:
        results = [r for name in args.models.split(",") for r in measure_model(
            name, [int(b) for b in args.batch_sizes.split(",")], args.repeats, args.threads, args.min_seconds,
            args.override, Path(workdir))]
    result = {"command": shlex.join(["recstack", "bench", "predict", *argv]), "repeats": args.repeats,
              "results": results, "machine": {**machine_info(load_before), "threads": args.threads,
                                              "torch": torch.__version__, "onnxruntime": onnxruntime.__version__}}
    write_report(Path(args.out), "predict", result, markdown(result))
    return result


if __name__ == "__main__":
    main()
