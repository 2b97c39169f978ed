"""Optimizers: the configured one for dense parameters, a sparse-capable one for embedding tables
built with `sparse=True` (only the rows a batch looked up are read and written)."""

from __future__ import annotations

import torch
from torch import nn

from recstack.config import OptimizerConfig
from recstack.errors import ConfigError
from recstack.train.sparse_adam import RowSparseAdam


class Optimizers:
    """A list of torch optimizers stepped together, with one state_dict; with clip_grad_norm > 0 the gradients
    of all their parameters are first rescaled to at most that global L2 norm."""

    def __init__(self, optimizers: list[torch.optim.Optimizer], clip_grad_norm: float = 0.0):
        self.optimizers, self.clip_grad_norm = optimizers, clip_grad_norm
        self.parameters = [p for opt in optimizers for group in opt.param_groups for p in group["params"]]

    def zero_grad(self) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=True)

    def step(self) -> None:
        if self.clip_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.parameters, self.clip_grad_norm)
        for opt in self.optimizers:
            opt.step()

    def scale_learning_rate(self, factor: float, min_lr: float = 1e-6) -> float:
        """Multiplies every group's learning rate by `factor` (not below min_lr); returns the new rate."""
        lr = min_lr
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr = max(group["lr"] * factor, min_lr)
        return lr

    def state_dict(self) -> dict:
        return {str(i): opt.state_dict() for i, opt in enumerate(self.optimizers)}

    def load_state_dict(self, state: dict) -> None:
        for i, opt in enumerate(self.optimizers):
            opt.load_state_dict(state[str(i)])


def _dense_optimizer(name: str, params: list[nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    lr, wd = cfg.learning_rate, cfg.weight_decay
    if name == "SGD":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if name == "Adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "AdamW":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)


def embedding_tables(model: nn.Module) -> list[nn.Parameter]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Embedding)]


def embedding_table_penalty(model: nn.Module, l2: float) -> torch.Tensor | None:
    """FuxiCTR's embedding_regularizer: l2 / 2 * sum of squares of every embedding table, whole tables
    (rows a batch did not look up shrink too, which is what keeps rare ids near zero)."""
    if l2 <= 0:
        return None
    return l2 / 2 * sum(table.pow(2).sum() for table in embedding_tables(model))


def build_optimizers(model: nn.Module, cfg: OptimizerConfig) -> Optimizers:
    sparse_tables = [m.weight for m in model.modules() if isinstance(m, nn.Embedding) and m.sparse]
    for key in ("embedding_table_l2", "clip_grad_norm"):
        if getattr(cfg, key) > 0 and sparse_tables:
            raise ConfigError(f"hyper_parameters.optimizer.{key} needs dense embedding gradients: "
                              "set hyper_parameters.optimizer.sparse: false")
    sparse_ids = {id(p) for p in sparse_tables}
    dense = [p for p in model.parameters() if id(p) not in sparse_ids and p.requires_grad]
    optimizers = [_dense_optimizer(cfg.class_, dense, cfg)] if dense else []
    if sparse_tables:
        lr = cfg.learning_rate
        if cfg.class_ in ("Adam", "AdamW"):
            optimizers.append(RowSparseAdam(sparse_tables, lr=lr))
        elif cfg.class_ == "Adagrad":
            optimizers.append(torch.optim.Adagrad(sparse_tables, lr=lr))
        else:
            optimizers.append(torch.optim.SGD(sparse_tables, lr=lr))
    return Optimizers(optimizers, cfg.clip_grad_norm)
