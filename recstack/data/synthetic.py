"""Criteo-shaped synthetic CTR data with a planted logistic teacher and a known oracle AUC.

Each row has a 0/1 label, ``num_dense`` integer counts I1.. (lognormal, some missing, I2 down
to -3 as in Criteo) and one categorical field C1.. per entry of ``cardinalities`` (Zipf-skewed
values, heavier skew for huge fields, some fields missing at Criteo-like rates). A categorical
value is written as 8 lowercase hex chars, a fixed splitmix64 hash of (field, value), so a
category always gets the same hex; a missing value is an empty field.

The label is Bernoulli(sigmoid(z)). The teacher logit z is a weighted sum of four parts, each
standardised over the generated rows (a missing category has its own weights):

    first order   sum_f w_f[c_f]                        ~10 fields
    pairwise      sum_{f<g} <u_f[c_f], u_g[c_g]>        rank-4 factors, ~6 fields
    dense         sum_j a_j * d_j                       d_j = standardised log1p(max(I_j, 0)), 0 if missing
    cross         d_3 * v[c_9]                          one dense x categorical term

then rescaled to standard deviation ``logit_scale`` and shifted by the bias that makes the mean
CTR ``target_ctr``. Field subsets wrap modulo the number of fields, so any field count works.
Teacher weights depend on the seed and the field shapes, not on the row counts. The oracle AUC
(and logloss) is that of z on the test rows: the best any model can expect to reach.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from recstack.data.formats.criteo import splitmix64_
from recstack.errors import ConfigError

# Criteo-Kaggle-like cardinalities of C1..C26, the largest capped near 1e6.
CRITEO_CARDINALITIES: tuple[int, ...] = (
    1460, 583, 1_000_000, 800_000, 305, 24, 12517, 633, 3, 93145, 5683, 1_000_000, 3194,
    27, 14992, 600_000, 10, 5652, 2173, 4, 900_000, 18, 15, 286181, 105, 142572)
# Per-field constants, indexed modulo their length when a spec has other field counts.
CAT_MISSING = (0, 0, .03, .03, 0, 0, 0, 0, 0, 0, 0, .03, 0,
               0, 0, .03, 0, 0, .44, .44, .03, .76, 0, 0, .44, .44)
DENSE_MISSING = np.array([.45, 0, .21, .22, .03, .22, .04, 0, .04, .45, .04, .77, .22])
DENSE_MU = np.array([.7, 2.0, 2.3, 1.8, 7.5, 3.5, 1.8, 2.3, 3.8, .3, 1.0, .5, 1.8])
DENSE_SD = np.array([1.0, 1.8, 1.3, 1.1, 2.0, 1.6, 1.3, 1.1, 1.3, .6, .9, 1.0, 1.1])
DENSE_MIN = np.array([0, -3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
FIRST_ORDER = (0, 1, 4, 5, 7, 9, 13, 16, 22, 23)
PAIR_FIELDS = (5, 8, 13, 16, 19, 22)
PAIR_RANK = 4
CROSS_DENSE, CROSS_CAT = 2, 8
PART_WEIGHTS = (1.0, 0.9, 0.5, 0.4)  # first order, pairwise, dense, cross
VERSION = 1  # bump when the generator changes, so `ensure` regenerates stale data

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE_SHIFTS = np.arange(28, -1, -4, dtype=np.uint32)


@dataclass
class SyntheticSpec:
    train_rows: int = 100_000
    test_rows: int = 20_000
    seed: int = 2024
    cardinalities: tuple[int, ...] = CRITEO_CARDINALITIES
    num_dense: int = 13
    target_ctr: float = 0.25
    logit_scale: float = 1.3

    def __post_init__(self) -> None:
        self.cardinalities = tuple(int(c) for c in self.cardinalities)
        checks = {"train_rows": self.train_rows >= 1, "test_rows": self.test_rows >= 1,
                  "cardinalities": bool(self.cardinalities) and min(self.cardinalities) >= 1,
                  "num_dense": self.num_dense >= 1, "target_ctr": 0 < self.target_ctr < 1,
                  "logit_scale": self.logit_scale > 0}
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"SyntheticSpec.{key}: invalid value {getattr(self, key)!r}")

    def to_json(self) -> dict:
        return {**asdict(self), "cardinalities": list(self.cardinalities)}


def _hex_column(field: int, values: np.ndarray, missing: np.ndarray) -> pa.Array:
    """Arrow strings of 8 hex chars hashing (field, value); null where missing."""
    key = (np.uint64(field + 1) << np.uint64(32)) | values.astype(np.uint64)
    h = (splitmix64_(key) >> np.uint64(32)).astype(np.uint32)
    chars = _HEX[(h[:, None] >> _NIBBLE_SHIFTS) & np.uint32(15)]
    n = len(values)
    buffers = [pa.py_buffer(np.packbits(~missing, bitorder="little")),
               pa.py_buffer(np.arange(0, 8 * n + 1, 8, dtype=np.int64)), pa.py_buffer(chars)]
    return pa.Array.from_buffers(pa.large_string(), n, buffers, null_count=int(missing.sum()))


def _zipf(rng: np.random.Generator, card: int, n: int) -> np.ndarray:
    """Values 0..card-1 with P(v) ~ (v + 2)^-a, by inverting the continuous CDF."""
    b = 1.0 - (1.15 if card >= 50_000 else 1.05 if card > 100 else 0.6)
    lo, hi = 2.0 ** b, (card + 2.0) ** b
    x = (lo + rng.random(n) * (hi - lo)) ** (1.0 / b) - 2.0
    return np.minimum(x.astype(np.int64), card - 1)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _bias(z: np.ndarray, ctr: float) -> float:
    """The b with mean(sigmoid(z + b)) == ctr, by bisection."""
    lo, hi = -30.0, 30.0
    for _ in range(45):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if _sigmoid(z + mid).mean() > ctr else (mid, hi)
    return 0.5 * (lo + hi)


def _rank_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for tied scores."""
    order = np.argsort(s, kind="stable")
    s_sorted, pos = s[order], y[order] == 1
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    ends = np.r_[starts[1:], len(s)]
    ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    n_pos, n_neg = int(pos.sum()), int(len(s) - pos.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def simulate(spec: SyntheticSpec) -> tuple[pl.DataFrame, np.ndarray]:
    """All rows (train first, then test) as a frame label, I1.., C1.. and the true teacher logit."""
    cards, n = spec.cardinalities, spec.train_rows + spec.test_rows
    teacher, rows = np.random.default_rng([spec.seed, 0]), np.random.default_rng([spec.seed, 1])
    first_fields = {f % len(cards) for f in FIRST_ORDER}
    pair_fields = {f % len(cards) for f in PAIR_FIELDS}
    first, cross_w = np.zeros(n), np.zeros(n)
    pair_sum, pair_sq = np.zeros((n, PAIR_RANK)), np.zeros(n)
    cat_cols = {}
    for f, card in enumerate(cards):
        values = _zipf(rows, card, n)
        rate = CAT_MISSING[f % len(CAT_MISSING)]
        missing = rows.random(n) < rate if rate else np.zeros(n, dtype=bool)
        cat_cols[f"C{f + 1}"] = _hex_column(f, values, missing)
        idx = np.where(missing, card, values)  # row `card` of each table is "missing"
        if f in first_fields:
            first += teacher.normal(size=card + 1)[idx]
        if f in pair_fields:
            u = teacher.normal(size=(card + 1, PAIR_RANK))[idx]
            pair_sum += u
            pair_sq += (u * u).sum(1)
        if f == CROSS_CAT % len(cards):
            cross_w = teacher.normal(size=card + 1)[idx]
    j = np.arange(spec.num_dense) % len(DENSE_MU)
    counts = np.floor(np.exp(rows.normal(DENSE_MU[j, None], DENSE_SD[j, None], (len(j), n))))
    dense = (np.maximum(counts - 1, 0) + DENSE_MIN[j, None]).astype(np.int64)
    dense_missing = rows.random((len(j), n)) < DENSE_MISSING[j, None]
    d = np.where(dense_missing, 0.0, np.log1p(np.maximum(dense, 0)))
    d_std = d.std(1, keepdims=True)
    d = (d - d.mean(1, keepdims=True)) / np.where(d_std > 0, d_std, 1.0)
    parts = (first, 0.5 * ((pair_sum ** 2).sum(1) - pair_sq),
             teacher.normal(size=len(j)) @ d, d[CROSS_DENSE % len(j)] * cross_w)
    z = sum(w * p / (p.std() or 1.0) for w, p in zip(PART_WEIGHTS, parts))
    z *= spec.logit_scale / z.std()
    z += _bias(z, spec.target_ctr)
    label = (rows.random(n) < _sigmoid(z)).astype(np.int8)
    dense_cols = {f"I{k + 1}": pa.array(dense[k], mask=dense_missing[k]) for k in range(len(j))}
    columns = {"label": pa.array(label), **dense_cols, **cat_cols}
    return pl.DataFrame([pl.Series(name, col) for name, col in columns.items()]), z


def generate(spec: SyntheticSpec, out_dir: str | Path) -> dict:
    """Write out_dir/{train,test}.txt (raw Criteo TSV) and oracle.json (last); return the oracle."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame, z = simulate(spec)
    y, test = frame["label"].to_numpy(), slice(spec.train_rows, None)
    oracle = {
        "oracle_auc_test": _rank_auc(y[test], z[test]),
        "oracle_logloss_test": float(np.mean(np.logaddexp(0.0, z[test]) - y[test] * z[test])),
        "ctr_train": float(y[:spec.train_rows].mean()), "ctr_test": float(y[test].mean()),
        "train_rows": spec.train_rows, "test_rows": spec.test_rows, "seed": spec.seed,
        "version": VERSION, "spec": spec.to_json()}
    (out / "oracle.json").unlink(missing_ok=True)  # the old files stop counting as complete
    tmp = {name: out / f".{name}.{os.getpid()}.tmp" for name in ("train.txt", "test.txt", "oracle.json")}
    try:
        for name, part in (("train.txt", frame.slice(0, spec.train_rows)),
                           ("test.txt", frame.slice(spec.train_rows))):
            part.write_csv(tmp[name], separator="\t", include_header=False, null_value="")
        tmp["oracle.json"].write_text(json.dumps(oracle, indent=1) + "\n")
        for name, path in tmp.items():  # oracle.json last
            os.replace(path, out / name)
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
    return oracle


def ensure(spec: SyntheticSpec, out_dir: str | Path) -> dict:
    """The oracle of out_dir if it holds complete data for this spec; otherwise generate it."""
    out = Path(out_dir)
    try:
        oracle = json.loads((out / "oracle.json").read_text())
    except (OSError, ValueError):
        oracle = {}
    complete = all((out / name).is_file() for name in ("train.txt", "test.txt"))
    if complete and oracle.get("version") == VERSION and oracle.get("spec") == spec.to_json():
        return oracle
    return generate(spec, out)
