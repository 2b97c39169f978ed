"""Recall embeddings out of a checkpoint, into a FAISS index, and top-K retrieval from it.

    recstack export-embeddings -m configs/recall/bpr_mf.yaml [--epoch N] [--index hnsw|ivf|flat] --out DIR
    recstack retrieve --embeddings DIR [--users 12,40 | --all] [--k 100] [--out FILE]

export-embeddings writes DIR/items.npy [N, d] with item_ids.npy (raw ids), users.npy [U, d] with user_ids.npy
(each user's vector from their whole training history, as evaluation computes it), an ANN index over the items
(DIR/items.index.npz, recstack.serve.index) and DIR/index_report.json: its build time, queries/s and recall@100
against exact search, measured with the users as queries. Only models that score by a dot product can be
served this way (NCF's MLP or MIND's max over interests cannot); they get a clear error. Retrieval returns the
nearest items whatever the user saw before: filtering seen items is the caller's job.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from recstack.config import RunConfig
from recstack.data.interactions import user_batch
from recstack.errors import RecstackError
from recstack.models.recall.base import RecallModel
from recstack.serve.index import IndexSpec, VectorIndex, measure_index
from recstack.train.checkpoint import load_weights, write_atomic
from recstack.train.recall import load_recall_data, make_recall_model
from recstack.train.trainer import checkpoint_dir


def _save_array(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def chosen_epoch(cfg: RunConfig, epoch: int | None) -> int:
    """--epoch, else the best validation epoch training recorded, else the last epoch."""
    if epoch is not None:
        return epoch
    best = cfg.runner.model_save_path / "best.json"
    return int(json.loads(best.read_text())["epoch"]) if best.is_file() else cfg.runner.epochs - 1


@torch.inference_mode()
def user_vectors(model: RecallModel, data, chunk: int = 4096) -> np.ndarray:
    history, _ = data.eval_split("test")
    length = model.params.history_length
    if getattr(model, "reads_full_history", False):
        length = max(1, int(history.lengths().max()))
    users = np.arange(data.num_users)
    parts = [model.user_embedding(user_batch(users[s:s + chunk], history, length)) for s in range(0, len(users), chunk)]
    return torch.cat(parts).float().numpy()


def export_embeddings(cfg: RunConfig, out: Path, epoch: int | None = None, index_kind: str = "hnsw",
                      k: int = 100) -> dict:
    data = load_recall_data(cfg)
    model = make_recall_model(cfg, data)
    if type(model).score is not RecallModel.score:
        raise RecstackError(f"export-embeddings: {cfg.model} does not score by a dot product of a user and an item "
                            f"vector, so an inner-product index cannot serve it")
    epoch = chosen_epoch(cfg, epoch)
    folder = checkpoint_dir(cfg.runner.model_save_path, epoch)
    if not folder.exists():
        raise RecstackError(f"export-embeddings: no checkpoint for epoch {epoch} at {folder}: train first or pass --epoch")
    load_weights(model, folder)
    model.eval()
    with torch.inference_mode():
        items = model.item_embedding(torch.arange(1, data.num_items + 1)).float().numpy()
    users = user_vectors(model, data)
    if users.shape[1] != items.shape[1]:
        raise RecstackError(f"export-embeddings: {cfg.model} user vectors are {users.shape[1]}-d but items "
                            f"{items.shape[1]}-d")
    out.mkdir(parents=True, exist_ok=True)
    item_ids, user_ids = data.item_ids[1:].astype(np.int64), data.user_ids.astype(np.int64)
    for name, array in (("items", items), ("item_ids", item_ids), ("users", users), ("user_ids", user_ids)):
        _save_array(out / f"{name}.npy", array)
    queries = users[np.random.default_rng(0).permutation(len(users))[:2000]]
    exact = VectorIndex.build(item_ids, items, IndexSpec(kind="flat")).search(queries, min(k, len(item_ids)))[0]
    spec = IndexSpec(kind=index_kind)
    report = measure_index(spec, item_ids, items, queries, min(k, len(item_ids)), exact)
    VectorIndex.build(item_ids, items, spec).save(out / "items.index.npz")
    result = {"model": cfg.model, "epoch": epoch, "checkpoint": str(folder), "items": int(len(items)),
              "users": int(len(users)), "dim": int(items.shape[1]), "index": index_kind, "k": k, **report}
    write_atomic(out / "index_report.json", json.dumps(result, indent=1, default=str))
    return result


def retrieve(folder: Path, users: list[int] | None, k: int) -> list[tuple[int, list[int], list[float]]]:
    """(raw user id, top-k raw item ids, scores) for `users` (raw ids; None = every exported user)."""
    index = VectorIndex.load(folder / "items.index.npz")
    vectors, user_ids = np.load(folder / "users.npy"), np.load(folder / "user_ids.npy")
    position = {int(u): i for i, u in enumerate(user_ids)}
    if users is None:
        rows = np.arange(len(user_ids))
    else:
        unknown = [u for u in users if u not in position]
        if unknown:
            raise RecstackError(f"retrieve: unknown user id(s) {unknown[:10]} (not in {folder / 'user_ids.npy'})")
        rows = np.array([position[u] for u in users], dtype=np.int64)
    ids, scores = index.search(vectors[rows], k)
    return [(int(user_ids[r]), ids[i].tolist(), scores[i].tolist()) for i, r in enumerate(rows)]
