"""FuxiCTR's training recipe in the trainer: whole-table embedding L2, lr-on-plateau, best-weights restore,
and validation rows held out of train (runner.valid_fraction)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from recstack.config import load_config
from recstack.data.datasets import load_data
from recstack.errors import ConfigError
from recstack.models.base import build_model
from recstack.train.optim import build_optimizers, embedding_table_penalty
from recstack.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "rank"


def synthetic_config(tmp_path: Path, *overrides: str):
    return load_config(CONFIGS / "fm.yaml", [
        "runner.data_format=synthetic", "runner.synthetic_train_rows=2000", "runner.synthetic_test_rows=500",
        "runner.synthetic_cardinalities=[20,20,20]", "hyper_parameters.sparse_inputs_slots=4",
        "hyper_parameters.sparse_feature_number=101", f"runner.cache_dir={tmp_path}", *overrides])


class ScriptedLoader(list):
    """A loader of no batches (the trainer only calls set_epoch and iterates)."""

    def set_epoch(self, epoch: int) -> None:
        pass


def test_table_penalty_is_half_l2_times_every_row_squared_and_reaches_unseen_rows(tmp_path):
    cfg = synthetic_config(tmp_path, "hyper_parameters.optimizer.sparse=false")
    data = load_data(cfg, train=True, test=False)
    model = build_model("fm", data.schema, cfg.hyper_parameters)
    tables = [m.weight for m in model.modules() if isinstance(m, torch.nn.Embedding)]
    assert len(tables) == 2  # field vectors and first-order weights
    penalty = embedding_table_penalty(model, 0.05)
    assert penalty.item() == pytest.approx(0.025 * sum(float((t.detach().double() ** 2).sum()) for t in tables))
    penalty.backward()
    assert torch.allclose(tables[0].grad, 0.05 * tables[0].detach())  # every row, looked up or not
    assert embedding_table_penalty(model, 0.0) is None


def test_table_penalty_with_sparse_gradients_is_a_config_error(tmp_path):
    cfg = synthetic_config(tmp_path, "hyper_parameters.optimizer.embedding_table_l2=0.05")
    data = load_data(cfg, train=True, test=False)
    model = build_model("fm", data.schema, cfg.hyper_parameters)
    with pytest.raises(ConfigError, match="optimizer.sparse: false"):
        build_optimizers(model, cfg.hyper_parameters.optimizer)


def test_plateau_decays_lr_stops_after_patience_and_restores_the_best_epoch(tmp_path, monkeypatch):
    cfg = synthetic_config(tmp_path, "hyper_parameters.optimizer.sparse=false")
    data = load_data(cfg, train=True, test=False)
    model = build_model("fm", data.schema, cfg.hyper_parameters)
    optimizers = build_optimizers(model, cfg.hyper_parameters.optimizer)
    trainer = Trainer(model, optimizers, progress_bar=False)
    valid_aucs = iter([0.60, 0.70, 0.65, 0.64, 0.99])
    lrs, weights = [], []

    def train_epoch(loader, epoch):  # each "epoch" moves the weights so epochs are told apart
        with torch.no_grad():
            model.linear.bias += 1.0
        return type("R", (), {"epoch": epoch, "loss": 0.0, "samples": 1, "seconds": 1.0, "train_auc": 0.5,
                              "samples_per_second": 1.0, "valid_metrics": {}, "test_metrics": {}})()

    monkeypatch.setattr(trainer, "train_epoch", train_epoch)
    monkeypatch.setattr(trainer, "evaluate", lambda loader: ({"auc": next(valid_aucs)}, {}))

    def on_epoch_end(report):
        lrs.append(optimizers.optimizers[0].param_groups[0]["lr"])
        weights.append(model.linear.bias.item())

    reports = trainer.fit(ScriptedLoader(), 10, valid_loader=[], early_stop_patience=2, on_epoch_end=on_epoch_end,
                          lr_decay_on_plateau=0.1, restore_best_weights=True)
    assert [r.epoch for r in reports] == [0, 1, 2, 3]  # two epochs without a better AUC after epoch 1
    assert lrs == pytest.approx([1e-3, 1e-3, 1e-3, 1e-4])  # decayed once after epoch 2; epoch 3 stops instead
    assert optimizers.optimizers[0].param_groups[0]["lr"] == pytest.approx(1e-4)
    assert model.linear.bias.item() == weights[1]  # the weights of epoch 1, not the last epoch's


def test_defaults_leave_existing_configs_unchanged(tmp_path):
    cfg = synthetic_config(tmp_path)
    assert cfg.runner.lr_decay_on_plateau == 1.0 and not cfg.runner.restore_best_weights
    assert cfg.hyper_parameters.optimizer.embedding_table_l2 == 0.0 and cfg.runner.valid_fraction == 0.0


def test_valid_fraction_holds_out_train_rows_and_never_touches_test(tmp_path):
    cfg = synthetic_config(tmp_path, "runner.valid_fraction=0.25")
    whole = load_data(synthetic_config(tmp_path), train=True, test=True)
    data = load_data(cfg, train=True, test=True, valid=True)
    assert data.train.num_rows + data.valid.num_rows == whole.train.num_rows
    assert 0.2 < data.valid.num_rows / whole.train.num_rows < 0.3
    assert lines(data.train).isdisjoint(lines(data.valid))
    assert lines(data.train) | lines(data.valid) == lines(whole.train)
    assert np.array_equal(np.asarray(data.test.columns["sparse"]), np.asarray(whole.test.columns["sparse"]))
    again = load_data(synthetic_config(tmp_path, "runner.valid_fraction=0.25", "runner.seed=7"),
                      train=True, test=False, valid=True)
    assert lines(again.valid) == lines(data.valid)  # the same rows whatever the training seed


def lines(store) -> set[int]:
    return set(np.asarray(store.columns["line"]).tolist())


@pytest.mark.parametrize("overrides, message", [
    (["runner.valid_fraction=1.5"], "runner.valid_fraction"),
    (["runner.valid_fraction=0.1", "runner.valid_data_dir=/tmp"], "keep one"),
])
def test_bad_valid_fraction_is_a_config_error(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_data(synthetic_config(tmp_path, *overrides), train=True, test=False, valid=True)
