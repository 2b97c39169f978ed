"""Precise BatchNorm statistics: the running mean/variance become the plain average of the batch statistics."""

from __future__ import annotations

import torch
from torch import nn

from recstack.train.batch_norm import recompute_batch_norm


def make_model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 3),
                         nn.BatchNorm1d(3))


def batches(count: int, rows: int = 64) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    # far from BatchNorm's starting mean 0 / variance 1, like the inputs that fooled the running average
    return [3.0 + 0.01 * torch.randn(rows, 6, generator=generator) for _ in range(count)]


def test_running_statistics_are_the_average_of_the_batch_statistics():
    model, data = make_model(), batches(5)
    model.eval()
    assert recompute_batch_norm(model, iter(data), num_batches=3) == 2
    first_linear, norm = model[0], model[1]
    with torch.no_grad():
        outputs = [first_linear(x) for x in data[:3]]  # the 4th and 5th batch must not count
    assert torch.allclose(norm.running_mean, torch.stack([o.mean(0) for o in outputs]).mean(0), atol=1e-6)
    assert torch.allclose(norm.running_var, torch.stack([o.var(0) for o in outputs]).mean(0), rtol=1e-4)
    assert norm.momentum == 0.1 and not model.training  # momentum and mode put back
    assert model[5].running_var.max() < 1.0  # the second layer was re-estimated too, not left at its start


def test_eval_output_then_matches_training_mode_on_the_same_batch():
    model, data = make_model(), batches(1, rows=1024)
    model[3].p = 0.0  # no dropout noise, so both modes see the same activations
    model.train()
    with torch.no_grad():
        expected = model(data[0])
    recompute_batch_norm(model, data, num_batches=1)
    model.eval()
    with torch.no_grad():
        # running variance is unbiased, training mode divides by the biased one: a factor 1024 / 1023 per layer
        assert (model(data[0]) - expected).abs().max() < 0.01
    model_with_stale_stats = make_model().eval()
    with torch.no_grad():
        assert (model_with_stale_stats(data[0]) - expected).abs().max() > 0.5


def test_nothing_happens_without_batch_norm_or_batches():
    assert recompute_batch_norm(nn.Linear(3, 1), [torch.zeros(2, 3)], num_batches=4) == 0
    model = make_model()
    assert recompute_batch_norm(model, batches(2), num_batches=0) == 0
    assert torch.equal(model[1].running_var, torch.ones(4))
