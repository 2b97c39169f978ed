"""`recstack train` / `recstack infer` for recall models: interaction data in, checkpoints and top-K metrics out.

Training feeds the batches the model asks for (`training_input`: pairs with sampled negatives, or next-item
sequences) to `model.loss`; evaluation scores every user against every item in one matrix product per chunk of
users, masks the user's history (-inf) and reads Recall/HR/NDCG/MRR@K (`runner.topk`) off the top of the list
(`runner.eval_protocol: sampled`: the targets against `runner.eval_negatives` sampled items instead).
Validation (leave-one-out data) drives `runner.early_stop_patience` and best.json, on NDCG at the largest K.
"""

from __future__ import annotations

import json
import time
from typing import Iterator

import numpy as np
import torch

from recstack.config import RunConfig
from recstack.data.batch import Batch
from recstack.data.interactions import (InteractionData, NegativeSampler, load_interactions, pair_batches,
                                        sequence_batches, user_batch)
from recstack.errors import ConfigError, RecstackError
from recstack.metrics.ranking import TopKMetrics, top_k_items
from recstack.models.base import available_models, build_model
from recstack.models.recall.base import RecallModel
from recstack.train.checkpoint import load_weights, save_checkpoint, write_atomic
from recstack.train.optim import build_optimizers
from recstack.train.recipes import setup_runtime
from recstack.train.trainer import checkpoint_dir, log

SCORE_CELLS = 1 << 24  # users per evaluation chunk = this / catalogue size (64 MB of float32 scores)


def is_recall_model(name: str) -> bool:
    models = available_models()
    return name in models and issubclass(models[name][0], RecallModel)


def load_recall_data(cfg: RunConfig) -> InteractionData:
    runner = cfg.runner
    if runner.train_data_dir is None:
        raise ConfigError("runner.train_data_dir: recall models need the interaction file (user lines or u.data)")
    if runner.valid_fraction > 0 and runner.test_data_dir is None:
        raise ConfigError("runner.valid_fraction: leave-one-out data already validates on each user's second-to-last "
                          "item; a validation fraction needs a test file (runner.test_data_dir)")
    return load_interactions(runner.data_format, runner.train_data_dir, runner.test_data_dir, runner.valid_fraction)


def make_recall_model(cfg: RunConfig, data: InteractionData) -> RecallModel:
    model = build_model(cfg.model, data.schema, cfg.hyper_parameters)
    model.observe(data)
    return model


def training_batches(model: RecallModel, data: InteractionData, batch_size: int,
                     rng: np.random.Generator) -> Iterator[Batch]:
    params = model.params
    if hasattr(model, "fit"):  # fitted by its own solver (ItemCF, EASE, ALS): train() calls fit, no SGD batches
        return iter(())
    if hasattr(model, "training_batches"):  # the model's own examples (skip-gram pairs, whole user rows)
        return model.training_batches(data, batch_size, rng)
    if model.training_input == "sequences":
        return sequence_batches(data, batch_size, rng, params.history_length)
    # Sampled softmax only masks the positive itself among its negatives (as TF's remove_accidental_hits does),
    # which saves a lookup per negative when there are hundreds of them.
    return pair_batches(data, batch_size, rng, params.num_negatives, params.history_length,
                        exclude_positives=params.loss in ("bpr", "bce"))


@torch.inference_mode()
def evaluate(model: RecallModel, data: InteractionData, split: str, topk: list[int], protocol: str = "full",
             num_negatives: int = 100, seed: int = 0, keep_top: bool = False
             ) -> tuple[dict[str, float], tuple[np.ndarray, np.ndarray] | None]:
    """Top-K metrics on `split` ('valid' or 'test') over users with targets there; with keep_top (full protocol)
    also (users [M], their top max(topk) items [M, K])."""
    model.eval()
    history, targets = data.eval_split(split)
    users = np.flatnonzero(targets.lengths() > 0)
    metrics, rng, kept = TopKMetrics(topk), np.random.default_rng(seed), []
    sampler = NegativeSampler(history.concat(targets), data.num_items) if protocol == "sampled" else None
    catalogue = model.item_embedding(torch.arange(data.num_items + 1))
    chunk_size = max(1, SCORE_CELLS // (data.num_items + 1))
    for start in range(0, len(users), chunk_size):
        chunk = users[start:start + chunk_size]
        length = model.params.history_length
        if getattr(model, "reads_full_history", False):  # ItemCF, EASE, DeepRec...: a user is all their items
            length = max(1, int(history.lengths()[chunk].max()))
        vectors = model.user_embedding(user_batch(chunk, history, length))
        if protocol == "full":
            scores = model.score(vectors, catalogue)
            scores[:, 0] = float("-inf")
            scores[history.coo(chunk)] = float("-inf")
            found = torch.zeros_like(scores, dtype=torch.bool)
            found[targets.coo(chunk)] = True
            if keep_top:
                kept.append(top_k_items(scores, max(topk)).numpy())
        else:  # the targets last, so a tie with a negative ranks the target below it
            wanted = targets.last(chunk, int(targets.lengths()[chunk].max()))
            negatives = sampler.sample(chunk, num_negatives, rng)
            candidates = torch.from_numpy(np.concatenate([negatives, wanted], axis=1))
            scores = model.score(vectors, catalogue[candidates]).masked_fill(candidates == 0, float("-inf"))
            found = torch.zeros_like(scores, dtype=torch.bool)
            found[:, num_negatives:] = candidates[:, num_negatives:] > 0
        metrics.update(scores, found)
    return metrics.compute(), ((users, np.concatenate(kept)) if kept else None)


def _evaluate_splits(model: RecallModel, data: InteractionData, cfg: RunConfig) -> dict[str, dict[str, float]]:
    runner = cfg.runner
    splits = (["valid"] if len(data.valid.items) else []) + ["test"]
    return {split: evaluate(model, data, split, runner.topk, runner.eval_protocol, runner.eval_negatives,
                            runner.seed)[0] for split in splits}


def train(cfg: RunConfig) -> list[dict]:
    """Trains a recall model; evaluates and checkpoints every runner.eval_interval epochs (and after the last)
    under model_save_path/<epoch>/ with metrics.json; writes model_save_path/best.json."""
    setup_runtime(cfg)
    runner = cfg.runner
    if runner.epochs < 1 or runner.eval_interval < 1:
        raise ConfigError(f"runner.epochs ({runner.epochs}) and runner.eval_interval ({runner.eval_interval}) "
                          f"must be at least 1")
    data = load_recall_data(cfg)
    log(f"{data.num_users} users, {data.num_items} items; interactions: train {len(data.train.items)}, "
        f"valid {len(data.valid.items)}, test {len(data.test.items)}")
    model = make_recall_model(cfg, data)
    if runner.model_init_path:
        load_weights(model, runner.model_init_path)
    optimizers = build_optimizers(model, cfg.hyper_parameters.optimizer)
    rng = np.random.default_rng(runner.seed)
    key = f"ndcg@{max(runner.topk)}"
    reports: list[dict] = []
    best, since_best = None, 0
    for epoch in range(runner.epochs):
        model.train()
        total, samples, start = 0.0, 0, time.perf_counter()
        if hasattr(model, "fit"):  # one pass of the model's solver instead of SGD steps; it returns its objective
            objective, samples = model.fit(data), len(data.train.items)
            total = float("nan") if objective is None else objective * samples
        for step, batch in enumerate(training_batches(model, data, runner.train_batch_size, rng), start=1):
            loss = model.loss(model(batch), batch)
            optimizers.zero_grad()
            loss.backward()
            optimizers.step()
            total, samples = total + loss.item() * len(batch), samples + len(batch)
            if step % runner.print_interval == 0:
                log(f"epoch: {epoch}, batch: {step}, loss: {total / samples:.6f}")
        seconds = time.perf_counter() - start
        if (epoch + 1) % runner.eval_interval and epoch + 1 != runner.epochs:
            log(f"epoch {epoch} done: loss {total / max(samples, 1):.6f}, {samples / seconds:.0f} samples/s")
            continue
        report = {"epoch": epoch, "train_loss": total / max(samples, 1), "samples_per_second": samples / seconds,
                  **_evaluate_splits(model, data, cfg)}
        log(f"epoch {epoch} done: loss {report['train_loss']:.6f}, {report['samples_per_second']:.0f} samples/s; "
            + "; ".join(f"{s} " + ", ".join(f"{k} {v:.4f}" for k, v in report[s].items() if k.startswith(("recall", "ndcg")))
                        for s in ("valid", "test") if s in report))
        save_checkpoint(checkpoint_dir(runner.model_save_path, epoch), model, optimizers.state_dict(), data.schema,
                        cfg.dump(), report)
        reports.append(report)
        if "valid" in report:
            score = report["valid"][key]
            best, since_best = (score, 0) if best is None or score > best else (best, since_best + 1)
            if 0 < runner.early_stop_patience <= since_best:
                log(f"early stop after epoch {epoch}: no better validation {key} for {since_best} evaluations")
                break
    chosen = max(reports, key=lambda r: r["valid"][key]) if "valid" in reports[-1] else reports[-1]
    write_atomic(runner.model_save_path / "best.json", json.dumps(chosen, indent=1))
    log(f"best epoch {chosen['epoch']}: test " + ", ".join(f"{k} {v:.4f}" for k, v in chosen["test"].items()))
    return reports


def infer(cfg: RunConfig) -> dict[int, dict[str, float]]:
    """Evaluates each saved epoch in [infer_start_epoch, infer_end_epoch) on the test split; writes
    infer_metrics.json and (save_predictions, full protocol) recommendations.csv: each test user's top
    max(topk) items, raw ids."""
    setup_runtime(cfg)
    runner = cfg.runner
    data = load_recall_data(cfg)
    model = make_recall_model(cfg, data)
    end = runner.infer_end_epoch if runner.infer_end_epoch is not None else runner.epochs
    results: dict[int, dict[str, float]] = {}
    for epoch in range(runner.infer_start_epoch, end):
        folder = checkpoint_dir(runner.infer_load_path or runner.model_save_path, epoch)
        if not folder.exists():
            raise RecstackError(f"no checkpoint for epoch {epoch} at {folder}: train first, or set "
                                f"runner.infer_load_path / infer_start_epoch / infer_end_epoch")
        load_weights(model, folder)
        keep = runner.save_predictions and runner.eval_protocol == "full"
        metrics, top = evaluate(model, data, "test", runner.topk, runner.eval_protocol, runner.eval_negatives,
                                runner.seed, keep_top=keep)
        out = (runner.infer_output_dir / str(epoch)) if runner.infer_output_dir else folder
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "infer_metrics.json", json.dumps({"epoch": epoch, **metrics}, indent=1))
        message = f"epoch {epoch} infer: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        if top is not None:
            users, items = top
            lines = [f"{u},{' '.join(map(str, row))}" for u, row in
                     zip(data.user_ids[users].tolist(), data.item_ids[items].tolist())]
            write_atomic(out / "recommendations.csv", "user,items\n" + "\n".join(lines) + "\n")
            message += f"; recommendations: {out / 'recommendations.csv'}"
        log(message)
        results[epoch] = metrics
    return results
