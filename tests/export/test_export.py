"""Export: every rank model's exported graph agrees with PyTorch; the manifest reproduces the reader."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from sklearn.metrics import roc_auc_score

from recstack.config import load_config
from recstack.data.datasets import build_schema
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.errors import RecstackError
from recstack.export.commands import export_checkpoint, export_model, predict_files
from recstack.export.features import RequestError
from recstack.export.graph import export_graph, input_names, random_inputs, reference_scores, ScoringGraph
from recstack.export.predictor import Predictor
from recstack.export.runtime import open_runtime
from recstack.models.base import available_models, build_model, model_params_class
from recstack.train.recipes import infer, make_model, train

REPO = Path(__file__).resolve().parents[2]
CRITEO_HEAD = REPO.parent / "shared" / "data" / "criteo" / "kaggle_train_head900.txt.gz"
RANK_MODELS = sorted(n for n, (cls, _) in available_models().items() if cls.__module__.startswith("recstack.models.rank."))
# two single-valued slots, one bag, two dense features: every input kind a rank graph takes
SCHEMA = FeatureSchema(sparse=(SparseSlot("a"), SparseSlot("b"), SparseSlot("c"), SparseSlot("tags", 3)),
                       num_dense=2, num_embeddings=50)


def tiny_model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    params = model_params_class(name).model_validate({"sparse_feature_dim": 4, "fc_sizes": [16, 8]})
    with warnings.catch_warnings():  # e.g. FNN: "no fm_init_path, random init" is expected here
        warnings.simplefilter("ignore")
        model = build_model(name, SCHEMA, params)
    for module in model.modules():  # spread the scores, so a mis-wired input cannot pass unnoticed
        if isinstance(module, torch.nn.Embedding):
            torch.nn.init.normal_(module.weight, std=0.5)
    return model.eval()


def test_every_model_family_is_covered():
    assert len(RANK_MODELS) >= 30 and {"deepfm", "dcn_v2", "sign", "xdeepfm"} <= set(RANK_MODELS)


# Every rank model, in the default suite (SIGN's index_add with repeated indices needs the dynamo exporter:
# torch.export + onnxscript take 6-10 s here, worth it to keep "every model exports" checked on each run)
@pytest.mark.parametrize("name", RANK_MODELS)
def test_exported_graph_agrees_with_pytorch_to_1e_5(name, tmp_path):
    model = tiny_model(name)
    info = export_graph(model, tmp_path)
    run = open_runtime(info["runtime"], tmp_path / info["file"], input_names(SCHEMA))
    graph = ScoringGraph(model).eval()
    for rows in (1, 64):  # the graph was traced at 8 rows: other batch sizes must work too
        inputs = random_inputs(SCHEMA, rows, seed=100 + rows)
        expected = reference_scores(graph, inputs)
        assert run(inputs).shape == (rows, 1)
        np.testing.assert_allclose(run(inputs), expected, atol=1e-5, rtol=0)
    scores = reference_scores(graph, random_inputs(SCHEMA, 64))
    assert scores.max() - scores.min() > 10 * 1e-5  # rows differ by more than the tolerance: not vacuous


def test_torchscript_fallback_agrees_too(tmp_path):
    model = tiny_model("deepfm")
    info = export_graph(model, tmp_path, runtimes=("torchscript",))
    assert info["runtime"] == "torchscript" and (tmp_path / "model.pt").is_file()
    run = open_runtime("torchscript", tmp_path / "model.pt", input_names(SCHEMA))
    inputs = random_inputs(SCHEMA, 33, seed=5)
    np.testing.assert_allclose(run(inputs), reference_scores(ScoringGraph(model), inputs), atol=1e-5, rtol=0)


def criteo_config(tmp_path: Path, *overrides: str):
    return load_config(REPO / "configs" / "rank" / "deepfm.yaml", [
        f"runner.model_save_path={tmp_path / 'ckpt'}", f"runner.cache_dir={tmp_path / 'cache'}",
        "runner.progress_bar=false", "runner.bf16=false", "hyper_parameters.sparse_feature_number=10007",
        "hyper_parameters.fc_sizes=[32, 16]", "runner.infer_output_dir=" + str(tmp_path / "infer"), *overrides])


def tsv_rows(path: Path, names: list[str]) -> tuple[list[dict], np.ndarray]:
    """The raw lines of a Criteo file as JSON request rows (empty -> null), and their labels."""
    rows, labels = [], []
    for line in gzip.open(path, "rt").read().splitlines():
        cells = line.split("\t")
        labels.append(int(cells[0]))
        rows.append({n: (None if c == "" else int(c) if n.startswith("I") else c) for n, c in zip(names, cells[1:])})
    return rows, np.array(labels)


@pytest.mark.parametrize("overrides", [(), ("runner.categorical_encoding=vocab", "runner.dense_transform=minmax")],
                         ids=["hash-log1p", "vocab-minmax"])
def test_artifact_reproduces_offline_inference_from_files_and_json_rows(overrides, tmp_path):
    cfg = criteo_config(tmp_path, *overrides)
    train(cfg)
    infer(cfg)
    manifest = export_checkpoint(cfg, tmp_path / "artifact")
    spec = manifest["preprocessing"]
    assert spec["dense"]["transform"] == cfg.runner.dense_transform
    if overrides:  # vocab + minmax
        assert spec["sparse"]["encoding"] == "vocab" and (tmp_path / "artifact" / "vocabulary.npz").is_file()
        assert len(spec["dense"]["min"]) == 13
    else:
        assert spec["sparse"]["hash"] == {"function": "splitmix64", "key": "(value + 1) * 64 + field_index",
                                          "missing_value": -1, "modulo": 10007}
    # the file path: same scores as `recstack infer` wrote for the held-out rows (by line)
    result = predict_files(tmp_path / "artifact", [CRITEO_HEAD], tmp_path / "scores.csv")
    ours = pl.read_csv(tmp_path / "scores.csv")
    offline = pl.read_csv(tmp_path / "infer" / "0" / "predictions.csv")
    joined = offline.join(ours, on="line")
    assert result["rows"] == ours.height == 900 and joined.height == offline.height == 180
    np.testing.assert_allclose(joined["click"].to_numpy(), joined["click_prob"].to_numpy(), atol=1e-5)
    # the JSON path: rows carrying the same raw values give the same scores as their file lines
    predictor = Predictor(tmp_path / "artifact")
    rows, labels = tsv_rows(CRITEO_HEAD, predictor.encoder.fields)
    np.testing.assert_allclose(predictor.predict_rows(rows)[:, 0], ours["click"].to_numpy(), atol=1e-6)
    assert abs(result["click/auc"] - roc_auc_score(labels, ours["click"].to_numpy())) < 1e-9
    assert np.ptp(ours["click"].to_numpy()) > 1e-3  # scores differ by far more than the tolerances above


def test_bad_rows_name_the_row_and_field(tmp_path):
    cfg = criteo_config(tmp_path)
    export_model(cfg, make_model(cfg, build_schema(cfg)), tmp_path / "artifact", {"initialized": True})
    predictor = Predictor(tmp_path / "artifact")
    good = predictor.encoder.example_rows(3)
    cases = [({k: v for k, v in good[0].items() if k != "C7"}, "rows[1].C7", "missing field"),
             ({**good[0], "C3": "xyz"}, "rows[1].C3", "hex"),
             ({**good[0], "I2": 1.5}, "rows[1].I2", "integer"),
             ({**good[0], "I4": True}, "rows[1].I4", "got bool"),
             ({**good[0], "C1": "ab\tcd"}, "rows[1].C1", "tabs"),
             ("not a row", "rows[1]", "object")]
    for bad, field, words in cases:
        with pytest.raises(RequestError) as caught:
            predictor.predict_rows([good[1], bad])
        assert caught.value.field == field and words in str(caught.value)


def test_export_without_a_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(RecstackError, match="holds no checkpoint"):
        export_checkpoint(criteo_config(tmp_path), tmp_path / "artifact")
    with pytest.raises(RecstackError, match="no manifest.json"):
        Predictor(tmp_path)
