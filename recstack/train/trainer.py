"""The epoch loop. It knows the model contract (forward, loss, predict) and the Batch, nothing else."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from tqdm import tqdm

from recstack.data.batch import Batch
from recstack.metrics import AUC, Metric, ranking_metrics
from recstack.models.base import Model
from recstack.train.batch_norm import recompute_batch_norm
from recstack.train.optim import Optimizers, embedding_table_penalty


@dataclass
class EpochReport:
    epoch: int
    loss: float
    samples: int
    seconds: float
    train_auc: float
    test_metrics: dict[str, float] = field(default_factory=dict)
    valid_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def samples_per_second(self) -> float:
        return self.samples / max(self.seconds, 1e-9)


def log(message: str) -> None:
    print(message, flush=True)


class Trainer:
    def __init__(self, model: Model, optimizers: Optimizers, print_interval: int = 100, use_auc: bool = True,
                 progress_bar: bool = True, embedding_table_l2: float = 0.0):
        self.model, self.optimizers = model, optimizers
        self.embedding_table_l2 = embedding_table_l2
        self.print_interval, self.use_auc = max(print_interval, 1), use_auc
        self.progress_bar = progress_bar and sys.stderr.isatty()

    def train_epoch(self, loader, epoch: int) -> EpochReport:
        self.model.train()
        task = self.model.tasks[0]
        running_auc = AUC(task, num_bins=1 << 16)
        total_loss, samples, window_samples = 0.0, 0, 0
        start = window_start = time.perf_counter()
        batches = tqdm(loader, desc=f"epoch {epoch}", disable=not self.progress_bar, leave=False)
        for step, batch in enumerate(batches, start=1):
            outputs = self.model(batch)
            loss = self.model.loss(outputs, batch)
            table_penalty = embedding_table_penalty(self.model, self.embedding_table_l2)
            self.optimizers.zero_grad()
            (loss if table_penalty is None else loss + table_penalty).backward()
            self.optimizers.step()
            total_loss += loss.item() * len(batch)
            samples += len(batch)
            window_samples += len(batch)
            if self.use_auc:
                running_auc.update(outputs, batch)
            if step % self.print_interval == 0:
                now = time.perf_counter()
                auc = f", auc: {running_auc.compute():.6f}" if self.use_auc else ""
                log(f"epoch: {epoch}, batch: {step}/{len(loader)}, loss: {total_loss / samples:.6f}{auc}, "
                    f"ips: {window_samples / (now - window_start):.0f} samples/s")
                window_samples, window_start = 0, now
        seconds = time.perf_counter() - start
        return EpochReport(epoch, total_loss / max(samples, 1), samples, seconds,
                           running_auc.compute() if self.use_auc else float("nan"))

    @torch.inference_mode()
    def evaluate(self, loader: Iterable[Batch], metrics: dict[str, Metric] | None = None,
                 keep_predictions: bool = False) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """Metrics over `loader`; with keep_predictions also every sample's label and probability per task."""
        self.model.eval()
        metrics = metrics if metrics is not None else ranking_metrics(self.model.tasks, self.use_auc)
        for m in metrics.values():
            m.reset()
        kept: dict[str, list[np.ndarray]] = {}
        for batch in loader:
            outputs = self.model(batch)
            for m in metrics.values():
                m.update(outputs, batch)
            if keep_predictions:
                for task, prob in self.model.predict(outputs).items():
                    kept.setdefault(f"{task}_label", []).append(batch.labels[task].numpy())
                    kept.setdefault(f"{task}_prob", []).append(prob.float().numpy())
        return ({name: m.compute() for name, m in metrics.items()},
                {k: np.concatenate(v) for k, v in kept.items()})

    def fit(self, train_loader, epochs: int, start_epoch: int = 0, test_loader=None, valid_loader=None,
            early_stop_patience: int = 0, on_epoch_end: Callable[[EpochReport], None] | None = None,
            lr_decay_on_plateau: float = 1.0, restore_best_weights: bool = False,
            precise_bn_batches: int = 0) -> list[EpochReport]:
        """Trains epoch by epoch; with a valid_loader and early_stop_patience > 0, stops once the
        validation AUC (logloss when AUC is off) has not improved for that many epochs.
        FuxiCTR's recipe on top: lr_decay_on_plateau < 1 multiplies the learning rate by it after every
        epoch without a better validation score; restore_best_weights loads the best epoch's weights
        back into the model before returning (so a test run afterwards scores the chosen model).
        precise_bn_batches > 0 re-estimates BatchNorm statistics over that many train batches after every epoch,
        before it is evaluated or saved (recstack.train.batch_norm)."""
        reports: list[EpochReport] = []
        best, since_best, best_state = None, 0, None
        for epoch in range(start_epoch, epochs):
            train_loader.set_epoch(epoch)
            report = self.train_epoch(train_loader, epoch)
            log(f"epoch {epoch} done: loss {report.loss:.6f}, train auc {report.train_auc:.6f}, "
                f"{report.samples} samples in {report.seconds:.1f}s ({report.samples_per_second:.0f} samples/s)")
            recompute_batch_norm(self.model, train_loader, precise_bn_batches)
            for name, loader, target in (("valid", valid_loader, "valid_metrics"), ("test", test_loader, "test_metrics")):
                if loader is not None:
                    metrics, _ = self.evaluate(loader)
                    setattr(report, target, metrics)
                    log(f"epoch {epoch} {name}: " + ", ".join(f"{k} {v:.6f}" for k, v in metrics.items()))
            if on_epoch_end:
                on_epoch_end(report)
            reports.append(report)
            if report.valid_metrics:
                score = validation_score(report.valid_metrics)
                best, since_best = (score, 0) if best is None or score > best else (best, since_best + 1)
                if since_best == 0 and restore_best_weights:
                    best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                if 0 < early_stop_patience <= since_best:
                    log(f"early stop after epoch {epoch}: no better validation score for {since_best} epochs")
                    break
                if since_best > 0 and lr_decay_on_plateau < 1:
                    log(f"validation score did not improve: learning rate now "
                        f"{self.optimizers.scale_learning_rate(lr_decay_on_plateau):.2e}")
        if best_state is not None:
            self.model.load_state_dict(best_state)
            log(f"restored the weights of epoch {best_epoch(reports).epoch} (best validation score)")
        return reports


def validation_score(metrics: dict[str, float]) -> float:
    """Higher is better: the AUC, or minus the logloss when AUC is off."""
    return metrics.get("auc", -metrics.get("logloss", 0.0))


def best_epoch(reports: list[EpochReport]) -> EpochReport:
    """The epoch with the best validation AUC (the last epoch when there was no validation data)."""
    scored = [r for r in reports if r.valid_metrics]
    if not scored:
        return reports[-1]
    return max(scored, key=lambda r: validation_score(r.valid_metrics))


def checkpoint_dir(model_save_path: Path, epoch: int) -> Path:
    return model_save_path / str(epoch)
