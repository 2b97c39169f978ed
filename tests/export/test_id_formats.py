"""Artifacts of id formats (PaddleRec slot text with a multi-valued slot, libfm): files and JSON rows score alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from recstack.config import load_config
from recstack.data.batch import Batch
from recstack.data.datasets import build_schema
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.errors import RecstackError
from recstack.export.commands import export_checkpoint, export_model, predict_files
from recstack.export.features import RequestError
from recstack.export.predictor import Predictor
from recstack.train.checkpoint import save_checkpoint
from recstack.train.recipes import infer, make_model
from recstack.train.trainer import checkpoint_dir

REPO = Path(__file__).resolve().parents[2]
SLOT_SAMPLE = REPO.parent / "shared" / "data" / "criteo" / "paddlerec_slot_sample_train.txt"


def slot_rows(path: Path) -> list[dict]:
    """Each line as a JSON row: dense_feature list, single slots as ints, slot "26" as a one-id bag."""
    rows = []
    for line in path.read_text().splitlines():
        tokens = [t.split(":") for t in line.split()]
        row: dict = {"dense_feature": [float(v) for k, v in tokens if k == "dense_feature"]}
        row.update({k: int(v) for k, v in tokens if k not in ("click", "dense_feature")})
        row["26"] = [row["26"]]
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("slot")
    cfg = load_config(REPO / "configs" / "rank" / "slot_sample.yaml", [
        "model=dnn", f"runner.model_save_path={tmp / 'ckpt'}", f"runner.cache_dir={tmp / 'cache'}",
        f"runner.infer_output_dir={tmp / 'infer'}", "runner.epochs=1", "runner.infer_end_epoch=1",
        "runner.progress_bar=false", "runner.bf16=false", "hyper_parameters.fc_sizes=[16]",
        "hyper_parameters.sparse_feature_dim=4", "runner.multi_value_slots={'26': 3}"])
    torch.manual_seed(0)  # an untrained checkpoint: what matters is that every path computes the same scores
    schema = build_schema(cfg)
    save_checkpoint(checkpoint_dir(cfg.runner.model_save_path, 0), make_model(cfg, schema), None, schema, cfg.dump())
    infer(cfg)
    export_checkpoint(cfg, tmp / "artifact")
    return tmp / "artifact", tmp / "infer" / "0" / "predictions.csv"


def test_slot_files_and_rows_match_offline_inference(artifact, tmp_path):
    folder, offline_csv = artifact
    predictor = Predictor(folder)
    spec = predictor.manifest["preprocessing"]
    assert spec["data_format"] == "slot" and spec["sparse"]["multi_valued"] == {"26": 3}
    predict_files(folder, [SLOT_SAMPLE], tmp_path / "scores.csv")
    ours = pl.read_csv(tmp_path / "scores.csv")
    joined = pl.read_csv(offline_csv).join(ours, on="line")
    assert ours.height == 80 and joined.height == 20  # test_fraction 0.25 of the 80 sample lines
    assert ours["click"].max() - ours["click"].min() > 100 * 1e-5  # scores differ: the comparisons can fail
    np.testing.assert_allclose(joined["click"].to_numpy(), joined["click_prob"].to_numpy(), atol=1e-5)
    np.testing.assert_allclose(predictor.predict_rows(slot_rows(SLOT_SAMPLE))[:, 0], ours["click"].to_numpy(),
                               atol=1e-6)


def test_slot_rows_are_checked_like_the_reader(artifact):
    predictor = Predictor(artifact[0])
    row = slot_rows(SLOT_SAMPLE)[0]
    missing_slot = predictor.predict_rows([{**row, "5": None}])  # the reader gives a missing slot id 0
    assert missing_slot.shape == (1, 1)
    cases = [({**row, "3": 1000001}, "rows[0].3", "outside [0, 1000001)"), ({**row, "3": -1}, "rows[0].3", "outside"),
             ({**row, "3": "12"}, "rows[0].3", "integer id"), ({**row, "26": [1, "x"]}, "rows[0].26[1]", "integer id"),
             ({**row, "26": 5}, "rows[0].26", "list"), ({**row, "dense_feature": [0.1]}, "rows[0].dense_feature", "13")]
    for bad, field, words in cases:
        with pytest.raises(RequestError) as caught:
            predictor.predict_rows([bad])
        assert caught.value.field == field and words in str(caught.value)


def test_libfm_files_and_rows_score_alike(tmp_path):
    data = tmp_path / "train.libfm"
    data.write_text("1 3:1 7:1 12:1\n0 2:1 8:1 11:1\n-1 4:1 9:1 15:1\n1 3:1 9:1 11:1\n")
    cfg = load_config(raw={"model": "fm", "runner": {"data_format": "libfm", "train_data_dir": str(data),
                                                     "model_save_path": str(tmp_path / "ckpt")},
                           "hyper_parameters": {"sparse_inputs_slots": 4, "dense_input_dim": 0,
                                                "sparse_feature_number": 20, "sparse_feature_dim": 4}})
    torch.manual_seed(0)
    schema = build_schema(cfg)
    model = make_model(cfg, schema)
    torch.nn.init.normal_(model.linear.weights.weight, std=1.0)  # FM's first-order weights start at zero
    save_checkpoint(checkpoint_dir(cfg.runner.model_save_path, 0), model, None, schema, cfg.dump())
    export_checkpoint(cfg, tmp_path / "artifact")
    predictor = Predictor(tmp_path / "artifact")
    assert predictor.encoder.fields == ["C1", "C2", "C3"]
    from_file = np.concatenate([s for _, s in predictor.iter_file(data)])[:, 0]
    rows = [{"C1": a, "C2": b, "C3": c} for a, b, c in [(3, 7, 12), (2, 8, 11), (4, 9, 15), (3, 9, 11)]]
    np.testing.assert_allclose(predictor.predict_rows(rows)[:, 0], from_file, atol=1e-6)
    assert np.ptp(from_file) > 1e-3
    with pytest.raises(RequestError, match="rows\\[0\\].C2: expected an integer id"):
        predictor.predict_rows([{"C1": 3, "C2": None, "C3": 12}])  # libfm has no missing feature


def test_movielens_artifacts_take_encoded_ids(tmp_path):
    cfg = load_config(raw={"model": "deepfm", "runner": {"data_format": "movielens_ctr"},
                           "hyper_parameters": {"dense_input_dim": 0, "sparse_feature_dim": 4, "fc_sizes": [8]}})
    schema = FeatureSchema(sparse=(SparseSlot("user_id"), SparseSlot("item_id"), SparseSlot("genres", 6)), num_dense=0,
                           num_embeddings=30)
    torch.manual_seed(0)
    model = make_model(cfg, schema)
    export_model(cfg, model, tmp_path / "artifact", {"initialized": True})
    predictor = Predictor(tmp_path / "artifact")
    assert predictor.manifest["preprocessing"]["source_format"] == "movielens_ctr"
    assert predictor.encoder.fields == ["user_id", "item_id", "genres"]
    rows = [{"user_id": 3, "item_id": 17, "genres": [21, 24]}, {"user_id": 4, "item_id": 11, "genres": []}]
    expected = model.predict(model(Batch(dense=torch.zeros(2, 0), sparse=torch.tensor([[3, 17], [4, 11]]),
                                         sequences={"genres": torch.tensor([[21, 24, 0, 0, 0, 0], [0] * 6])})))
    np.testing.assert_allclose(predictor.predict_rows(rows)[:, 0], expected["click"].detach().numpy(), atol=1e-6)
    with pytest.raises(RecstackError, match="JSON rows of encoded ids"):
        next(predictor.iter_file(SLOT_SAMPLE))
