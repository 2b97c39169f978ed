"""Shared fixtures for model tests: a tiny schema and batch, and training on small synthetic data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import pytest

import torch

from recstack.config import load_config
from recstack.data.batch import Batch
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.data.synthetic import SyntheticSpec, ensure
from recstack.models.base import Model, build_model, model_params_class
from recstack.train.recipes import train

# Six small Criteo-like fields: the teacher is learnable from 100k rows in seconds.
CARDINALITIES = [4, 6, 8, 5, 3, 7]


def tiny_schema(bag: bool = False) -> FeatureSchema:
    slots = [SparseSlot("a"), SparseSlot("b"), SparseSlot("c")] + ([SparseSlot("tags", 3)] if bag else [])
    return FeatureSchema(sparse=tuple(slots), num_dense=2, num_embeddings=50)


def tiny_batch(schema: FeatureSchema, size: int = 8) -> Batch:
    generator = torch.Generator().manual_seed(0)
    single = len(schema.single_slots)
    return Batch(dense=torch.rand(size, schema.num_dense, generator=generator),
                 sparse=torch.randint(0, schema.num_embeddings, (size, single), generator=generator),
                 sequences={s.name: torch.randint(0, schema.num_embeddings, (size, s.max_len), generator=generator)
                            for s in schema.multi_slots},
                 labels={"click": torch.randint(0, 2, (size,), generator=generator).float()})


def tiny_model(name: str, schema: FeatureSchema | None = None, **hyper) -> Model:
    torch.manual_seed(0)
    params = model_params_class(name).model_validate({"sparse_feature_dim": 4, "fc_sizes": [16, 8], **hyper})
    return build_model(name, schema or tiny_schema(), params)


@pytest.fixture
def train_synthetic(tmp_path: Path) -> Callable[..., tuple[float, float]]:
    """train_synthetic(model, epochs=3, **hyper) -> (test AUC after the last epoch, the teacher's oracle AUC)."""

    def run(model: str, epochs: int = 3, **hyper) -> tuple[float, float]:
        raw = {
            "model": model,
            "runner": {"data_format": "synthetic", "synthetic_train_rows": 100_000, "synthetic_test_rows": 20_000,
                       "synthetic_cardinalities": CARDINALITIES, "synthetic_seed": 7,
                       "cache_dir": str(tmp_path / "cache"), "model_save_path": str(tmp_path / model),
                       "epochs": epochs, "train_batch_size": 1024, "print_interval": 10_000, "progress_bar": False,
                       "seed": 7},
            "hyper_parameters": {"sparse_inputs_slots": len(CARDINALITIES) + 1, "sparse_feature_number": 100_003,
                                 "sparse_feature_dim": 8, "fc_sizes": [64, 64],
                                 "optimizer": {"learning_rate": 0.003}, **hyper},
        }
        reports = train(load_config(raw=raw))
        folder = next((tmp_path / "cache" / "synthetic").iterdir())
        oracle = ensure(SyntheticSpec(100_000, 20_000, 7, tuple(CARDINALITIES)), folder)["oracle_auc_test"]
        return reports[-1].test_metrics["auc"], oracle

    return run


def assert_loss_reaches_every_parameter(model, name: str) -> None:
    """Random (not zero) weights, one loss on a tiny batch: every parameter must get a nonzero gradient."""
    with torch.no_grad():  # zero-initialised weights would hide missing paths behind zero products
        for p in model.parameters():
            p.normal_(std=0.1)
    batch = tiny_batch(model.schema)
    loss = model.loss(model(batch), batch)
    assert math.isfinite(loss.item())
    loss.backward()
    for pname, p in model.named_parameters():
        grad = p.grad.to_dense() if p.grad is not None and p.grad.is_sparse else p.grad
        assert grad is not None and grad.abs().sum() > 0, f"{name}: no gradient reaches {pname}"
