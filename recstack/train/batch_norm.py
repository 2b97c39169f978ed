"""Precise BatchNorm statistics (Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021, section 3).

A BatchNorm layer evaluates with running statistics: an exponential average (momentum 0.1) of batch statistics
taken while the weights move. It lags, and starts from mean 0 / variance 1. With few steps per epoch and
pre-normalisation activations far from unit variance (FGCNN's MLP input: feature vectors of std ~1e-2 beside
inner products of tanh outputs), the running variance stays orders of magnitude off the batch variance and the
validation AUC of an epoch can collapse to 0.5 while the training AUC climbs. Recomputing the statistics with
the epoch's final weights, as a plain average over some training batches, removes both the lag and the start.
"""

from __future__ import annotations

import itertools
from typing import Iterable

import torch
from torch import nn

from recstack.data.batch import Batch


@torch.no_grad()
def recompute_batch_norm(model: nn.Module, batches: Iterable[Batch], num_batches: int) -> int:
    """Resets every BatchNorm's running mean and variance to their plain average over the first `num_batches`
    of `batches` (forward passes in training mode, no gradients). Returns how many layers it updated."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms or num_batches <= 0:
        return 0
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # None: cumulative average of the batches seen since the reset
    was_training = model.training
    model.train()
    try:
        for batch in itertools.islice(batches, num_batches):
            model(batch)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.train(was_training)
    return len(norms)
