"""Shared fixtures for model tests: training on small synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from helpers.rank_models import CARDINALITIES
from recstack.config import load_config
from recstack.data.synthetic import SyntheticSpec, ensure
from recstack.train.recipes import train


@pytest.fixture
def train_synthetic(tmp_path: Path) -> Callable[..., tuple[float, float]]:
    """train_synthetic(model, epochs=3, **hyper) -> (test AUC after the last epoch, the teacher's oracle AUC)."""

    def run(model: str, epochs: int = 3, **hyper) -> tuple[float, float]:
        raw = {
            "model": model,
            "runner": {"data_format": "synthetic", "synthetic_train_rows": 100_000, "synthetic_test_rows": 20_000,
                       "synthetic_cardinalities": CARDINALITIES, "synthetic_seed": 7,
                       "cache_dir": str(tmp_path / "cache"), "model_save_path": str(tmp_path / model),
                       "epochs": epochs, "train_batch_size": 1024, "print_interval": 10_000, "progress_bar": False,
                       "seed": 7},
            "hyper_parameters": {"sparse_inputs_slots": len(CARDINALITIES) + 1, "sparse_feature_number": 100_003,
                                 "sparse_feature_dim": 8, "fc_sizes": [64, 64],
                                 "optimizer": {"learning_rate": 0.003}, **hyper},
        }
        reports = train(load_config(raw=raw))
        folder = next((tmp_path / "cache" / "synthetic").iterdir())
        oracle = ensure(SyntheticSpec(100_000, 20_000, 7, tuple(CARDINALITIES)), folder)["oracle_auc_test"]
        return reports[-1].test_metrics["auc"], oracle

    return run
