"""`recstack export` and `recstack predict` as plain functions.

    export_checkpoint(cfg, epoch, out)  checkpoint model_save_path/<epoch>/ -> out/{model.onnx, manifest.json,
                                        vocabulary.npz when the config uses vocab encoding}
    predict_files(artifact, files, ...)  raw files -> one score per sample (CSV, written atomically) + AUC
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl

from recstack.config import RunConfig
from recstack.data import cache, datasets
from recstack.data.schema import FeatureSchema
from recstack.errors import ConfigError, RecstackError
from recstack.export.graph import RUNTIMES, export_graph
from recstack.export.manifest import MANIFEST, build_manifest
from recstack.export.predictor import Predictor
from recstack.metrics import auc_from_scores
from recstack.models.base import Model
from recstack.train.checkpoint import load_weights
from recstack.train.recipes import make_model
from recstack.train.trainer import checkpoint_dir, log


def chosen_epoch(model_save_path: Path, epoch: int | None) -> int:
    """`epoch` if given, else best.json's epoch, else the newest saved epoch."""
    if epoch is not None:
        return epoch
    best = model_save_path / "best.json"
    if best.is_file():
        return int(json.loads(best.read_text())["epoch"])
    saved = sorted(int(p.name) for p in model_save_path.glob("*") if p.is_dir() and p.name.isdigit())
    if not saved:
        raise RecstackError(f"runner.model_save_path {model_save_path} holds no checkpoint: train first")
    return saved[-1]


def _vocabulary_file(cfg: RunConfig, schema: FeatureSchema, folder: Path) -> str | None:
    """Saves the training vocabulary (the cached one the reader used) into the artifact, if any."""
    runner = cfg.runner
    if runner.categorical_encoding != "vocab" or runner.data_format not in ("criteo", "synthetic") \
            or runner.train_reader_path is not None:
        return None
    root = runner.cache_dir or cache.default_cache_root()
    train_dir = runner.train_data_dir if runner.data_format == "criteo" else datasets.synthetic_files(cfg, root)[0]
    train_files = datasets.list_files(train_dir, "train_data_dir")
    vocabulary, _ = datasets.fitted_vocabulary(cfg, datasets.build_schema(cfg), train_files, root)
    if vocabulary.num_embeddings != schema.num_embeddings:
        raise RecstackError(f"the training vocabulary has {vocabulary.num_embeddings} ids but the checkpoint's "
                            f"schema {schema.num_embeddings}: were the train files changed after training?")
    vocabulary.save(folder / "vocabulary.npz")
    return "vocabulary.npz"


def export_checkpoint(cfg: RunConfig, out: Path, epoch: int | None = None,
                      runtimes: tuple[str, ...] = RUNTIMES) -> dict:
    """Writes the inference artifact for one saved epoch into `out` (replaced atomically); returns its manifest."""
    epoch = chosen_epoch(cfg.runner.model_save_path, epoch)
    folder = checkpoint_dir(cfg.runner.model_save_path, epoch)
    if not (folder / "schema.json").is_file():
        raise RecstackError(f"no checkpoint for epoch {epoch} at {folder} (expected model.pt and schema.json)")
    schema = FeatureSchema.from_json((folder / "schema.json").read_text())
    model = make_model(cfg, schema)
    load_weights(model, folder)
    return export_model(cfg, model, out, {"checkpoint": str(folder), "epoch": epoch}, runtimes)


def export_model(cfg: RunConfig, model: Model, out: Path, source: dict, runtimes: tuple[str, ...] = RUNTIMES) -> dict:
    """Writes the artifact of `model` (built for `cfg`) into `out`, replaced atomically. Benchmarks and tests
    export freshly initialised models this way (source {"initialized": true})."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        graph = export_graph(model, tmp, runtimes)
        manifest = build_manifest(cfg, model.schema, graph, source, _vocabulary_file(cfg, model.schema, tmp))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"exported {cfg.model} -> {out / graph['file']} ({graph['runtime']} via {graph['exporter']}, "
        f"max |exported - torch| {graph['max_abs_diff']:.1e}); manifest: {out / MANIFEST}")
    return manifest


def predict_files(artifact: Path, files: list[Path], out: Path | None = None, threads: int = 1,
                  batch_size: int = 8192) -> dict:
    """Scores every sample of `files` (or folders of files); writes `out` as CSV (file, line, one column
    per task); returns {rows, seconds, auc per task when the files hold both labels}."""
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {batch_size}")
    predictor = Predictor(artifact, threads)
    paths = [f for p in files for f in (datasets.list_files(Path(p), "--data") if Path(p).is_dir() else [Path(p)])]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise RecstackError(f"--data: no such file: {', '.join(missing)}")
    names, lines, scores, labels = [], [], [], []
    start = time.perf_counter()
    for path in paths:
        for columns, batch_scores in predictor.iter_file(path, batch_size):
            names += [str(path)] * len(batch_scores)
            lines.append(columns["line"])
            scores.append(batch_scores)
            labels.append(columns["labels"])
    seconds = time.perf_counter() - start
    if not scores:
        raise RecstackError(f"--data: {', '.join(map(str, paths))} hold no samples")
    all_scores, all_labels = np.concatenate(scores), np.concatenate(labels)
    result: dict = {"rows": len(all_scores), "seconds": seconds, "samples_per_second": len(all_scores) / seconds}
    for t, task in enumerate(predictor.tasks):
        known = ~np.isnan(all_labels[:, t])
        if known.any() and len(np.unique(all_labels[known, t])) == 2:
            result[f"{task}/auc"] = auc_from_scores(all_labels[known, t], all_scores[known, t])
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        frame = pl.DataFrame({"file": names, "line": np.concatenate(lines),
                              **{task: all_scores[:, t] for t, task in enumerate(predictor.tasks)}})
        frame.write_csv(tmp)
        os.replace(tmp, out)
        result["out"] = str(out)
    return result
