"""One optimizer step on a 1M-row embedding table with DeepFM-sized sparse gradients (4096 x 26 ids, Zipf-like):
RowSparseAdam against torch.optim.SparseAdam, median of 10.   python scripts/probes/sparse_adam_step.py"""
import time

import torch
from torch import nn

from recstack.train.sparse_adam import RowSparseAdam

torch.manual_seed(0)
for optimizer_class in (RowSparseAdam, torch.optim.SparseAdam, RowSparseAdam, torch.optim.SparseAdam):
    table = nn.Embedding(1_000_001, 10, sparse=True)
    optimizer = optimizer_class(table.parameters(), lr=1e-3)
    ids = torch.distributions.Exponential(1e-4).sample((4096, 26)).long() % 1_000_001
    table(ids).sum().backward()
    gradient = table.weight.grad
    optimizer.step()
    times = []
    for _ in range(10):
        table.weight.grad = gradient.clone()
        start = time.perf_counter()
        optimizer.step()
        times.append(time.perf_counter() - start)
    print(f"{optimizer_class.__name__}: {sorted(times)[5] * 1000:.1f} ms per step")
