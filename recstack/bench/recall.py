"""`recstack bench recall`: every recall model on ML-1M, ML-100k and Beauty, 3 seeds -> docs/benchmarks/recall.md.

    recstack bench recall --skip-done          # the whole table: every model x ml1m,ml100k,beauty x 2024,2025,2026
    recstack bench recall --models sasrec,bert4rec --datasets beauty --seeds 2024 --skip-done
    recstack bench recall --models lightgcn --datasets own     # each model on its own config's dataset only
    recstack bench recall --datasets guard     # the test-suite guard -> docs/benchmarks/recall_guard.json
    recstack bench recall --report-only        # rewrite recall.md from recall.json, training nothing

Datasets (full ranking over every item, the user's train and validation items excluded):
  ml1m     the LCFN/UltraGCN ML-1M implicit split, a test file per user: Recall@20, NDCG@20
  ml100k   MovieLens-100k, each user's ratings in time order, leave-one-out: HR@10, NDCG@10 (and @20)
  beauty   Amazon Beauty as S3-Rec/ICLRec preprocessed it, leave-one-out: HR@10, NDCG@10 (and @20)
  guard    ML-100k with a few epochs of small models (GUARD_MODELS, seconds a run); tests/bench/test_recall_bench.py
           retrains them and fails below the mean - 3 std recorded in recall_guard.json
`--datasets all` is ml1m,ml100k,beauty; `--models all` every model with a configs/recall/<model>.yaml (on the
guard: GUARD_MODELS). A run is `recstack train -m configs/recall/<model>.yaml` with the dataset's runner
settings the config lacks, on ml100k (beauty) up to 200 (50) epochs early-stopped on validation NDCG@20 (models
trained epoch by epoch), the model's SETTINGS for that dataset and the seed; its figures are the test
metrics of the epoch best.json names (best validation NDCG on leave-one-out data, else the last epoch), and
its exact command is listed under the tables. Runs go seed by seed (every model and dataset on the first seed,
then the next), and each finished run is merged into <out>/recall.json at once (re-read under a lock, so
invocations may run side by side; the same model, dataset and seed replaces its earlier run), recall.md being
rewritten from the whole file; `--skip-done` skips runs already there with the same command and config
contents (other --epochs, SETTINGS or an edited yaml run again), so a long table is built across
invocations and resumes after a stop.
UNSUPPORTED names the cells a model cannot run, with the reason; the table prints them as rows.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from recstack.bench.common import (config_digest, cpu_model, readme_for, replace_block, rewrite_reports,
                                   update_results)
from recstack.config import PATH_KEYS, RunConfig, load_config
from recstack.train.checkpoint import write_atomic
from recstack.train.recall import is_recall_model, train

REPO = Path(__file__).resolve().parents[2]
SHARED = "../shared/data"  # relative to the repo root, where the listed commands run
ML100K = {"data_format": "movielens_sequence", "train_data_dir": f"{SHARED}/ml-100k", "test_data_dir": "null",
          "eval_protocol": "full", "topk": "[10,20]"}


@dataclass(frozen=True)
class Dataset:
    title: str
    runner: dict[str, str]  # runner settings, as `-o runner.<key>=<value>` (paths relative to the repo root)
    columns: tuple[str, ...]  # the metrics tabled, the first one sorts the rows
    published: str = ""  # the best figure published on the same files
    # On leave-one-out data every model trained epoch by epoch (config epochs > 1) runs until its validation NDCG@20
    # stops improving (best.json keeps the best evaluation): an epoch count sized for one dataset under-trains on
    # another (SASRec's 10 Beauty epochs are 40 steps on ML-100k's 943 users: HR@10 0.081, converged 0.173).
    converge: tuple[str, ...] = ()
    note: str = ""  # what a reader of the table must know about the split


DATASETS = {
    "ml1m": Dataset("ML-1M, the LCFN/UltraGCN implicit split (6,022 users x 3,043 items, 796k train interactions, "
                    "a test file per user; no validation split, no times)",
                    {"data_format": "user_items", "train_data_dir": f"{SHARED}/ml-1m/ultragcn_m1_train.txt.gz",
                     "test_data_dir": f"{SHARED}/ml-1m/ultragcn_m1_test.txt", "eval_protocol": "full",
                     "topk": "[20]"},
                    ("recall@20", "ndcg@20"),
                    "UltraGCN Recall@20 0.2787, NDCG@20 0.2642 (UltraGCN paper, Table 3)",
                    note="The split holds out random items of each user (LCFN's protocol), its lines are not in time "
                         "order and it has no validation split, so every model runs its config's epochs. Next-item "
                         "models learn what follows a user's latest items, which this file cannot tell: they are "
                         "tabled on ML-100k and Beauty only (run here on seed 2024 before that: bert4rec Recall@20 "
                         "0.020, gru4rec 0.024, als_rnn 0.132, against 0.19-0.28 for most CF models)."),
    "ml100k": Dataset("MovieLens-100k sequences (943 users x 1,682 items, each user's ratings in time order as "
                      "implicit feedback; leave-one-out: last item test, second-to-last validation)",
                      ML100K, ("hr@10", "ndcg@10", "hr@20", "ndcg@20"),
                      converge=("runner.epochs=200", "runner.eval_interval=5", "runner.early_stop_patience=3")),
    "beauty": Dataset("Amazon Beauty as S3-Rec/ICLRec preprocessed it (22,363 users x 12,101 items, 198k "
                      "interactions in time order, no times; leave-one-out)",
                      {"data_format": "user_items", "train_data_dir": f"{SHARED}/seqrec-s3rec/Beauty.txt.gz",
                       "test_data_dir": "null", "eval_protocol": "full", "topk": "[10,20]"},
                      ("hr@10", "ndcg@10", "hr@20", "ndcg@20"),
                      "ICLRec HR@10 0.0744, NDCG@10 0.0403, HR@20 0.1058, NDCG@20 0.0483 (ICLRec README)",
                      # at most 50 epochs (a full-softmax epoch of SASRec is ~46 s here); 22k validation users
                      converge=("runner.epochs=50", "runner.eval_interval=5", "runner.early_stop_patience=2")),
    "guard": Dataset("ML-100k sequences, short runs of small models (GUARD_MODELS): the test-suite quality guard",
                     ML100K, ("hr@10", "ndcg@10")),
}
TABLED = ("ml1m", "ml100k", "beauty")  # --datasets all
RESULTS = {"guard": "recall_guard.json"}  # dataset -> results file under --out; the rest share recall.json
# One per training path (SGD on pairs, a fitted solver, sequences), each recorded well above recommending the most
# popular items (HR@10 0.0859, NDCG@10 0.0449 on these files), in 1-4 s a run.
GUARD_MODELS = ("bpr_mf", "itemcf", "sasrec")
GUARD_STD_FLOOR = 0.002  # ~2 of ML-100k's 943 test users: a deterministic model (std 0) may move a user or two
SETTINGS = {  # (model, dataset) -> overrides that model needs on that dataset, beyond the dataset's runner settings
    ("bert4rec", "beauty"): ("hyper_parameters.mask_prob=0.6",),  # BERT4Rec's setting for short Amazon sequences
    # On next-item data the skip-gram user is their latest items, not all: ML-100k validation NDCG@20 (seed 2024,
    # word2vec; deepwalk follows) for user_history 0 (all) / 3 / 5 / 10 / 20 / 50:
    # 0.046 / 0.100 / 0.104 / 0.086 / 0.072 / 0.053
    **{(model, dataset): ("hyper_parameters.user_history=5",)
       for model in ("word2vec", "deepwalk") for dataset in ("ml100k", "beauty")},
    # Plain MSE over 12k items reconstructs zeros on Beauty's ~9-item rows (validation NDCG@20 0.005 after 10
    # epochs); weighting a user's own items fixes it. Validation NDCG@20 after 5 epochs (seed 2024) for
    # positive_weight 10 / 20 / 50: 0.0336 / 0.0348 / 0.0157.
    ("deeprec", "beauty"): ("hyper_parameters.positive_weight=20",),
    ("bpr_mf", "guard"): ("runner.epochs=5", "runner.eval_interval=5", "runner.train_batch_size=1024",
                          "hyper_parameters.sparse_feature_dim=32"),
    ("sasrec", "guard"): ("runner.epochs=10", "runner.eval_interval=10", "runner.early_stop_patience=0",
                          "runner.train_batch_size=32", "hyper_parameters.optimizer.learning_rate=0.01",
                          "hyper_parameters.sparse_feature_dim=32", "hyper_parameters.num_blocks=1",
                          "hyper_parameters.history_length=20"),
}
# Models that learn the item after a user's latest ones (SR-GNN: the session's next click).
NEXT_ITEM = ("als_rnn", "bert4rec", "gru4rec", "rnn_predictor", "sasrec", "srgnn")
UNSUPPORTED = {  # (model, dataset) -> why the model cannot run there; printed as the cell's row
    ("tisasrec", "ml1m"): "reads interaction times; the UltraGCN split has none",
    ("tisasrec", "beauty"): "reads interaction times; the S3-Rec Beauty file has none",
    **{(model, "ml1m"): "a next-item model; the split has no item order (see above)" for model in NEXT_ITEM},
}
PUBLISHED = {  # (model, dataset) -> what the literature reports on the same files, for the table
    ("lightgcn", "ml1m"): "LightGCN Recall@20 0.2576, NDCG@20 0.2427 (as the UltraGCN paper tables it)",
    ("bpr_mf", "ml1m"): "MF-BPR Recall@20 0.2153, NDCG@20 0.2175 (as the UltraGCN paper tables it)",
    ("sasrec", "beauty"): "SASRec ~0.06 / ~0.03 HR@10 / NDCG@10 (S3-Rec/ICLRec papers)",
}


def recall_models() -> list[str]:
    """Every recall model with a committed configs/recall/<model>.yaml."""
    return sorted(path.stem for path in (REPO / "configs" / "recall").glob("*.yaml") if is_recall_model(path.stem))


def config_path(model: str) -> Path:
    return REPO / "configs" / "recall" / f"{model}.yaml"


def from_repo(override: str) -> str:
    """A relative `runner.<path key>=...` override made absolute against the repo root, where commands run."""
    key, value = override.split("=", 1)
    if key.removeprefix("runner.") in PATH_KEYS and value != "null" and not os.path.isabs(value):
        return f"{key}={(REPO / value).resolve()}"
    return override


def load_run_config(model: str, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    return load_config(config_path(model), [from_repo(o) for o in overrides])


def dataset_overrides(model: str, dataset: str) -> list[str]:
    """The dataset's runner settings the model's config does not already have, as `-o` overrides."""
    own, overrides = load_run_config(model).runner, []
    for key, value in DATASETS[dataset].runner.items():
        override = f"runner.{key}={value}"
        if getattr(load_run_config(model, [override]).runner, key) != getattr(own, key):
            overrides.append(override)
    return overrides


def own_dataset(model: str) -> str | None:
    """The tabled dataset the model's config trains on, if any (srgnn's DIGINETICA sessions are not tabled)."""
    return next((d for d in TABLED if not any(o.startswith("runner.train_data_dir=")
                                              for o in dataset_overrides(model, d))), None)


def run_overrides(model: str, dataset: str, seed: int, epochs: int | None) -> list[str]:
    """The `-o` overrides of one run: the dataset, the model's settings there, the seed, the epochs."""
    converge = DATASETS[dataset].converge if load_run_config(model).runner.epochs > 1 else ()
    overrides = [*dataset_overrides(model, dataset), *converge, *SETTINGS.get((model, dataset), ()),
                 f"runner.seed={seed}"]
    return overrides + ([f"runner.epochs={epochs}", f"runner.infer_start_epoch={epochs - 1}",
                         f"runner.infer_end_epoch={epochs}"] if epochs else [])


def train_command(model: str, overrides: list[str]) -> str:
    """The `recstack train` command of a run (from the repo root)."""
    return f"recstack train -m configs/recall/{model}.yaml " + " ".join(f"-o {o}" for o in overrides)


def run_one(model: str, dataset: str, seed: int, epochs: int | None, threads: int) -> dict:
    """Trains one (model, dataset, seed) in a temporary folder; returns its record for the results file."""
    overrides, digest = run_overrides(model, dataset, seed, epochs), config_digest(config_path(model))
    with tempfile.TemporaryDirectory(prefix="recstack-bench-recall-") as folder:
        cfg = load_run_config(model, overrides + [f"runner.model_save_path={folder}", "runner.progress_bar=false",
                                                  f"runner.thread_num={threads}"])
        start, cpu_start = time.perf_counter(), time.process_time()
        reports = train(cfg)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        best = json.loads((Path(folder) / "best.json").read_text())
    return {"model": model, "dataset": dataset, "seed": seed, "epoch": best["epoch"],
            "epochs_run": reports[-1]["epoch"] + 1, "test": best["test"], "seconds": seconds,
            "cpu_seconds": cpu_seconds, "command": f"OMP_NUM_THREADS={threads} {train_command(model, overrides)}",
            "config_sha": digest}


# ---- results: recall.json / recall_guard.json, merged run by run --------------------------------------------

def results_path(out: Path, dataset: str) -> Path:
    return out / RESULTS.get(dataset, "recall.json")


def load_runs(path: Path) -> list[dict]:
    return json.loads(path.read_text())["runs"] if path.exists() else []


def run_key(run: dict) -> tuple[str, str, int]:
    return run["model"], run["dataset"], run["seed"]


def is_done(path: Path, model: str, dataset: str, seed: int, epochs: int | None) -> bool:
    """Whether the results file has this run, made by the command it would run now (threads aside) from the config
    as it is now: a run made with other epochs, settings or config contents, or without a digest, is not done."""
    wanted = train_command(model, run_overrides(model, dataset, seed, epochs))
    digest = config_digest(config_path(model))
    return any(run_key(r) == (model, dataset, seed) and r["command"].partition(" ")[2] == wanted
               and r.get("config_sha") == digest for r in load_runs(path))


def merge_run(path: Path, run: dict) -> None:
    """Adds `run` to the results file (replacing the same model, dataset and seed), keeping the runs another
    invocation merged meanwhile; rewrites recall.md beside recall.json."""
    def add(results: dict) -> dict:
        runs = [r for r in results["runs"] if run_key(r) != run_key(run)] + [run]
        return {"environment": environment(), "rows": summarize(runs), "runs": runs}

    update_results(path, add, lambda: {"runs": []}, markdown_file(path))


def markdown_file(path: Path) -> Callable[[dict], None]:
    """What rewrites recall.md beside `path` from its contents, and the README's summary of it when `path` is the
    committed results file (nothing for the guard's file)."""
    def write(results: dict) -> None:
        if path.name == "recall.json":
            text = markdown(results["rows"], recall_models(), results["environment"])
            write_atomic(path.with_name("recall.md"), text)
            if readme := readme_for(path.parent):
                replace_block(readme, README_BLOCK, readme_summary(results["rows"]))
    return write


def environment() -> dict:
    return {"host": platform.node(), "cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "load_average": round(os.getloadavg()[0], 1), "date": datetime.date.today().isoformat()}


def summarize(runs: list[dict]) -> list[dict]:
    """One row per (model, dataset): mean and sample std of each test metric over its seeds (std 0 for one)."""
    rows = []
    for model, dataset in dict.fromkeys((r["model"], r["dataset"]) for r in runs):
        group = sorted((r for r in runs if (r["model"], r["dataset"]) == (model, dataset)), key=lambda r: r["seed"])
        metrics = {}
        for name in group[0]["test"]:
            values = [r["test"][name] for r in group]
            metrics[name] = (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
        rows.append({"model": model, "dataset": dataset, "seeds": [r["seed"] for r in group], "metrics": metrics,
                     "epochs": statistics.mean(r["epochs_run"] for r in group),
                     "seconds": statistics.mean(r["seconds"] for r in group),
                     "cpu_seconds": statistics.mean(r.get("cpu_seconds", r["seconds"]) for r in group),
                     "commands": [r["command"] for r in group], "bench_commands": sorted(
                         {r["bench_command"] for r in group if "bench_command" in r}),
                     "published": PUBLISHED.get((model, dataset), "")})
    return rows


def guard_floor(row: dict, metric: str) -> float:
    """The value below which the regression guard fails: the recorded mean - 3 std (std floored)."""
    mean, std = row["metrics"][metric]
    return mean - 3 * max(std, GUARD_STD_FLOOR)


# ---- the markdown --------------------------------------------------------------------------------------------

def cell(figure: tuple[float, float] | None, seeds: int) -> str:
    """mean ± std (the mean alone for one seed; – when the run did not report the metric)."""
    if figure is None:
        return "–"
    return f"{figure[0]:.4f}" + (f" ± {figure[1]:.4f}" if seeds > 1 else "")


def dataset_section(name: str, rows: list[dict], models: list[str]) -> list[str]:
    """One dataset's table: its runs' rows (best first), then the UNSUPPORTED cells, then models not run yet."""
    spec, done = DATASETS[name], {r["model"] for r in rows}
    columns = spec.columns
    lines = [f"## {name}: {spec.title}", ""]
    if spec.published:
        lines += [f"Best published on these files: {spec.published}.", ""]
    if spec.note:
        lines += [spec.note, ""]
    header = ["model", "seeds", "epochs", *columns, "s/run", "CPU s/run", "published on the same files"]
    lines += ["| " + " | ".join(header) + " |", "|---|---:|---:|" + "---:|" * len(columns) + "---:|---:|---|"]
    for r in sorted(rows, key=lambda r: -r["metrics"].get(columns[0], (0.0, 0.0))[0]):
        cells = [cell(r["metrics"].get(c), len(r["seeds"])) for c in columns]
        seeds = f"{len(r['seeds'])}" + ("*" if len(r["seeds"]) < 3 else "")
        lines.append(f"| {r['model']} | {seeds} | {r['epochs']:.3g} | " + " | ".join(cells)
                     + f" | {r['seconds']:.0f} | {r['cpu_seconds']:.0f} | {r['published']} |")
    unsupported = [m for m in models if (m, name) in UNSUPPORTED and m not in done]
    lines += ["| " + " | ".join([m, *["–"] * (len(columns) + 4), f"not supported: {UNSUPPORTED[m, name]}"]) + " |"
              for m in unsupported]
    few = [r["model"] for r in rows if len(r["seeds"]) < 3]
    missing = [m for m in models if m not in done and (m, name) not in UNSUPPORTED]
    return lines + ["", f"\\* fewer than 3 seeds: {', '.join(few) or 'none'}.",
                    f"Not run yet: {', '.join(missing) or 'none'}.", ""]


def markdown(rows: list[dict], models: list[str], env: dict) -> str:
    """recall.md: one section per tabled dataset, then every run's exact command."""
    lines = ["# Recall benchmark", "",
             "Written by `recstack bench recall` (recstack/bench/recall.py) from the runs in `recall.json`; the "
             "commands that added them are listed at the end. Each run trains from the committed "
             "`configs/recall/<model>.yaml` with the dataset's data settings, and its figures are the test metrics of "
             "the epoch best.json names (the best validation NDCG@20 on leave-one-out data, else the last epoch). "
             "Full ranking over every item with the user's train (and validation) items excluded. Mean ± sample std "
             "over seeds (std 0 for deterministic models; one seed shows the mean alone); with one held-out item, "
             "HR@20 is Recall@20. s/run is wall time on a shared machine, CPU s/run the process's CPU time "
             "(OMP_NUM_THREADS in the commands). Retrieval of exported embeddings through FAISS (exact, IVF, "
             "HNSW: recall@100 against exact search, build time, queries/s) is in `index.md` (`recstack bench "
             "index`).", "",
             f"Environment: {env.get('host')}, {env.get('cores')} cores ({env.get('cpu')}), torch {env.get('torch')}, "
             f"load average {env.get('load_average')} at the last write, {env.get('date')}.", ""]
    for name in TABLED:
        lines += dataset_section(name, [r for r in rows if r["dataset"] == name], models)
    lines += ["## Commands", "", "Written by:", ""]
    lines += [f"- `{c}`" for c in sorted({c for r in rows for c in r["bench_commands"]})]
    lines += ["", "Each run (one per seed; from the repo root):", ""]
    for name in TABLED:
        lines += [f"- `{c}`" for r in rows if r["dataset"] == name for c in r["commands"]]
    return "\n".join(lines) + "\n"


README_BLOCK = "recstack bench recall"
README_TOP = 5


def readme_summary(rows: list[dict]) -> str:
    """The README's digest of recall.md: per tabled dataset, the top rows and every row with a published figure."""
    lines = []
    for name in TABLED:
        spec = DATASETS[name]
        ranked = sorted((r for r in rows if r["dataset"] == name), key=lambda r: -r["metrics"][spec.columns[0]][0])
        if not ranked:
            continue
        shown = [r for i, r in enumerate(ranked) if i < README_TOP or r["published"]]
        lines += [f"**{name}** (the top {README_TOP} and the models with a published figure, of {len(ranked)} run so "
                  f"far; {spec.published or 'no published figure on these exact files'}):", "",
                  f"| model | seeds | {' | '.join(spec.columns[:2])} | published on the same files |",
                  "|---|---:|---:|---:|---|"]
        lines += [f"| {r['model']} | {len(r['seeds'])} | "
                  + " | ".join(cell(r["metrics"][c], len(r["seeds"])) for c in spec.columns[:2])
                  + f" | {r['published']} |" for r in shown]
        lines.append("")
        if len(ranked) > len(shown):
            lines += [f"({len(ranked) - len(shown)} more rows in recall.md.)", ""]
    return "\n".join(lines)


# ---- the command ---------------------------------------------------------------------------------------------

def choose(parser: argparse.ArgumentParser, option: str, text: str, known: list[str], aliases: dict) -> list[str]:
    """A comma-separated list of known names (or an alias for several); a clear error naming the valid ones."""
    if text in aliases:
        return aliases[text]
    names = text.split(",")
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)}; valid: {', '.join([*aliases, *known])}")
    return names


def seed_list(text: str) -> list[int]:
    """--seeds: comma-separated integers."""
    return [int(seed) for seed in text.split(",")]


def planned(models: list[str], datasets: list[str], seeds: list[int]) -> Iterator[tuple[str, str, int]]:
    """(model, dataset, seed) in run order: every cell on the first seed, then the next; UNSUPPORTED cells and
    (`own`) models whose config reads untabled data are reported and left out."""
    for seed in seeds:
        for dataset in datasets:
            for model in models:
                target = own_dataset(model) if dataset == "own" else dataset
                if target is None or (model, target) in UNSUPPORTED:
                    if seed == seeds[0]:
                        why = UNSUPPORTED.get((model, target), "its config reads data this benchmark does not table")
                        print(f"skip {model} on {target or 'its own dataset'}: {why}", file=sys.stderr)
                    continue
                yield model, target, seed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recstack bench recall", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="all", help="comma-separated recall models, or all (default)")
    parser.add_argument("--datasets", default="all",
                        help=f"comma-separated {', '.join(DATASETS)}; all (default: {','.join(TABLED)}); "
                             "own (each model's config's dataset)")
    parser.add_argument("--seeds", default=[2024, 2025, 2026], type=seed_list,
                        help="comma-separated seeds (default: 2024,2025,2026)")
    parser.add_argument("--epochs", type=int, default=None, help="override every config's runner.epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (default: 1)")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks"),
                        help="folder of recall.json + recall.md (and recall_guard.json)")
    parser.add_argument("--skip-done", action="store_true",
                        help="skip runs already in the results file with the same command and config contents")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: rewrite recall.md (and the README summary) from recall.json")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.report_only:
        path = Path(args.out) / "recall.json"
        rewrite_reports(parser, path, lambda results: {**results, "rows": summarize(results["runs"])},
                        markdown_file(path))
        print(path.with_name("recall.md").read_text())
        return
    datasets = choose(parser, "--datasets", args.datasets, list(DATASETS), {"all": list(TABLED), "own": ["own"]})
    guard_only = datasets == ["guard"]
    models = choose(parser, "--models", args.models, recall_models(),
                    {"all": list(GUARD_MODELS) if guard_only else recall_models()})
    if "guard" in datasets and not set(models) <= set(GUARD_MODELS):
        parser.error(f"--datasets guard: the guard runs {', '.join(GUARD_MODELS)} only")
    out, command = Path(args.out), "recstack bench recall " + shlex.join(argv)
    for model, dataset, seed in planned(models, datasets, args.seeds):
        path = results_path(out, dataset)
        if args.skip_done and is_done(path, model, dataset, seed, args.epochs):
            continue
        print(f"[{datetime.datetime.now():%H:%M:%S}] {model} on {dataset}, seed {seed}", file=sys.stderr, flush=True)
        run = {**run_one(model, dataset, seed, args.epochs, args.threads), "bench_command": command}
        merge_run(path, run)
        print(json.dumps({k: run[k] for k in ("model", "dataset", "seed", "test", "seconds", "cpu_seconds")}),
              flush=True)
    if (out / "recall.md").exists() and not guard_only:
        print((out / "recall.md").read_text())
