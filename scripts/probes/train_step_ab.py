"""DeepFM training steps (batch 4096, 35 timed steps after 5) with RowSparseAdam vs torch.optim.SparseAdam on the
tables, alternating three times in one process. Needs the benchmark cache: run `recstack bench throughput` once.
    python scripts/probes/train_step_ab.py"""
import argparse
import time

import torch

import recstack.train.optim as optim
from recstack.bench.common import make_config
from recstack.data.cache import default_cache_root
from recstack.data.datasets import load_data
from recstack.data.loader import BatchLoader
from recstack.train.recipes import make_model, setup_runtime
from recstack.train.sparse_adam import RowSparseAdam

cache = default_cache_root() / "bench"
cfg = make_config("deepfm", argparse.Namespace(batch_size=4096, infer_batch_size=8192, threads=2),
                  cache / "criteo-1000000", cache)
setup_runtime(cfg)
data = load_data(cfg)
batches = [b for _, b in zip(range(40), BatchLoader(data.train, data.schema, 4096, shuffle=True))]
for _ in range(3):
    for label, optimizer_class in (("RowSparseAdam", RowSparseAdam), ("torch SparseAdam", torch.optim.SparseAdam)):
        optim.RowSparseAdam = optimizer_class  # what build_optimizers puts on the sparse tables
        model = make_model(cfg, data.schema).train()
        optimizers = optim.build_optimizers(model, cfg.hyper_parameters.optimizer)
        for step, batch in enumerate(batches):
            if step == 5:
                start = time.perf_counter()
            loss = model.loss(model(batch), batch)
            optimizers.zero_grad()
            loss.backward()
            optimizers.step()
        print(f"{label}: {35 * 4096 / (time.perf_counter() - start):,.0f} samples/s (steps only)")
