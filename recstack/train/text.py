"""`recstack train` / `recstack infer` for the text models: content classifiers and query-document matchers.

Content models (TextCNN, TagSpace) train on (text, class) samples and are evaluated by accuracy and
Recall@K (`runner.topk`: is the true class among the K best-scored). Matching models (DSSM, MultiView-SimNet,
Match-Pyramid) train on preference pairs: every document that is more relevant than some other document of
its query's list is paired with `neg_num` documents sampled from the less relevant ones of that list; they
are evaluated by AUC (relevant = label > 0) and the positive-negative order accuracy (PaddleRec's 正序率):
over all pairs of one query's documents with different labels, the share scored in the right order, ties
counting half. Each epoch is checkpointed under model_save_path/<epoch>/ with its test metrics; infer
re-reads the schema the model was trained with from the checkpoint.
"""

from __future__ import annotations

import json
import time

import numpy as np
import polars as pl
import torch

from recstack.config import RunConfig
from recstack.data.formats.text import CLASS_READERS, TextClassData, read_tagspace_csv
from recstack.data.formats.text_pairs import PAIR_READERS, TextPairData, class_pairs, synthetic_pairs
from recstack.errors import ConfigError, RecstackError
from recstack.metrics.classification import auc_from_scores
from recstack.models.base import available_models, build_model
from recstack.models.content.base import TextClassifier, TextModel, TextSchema
from recstack.models.match.base import TextPairModel
from recstack.train.checkpoint import load_weights, save_checkpoint, write_atomic
from recstack.train.optim import build_optimizers
from recstack.train.recipes import setup_runtime
from recstack.train.trainer import checkpoint_dir, log

TextData = TextClassData | TextPairData
CLASS_PAIR_TRAIN_ROUNDS = 10  # class_pairs: fresh relevant / irrelevant partners per training text


def is_text_model(name: str) -> bool:
    models = available_models()
    return name in models and issubclass(models[name][0], TextModel)


def _is_pair_model(cfg: RunConfig) -> bool:
    return issubclass(available_models()[cfg.model][0], TextPairModel)


def read_split(cfg: RunConfig, split: str) -> TextData | None:
    runner, params = cfg.runner, cfg.hyper_parameters
    fmt, pairs = runner.data_format, _is_pair_model(cfg)
    wanted = PAIR_READERS if pairs else CLASS_READERS
    if fmt == "synthetic_text_pairs" and pairs:
        rows = runner.synthetic_train_rows if split == "train" else runner.synthetic_test_rows
        return synthetic_pairs(rows, runner.synthetic_seed + (split == "test"))
    if fmt not in wanted and not (pairs and fmt == "class_pairs"):
        choices = ", ".join([*wanted, *(["class_pairs", "synthetic_text_pairs"] if pairs else [])])
        raise ConfigError(f"runner.data_format: {cfg.model} reads one of {choices}, not {fmt!r}")
    path = runner.train_data_dir if split == "train" else runner.test_data_dir
    if path is None:
        if split == "train":
            raise ConfigError("runner.train_data_dir: no training data given")
        return None
    if not pairs:
        return CLASS_READERS[fmt](path, params.max_len)
    if fmt == "class_pairs":
        texts = read_tagspace_csv(path, max(params.query_len, params.doc_len))
        rounds = CLASS_PAIR_TRAIN_ROUNDS if split == "train" else 1
        return class_pairs(texts, runner.seed + (split == "test"), 4, params.query_len, params.doc_len, rounds)
    if fmt == "simnet_slots":
        return PAIR_READERS[fmt](path, params.query_slots, params.title_slots, params.query_len, params.doc_len)
    return PAIR_READERS[fmt](path, params.query_len, params.doc_len)


def fit_width(ids: np.ndarray, width: int, vocab_size: int | None = None) -> np.ndarray:
    """Pads with 0 or cuts the last axis to `width`; ids beyond the vocabulary become 0 (unknown words)."""
    ids = ids[..., :width]
    if ids.shape[-1] < width:
        ids = np.concatenate([ids, np.zeros((*ids.shape[:-1], width - ids.shape[-1]), ids.dtype)], axis=-1)
    if vocab_size is not None:
        unknown = ids >= vocab_size
        if unknown.any():
            log(f"note: {int(unknown.sum())} word ids are beyond the trained vocabulary ({vocab_size}): read as padding")
            ids = np.where(unknown, 0, ids)
    return ids


def make_schema(train: TextData, test: TextData | None) -> TextSchema:
    splits = [d for d in (train, test) if d is not None]
    if isinstance(train, TextClassData):
        return TextSchema(vocab_size=max(int(d.text.max()) for d in splits) + 1,
                          num_classes=max(int(d.labels.max()) for d in splits) + 1,
                          text_len=max(d.text.shape[1] for d in splits))
    return TextSchema(vocab_size=max(max(int(d.query.max()), int(d.doc.max())) for d in splits) + 1,
                      query_views=train.query.shape[1], doc_views=train.doc.shape[1],
                      query_len=max(d.query.shape[2] for d in splits), doc_len=max(d.doc.shape[2] for d in splits))


def conform(data: TextData, schema: TextSchema, vocab: int | None = None) -> TextData:
    """`data` with the schema's text widths (and, given the trained vocabulary size, known ids only)."""
    if isinstance(data, TextClassData):
        if data.labels.max() >= schema.num_classes:
            raise RecstackError(f"the data has class {int(data.labels.max())}; the model knows {schema.num_classes}")
        return TextClassData(fit_width(data.text, schema.text_len, vocab), data.labels, data.lines)
    if (data.query.shape[1], data.doc.shape[1]) != (schema.query_views, schema.doc_views):
        raise RecstackError(f"the data has {data.query.shape[1]} query and {data.doc.shape[1]} document views; "
                            f"the model was trained on {schema.query_views} and {schema.doc_views}")
    return TextPairData(fit_width(data.query, schema.query_len, vocab), fit_width(data.doc, schema.doc_len, vocab),
                        data.labels, data.groups, data.lines)


def query_groups(groups: np.ndarray) -> list[np.ndarray]:
    """The row indices of each query group."""
    order = np.argsort(groups, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(groups[order]) != 0) + 1)


def preference_pairs(labels: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows [P] more relevant than some row of their group, offsets [P + 1], candidates [M]): row winners[p]
    beats candidates[offsets[p]:offsets[p + 1]], the rows of its group with a lower label."""
    winners, counts, candidates = [], [], []
    for rows in query_groups(groups):
        for row in rows:
            lower = rows[labels[rows] < labels[row]]
            if len(lower):
                winners.append(row)
                counts.append(len(lower))
                candidates.append(lower)
    if not winners:
        raise RecstackError("no training pairs: no query has documents with different labels")
    return (np.asarray(winners), np.concatenate([[0], np.cumsum(counts)]), np.concatenate(candidates))


def order_accuracy(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> float:
    """Share of same-group pairs with different labels whose scores are in label order (ties count half)."""
    right, total = 0.0, 0
    for rows in query_groups(groups):
        better = labels[rows][:, None] > labels[rows][None, :]
        gap = scores[rows][:, None] - scores[rows][None, :]
        right += float((gap[better] > 0).sum() + 0.5 * (gap[better] == 0).sum())
        total += int(better.sum())
    return right / total if total else float("nan")


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


def _pair_epoch(data: TextPairData, pairs: tuple[np.ndarray, np.ndarray, np.ndarray], batch_size: int,
                neg_num: int, rng: np.random.Generator):
    """(query [B, Vq, Lq], docs [B, 1 + neg_num, Vd, Ld]) batches: a winner, then negatives drawn from its losers."""
    winners, offsets, candidates = pairs
    order = rng.permutation(len(winners))
    for start in range(0, len(order), batch_size):
        picked = order[start:start + batch_size]
        counts = offsets[picked + 1] - offsets[picked]
        draws = offsets[picked, None] + (rng.random((len(picked), neg_num)) * counts[:, None]).astype(np.int64)
        docs = np.concatenate([winners[picked, None], candidates[draws]], axis=1)  # [B, 1 + N] rows
        yield _tensor(data.query[winners[picked]]), _tensor(data.doc[docs])


def _class_epoch(data: TextClassData, batch_size: int, rng: np.random.Generator):
    order = rng.permutation(len(data.labels))
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        yield _tensor(data.text[rows]), _tensor(data.labels[rows])


@torch.inference_mode()
def evaluate(model: TextModel, data: TextData, batch_size: int, topk: list[int]) -> tuple[dict[str, float], dict]:
    """Metrics on `data` and the per-row predictions (matching: score; content: predicted class, its score)."""
    model.eval()
    if isinstance(data, TextPairData):
        scores = np.concatenate([model.score(_tensor(data.query[s:s + batch_size]),
                                             _tensor(data.doc[s:s + batch_size, None])).squeeze(1).double().numpy()
                                 for s in range(0, len(data.labels), batch_size)])
        metrics = {"auc": auc_from_scores(data.labels > 0, scores),
                   "order_accuracy": order_accuracy(scores, data.labels, data.groups)}
        return metrics, {"query": data.groups, "label": data.labels, "score": scores}
    scores = torch.cat([model.class_scores(_tensor(data.text[s:s + batch_size]))
                        for s in range(0, len(data.labels), batch_size)])
    labels = _tensor(data.labels)
    ranked = scores.argsort(dim=1, descending=True, stable=True)
    metrics = {"accuracy": float((ranked[:, 0] == labels).double().mean())}
    for k in sorted(k for k in topk if 1 < k < scores.shape[1]):
        metrics[f"recall@{k}"] = float((ranked[:, :k] == labels[:, None]).any(1).double().mean())
    return metrics, {"label": data.labels, "predicted": ranked[:, 0].numpy(),
                     "score": scores.gather(1, ranked[:, :1]).squeeze(1).double().numpy()}


def train(cfg: RunConfig) -> list[dict]:
    """Trains a text model; checkpoints every epoch under model_save_path/<epoch>/ with its test metrics."""
    setup_runtime(cfg)
    runner, params = cfg.runner, cfg.hyper_parameters
    train_data, test_data = read_split(cfg, "train"), read_split(cfg, "test")
    schema = make_schema(train_data, test_data)
    train_data = conform(train_data, schema)
    test_data = conform(test_data, schema) if test_data is not None else None
    log(f"text data: train rows {len(train_data.labels)}" + (f", test rows {len(test_data.labels)}" if test_data else "")
        + f"; {schema}")
    model = build_model(cfg.model, schema, params)
    if runner.model_init_path:
        load_weights(model, runner.model_init_path)
    optimizers = build_optimizers(model, params.optimizer)
    rng, reports = np.random.default_rng(runner.seed), []
    pairs = preference_pairs(train_data.labels, train_data.groups) if isinstance(train_data, TextPairData) else None
    for epoch in range(runner.epochs):
        model.train()
        total, samples, start = 0.0, 0, time.perf_counter()
        batches = (_pair_epoch(train_data, pairs, runner.train_batch_size, params.neg_num, rng)
                   if isinstance(train_data, TextPairData) else _class_epoch(train_data, runner.train_batch_size, rng))
        for step, batch in enumerate(batches, start=1):
            loss = model.loss(model.score(*batch)) if isinstance(model, TextPairModel) else model.loss(*batch)
            optimizers.zero_grad()
            loss.backward()
            optimizers.step()
            total, samples = total + loss.item() * len(batch[0]), samples + len(batch[0])
            if step % runner.print_interval == 0:
                log(f"epoch: {epoch}, batch: {step}, loss: {total / samples:.6f}")
        report = {"epoch": epoch, "train_loss": total / max(samples, 1),
                  "samples_per_second": samples / (time.perf_counter() - start)}
        if test_data is not None:
            report["test"] = evaluate(model, test_data, runner.infer_batch_size, runner.topk)[0]
        log(f"epoch {epoch} done: loss {report['train_loss']:.6f}, {report['samples_per_second']:.0f} samples/s"
            + ("; test " + ", ".join(f"{k} {v:.4f}" for k, v in report["test"].items()) if "test" in report else ""))
        save_checkpoint(checkpoint_dir(runner.model_save_path, epoch), model, optimizers.state_dict(), schema,
                        cfg.dump(), report)
        reports.append(report)
    return reports


def infer(cfg: RunConfig) -> dict[int, dict[str, float]]:
    """Evaluates each saved epoch in [infer_start_epoch, infer_end_epoch) on the test data; writes
    infer_metrics.json and (save_predictions) predictions.csv, one row per test sample."""
    setup_runtime(cfg)
    runner = cfg.runner
    test_data = read_split(cfg, "test")
    if test_data is None:
        raise ConfigError("runner.test_data_dir is not set, so there is nothing to infer on")
    end = runner.infer_end_epoch if runner.infer_end_epoch is not None else runner.epochs
    results: dict[int, dict[str, float]] = {}
    for epoch in range(runner.infer_start_epoch, end):
        folder = checkpoint_dir(runner.infer_load_path or runner.model_save_path, epoch)
        if not (folder / "schema.json").exists():
            raise RecstackError(f"no checkpoint for epoch {epoch} at {folder}: train first, or set "
                                f"runner.infer_load_path / infer_start_epoch / infer_end_epoch")
        schema = TextSchema.from_json((folder / "schema.json").read_text())
        model = build_model(cfg.model, schema, cfg.hyper_parameters)
        load_weights(model, folder)
        data = conform(test_data, schema, vocab=schema.vocab_size)
        metrics, predictions = evaluate(model, data, runner.infer_batch_size, runner.topk)
        out = (runner.infer_output_dir / str(epoch)) if runner.infer_output_dir else folder
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "infer_metrics.json", json.dumps({"epoch": epoch, **metrics,
                                                             "test_rows": len(data.labels)}, indent=1))
        message = f"epoch {epoch} infer: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        if runner.save_predictions:
            tmp = out / ".predictions.csv.tmp"
            pl.DataFrame({"line": data.lines, **predictions}).write_csv(tmp)
            tmp.replace(out / "predictions.csv")
            message += f"; predictions: {out / 'predictions.csv'}"
        log(message)
        results[epoch] = metrics
    return results
