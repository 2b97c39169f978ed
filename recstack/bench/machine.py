"""What this machine can do at best, and what a model asks of it: the roofline behind a throughput figure.

    python -m recstack.bench.machine [--threads 2] [--out docs/benchmarks]

- `gemm_gflops(dtype)`: the median rate of timed square torch matmuls (fp32, bf16) — the compute roof of
  the MLPs, which is where a CTR model's FLOPs are.
- `memory_bandwidth_gbs()`: the median rate of a large torch copy (or STREAM triad) — the roof of
  embedding gathers and optimizer updates, which are memory-bound.
- `model_flops_per_sample(model, batch)`: forward and forward+backward FLOPs per sample counted by hand
  from the model's nn.Linear layers (2 * in * out per row they see forward, 3x that for forward+backward)
  and its known interaction ops, next to what torch.utils.flop_counter.FlopCounterMode counts (matmuls only).
- `bound_samples_per_s(flops, gflops)`: the samples/s no implementation can beat at that rate.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from recstack.data.batch import Batch
from recstack.layers import MLP, FeatureLinear, FieldEmbedding
from recstack.layers.cross import VectorCrossLayer
from recstack.layers.interaction import FMInteraction
from recstack.layers.product import DotInteraction

MIN_SAMPLE_SECONDS = 0.02  # one timed sample repeats the operation until it lasts about this long


def _median_seconds(operation: Callable[[], object], repeats: int) -> float:
    """Median wall time of one call, over `repeats` samples (after one warm-up call that also calibrates)."""
    start = time.perf_counter()
    operation()
    first = time.perf_counter() - start
    inner = max(1, math.ceil(MIN_SAMPLE_SECONDS / max(first, 1e-9)))
    samples = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        for _ in range(inner):
            operation()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def gemm_gflops(dtype: torch.dtype = torch.float32, size: int = 1536, repeats: int = 7) -> float:
    """GFLOP/s of a [size, size] @ [size, size] torch matmul in `dtype` (2 * size^3 FLOPs), median of `repeats`.

    Uses torch's current thread count. bf16 runs the oneDNN bfloat16 kernels, which is what MLP autocast uses.
    """
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    out = torch.empty(size, size, dtype=dtype)
    seconds = _median_seconds(lambda: torch.matmul(a, b, out=out), repeats)
    return 2.0 * size ** 3 / seconds / 1e9


def memory_bandwidth_gbs(megabytes: int = 256, repeats: int = 7, kind: str = "copy") -> float:
    """GB/s (1e9 bytes) moved by a large float32 torch operation, median of `repeats`.

    copy:  a.copy_(b), 2 arrays of `megabytes` each, counted as read b + write a;
    triad: a = b + s * c (STREAM's triad), 3 arrays, counted as read b, c + write a.
    Write-allocate traffic is not counted, as in STREAM, so this is a slight under-estimate of the bus.
    """
    n = megabytes * (1 << 20) // 4
    a, b, c = torch.zeros(n), torch.rand(n), torch.rand(n)
    if kind == "copy":
        moved, operation = 2 * n * 4, (lambda: a.copy_(b))
    elif kind == "triad":
        moved, operation = 3 * n * 4, (lambda: torch.add(b, c, alpha=3.0, out=a))
    else:
        raise ValueError(f"kind must be 'copy' or 'triad', got {kind!r}")
    return moved / _median_seconds(operation, repeats) / 1e9


def _fields(inputs: tuple) -> tuple[int, int]:
    """(F, dim) of the [B, F, dim] field tensor an interaction op was called with."""
    shape = inputs[0].shape
    return int(shape[1]), int(shape[2])


def _fm_flops(inputs: tuple, output: torch.Tensor) -> float:
    # sum over fields (F*d), its square (d), squares (F*d), their sum (F*d), difference (d), sum over d (d), * 0.5
    num_fields, dim = _fields(inputs)
    return 3.0 * num_fields * dim + 3.0 * dim + 1


def _dot_flops(inputs: tuple, output: torch.Tensor) -> float:
    # the full Gram matrix F x F of dim-long dot products
    num_fields, dim = _fields(inputs)
    return 2.0 * num_fields * num_fields * dim


def _vector_cross_flops(inputs: tuple, output: torch.Tensor) -> float:
    # x_l . w (2d), x0 * s (d), + b (d), + x_l (d)
    return 5.0 * inputs[1].shape[-1]


# Interaction ops whose FLOPs are not nn.Linear: per-sample forward FLOPs from the (inputs, output) of one call.
INTERACTION_FLOPS: dict[type[nn.Module], Callable[[tuple, torch.Tensor], float]] = {
    FMInteraction: _fm_flops,
    DotInteraction: _dot_flops,
    VectorCrossLayer: _vector_cross_flops,
}


def model_flops_per_sample(model: nn.Module, batch: Batch) -> dict:
    """FLOPs per sample of one forward pass and of forward + backward (a training step without the optimizer).

    Hand count: every nn.Linear call is 2 * in * out FLOPs per row it sees (a Linear over [B, F, in] sees F rows
    per sample), every known interaction op (INTERACTION_FLOPS) its own formula; forward + backward is 3x
    forward (the input and the weight gradient each cost one more matmul). Element-wise work (BatchNorm, ReLU,
    the loss) and the embedding gathers are left out: they are memory-bound, not FLOP-bound.
    Counter: torch.utils.flop_counter.FlopCounterMode over the same batch, which counts matmul-like aten ops
    only and skips the input-gradient matmul where the input needs no gradient (e.g. a Linear over the raw
    dense features), so its forward+backward can be below 3x.
    Returns forward, forward_backward, linear_forward, interaction_forward, counter_forward,
    counter_forward_backward, counter_by_op (forward, per sample), linear_layers (Linear calls) and uncounted:
    the other recstack layers in the model, whose FLOPs outside their nn.Linear layers are not in the hand count.
    """
    samples = len(batch)
    linear = interaction = 0.0
    calls = 0

    def on_linear(module: nn.Linear, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal linear, calls
        rows = inputs[0].numel() / module.in_features
        linear += 2.0 * module.in_features * module.out_features * rows / samples
        calls += 1

    def on_interaction(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal interaction
        interaction += INTERACTION_FLOPS[type(module)](inputs, output)

    # a training-mode copy: in eval the MLP folds BatchNorm into F.linear calls, which Linear hooks
    # never see, and a copy leaves the model's BatchNorm running statistics untouched
    counting = copy.deepcopy(model).train()
    hooks = []
    for module in counting.modules():
        if isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(on_linear))
        elif type(module) in INTERACTION_FLOPS:
            hooks.append(module.register_forward_hook(on_interaction))
    with torch.no_grad():
        counting(batch)
    was_training = model.training
    counter_forward, by_op = _counted(model, batch, backward=False)
    counter_total, _ = _counted(model, batch, backward=True)
    model.train(was_training)
    forward = linear + interaction
    plain = (FieldEmbedding, FeatureLinear, MLP, *INTERACTION_FLOPS)
    uncounted = sorted({type(m).__name__ for m in model.modules()
                        if type(m).__module__.startswith("recstack.layers") and not isinstance(m, plain)})
    return {"forward": forward, "forward_backward": 3.0 * forward, "linear_forward": linear,
            "interaction_forward": interaction, "counter_forward": counter_forward / samples,
            "counter_forward_backward": counter_total / samples,
            "counter_by_op": {op: flops / samples for op, flops in by_op.items()},
            "linear_layers": calls, "uncounted": uncounted}


def _counted(model: nn.Module, batch: Batch, backward: bool) -> tuple[float, dict[str, float]]:
    """FlopCounterMode's total (and forward per-op) FLOPs for one forward, or one forward + loss + backward."""
    model.eval()
    with FlopCounterMode(display=False) as counter:
        if backward:
            outputs = model(batch)
            model.loss(outputs, batch).backward()
        else:
            with torch.no_grad():
                model(batch)
    model.zero_grad(set_to_none=True)
    by_op = {str(op): float(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return float(counter.get_total_flops()), by_op


def bound_samples_per_s(flops_per_sample: float, gflops: float) -> float:
    """The samples/s a machine doing `gflops` GFLOP/s could reach if FLOPs were the only cost."""
    return gflops * 1e9 / flops_per_sample


def reference_model(name: str, batch_size: int = 256, seed: int = 0) -> tuple[nn.Module, Batch]:
    """A recstack model as the README benchmarks it (dim 10, MLP 400-400-400, 26 sparse + 13 dense slots,
    fused table of 1e6+1 rows) and a random batch for it."""
    from recstack.config import load_config
    from recstack.data.datasets import build_schema
    from recstack.models.base import build_model

    cfg = load_config(raw={"model": name, "runner": {"data_format": "criteo"},
                           "hyper_parameters": {"sparse_feature_dim": 10, "fc_sizes": [400, 400, 400]}})
    schema = build_schema(cfg)
    generator = torch.Generator().manual_seed(seed)
    batch = Batch(dense=torch.rand(batch_size, schema.num_dense, generator=generator),
                  sparse=torch.randint(0, schema.num_embeddings, (batch_size, len(schema.sparse)), generator=generator),
                  labels={schema.labels[0]: torch.randint(0, 2, (batch_size,), generator=generator).float()})
    return build_model(name, schema, cfg.hyper_parameters), batch


def measure(models: list[str], gemm_size: int = 1536, bandwidth_mb: int = 256, repeats: int = 7) -> dict:
    """Machine bounds plus, per model, FLOPs per sample and the compute-bound training/inference samples/s."""
    load_before = os.getloadavg()[0]
    gemm = {"fp32": gemm_gflops(torch.float32, gemm_size, repeats), "bf16": gemm_gflops(torch.bfloat16, gemm_size, repeats)}
    bandwidth = {kind: memory_bandwidth_gbs(bandwidth_mb, repeats, kind) for kind in ("copy", "triad")}
    per_model = {}
    for name in models:
        model, batch = reference_model(name)
        flops = model_flops_per_sample(model, batch)
        per_model[name] = {**flops, "bound_train_samples_per_s": {
            dtype: bound_samples_per_s(flops["forward_backward"], rate) for dtype, rate in gemm.items()},
            "bound_infer_samples_per_s": {dtype: bound_samples_per_s(flops["forward"], rate)
                                          for dtype, rate in gemm.items()}}
    return {"gemm_gflops": gemm, "memory_bandwidth_gbs": bandwidth,
            "settings": {"gemm_size": gemm_size, "bandwidth_mb": bandwidth_mb, "repeats": repeats,
                         "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                         "loadavg_1min_before": load_before, "loadavg_1min_after": os.getloadavg()[0]},
            "models": per_model}


def markdown(result: dict) -> str:
    g, bw, s = result["gemm_gflops"], result["memory_bandwidth_gbs"], result["settings"]
    lines = [f"Machine bounds (torch {s['torch']}, {s['torch_threads']} threads, medians of {s['repeats']}, "
             f"load {s['loadavg_1min_before']:.1f} -> {s['loadavg_1min_after']:.1f}): "
             f"GEMM {s['gemm_size']}^3 fp32 {g['fp32']:.1f} GFLOP/s, bf16 {g['bf16']:.1f} GFLOP/s; "
             f"memory copy {bw['copy']:.1f} GB/s, triad {bw['triad']:.1f} GB/s "
             f"({s['bandwidth_mb']} MB arrays).", "",
             "| model | forward FLOPs/sample | fwd+bwd (hand, 3x) | FlopCounterMode fwd / fwd+bwd "
             "| train bound fp32 / bf16 (samples/s) |", "|---|---:|---:|---:|---:|"]
    for name, m in result["models"].items():
        bound = m["bound_train_samples_per_s"]
        lines.append(f"| {name} | {m['forward']:,.0f} | {m['forward_backward']:,.0f} | "
                     f"{m['counter_forward']:,.0f} / {m['counter_forward_backward']:,.0f} | "
                     f"{bound['fp32']:,.0f} / {bound['bf16']:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m recstack.bench.machine", description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="lr,dnn,deepfm", help="comma-separated registered model names")
    parser.add_argument("--gemm-size", type=int, default=1536, help="square matmul size")
    parser.add_argument("--bandwidth-mb", type=int, default=256, help="size of each array in the copy/triad")
    parser.add_argument("--repeats", type=int, default=7, help="timed samples per figure (the median is kept)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", default=None, help="folder for machine.json and machine.md (default: print only)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = measure([m.strip() for m in args.models.split(",") if m.strip()], args.gemm_size, args.bandwidth_mb,
                     args.repeats)
    table = markdown(result)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "machine.json").write_text(json.dumps(result, indent=1) + "\n")
        (out / "machine.md").write_text(table)
    print(table, end="")
    return result


if __name__ == "__main__":
    main()
