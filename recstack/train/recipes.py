"""`recstack train` and `recstack infer` as plain functions: config in, files and metrics out."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import torch

from recstack.config import RunConfig
from recstack.data.datasets import DataBundle, load_data
from recstack.data.loader import BatchLoader
from recstack.data.schema import FeatureSchema
from recstack.errors import ConfigError, RecstackError
from recstack.layers.mlp import cpu_has_bf16, use_bf16
from recstack.models.base import Model, build_model
from recstack.train.checkpoint import load_weights, save_checkpoint, write_atomic
from recstack.train.optim import build_optimizers
from recstack.train.trainer import EpochReport, Trainer, best_epoch, checkpoint_dir, log


def setup_runtime(cfg: RunConfig) -> None:
    runner = cfg.runner
    if runner.use_gpu and not torch.cuda.is_available():
        warnings.warn("runner.use_gpu is true but no GPU is available: running on the CPU", stacklevel=2)
    if runner.thread_num:
        torch.set_num_threads(runner.thread_num)
    random.seed(runner.seed)
    np.random.seed(runner.seed)
    torch.manual_seed(runner.seed)
    if cfg.ignored_keys:
        log(f"note: PaddleRec runtime keys accepted but unused here: {', '.join(cfg.ignored_keys)}")


def make_model(cfg: RunConfig, schema: FeatureSchema) -> Model:
    model = build_model(cfg.model, schema, cfg.hyper_parameters)
    use_bf16(model, cpu_has_bf16() if cfg.runner.bf16 == "auto" else cfg.runner.bf16)
    return model


def _loader(cfg: RunConfig, data: DataBundle, split: str, shuffle: bool) -> BatchLoader | None:
    store = {"train": data.train, "test": data.test, "valid": data.valid}[split]
    if store is None:
        return None
    size = cfg.runner.train_batch_size if split == "train" else cfg.runner.infer_batch_size
    return BatchLoader(store, data.schema, size, shuffle=shuffle, seed=cfg.runner.seed)


def train(cfg: RunConfig) -> list[EpochReport]:
    """Trains `cfg.model`, checkpointing each epoch under model_save_path/<epoch>/; with validation
    data, writes model_save_path/best.json naming the epoch with the best validation AUC."""
    setup_runtime(cfg)
    runner = cfg.runner
    data = load_data(cfg, train=True, valid=True,
                     test=runner.test_data_dir is not None or runner.test_fraction > 0
                     or runner.data_format in ("synthetic", "movielens_ctr"))  # these two carry their own test rows
    log(f"train rows: {data.train.num_rows}" + (f", valid rows: {data.valid.num_rows}" if data.valid else "")
        + (f", test rows: {data.test.num_rows}" if data.test else ""))
    if "oracle" in data.info:
        log(f"synthetic data: the teacher's oracle test AUC is {data.info['oracle']['oracle_auc_test']:.4f}")
    model = make_model(cfg, data.schema)
    if runner.model_init_path:
        load_weights(model, runner.model_init_path)
        log(f"warm start from {runner.model_init_path}")
    optimizers = build_optimizers(model, cfg.hyper_parameters.optimizer)
    trainer = Trainer(model, optimizers, runner.print_interval, runner.use_auc, runner.progress_bar,
                      cfg.hyper_parameters.optimizer.embedding_table_l2)

    def save(report: EpochReport) -> None:
        extra = {"epoch": report.epoch, "train_loss": report.loss, "train_auc": report.train_auc,
                 "samples_per_second": report.samples_per_second, "valid": report.valid_metrics,
                 "test": report.test_metrics, **data.info}
        folder = save_checkpoint(checkpoint_dir(runner.model_save_path, report.epoch), model,
                                 optimizers.state_dict(), data.schema, cfg.dump(), extra)
        log(f"saved checkpoint {folder}")

    reports = trainer.fit(_loader(cfg, data, "train", shuffle=True), runner.epochs,
                          test_loader=_loader(cfg, data, "test", shuffle=False),
                          valid_loader=_loader(cfg, data, "valid", shuffle=False),
                          early_stop_patience=runner.early_stop_patience, on_epoch_end=save,
                          lr_decay_on_plateau=runner.lr_decay_on_plateau,
                          restore_best_weights=runner.restore_best_weights,
                          precise_bn_batches=runner.precise_bn_batches)
    if data.valid is not None:
        best = best_epoch(reports)
        write_atomic(runner.model_save_path / "best.json",
                     json.dumps({"epoch": best.epoch, "valid": best.valid_metrics, "test": best.test_metrics}, indent=1))
        log(f"best epoch by validation: {best.epoch} " + ", ".join(f"test {k} {v:.6f}" for k, v in best.test_metrics.items()))
    return reports


def infer(cfg: RunConfig) -> dict[int, dict[str, float]]:
    """Evaluates each saved epoch in [infer_start_epoch, infer_end_epoch) on the test data; writes
    metrics.json and (save_predictions) predictions.csv with one row per test sample."""
    setup_runtime(cfg)
    runner = cfg.runner
    data = load_data(cfg, train=False, test=True)
    if data.test is None:
        raise ConfigError("runner.test_data_dir is not set (or set runner.test_fraction) so there is nothing to infer on")
    load_root = runner.infer_load_path or runner.model_save_path
    end = runner.infer_end_epoch if runner.infer_end_epoch is not None else runner.epochs
    if end <= runner.infer_start_epoch:
        raise ConfigError(f"runner.infer_end_epoch ({end}) must be greater than runner.infer_start_epoch "
                          f"({runner.infer_start_epoch})")
    model = make_model(cfg, data.schema)
    trainer = Trainer(model, optimizers=None, use_auc=runner.use_auc, progress_bar=False)
    results: dict[int, dict[str, float]] = {}
    for epoch in range(runner.infer_start_epoch, end):
        folder = checkpoint_dir(load_root, epoch)
        if not folder.exists():
            raise RecstackError(f"no checkpoint for epoch {epoch} at {folder}: train first, or set "
                                f"runner.infer_load_path / infer_start_epoch / infer_end_epoch")
        load_weights(model, folder)
        metrics, predictions = trainer.evaluate(_loader(cfg, data, "test", shuffle=False),
                                                keep_predictions=runner.save_predictions)
        out = (runner.infer_output_dir / str(epoch)) if runner.infer_output_dir else folder
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "infer_metrics.json", json.dumps({"epoch": epoch, **metrics,
                                                             "test_rows": data.test.num_rows}, indent=1))
        message = f"epoch {epoch} infer: " + ", ".join(f"{k} {v:.6f}" for k, v in metrics.items())
        if runner.save_predictions:
            frame = pl.DataFrame({"row": np.arange(data.test.num_rows),
                                  "line": np.asarray(data.test.columns["line"]), **predictions})
            tmp = out / f".predictions.csv.tmp"
            frame.write_csv(tmp)
            tmp.replace(out / "predictions.csv")
            message += f"; predictions: {out / 'predictions.csv'}"
        log(message)
        results[epoch] = metrics
    return results
