import copy
from pathlib import Path

import pytest
import yaml

from recstack.config import PADDLEREC_RUNTIME_KEYS, HyperParameters, RunConfig, load_config
from recstack.errors import ConfigError

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))

# PaddleRec's models/rank/deepfm/config.yaml, verbatim in layout and keys, plus `model: deepfm`.
PADDLEREC_DEEPFM = """
# global settings

runner:
  train_data_dir: "data/sample_data/train"
  train_reader_path: "criteo_reader" # importlib format
  use_gpu: False
  use_auc: True
  train_batch_size: 2
  epochs: 3
  print_interval: 2
  #model_init_path: "output_model/0" # init model
  model_save_path: "output_model_sample"
  test_data_dir: "data/sample_data/train"
  infer_reader_path: "criteo_reader" # importlib format
  infer_batch_size: 2
  infer_load_path: "output_model_sample"
  infer_start_epoch: 0
  infer_end_epoch: 3
  #use inference save model
  use_inference: False
  save_inference_feed_varnames: ["C1","C2","C3","C4","C5","C6","C7","C8","C9","C10","C11","C12","C13","C14","C15","C16","C17","C18","C19","C20","C21","C22","C23","C24","C25","C26","dense_input"]
  save_inference_fetch_varnames: ["sigmoid_0.tmp_0"]
  #use fleet
  use_fleet: False

# hyper parameters of user-defined network
hyper_parameters:
  # optimizer config
  optimizer:
    class: Adam
    learning_rate: 0.001
    strategy: async
  # user-defined <key, value> pairs
  sparse_inputs_slots: 27
  sparse_feature_number: 1000001
  sparse_feature_dim: 10
  dense_input_dim: 13
  fc_sizes: [400, 400, 400]
  distributed_embedding: 0
"""

BASE = {
    "model": "deepfm",
    "runner": {"train_data_dir": "data/train", "train_batch_size": 512, "epochs": 1},
    "hyper_parameters": {"optimizer": {"class": "Adam", "learning_rate": 0.001}, "fc_sizes": [400, 400]},
}


def write(tmp_path: Path, raw: dict | str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw))
    return path


def edited(section: str | None, **values) -> dict:
    raw = copy.deepcopy(BASE)
    (raw if section is None else raw[section]).update(values)
    return raw


def config_error(tmp_path: Path, raw: dict | str, overrides: list[str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, raw), overrides)
    return str(info.value)


# ---------------------------------------------------------------- loading


def test_loads_yaml_file(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert isinstance(cfg, RunConfig)
    assert cfg.model == "deepfm"
    assert cfg.runner.train_batch_size == 512 and cfg.runner.epochs == 1
    assert cfg.hyper_parameters.fc_sizes == [400, 400]
    assert cfg.hyper_parameters.optimizer.class_ == "Adam"
    assert cfg.hyper_parameters.optimizer.learning_rate == pytest.approx(0.001)
    assert cfg.config_path == (tmp_path / "config.yaml").resolve()
    assert cfg.ignored_keys == []
    # untouched keys keep their defaults
    assert cfg.runner.use_auc is True and cfg.hyper_parameters.sparse_feature_dim == 10


def test_dump_round_trips(tmp_path):
    cfg = load_config(write(tmp_path, edited("runner", model_save_path="out")), ["runner.epochs=4"])
    again = load_config(raw=cfg.dump())
    assert again.dump() == cfg.dump()
    assert cfg.dump()["hyper_parameters"]["optimizer"]["class"] == "Adam"


def test_empty_sections_take_defaults(tmp_path):
    cfg = load_config(write(tmp_path, "model: lr\nrunner:\nhyper_parameters:\n"))
    assert cfg.runner.train_batch_size == 2048
    assert cfg.hyper_parameters.fc_sizes == [400, 400, 400]


def test_raw_dict_is_not_mutated():
    raw = copy.deepcopy(BASE)
    load_config(raw=raw, overrides=["hyper_parameters.optimizer.learning_rate=0.5", "runner.epochs=9"])
    assert raw == BASE


# ---------------------------------------------------------------- unknown keys


@pytest.mark.parametrize("section, key, full, closest", [
    ("runner", "train_batch_sise", "runner.train_batch_sise", "train_batch_size"),
    ("runner", "epoch", "runner.epoch", "epochs"),
    ("hyper_parameters", "sparse_feature_dimm", "hyper_parameters.sparse_feature_dimm", "sparse_feature_dim"),
    ("hyper_parameters", "fc_size", "hyper_parameters.fc_size", "fc_sizes"),
])
def test_unknown_key_names_full_key_and_closest(tmp_path, section, key, full, closest):
    message = config_error(tmp_path, edited(section, **{key: 1}))
    assert f"'{full}'" in message
    assert f"did you mean '{closest}'" in message


def test_unknown_optimizer_key(tmp_path):
    raw = edited(None)
    raw["hyper_parameters"]["optimizer"]["learning_rat"] = 0.1
    message = config_error(tmp_path, raw)
    assert "'hyper_parameters.optimizer.learning_rat'" in message
    assert "did you mean 'learning_rate'" in message


def test_unknown_top_level_key(tmp_path):
    message = config_error(tmp_path, edited(None, runer={"epochs": 1}))
    assert "'runer'" in message and "did you mean 'runner'" in message


def test_unknown_key_without_close_match_has_no_hint(tmp_path):
    message = config_error(tmp_path, edited("runner", zzzzqqq=1))
    assert "'runner.zzzzqqq'" in message and "did you mean" not in message


# ---------------------------------------------------------------- wrong types


@pytest.mark.parametrize("section, key, value, full, expected", [
    ("runner", "train_batch_size", "abc", "runner.train_batch_size", "int"),
    ("runner", "use_auc", "maybe", "runner.use_auc", "bool"),
    ("runner", "infer_end_epoch", "last", "runner.infer_end_epoch", "int"),
    ("runner", "data_format", "csv", "runner.data_format", "one of 'slot', 'criteo', 'synthetic'"),
    ("runner", "multi_value_slots", "x", "runner.multi_value_slots", "mapping of str to int"),
    ("hyper_parameters", "fc_sizes", "x", "hyper_parameters.fc_sizes", "list of int"),
    ("hyper_parameters", "sparse_feature_dim", 2.5, "hyper_parameters.sparse_feature_dim", "int"),
    ("hyper_parameters", "dropout", "lots", "hyper_parameters.dropout", "float"),
])
def test_wrong_type_names_key_and_expected_type(tmp_path, section, key, value, full, expected):
    message = config_error(tmp_path, edited(section, **{key: value}))
    assert f"'{full}': expected {expected}," in message
    assert repr(value) in message


@pytest.mark.parametrize("key, value, bound", [
    ("test_fraction", 1.5, "less than 1"),
    ("valid_fraction", -0.1, "greater than or equal to 0"),
    ("precise_bn_batches", -2, "greater than or equal to 0"),
])
def test_out_of_range_names_key_and_bound(tmp_path, key, value, bound):
    message = config_error(tmp_path, edited("runner", **{key: value}))
    assert f"'runner.{key}': got {value}; input should be {bound}" in message


def test_wrong_list_element_names_index_and_element_type(tmp_path):
    message = config_error(tmp_path, edited("hyper_parameters", fc_sizes=[64, "wide"]))
    assert "'hyper_parameters.fc_sizes.1': expected int," in message


def test_wrong_optimizer_class(tmp_path):
    raw = edited(None)
    raw["hyper_parameters"]["optimizer"]["class"] = "Adamax"
    message = config_error(tmp_path, raw)
    assert "'hyper_parameters.optimizer.class'" in message
    assert "expected one of 'SGD', 'Adam', 'Adagrad', 'AdamW'" in message
    assert "'Adamax'" in message


def test_section_that_is_not_a_mapping(tmp_path):
    assert "'runner'" in config_error(tmp_path, edited(None, runner=[1, 2]))
    assert "'hyper_parameters'" in config_error(tmp_path, edited(None, hyper_parameters=3))
    assert "'hyper_parameters.optimizer'" in config_error(tmp_path, edited("hyper_parameters", optimizer="x"))


def test_several_errors_are_all_reported(tmp_path):
    message = config_error(tmp_path, edited("runner", epochs="x", train_batch_sise=1))
    assert "'runner.epochs'" in message and "'runner.train_batch_sise'" in message


def test_lax_yaml_values_coerce(tmp_path):
    cfg = load_config(write(tmp_path, edited("runner", train_batch_size="64", use_auc="false")))
    assert cfg.runner.train_batch_size == 64 and cfg.runner.use_auc is False


# ---------------------------------------------------------------- model name


def test_unknown_model_suggests_closest(tmp_path):
    message = config_error(tmp_path, edited(None, model="deepfn"))
    assert "deepfn" in message and "did you mean 'deepfm'" in message


def test_unknown_model_far_from_any_lists_known_models(tmp_path):
    message = config_error(tmp_path, edited(None, model="zzzz"))
    assert "known models:" in message and "wide_deep" in message


@pytest.mark.parametrize("model", [None, 3])
def test_missing_model_errors(tmp_path, model):
    raw = edited(None)
    if model is None:
        raw.pop("model")
    else:
        raw["model"] = model
    assert "'model' is required" in config_error(tmp_path, raw)


# ---------------------------------------------------------------- -o overrides


def test_section_overrides(tmp_path):
    cfg = load_config(write(tmp_path, BASE), [
        "runner.epochs=3", "hyper_parameters.fc_sizes=[64,32]", "runner.use_auc=false",
        "hyper_parameters.optimizer.learning_rate=0.05", "hyper_parameters.optimizer.class=SGD",
    ])
    assert cfg.runner.epochs == 3
    assert cfg.hyper_parameters.fc_sizes == [64, 32]
    assert cfg.runner.use_auc is False
    assert cfg.hyper_parameters.optimizer.learning_rate == pytest.approx(0.05)
    assert cfg.hyper_parameters.optimizer.class_ == "SGD"


def test_bare_override_finds_its_section(tmp_path):
    path = write(tmp_path, BASE)
    assert load_config(path, ["epochs=3"]).runner.epochs == 3
    # keys the file does not set are found too
    cfg = load_config(path, ["print_interval=7", "sparse_feature_dim=4", "dropout=0.5"])
    assert cfg.runner.print_interval == 7
    assert cfg.hyper_parameters.sparse_feature_dim == 4
    assert cfg.hyper_parameters.dropout == pytest.approx(0.5)


def test_bare_unknown_override_suggests_closest(tmp_path):
    message = config_error(tmp_path, BASE, ["epoch=3"])
    assert "'epoch'" in message and "did you mean 'epochs'" in message


def test_model_override(tmp_path):
    cfg = load_config(write(tmp_path, BASE), ["model=fm"])
    assert cfg.model == "fm"
    raw = edited(None)
    raw.pop("model")
    assert load_config(write(tmp_path, raw), ["model=lr"]).model == "lr"


def test_later_override_wins(tmp_path):
    assert load_config(write(tmp_path, BASE), ["runner.epochs=3", "epochs=5"]).runner.epochs == 5


def test_override_with_unknown_key_or_bad_value(tmp_path):
    message = config_error(tmp_path, BASE, ["runner.train_batch_sise=3"])
    assert "'runner.train_batch_sise'" in message and "did you mean 'train_batch_size'" in message
    assert "'runner.epochs': expected int" in config_error(tmp_path, BASE, ["runner.epochs=many"])
    assert "did you mean 'runner'" in config_error(tmp_path, BASE, ["runer.epochs=3"])


@pytest.mark.parametrize("text", ["runner.epochs", "hyper_parameters.fc_sizes=[64,32"])
def test_malformed_override(tmp_path, text):
    assert text in config_error(tmp_path, BASE, [text])


# ---------------------------------------------------------------- paths


def test_relative_paths_in_file_resolve_against_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "configs" / "rank"
    folder.mkdir(parents=True)
    raw = edited("runner", train_data_dir="../../data/train", test_data_dir="data/test",
                 model_save_path="out", train_reader_path="criteo_reader", infer_load_path="/abs/ckpt")
    path = write(folder, raw)
    monkeypatch.chdir(tmp_path)  # the cwd must not matter for paths written in the file
    cfg = load_config(path)
    assert cfg.runner.train_data_dir == (tmp_path / "data" / "train").resolve()
    assert cfg.runner.test_data_dir == folder.resolve() / "data" / "test"
    assert cfg.runner.model_save_path == folder.resolve() / "out"
    assert cfg.runner.train_reader_path == folder.resolve() / "criteo_reader"
    assert cfg.runner.infer_load_path == Path("/abs/ckpt")


def test_override_paths_resolve_against_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "configs"
    folder.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    cfg = load_config(write(folder, BASE), ["runner.train_data_dir=mydata", "model_save_path=out/m",
                                            "runner.test_data_dir=/abs/test"])
    assert cfg.runner.train_data_dir == work.resolve() / "mydata"
    assert cfg.runner.model_save_path == work.resolve() / "out" / "m"
    assert cfg.runner.test_data_dir == Path("/abs/test")


def test_paths_from_raw_dict_resolve_against_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(raw=edited("runner", train_data_dir="d"))
    assert cfg.runner.train_data_dir == tmp_path.resolve() / "d"
    assert cfg.config_path is None


# ---------------------------------------------------------------- PaddleRec configs


def test_paddlerec_runtime_keys_are_accepted_and_listed(tmp_path):
    raw = edited("runner", use_inference=False, use_fleet=True, reader_type="QueueDataset",
                 sync_mode="async", pipe_command="python reader.py")
    cfg = load_config(write(tmp_path, raw))
    assert cfg.ignored_keys == sorted(["pipe_command", "reader_type", "sync_mode", "use_fleet", "use_inference"])
    assert "use_fleet" not in cfg.dump()["runner"]


def test_every_runtime_key_is_accepted(tmp_path):
    cfg = load_config(write(tmp_path, edited("runner", **{k: 1 for k in PADDLEREC_RUNTIME_KEYS})))
    assert cfg.ignored_keys == sorted(PADDLEREC_RUNTIME_KEYS)


def test_runtime_key_as_override(tmp_path):
    assert load_config(write(tmp_path, BASE), ["use_fleet=true"]).ignored_keys == ["use_fleet"]


def test_paddlerec_deepfm_config_loads_with_model_added(tmp_path):
    path = write(tmp_path, "model: deepfm\n" + PADDLEREC_DEEPFM)
    cfg = load_config(path)
    r, h = cfg.runner, cfg.hyper_parameters
    base = tmp_path.resolve()
    assert r.train_data_dir == base / "data/sample_data/train"
    assert r.test_data_dir == base / "data/sample_data/train"
    assert r.train_reader_path == base / "criteo_reader"
    assert r.infer_reader_path == base / "criteo_reader"
    assert r.model_save_path == base / "output_model_sample"
    assert r.infer_load_path == base / "output_model_sample"
    assert (r.use_gpu, r.use_auc) == (False, True)
    assert (r.train_batch_size, r.epochs, r.print_interval, r.infer_batch_size) == (2, 3, 2, 2)
    assert (r.infer_start_epoch, r.infer_end_epoch) == (0, 3)
    assert h.optimizer.class_ == "Adam" and h.optimizer.strategy == "async"
    assert h.optimizer.learning_rate == pytest.approx(0.001)
    assert (h.sparse_inputs_slots, h.sparse_feature_number, h.sparse_feature_dim, h.dense_input_dim) == \
        (27, 1000001, 10, 13)
    assert h.fc_sizes == [400, 400, 400] and h.distributed_embedding == 0
    assert cfg.ignored_keys == ["save_inference_feed_varnames", "save_inference_fetch_varnames",
                                "use_fleet", "use_inference"]


def test_paddlerec_config_without_model_errors(tmp_path):
    assert "'model' is required" in config_error(tmp_path, PADDLEREC_DEEPFM)


def test_paddlerec_config_with_model_override(tmp_path):
    cfg = load_config(write(tmp_path, PADDLEREC_DEEPFM), ["model=deepfm", "epochs=1"])
    assert cfg.model == "deepfm" and cfg.runner.epochs == 1


# ---------------------------------------------------------------- files


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError, match=str(tmp_path)):
        load_config(tmp_path)


def test_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "runner: [1, 2\n"))


def test_top_level_must_be_mapping(tmp_path):
    with pytest.raises(ConfigError, match="top level"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_shipped_configs_exist():
    assert CONFIGS, "configs/ holds no yaml files"


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_loads(path):
    cfg = load_config(path)
    assert cfg.model and isinstance(cfg.hyper_parameters, HyperParameters)
