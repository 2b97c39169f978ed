import pytest
import torch
from pydantic import ValidationError
from torch import nn

from recstack.config import OptimizerConfig
from recstack.errors import ConfigError
from recstack.train.optim import build_optimizers


def _two_layers() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 1))


def _step(model: nn.Module, cfg: OptimizerConfig) -> list[torch.Tensor]:
    """One SGD step on a loss with a large gradient; returns the parameter changes."""
    before = [p.detach().clone() for p in model.parameters()]
    optimizers = build_optimizers(model, cfg)
    optimizers.zero_grad()
    (1000 * model(torch.ones(8, 4)).sum()).backward()
    optimizers.step()
    return [p.detach() - b for p, b in zip(model.parameters(), before)]


def test_clip_grad_norm_rescales_all_gradients_to_the_global_norm():
    unclipped = _step(_two_layers(), OptimizerConfig(**{"class": "SGD"}, learning_rate=1.0, sparse=False))
    clipped = _step(_two_layers(), OptimizerConfig(**{"class": "SGD"}, learning_rate=1.0, sparse=False,
                                                   clip_grad_norm=0.5))
    norm = torch.sqrt(sum(d.square().sum() for d in unclipped))
    assert norm > 100  # the gradient really was large, so the clip had something to do
    # SGD with lr 1 moves by minus the gradient: clipped = unclipped * 0.5 / ||unclipped||, one factor for all
    for c, u in zip(clipped, unclipped):
        torch.testing.assert_close(c, u * 0.5 / norm)


def test_clip_grad_norm_leaves_small_gradients_alone():
    cfg = dict(learning_rate=1e-6, sparse=False)
    unclipped = _step(_two_layers(), OptimizerConfig(**{"class": "SGD"}, **cfg))
    clipped = _step(_two_layers(), OptimizerConfig(**{"class": "SGD"}, **cfg, clip_grad_norm=1e9))
    for c, u in zip(clipped, unclipped):
        torch.testing.assert_close(c, u)


@pytest.mark.parametrize("key", ["clip_grad_norm", "embedding_table_l2"])
def test_whole_model_gradient_settings_need_dense_embedding_gradients(key):
    model = nn.Sequential(nn.Embedding(10, 4, sparse=True))
    with pytest.raises(ConfigError, match=f"optimizer.{key} needs dense.*sparse: false"):
        build_optimizers(model, OptimizerConfig(**{key: 1.0}))


def test_clip_grad_norm_must_not_be_negative():
    with pytest.raises(ValidationError, match="clip_grad_norm"):
        OptimizerConfig(clip_grad_norm=-1.0)
