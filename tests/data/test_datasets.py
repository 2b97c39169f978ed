"""From a config to a schema and cached train/test stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recstack.config import load_config
from recstack.data.datasets import build_schema, list_files, load_data
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.errors import ConfigError

SLOT_SAMPLE = Path("/work/shared/data/criteo/paddlerec_slot_sample_train.txt")


def config(tmp_path: Path, runner: dict | None = None, hyper: dict | None = None):
    return load_config(raw={"model": "dnn", "runner": {"cache_dir": str(tmp_path / "cache"), **(runner or {})},
                            "hyper_parameters": hyper or {}})


def test_schema_from_paddlerec_slot_keys(tmp_path):
    cfg = config(tmp_path, {"sparse_slots": "click 1 2 3", "dense_slots": "dense_feature:13"},
                 {"sparse_feature_number": 5000})
    schema = build_schema(cfg)
    assert schema == FeatureSchema(sparse=(SparseSlot("1"), SparseSlot("2"), SparseSlot("3")), num_dense=13,
                                   labels=("click",), num_embeddings=5000, dense_names=("dense_feature",))
    assert FeatureSchema.from_json(schema.to_json()) == schema


def test_schema_dense_slot_name_and_width(tmp_path):
    cfg = config(tmp_path, {"sparse_slots": "label a b", "dense_slots": "feats:4"}, {"dense_input_dim": 13})
    schema = build_schema(cfg)
    assert schema.labels == ("label",) and [s.name for s in schema.sparse] == ["a", "b"]
    assert schema.num_dense == 4 and schema.dense_names == ("feats",)


def test_schema_from_sparse_inputs_slots(tmp_path):
    slot_cfg = config(tmp_path, {"data_format": "slot"}, {"sparse_inputs_slots": 4, "dense_input_dim": 5})
    schema = build_schema(slot_cfg)
    assert [s.name for s in schema.sparse] == ["1", "2", "3"] and schema.num_dense == 5
    assert schema.labels == ("click",) and schema.dense_names == ("dense_feature",)
    criteo_cfg = config(tmp_path, {"data_format": "criteo"}, {"sparse_inputs_slots": 4})
    assert [s.name for s in build_schema(criteo_cfg).sparse] == ["C1", "C2", "C3"]
    default = build_schema(config(tmp_path))
    assert len(default.sparse) == 26 and default.num_dense == 13 and default.num_embeddings == 1000001


def test_schema_multi_value_slots(tmp_path):
    cfg = config(tmp_path, {"sparse_slots": "click 1 2 3", "multi_value_slots": {"2": 5}})
    schema = build_schema(cfg)
    assert schema.sparse == (SparseSlot("1"), SparseSlot("2", 5), SparseSlot("3"))
    assert [s.name for s in schema.single_slots] == ["1", "3"] and [s.name for s in schema.multi_slots] == ["2"]


@pytest.mark.parametrize("dense_slots", ["dense_feature", "dense_feature:", "dense_feature:x", "dense_feature:-1",
                                         "dense_feature:1.5"])
def test_bad_dense_slots(tmp_path, dense_slots):
    cfg = config(tmp_path, {"sparse_slots": "click 1 2", "dense_slots": dense_slots})
    with pytest.raises(ConfigError, match="runner.dense_slots") as info:
        build_schema(cfg)
    assert repr(dense_slots) in str(info.value)


@pytest.mark.parametrize("multi, words", [
    ({"9": 3}, ("runner.multi_value_slots", "'9'")),
    ({"click": 3}, ("runner.multi_value_slots", "'click'")),
    ({"2": 0}, ("runner.multi_value_slots", "'2'")),
    ({"2": -2}, ("runner.multi_value_slots", "'2'")),
])
def test_bad_multi_value_slots(tmp_path, multi, words):
    cfg = config(tmp_path, {"sparse_slots": "click 1 2", "multi_value_slots": multi})
    with pytest.raises(ConfigError) as info:
        build_schema(cfg)
    for word in words:
        assert word in str(info.value)


def test_slot_data_end_to_end(tmp_path):
    cfg = config(tmp_path, {"data_format": "slot", "train_data_dir": str(SLOT_SAMPLE),
                            "test_data_dir": str(SLOT_SAMPLE)})
    bundle = load_data(cfg)
    assert bundle.train.num_rows == bundle.test.num_rows == 80
    assert bundle.train.columns["sparse"].shape == (80, 26)
    first = SLOT_SAMPLE.read_text().splitlines()[0].split()
    assert bundle.train.columns["sparse"][0, 0] == int(first[14].split(":")[1])
    assert bundle.info == {}
    only_test = load_data(cfg, train=False)
    assert only_test.train is None and only_test.test.num_rows == 80


def write_criteo(path: Path, n: int) -> Path:
    path.write_text("".join(f"{i % 2}\t{i}\t{i}\t{i:08x}\t{i % 3:08x}\n" for i in range(n)))
    return path


CRITEO_HYPER = {"dense_input_dim": 2, "sparse_inputs_slots": 3, "sparse_feature_number": 1000}


def test_test_fraction_splits_train_rows(tmp_path):
    train = write_criteo(tmp_path / "train.txt", 10)
    cfg = config(tmp_path, {"data_format": "criteo", "train_data_dir": str(train), "test_fraction": 0.2},
                 CRITEO_HYPER)
    bundle = load_data(cfg)
    assert bundle.train.num_rows == 8 and bundle.test.num_rows == 2
    np.testing.assert_array_equal(bundle.train.columns["line"], np.arange(1, 9))
    np.testing.assert_array_equal(bundle.test.columns["line"], [9, 10])  # the last fraction is held out
    np.testing.assert_allclose(bundle.test.columns["dense"][:, 0], np.log1p([8, 9]), rtol=1e-6)
    no_test = load_data(cfg, test=False)
    assert no_test.train.num_rows == 8 and no_test.test is None


def test_test_fraction_with_test_dir_is_an_error(tmp_path):
    train = write_criteo(tmp_path / "train.txt", 10)
    cfg = config(tmp_path, {"data_format": "criteo", "train_data_dir": str(train), "test_data_dir": str(train),
                            "test_fraction": 0.3}, CRITEO_HYPER)
    with pytest.raises(ConfigError, match="test_fraction"):
        load_data(cfg)


@pytest.mark.parametrize("fraction", [1.0, 1.5, -0.1])
def test_test_fraction_out_of_range(tmp_path, fraction):
    train = write_criteo(tmp_path / "train.txt", 10)
    with pytest.raises(ConfigError, match=rf"'runner.test_fraction': got {fraction}; input should be"):
        config(tmp_path, {"data_format": "criteo", "train_data_dir": str(train), "test_fraction": fraction},
               CRITEO_HYPER)


def test_vocab_encoding_through_config(tmp_path):
    train = write_criteo(tmp_path / "train.txt", 9)
    cfg = config(tmp_path, {"data_format": "criteo", "train_data_dir": str(train), "test_data_dir": str(train),
                            "categorical_encoding": "vocab", "min_count": 2}, CRITEO_HYPER)
    bundle = load_data(cfg)
    # C1 values are all distinct (all rare -> OOV row 0); C2 takes 0, 1, 2 three times each
    assert bundle.schema.num_embeddings == 1 + 4
    np.testing.assert_array_equal(np.asarray(bundle.train.columns["sparse"]),
                                  [[0, 1 + 1 + (i % 3)] for i in range(9)])
    np.testing.assert_array_equal(np.asarray(bundle.test.columns["sparse"]), np.asarray(bundle.train.columns["sparse"]))
    assert len(list((tmp_path / "cache" / "vocab").glob("*.npz"))) == 1
    again = load_data(cfg)  # the saved vocabulary is reused
    assert again.schema.num_embeddings == 5


def test_synthetic_yields_oracle(tmp_path):
    cfg = config(tmp_path, {"data_format": "synthetic", "synthetic_train_rows": 300, "synthetic_test_rows": 100,
                            "synthetic_seed": 5}, {"sparse_inputs_slots": 6, "dense_input_dim": 3,
                                                   "sparse_feature_number": 5000})
    bundle = load_data(cfg)
    oracle = bundle.info["oracle"]
    assert 0.5 < oracle["oracle_auc_test"] <= 1.0
    assert oracle["train_rows"] == 300 and oracle["test_rows"] == 100 and oracle["seed"] == 5
    assert bundle.train.num_rows == 300 and bundle.test.num_rows == 100
    assert bundle.train.columns["sparse"].shape == (300, 5) and bundle.train.columns["dense"].shape == (300, 3)
    assert [s.name for s in bundle.schema.sparse] == ["C1", "C2", "C3", "C4", "C5"]
    assert abs(float(np.mean(bundle.train.columns["labels"])) - oracle["ctr_train"]) < 1e-6
    assert str(tmp_path / "cache") in str(list((tmp_path / "cache").glob("synthetic/*"))[0])


def test_synthetic_with_test_fraction(tmp_path):
    cfg = config(tmp_path, {"data_format": "synthetic", "synthetic_train_rows": 200, "synthetic_test_rows": 50,
                            "test_fraction": 0.25}, {"sparse_inputs_slots": 4, "dense_input_dim": 2})
    bundle = load_data(cfg)
    assert bundle.train.num_rows == 150 and bundle.test.num_rows == 50 and "oracle" in bundle.info


def test_missing_paths(tmp_path):
    with pytest.raises(ConfigError, match="runner.train_data_dir is not set"):
        load_data(config(tmp_path))
    with pytest.raises(ConfigError, match="runner.train_data_dir.*does not exist"):
        load_data(config(tmp_path, {"train_data_dir": str(tmp_path / "nope")}))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("no data")
    with pytest.raises(ConfigError, match="runner.train_data_dir.*holds no data files"):
        list_files(tmp_path / "empty", "train_data_dir")
