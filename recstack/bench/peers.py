"""recstack's DeepFM against the peer toolkits' DeepFM (DeepCTR-Torch, FuxiCTR), in the same run, same rows.

    bash scripts/install_peers.sh                  # once: .venv-peers/{deepctr,fuxictr} beside torch 2.13.0
    recstack data synth /tmp/peerdata --train-rows 200000 --test-rows 20000
    python -m recstack.bench.peers --data-dir /tmp/peerdata --repeats 2 --batch-size 4096 --out bench_peers

Each peer runs in its own venv as a subprocess: recstack/bench/peers/<name>_deepfm.py (which never
imports recstack) reads the raw TSV, preprocesses it the toolkit's way (timed apart), trains one epoch
of the toolkit's DeepFM (dim 10, MLP 400-400-400, Adam 1e-3, the given batch size), predicts the test
rows, and prints one JSON line (`run_peer` parses it). `compare` alternates in each repeat: recstack's
epoch through the path recstack.bench.throughput times (its make_config; cached columns -> shuffled
BatchLoader -> Trainer.train_epoch on a fresh model, same seed every repeat) and a forward pass over
the test rows at the inference batch size, then each peer in turn. Ratios recstack/peer pair the runs
of one repeat (they saw the same machine load); the median of those ratios is the figure to quote.
`markdown_lines(result)` is the section throughput.md can append; `write_report` writes
<out>/peers.json and <out>/peers.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import recstack
from recstack.bench.common import cpu_model, make_config, summary
from recstack.data.datasets import load_data
from recstack.data.loader import BatchLoader
from recstack.metrics.classification import auc_from_scores
from recstack.train.optim import build_optimizers
from recstack.train.recipes import make_model, setup_runtime
from recstack.train.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]
RUNNERS = Path(__file__).resolve().with_name("peers")  # scripts run by the peer venvs' python
PEERS = {"deepctr": "deepctr_deepfm.py", "fuxictr": "fuxictr_deepfm.py"}
RESULT_KEYS = ("toolkit", "train_samples_per_s", "infer_samples_per_s", "preprocess_s", "test_auc", "rows",
               "batch_size", "torch_version", "threads")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def venv_root(root: str | Path | None = None) -> Path:
    """Where the peer venvs live: `root`, else $RECSTACK_PEERS_VENV, else <repo>/.venv-peers."""
    return Path(root or os.environ.get("RECSTACK_PEERS_VENV") or REPO / ".venv-peers")


def peer_python(name: str, root: str | Path | None = None) -> Path:
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    return venv_root(root) / name / "bin" / "python"


def missing_note(name: str, root: str | Path | None = None) -> str | None:
    """Why `name` cannot run (its venv is missing), or None when it can."""
    python = peer_python(name, root)
    if python.exists():
        return None
    return f"peer {name} skipped: no venv at {python.parent.parent} (install it: bash scripts/install_peers.sh {name})"


def parse_result_line(stdout: str) -> dict:
    """The last line of a runner's stdout that is a JSON object with every RESULT_KEYS key."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and all(key in result for key in RESULT_KEYS):
            return result
    tail = "\n".join(stdout.splitlines()[-5:])
    raise ValueError(f"no result line (a JSON object with keys {', '.join(RESULT_KEYS)}) in the output:\n{tail}")


def run_peer(name: str, train_path: str | Path, test_path: str | Path, batch_size: int, rows: int | None,
             infer_batch_size: int = 8192, threads: int | None = None, root: str | Path | None = None,
             timeout: float = 3 * 3600) -> dict | None:
    """One run of peer `name`'s DeepFM runner in its venv; its JSON result, or None (with a note on
    stderr) when the venv is missing. A failing runner raises RuntimeError with the end of its stderr."""
    note = missing_note(name, root)
    if note:
        log(note)
        return None
    cmd = [str(peer_python(name, root)), str(RUNNERS / PEERS[name]), "--train", str(train_path),
           "--test", str(test_path), "--batch-size", str(batch_size), "--infer-batch-size", str(infer_batch_size)]
    cmd += ["--rows", str(rows)] if rows else []
    cmd += ["--threads", str(threads)] if threads else []
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the peer sees its own venv only
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-20:])
        raise RuntimeError(f"peer {name} failed (exit {proc.returncode}): {shlex.join(cmd)}\n{tail}")
    return {**parse_result_line(proc.stdout), "peer": name}


def ratio_summary(ours: list[float], theirs: list[float]) -> dict:
    """recstack/peer per repeat (run i with run i) and the median of those ratios."""
    if len(ours) != len(theirs) or not ours:
        raise ValueError(f"need one peer run per recstack run, got {len(ours)} and {len(theirs)}")
    if min(theirs) <= 0:
        raise ValueError(f"peer figures must be positive, got {theirs}")
    runs = [a / b for a, b in zip(ours, theirs)]
    return {"runs": runs, "median": statistics.median(runs)}


def measure_recstack(cfg, data, train_store, batch_size: int, infer_batch_size: int) -> dict:
    """One training epoch of a fresh recstack model as recstack.bench.throughput times it, then a
    forward pass over the test rows (kept predictions, as the peers' predict) and their exact AUC."""
    setup_runtime(cfg)  # same seed every repeat: the same initial weights and batch order
    model = make_model(cfg, data.schema)
    trainer = Trainer(model, build_optimizers(model, cfg.hyper_parameters.optimizer),
                      cfg.runner.print_interval, progress_bar=False)
    loader = BatchLoader(train_store, data.schema, batch_size, shuffle=True, seed=cfg.runner.seed)
    report = trainer.train_epoch(loader, epoch=0)
    start = time.perf_counter()
    _, kept = trainer.evaluate(BatchLoader(data.test, data.schema, infer_batch_size), metrics={},
                               keep_predictions=True)
    infer_s = time.perf_counter() - start
    task = model.tasks[0]
    return {"toolkit": "recstack", "toolkit_version": recstack.__version__, "train_samples_per_s": report.samples_per_second,
            "infer_samples_per_s": data.test.num_rows / infer_s,
            "test_auc": auc_from_scores(kept[f"{task}_label"], kept[f"{task}_prob"]),
            "rows": report.samples, "batch_size": batch_size, "torch_version": torch.__version__,
            "threads": torch.get_num_threads()}


def compare(repeats: int, data_dir: str | Path, batch_size: int = 4096, rows: int | None = None,
            infer_batch_size: int = 8192, threads: int | None = None, peers: tuple[str, ...] = tuple(PEERS),
            cache_dir: str | Path | None = None, root: str | Path | None = None) -> dict:
    """Alternates recstack, then each peer, `repeats` times on <data_dir>/train.txt and test.txt (as
    `recstack data synth` writes them); the first `rows` train rows when given. Peers whose venv is
    missing are listed with a note. Without cache_dir, recstack parses into a fresh temporary column
    cache, so its preprocess_s is a cold parse like the peers'."""
    data_dir = Path(data_dir)
    train_path, test_path = data_dir / "train.txt", data_dir / "test.txt"
    load_before = os.getloadavg()[0]
    tmp = tempfile.TemporaryDirectory(prefix="recstack_peers_") if cache_dir is None else None
    args = argparse.Namespace(batch_size=batch_size, infer_batch_size=infer_batch_size, threads=threads)
    cfg = make_config("deepfm", args, data_dir, Path(cache_dir or tmp.name))
    setup_runtime(cfg)
    start = time.perf_counter()
    data = load_data(cfg)
    preprocess_s = time.perf_counter() - start
    train_store = data.train.slice(0, rows) if rows and rows < data.train.num_rows else data.train
    notes = {name: missing_note(name, root) for name in peers}
    runnable = [name for name in peers if notes[name] is None]
    for note in filter(None, notes.values()):
        log(note)
    runs: dict[str, list[dict]] = {"recstack": [], **{name: [] for name in runnable}}
    for repeat in range(repeats):
        log(f"repeat {repeat + 1}/{repeats}: recstack")
        runs["recstack"].append({**measure_recstack(cfg, data, train_store, batch_size, infer_batch_size),
                                 "preprocess_s": preprocess_s})
        for name in runnable:
            log(f"repeat {repeat + 1}/{repeats}: {name}")
            runs[name].append(run_peer(name, train_path, test_path, batch_size, train_store.num_rows,
                                       infer_batch_size, threads, root))
    if tmp is not None:
        tmp.cleanup()
    ours = runs["recstack"]
    toolkits = {"recstack": toolkit_summary(ours)}
    for name in peers:
        if notes[name] is not None:
            toolkits[name] = {"missing": notes[name]}
            continue
        theirs = runs[name]
        toolkits[name] = {**toolkit_summary(theirs),
                          "ratio_train": ratio_summary([r["train_samples_per_s"] for r in ours],
                                                       [r["train_samples_per_s"] for r in theirs]),
                          "ratio_infer": ratio_summary([r["infer_samples_per_s"] for r in ours],
                                                       [r["infer_samples_per_s"] for r in theirs])}
    command = ["python", "-m", "recstack.bench.peers", "--data-dir", str(data_dir), "--repeats", str(repeats),
               "--batch-size", str(batch_size), "--infer-batch-size", str(infer_batch_size)]
    command += (["--rows", str(rows)] if rows else []) + (["--threads", str(threads)] if threads else [])
    command += ["--peers", ",".join(peers)]
    return {"command": shlex.join(command),
            "settings": {"rows": train_store.num_rows, "test_rows": data.test.num_rows, "repeats": repeats,
                         "batch_size": batch_size, "infer_batch_size": infer_batch_size, "embedding_dim": 10,
                         "fc_sizes": [400, 400, 400], "optimizer": "Adam 1e-3", "epochs": 1,
                         "order": ["recstack", *runnable]},
            "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
                        "torch_threads": torch.get_num_threads(), "loadavg_1min_before": load_before,
                        "loadavg_1min_after": os.getloadavg()[0],
                        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")},
            "toolkits": toolkits, "runs": runs}


def toolkit_summary(runs: list[dict]) -> dict:
    return {"name": runs[0]["toolkit"], "version": runs[0].get("toolkit_version", ""),
            "train_samples_per_s": summary([r["train_samples_per_s"] for r in runs]),
            "infer_samples_per_s": summary([r["infer_samples_per_s"] for r in runs]),
            "preprocess_s": statistics.median(r["preprocess_s"] for r in runs),
            "test_auc": runs[-1]["test_auc"], "threads": runs[-1]["threads"],
            "torch_version": runs[-1]["torch_version"]}


def markdown_lines(result: dict) -> list[str]:
    """The comparison as a markdown section (heading, command, machine line, table, notes)."""
    s, m = result["settings"], result["machine"]
    lines = ["## DeepFM against peer toolkits (same run, alternating)", "", f"`{result['command']}`", "",
             f"{m['cpu']}, {m['cores']} cores, torch {m['torch']}, load {m['loadavg_1min_before']:.2f} -> "
             f"{m['loadavg_1min_after']:.2f}, {m['date']}; {s['rows']:,} train / {s['test_rows']:,} test rows, "
             f"batch {s['batch_size']} (inference {s['infer_batch_size']}), dim {s['embedding_dim']}, MLP "
             f"{'-'.join(map(str, s['fc_sizes']))}, {s['optimizer']}, 1 epoch, {s['repeats']} repeats in the order "
             f"{' -> '.join(s['order'])}. Ratio = recstack / peer within one repeat; median of the ratios.", "",
             "| toolkit | train samples/s (median) | infer samples/s (median) | preprocess s | test AUC | threads "
             "| recstack/peer train (runs) | median | recstack/peer infer median |",
             "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    notes = []
    for t in result["toolkits"].values():
        if "missing" in t:
            notes.append(f"- {t['missing']}")
            continue
        cells = [f"{t['name']} {t['version']}".strip(), f"{t['train_samples_per_s']['median']:,.0f}",
                 f"{t['infer_samples_per_s']['median']:,.0f}", f"{t['preprocess_s']:.1f}", f"{t['test_auc']:.4f}",
                 str(t["threads"]), "", "", ""]
        if "ratio_train" in t:
            cells[6:] = [", ".join(f"{r:.2f}" for r in t["ratio_train"]["runs"]), f"{t['ratio_train']['median']:.2f}x",
                         f"{t['ratio_infer']['median']:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + ([""] + notes if notes else []) + [""]


def write_report(result: dict, out: str | Path) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "peers.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "peers.md").write_text("\n".join(markdown_lines(result)))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m recstack.bench.peers", description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="holds train.txt and test.txt (recstack data synth DIR)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--infer-batch-size", type=int, default=8192)
    p.add_argument("--rows", type=int, default=None, help="train rows to use (default: all)")
    p.add_argument("--threads", type=int, default=None, help="torch threads, every toolkit (default: torch's)")
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--cache-dir", default=None, help="recstack column cache (default: a fresh temporary one)")
    p.add_argument("--out", default="bench_peers")
    args = p.parse_args(argv)
    result = compare(args.repeats, args.data_dir, args.batch_size, args.rows, args.infer_batch_size, args.threads,
                     tuple(n.strip() for n in args.peers.split(",") if n.strip()), args.cache_dir)
    write_report(result, args.out)
    print("\n".join(markdown_lines(result)), end="")
    return result


if __name__ == "__main__":
    main()
