import torch
from torch import nn

from recstack.train.sparse_adam import RowSparseAdam


def train_steps(optimizer_class, steps: int = 25) -> torch.Tensor:
    torch.manual_seed(0)
    table = nn.Embedding(100, 8, sparse=True)
    optimizer = optimizer_class(table.parameters(), lr=0.05)
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        ids = torch.randint(0, 30, (64, 5), generator=generator)  # rows 30..99 never looked up; many duplicates
        target = torch.randn(64, 5, 8, generator=generator)
        optimizer.zero_grad()
        ((table(ids) - target) ** 2).mean().backward()
        optimizer.step()
    return table.weight.detach()


def test_row_sparse_adam_equals_torch_sparse_adam():
    ours, reference = train_steps(RowSparseAdam), train_steps(torch.optim.SparseAdam)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6)
    assert not torch.equal(ours, train_steps(lambda p, lr: torch.optim.SparseAdam(p, lr=lr * 2)))
    torch.manual_seed(0)
    untouched = nn.Embedding(100, 8).weight.detach()[30:]
    assert torch.equal(ours[30:], untouched)  # rows never looked up are never written
