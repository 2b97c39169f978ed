"""Tiny schemas, batches and models for rank model tests, and the gradient-reach check they share.

Imported as `from helpers.rank_models import ...` (pytest puts tests/ on sys.path: pyproject's `pythonpath`).
"""

from __future__ import annotations

import math

import torch

from recstack.data.batch import Batch
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.models.base import Model, build_model, model_params_class

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
