"""The model contract and the registry that lets a config name a model.

A model is an `nn.Module` built from `(schema, hyper_parameters)`. `forward(batch)` returns a
dict of outputs: one logit [B] per label task (keyed by the task name, e.g. "click").
`loss(outputs, batch)` returns a scalar: binary cross-entropy per task plus any L2 penalties
the model's layers recorded. Register with `@register("name", Params)` where `Params` subclasses
`HyperParameters` with the model's own keys (their defaults are the paper's).
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil

import torch
import torch.nn.functional as F
from torch import nn

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.data.schema import FeatureSchema
from recstack.errors import ConfigError
from recstack.layers import MLP, FeatureLinear, FieldEmbedding

REGISTRY: dict[str, tuple[type["Model"], type[HyperParameters]]] = {}


def register(name: str, params: type[HyperParameters] = HyperParameters):
    def wrap(cls: type["Model"]) -> type["Model"]:
        if name in REGISTRY:
            raise ValueError(f"model name {name!r} registered twice")
        REGISTRY[name] = (cls, params)
        cls.registered_name = name
        return cls

    return wrap


def _import_all_models() -> None:
    import recstack.models as package

    for info in pkgutil.walk_packages(package.__path__, prefix="recstack.models."):
        importlib.import_module(info.name)


def available_models() -> dict[str, tuple[type["Model"], type[HyperParameters]]]:
    _import_all_models()
    return dict(sorted(REGISTRY.items()))


def model_params_class(name: str) -> type[HyperParameters]:
    models = available_models()
    if name not in models:
        close = difflib.get_close_matches(name, list(models), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else f"; known models: {', '.join(models)}"
        raise ConfigError(f"model: unknown model '{name}'{hint}")
    return models[name][1]


def build_model(name: str, schema: FeatureSchema, params: HyperParameters) -> "Model":
    model_params_class(name)
    return REGISTRY[name][0](schema, params)


class Model(nn.Module):
    registered_name = ""

    def __init__(self, schema: FeatureSchema, params: HyperParameters):
        super().__init__()
        self.schema, self.params = schema, params
        self.tasks = schema.labels

    @property
    def sparse_grad(self) -> bool:
        return self.params.optimizer.sparse

    @property
    def embedding_l2(self) -> float:
        return self.params.optimizer.embedding_l2

    def field_embedding(self, embed_dense: bool = False, dim: int | None = None) -> FieldEmbedding:
        """The fused embedding table over the schema's slots, with the config's dim, sparse grads and L2."""
        return FieldEmbedding(self.schema, dim or self.params.sparse_feature_dim, embed_dense=embed_dense,
                              sparse_grad=self.sparse_grad, l2=self.embedding_l2,
                              init_std=self.params.embedding_init_std)

    def first_order(self) -> FeatureLinear:
        """bias + a weight per sparse id + a linear map of the dense values -> [B]."""
        return FeatureLinear(self.schema, self.sparse_grad, self.embedding_l2)

    def build_mlp(self, input_dim: int, output_dim: int | None = 1) -> MLP:
        """The model's MLP as the config sets it: fc_sizes, dropout, batch_norm."""
        p = self.params
        return MLP(input_dim, p.fc_sizes, output_dim=output_dim, dropout=p.dropout, batch_norm=p.batch_norm)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        total = sum(F.binary_cross_entropy_with_logits(outputs[t], batch.labels[t]) for t in self.tasks)
        for module in self.modules():
            penalty = getattr(module, "penalty", None)
            if penalty is not None:
                total = total + penalty
                module.penalty = None
        return total

    def predict(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Probabilities per task."""
        return {t: torch.sigmoid(outputs[t]) for t in self.tasks}


class SingleTaskModel(Model):
    """Most ranking models score one task: subclasses implement `logit(batch) -> [B]`."""

    def logit(self, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {self.tasks[0]: self.logit(batch)}
