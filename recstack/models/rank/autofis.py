"""AutoFIS (Liu, Zhu, Li, Yu, Tang, Zhang, He and Li, "AutoFIS: Automatic Feature Interaction Selection in
Factorization Models for Click-Through Rate Prediction", KDD 2020), on DeepFM.

logit = first order + sum_{i<j} tanh(alpha_ij) * BN(<e_i, e_j>) + MLP(flat fields). BN has no learned scale or
shift, so alpha alone carries each interaction's weight; tanh bounds it, as in the authors' implementation
(GRDA runs at learning rate 1 there), and keeps alpha = 0 a closed gate.
Stage `search`: alpha is trained by its own GRDA optimizer (one-level, alongside the network's optimizer),
whose growing soft threshold sets useless interactions' alpha to exactly zero. Every time the model is
checkpointed (state_dict), the mask |alpha| > gate_threshold is written atomically to gate_mask_path.
Stage `retrain`: the mask is loaded (torch.load, weights_only) and only the kept interactions are built;
their alpha is trained with the rest of the network (the trainer's optimizer) as attention weights, as in
the paper.
Dense features are embedded as value-scaled fields, as in DeepFM here.
Shapes: sparse [B, F], dense [B, D] -> fields [B, N = F + D, dim] -> inner products [B, P] (search: all
P = N(N-1)/2 pairs; retrain: the kept ones) -> logit [B].
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from recstack.config import HyperParameters
from recstack.errors import ConfigError
from recstack.layers.product import DotInteraction
from recstack.models.base import register
from recstack.models.rank.deepfm import DeepFM


class AutoFISParams(HyperParameters):
    autofis_stage: Literal["search", "retrain"] = "search"
    gate_mask_path: Path | None = None  # search writes the kept-interaction mask here; retrain reads it
    gate_threshold: float = 0.0  # keep |alpha| > this (GRDA leaves pruned alphas at exactly 0)
    grda_learning_rate: float = 1.0  # GRDA's settings in the authors' search configuration
    grda_c: float = 0.0005
    grda_mu: float = 0.8


class GRDA(torch.optim.Optimizer):
    """Generalized regularized dual averaging (Chao and Cheng, 2019), the optimizer AutoFIS searches with:
    w_n = sign(a_n) max(|a_n| - c lr^(1/2 + mu) n^mu, 0) with a_n = w_0 - lr sum_{t<=n} g_t."""

    def __init__(self, params, lr: float = 1.0, c: float = 0.0005, mu: float = 0.8):
        super().__init__(params, dict(lr=lr, c=c, mu=mu))

    @torch.no_grad()
    def step(self, closure=None) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"], state["accumulator"] = 0, param.detach().clone()
                state["step"] += 1
                accumulator = state["accumulator"].add_(param.grad, alpha=-group["lr"])
                threshold = group["c"] * group["lr"] ** (0.5 + group["mu"]) * state["step"] ** group["mu"]
                param.copy_(accumulator.sign() * (accumulator.abs() - threshold).clamp_min(0))


def load_gate_mask(path: Path | None, num_pairs: int) -> torch.Tensor:
    if path is None or not Path(path).exists():
        raise ConfigError(f"hyper_parameters.gate_mask_path: the retrain stage needs the mask the search stage "
                          f"saved, and there is none at {path}")
    mask = torch.load(path, weights_only=True)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.shape != (num_pairs,):
        raise ConfigError(f"hyper_parameters.gate_mask_path: {path} is not a mask of {num_pairs} field pairs")
    return mask


def save_gate_mask(model: "AutoFIS", state_dict: dict, prefix: str, local_metadata: dict) -> None:
    """state_dict hook of the search stage: writes |alpha| > gate_threshold to gate_mask_path atomically."""
    path = Path(model.params.gate_mask_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(model.fm.alpha.detach().abs() > model.params.gate_threshold, tmp)
    os.replace(tmp, path)


class GatedPairInteraction(nn.Module):
    """sum_p tanh(alpha_p) * BN(<e_i, e_j>) over the field pairs p (all i < j, or those `keep` marks):
    [B, F, dim] -> [B]."""

    def __init__(self, num_fields: int, keep: torch.Tensor | None = None):
        super().__init__()
        self.inner_products = DotInteraction(num_fields, keep=keep)
        pairs = self.inner_products.output_dim
        self.norm = nn.BatchNorm1d(pairs, affine=False)
        self.alpha = nn.Parameter(torch.empty(pairs).uniform_(-1e-3, 1e-3))  # the authors' search init

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        return (self.norm(self.inner_products(fields)) * torch.tanh(self.alpha)).sum(dim=1)


@register("autofis", AutoFISParams)
class AutoFIS(DeepFM):
    """DeepFM whose FM term is the gated interaction; DeepFM's logit (first order + FM term + MLP) is kept."""

    def __init__(self, schema, params: AutoFISParams):
        super().__init__(schema, params)
        num_fields = self.field_embeddings.num_fields
        kept = None
        if params.autofis_stage == "retrain":
            kept = load_gate_mask(params.gate_mask_path, num_fields * (num_fields - 1) // 2)
        self.fm = GatedPairInteraction(num_fields, kept)
        if params.autofis_stage == "search":
            self.gate_optimizer = GRDA([self.fm.alpha], params.grda_learning_rate, params.grda_c, params.grda_mu)
            self.fm.alpha.register_post_accumulate_grad_hook(self._grda_step)
            if params.gate_mask_path is not None:
                self.register_state_dict_post_hook(save_gate_mask)

    def _grda_step(self, alpha: torch.Tensor) -> None:
        """Runs in backward, once alpha's gradient is in: GRDA moves alpha, and taking the gradient away
        keeps the trainer's optimizer (which steps every parameter with a gradient) off it."""
        self.gate_optimizer.step()
        alpha.grad = None
