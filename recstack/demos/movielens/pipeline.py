"""Offline half of `recstack demo movielens`: original MovieLens files -> trained, exported models and a filled
feature store, in one folder the online app (recstack.demos.movielens.app) loads.

    out/recall/user_tower.onnx   hashed user slots [B, 5] -> vectors [B, d]   (the two-tower's user half)
    out/recall/index.npz         FAISS index of every movie's vector, keyed by movie id (recstack.serve.index)
    out/recall/item_vectors.npy  the same vectors [M, d], rows in movie-id order (for "because you liked")
    out/rank/                    the rank model as a recstack export artifact (model.onnx + manifest.json)
    out/demo.json                data source, configs, profile choices, group popularity, training figures
    out/evaluation.json          the funnel on held-out ratings (recstack.demos.movielens.evaluate)
Data: recstack.data.movielens_demo (each user's latest rating held out; hashed ids). Models: the configs'
`model` (configs/demo/movielens_recall.yaml: movielens_two_tower; movielens_rank.yaml: any rank model).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from recstack.config import RunConfig
from recstack.data.cache import ColumnStore
from recstack.data.formats import Columns
from recstack.data.loader import BatchLoader
from recstack.data.movielens_demo import USER_SLOTS, MovieLensDemo
from recstack.demos.movielens.records import LIKED
from recstack.models.recall.movielens_two_tower import MovieTwoTower, UserTower
from recstack.errors import ConfigError, RecstackError
from recstack.export.commands import export_model
from recstack.layers.mlp import use_bf16
from recstack.models.base import Model
from recstack.serve.index import IndexSpec, VectorIndex
from recstack.train.optim import build_optimizers
from recstack.train.recipes import make_model, setup_runtime
from recstack.train.trainer import Trainer

COLD_START_SLOTS = (USER_SLOTS.index("user_id"), USER_SLOTS.index("zip"))  # id 0 for every new user


def with_cold_start_rows(table: Columns, fraction: float, seed: int) -> Columns:
    """`table` plus a random `fraction` of its rows again, with user_id and zip set to the new-user id 0."""
    if not 0 <= fraction <= 1:
        raise ConfigError(f"hyper_parameters.cold_start_fraction must be in [0, 1], got {fraction}")
    rows = np.random.default_rng(seed).choice(len(table["labels"]), int(fraction * len(table["labels"])), False)
    extra = {name: values[rows] for name, values in table.items()}
    extra["sparse"][:, COLD_START_SLOTS] = 0
    return {name: np.concatenate([table[name], extra[name]]) for name in table}


def with_sampled_negatives(table: Columns, catalogue: Columns, per_row: int, seed: int) -> Columns:
    """`table` plus `per_row` rows for each of its rows: the same user with a movie drawn uniformly from the
    catalogue, label 0. The rank model then tells liked movies from unwatched ones too, not only from disliked
    ones (on ML-100k a drawn movie is one the user rated 12% of the time, heavy raters drawing most rows; left
    as is, as usual for uniform implicit-feedback samplers)."""
    rows = np.repeat(np.arange(len(table["labels"])), per_row)
    movies = np.random.default_rng(seed).integers(0, len(catalogue["line"]), len(rows))
    negatives = {"labels": np.zeros((len(rows), table["labels"].shape[1]), np.float32),
                 "dense": table["dense"][rows], "line": table["line"][rows],
                 "sparse": np.concatenate([table["sparse"][rows, :len(USER_SLOTS)], catalogue["sparse"][movies]], 1),
                 **{name: catalogue[name][movies] for name in table if name.startswith("seq:")}}
    return {name: np.concatenate([table[name], negatives[name]]) for name in table}


def fit(cfg: RunConfig, model: Model, train: Columns, test: Columns | None) -> list:
    """Trains `model` with the generic trainer on in-memory tables (Batch contract)."""
    runner = cfg.runner
    loader = BatchLoader(ColumnStore(train), model.schema, runner.train_batch_size, shuffle=True, seed=runner.seed)
    test_loader = None if test is None else BatchLoader(ColumnStore(test), model.schema, runner.infer_batch_size)
    trainer = Trainer(model, build_optimizers(model, cfg.hyper_parameters.optimizer), runner.print_interval,
                      use_auc=test is not None, progress_bar=False)
    return trainer.fit(loader, runner.epochs, test_loader=test_loader)


def train_recall(cfg: RunConfig, demo: MovieLensDemo, folder: Path) -> dict:
    """Two-tower training, the user tower to ONNX, every movie's vector into a FAISS index."""
    setup_runtime(cfg)
    schema, train, _ = demo.recall_tables()
    if cfg.hyper_parameters.loss == "in_batch_softmax":  # positives only; cosine_rating regresses every rating
        train = {name: values[train["labels"][:, 0] >= LIKED] for name, values in train.items()}
    train = with_cold_start_rows(train, cfg.hyper_parameters.cold_start_fraction, cfg.runner.seed)
    model = make_model(cfg, schema)
    if not isinstance(model, MovieTwoTower):
        raise ConfigError(f"model: the demo's recall config needs movielens_two_tower, not {cfg.model!r}")
    model.observe_movies(torch.from_numpy(train["sparse"][:, len(USER_SLOTS)]))
    reports = fit(cfg, model, train, None)
    model.eval()
    use_bf16(model, False)
    catalogue = demo.catalogue()
    with torch.no_grad():
        vectors = model.movie_vectors(*(torch.from_numpy(catalogue[k]) for k in ("sparse", "seq:genres", "seq:title")))
    folder.mkdir(parents=True, exist_ok=True)
    export_user_tower(model, folder / "user_tower.onnx", torch.from_numpy(demo.user_ids[:8]))
    VectorIndex.build(catalogue["line"], vectors.numpy(), IndexSpec(kind="flat", metric="ip")).save(folder / "index.npz")
    _save_npy(folder / "item_vectors.npy", vectors.numpy())
    # the softmax logit is cos / temperature; PaddleRec's rating regression predicts 5 * cos
    scale = 1 / cfg.hyper_parameters.temperature if cfg.hyper_parameters.loss == "in_batch_softmax" else 5.0
    return {"model": cfg.model, "train_rows": len(train["labels"]), "final_loss": reports[-1].loss,
            "logit_scale": scale}


def export_user_tower(model: MovieTwoTower, path: Path, example: torch.Tensor) -> None:
    """ONNX graph of the user tower (input "user" [B, 5] int64, output "vectors" [B, d]), checked against torch."""
    import onnxruntime as ort

    tower = UserTower(model).eval()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with torch.no_grad():
        torch.onnx.export(tower, (example,), str(tmp), input_names=["user"], output_names=["vectors"],
                          dynamic_axes={"user": {0: "batch"}, "vectors": {0: "batch"}}, opset_version=17, dynamo=False)
        expected = tower(example).numpy()
    got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, {"user": example.numpy()})[0]
    if np.abs(got - expected).max() > 1e-5:
        tmp.unlink()
        raise RecstackError(f"the exported user tower differs from PyTorch by {np.abs(got - expected).max():.2e}")
    os.replace(tmp, path)


def train_rank(cfg: RunConfig, demo: MovieLensDemo, folder: Path, cold_start_fraction: float,
               negatives: int) -> dict:
    """The rank model on the ratings (click = rating >= 4) plus `negatives` sampled movies per rating; its test
    AUC is on the held-out ratings alone (liked or not among watched movies)."""
    setup_runtime(cfg)
    schema, train, test = demo.rank_tables()
    train = with_sampled_negatives(train, demo.catalogue(), negatives, cfg.runner.seed)
    model = make_model(cfg, schema)
    reports = fit(cfg, model, with_cold_start_rows(train, cold_start_fraction, cfg.runner.seed), test)
    export_model(cfg, model, folder, {"data": "recstack.data.movielens_demo (hashed ids; cold-start id 0 for user_id "
                                              f"and zip; {negatives} sampled negatives per rating)",
                                      "epochs": cfg.runner.epochs})
    return {"model": cfg.model, "train_rows": len(train["labels"]), "sampled_negatives_per_rating": negatives,
            "test_rows": len(test["labels"]), "test_auc": reports[-1].test_metrics.get("auc")}


def _save_npy(path: Path, values: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npy")
    np.save(tmp, values)
    os.replace(tmp, path)
