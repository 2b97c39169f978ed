"""PaddleRec-style `config.yaml` -> typed, validated run configuration.

A config has PaddleRec's two sections, `runner` and `hyper_parameters`, plus a top-level `model`
naming a registered model. `-o section.key=value` overrides any key (values are parsed as YAML, so
lists and booleans work; a bare `key=value` is accepted when the key lives in one section only).
Relative paths in the file resolve against the file's folder; relative paths given as overrides
resolve against the working directory. Unknown keys and wrong types raise `ConfigError` naming the
key, the closest valid key and the expected type.
"""

from __future__ import annotations

import copy
import difflib
import os
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recstack.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)


class OptimizerConfig(Section):
    class_: Literal["SGD", "Adam", "Adagrad", "AdamW"] = Field("Adam", alias="class")
    learning_rate: float = 0.001
    weight_decay: float = 0.0  # L2 / decoupled decay on dense (non-embedding) parameters
    embedding_l2: float = 0.0  # L2 on the embedding rows looked up in a batch
    # FuxiCTR's embedding_regularizer: l2 / 2 * ||table||^2 over every embedding table, every step
    # (rows not in the batch decay too); needs dense gradients, so sparse: false
    embedding_table_l2: float = 0.0
    sparse: bool = True  # sparse gradients for embedding tables: touch only looked-up rows (2x faster here)
    # Rescale all gradients together so their global L2 norm is at most this before each step; 0 = off.
    # Needs dense gradients (sparse: false).
    clip_grad_norm: float = Field(0.0, ge=0)
    strategy: str | None = None  # PaddleRec parameter-server setting; accepted, no effect here


class HyperParameters(Section):
    """Keys every model understands; a model adds its own keys by subclassing."""

    optimizer: OptimizerConfig = OptimizerConfig()
    sparse_feature_number: int = 1000001
    sparse_feature_dim: int = 10
    embedding_init_std: float = 1e-2  # embedding tables start at N(0, std^2); FuxiCTR's BARS runs use 1e-4
    dense_input_dim: int = 13
    sparse_inputs_slots: int = 27  # PaddleRec counts the label slot too: 26 sparse slots + click
    fc_sizes: list[int] = [400, 400, 400]
    dropout: float = 0.0
    batch_norm: bool = True  # BatchNorm in MLPs: +0.01 test AUC for DeepFM in one epoch (docs/quality.md)
    distributed_embedding: int = 0  # PaddleRec flag; accepted, no effect here


# Keys PaddleRec configs carry for its own runtime; accepted so configs load unchanged, unused here.
PADDLEREC_RUNTIME_KEYS = (
    "use_inference", "save_inference_feed_varnames", "save_inference_fetch_varnames", "use_fleet",
    "use_visual", "sync_mode", "split_file_list", "pipe_command", "reader_type", "reader_thread_num",
    "infer_reader_type", "train_thread_num", "geo_step", "use_xpu", "use_npu",
)


class RunnerConfig(Section):
    # PaddleRec keys
    train_data_dir: Path | None = None
    train_reader_path: Path | None = None
    train_batch_size: int = 2048
    model_save_path: Path = Path("output_model")
    epochs: int = 1
    print_interval: int = 100
    test_data_dir: Path | None = None
    valid_data_dir: Path | None = None  # evaluated after every epoch; drives early stopping
    infer_reader_path: Path | None = None
    infer_batch_size: int = 8192
    infer_load_path: Path | None = None
    infer_start_epoch: int = 0
    infer_end_epoch: int | None = None
    use_gpu: bool = False
    use_auc: bool = True
    model_init_path: Path | None = None
    seed: int = 2021
    thread_num: int | None = None
    # recstack data keys
    data_format: Literal["slot", "criteo", "synthetic", "libfm", "movielens_ctr",
                         "user_items", "movielens_sequence", "diginetica_sessions",
                         "tagspace_csv", "senta", "dssm_dense", "simnet_slots", "letor", "class_pairs",
                         "synthetic_text_pairs"
                         ] = "slot"  # user_items..diginetica_sessions: recall data; tagspace_csv..: text models
    sparse_slots: str | None = None  # PaddleRec 1.x: "click 1 2 ... 26" (label first)
    dense_slots: str | None = None  # PaddleRec 1.x: "dense_feature:13"
    multi_value_slots: dict[str, int] = {}  # slot -> max length; other slots hold one id
    dense_transform: Literal["log1p", "minmax"] = "log1p"
    categorical_encoding: Literal["hash", "vocab"] = "hash"
    min_count: int = 1  # vocab encoding: values seen fewer times share the field's OOV id
    skip_bad_lines: bool = False
    cache_dir: Path | None = None  # default: $RECSTACK_CACHE or ~/.cache/recstack
    synthetic_train_rows: int = 200_000
    synthetic_test_rows: int = 50_000
    synthetic_seed: int = 2024
    synthetic_cardinalities: list[int] | None = None  # default: Criteo's, one per sparse slot
    # >0: no test_data_dir, hold out the last fraction of the train files
    test_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    # recstack training / output keys
    save_predictions: bool = True
    infer_output_dir: Path | None = None  # default: model_save_path
    num_threads_loader: int = 1
    progress_bar: bool = True
    bf16: bool | Literal["auto"] = "auto"  # bfloat16 autocast in MLPs; auto: on where the CPU has BF16 units
    early_stop_patience: int = 0  # >0: stop after this many epochs without a better validation AUC
    # recall models (recstack/train/recall.py): top-K cut-offs, full ranking or 1 target + N sampled negatives
    topk: list[int] = [10, 20]
    eval_protocol: Literal["full", "sampled"] = "full"
    eval_negatives: int = 100  # sampled protocol: negatives per user
    eval_interval: int = 1  # recall: evaluate (and checkpoint) every this many epochs, and after the last
    lr_decay_on_plateau: float = 1.0  # <1: multiply the learning rate by this after an epoch without a better one
    restore_best_weights: bool = False  # after training, load the weights of the best validation epoch
    # >0: after each epoch, re-estimate BatchNorm statistics over this many train batches (recstack.train.batch_norm)
    precise_bn_batches: int = Field(0, ge=0)
    # >0 and no valid_data_dir: validate on this random fraction of the train rows (recall data with a test file:
    # of each user's train items)
    valid_fraction: float = Field(0.0, ge=0.0, lt=1.0)


PATH_KEYS = {
    "train_data_dir", "train_reader_path", "model_save_path", "test_data_dir", "infer_reader_path",
    "infer_load_path", "model_init_path", "cache_dir", "infer_output_dir", "valid_data_dir",
}


class RunConfig(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    model: str
    runner: RunnerConfig
    hyper_parameters: HyperParameters
    config_path: Path | None = None
    ignored_keys: list[str] = []  # PaddleRec runtime keys present in the file, accepted and unused

    def dump(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "runner": self.runner.model_dump(mode="json", exclude_none=True),
            "hyper_parameters": self.hyper_parameters.model_dump(mode="json", by_alias=True),
        }


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(annotation))
    if origin is list:
        return "list of " + _type_name(get_args(annotation)[0])
    if origin is dict:
        key, value = get_args(annotation)
        return f"mapping of {_type_name(key)} to {_type_name(value)}"
    args = [a for a in get_args(annotation) if a is not type(None)]
    if args:
        return " or ".join(_type_name(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a mapping of keys: " + ", ".join(_valid_keys(annotation))
    return getattr(annotation, "__name__", str(annotation)).replace("Path", "path")


def _annotation_for(model_cls: type[BaseModel], loc: tuple) -> Any:
    """The declared type at `loc` (field names, then list indexes / dict keys), or None if unknown."""
    annotation: Any = model_cls
    for part in loc:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next((f for n, f in annotation.model_fields.items() if n == part or f.alias == part), None)
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return annotation
    return annotation


def _valid_keys(model_cls: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model_cls.model_fields.items()]


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long"}


def _raise_pretty(err: ValidationError, section: str, model_cls: type[BaseModel]) -> None:
    messages = []
    for e in err.errors():
        loc = tuple(e["loc"])
        key = ".".join([section, *map(str, loc)])
        if e["type"] == "extra_forbidden":
            parent_cls = _annotation_for(model_cls, loc[:-1])
            valid = _valid_keys(parent_cls) if isinstance(parent_cls, type) and issubclass(parent_cls, BaseModel) else []
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.4)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            messages.append(f"unknown key '{key}'{hint}")
        elif e["type"] in _RANGE_ERRORS:  # the type was right, the value is out of range
            messages.append(f"'{key}': got {e.get('input')!r}; {e['msg'][0].lower()}{e['msg'][1:]}")
        else:
            annotation = _annotation_for(model_cls, loc)
            expected = _type_name(annotation) if annotation is not None else e["msg"]
            messages.append(f"'{key}': expected {expected}, got {e.get('input')!r} ({e['msg']})")
    raise ConfigError("; ".join(messages)) from None


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.key=value")
    key, value = text.split("=", 1)
    try:
        return key.strip().split("."), yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"override '{text}': the value is not valid YAML: {e}") from None


def _section_keys(raw: dict) -> dict[str, set[str]]:
    """Keys each section accepts, for the model `raw` names (the base keys if it names none yet)."""
    from recstack.models.base import available_models

    model = raw.get("model")
    models = available_models()
    params_cls = models[model][1] if isinstance(model, str) and model in models else HyperParameters
    return {"runner": set(_valid_keys(RunnerConfig)) | set(PADDLEREC_RUNTIME_KEYS),
            "hyper_parameters": set(_valid_keys(params_cls))}


def apply_overrides(raw: dict, overrides: list[str], cwd: Path) -> dict:
    for text in overrides:
        parts, value = _parse_override(text)
        if len(parts) == 1 and parts[0] != "model":
            known = _section_keys(raw)
            sections = [s for s in ("runner", "hyper_parameters")
                        if parts[0] in known[s] or parts[0] in (raw.get(s) or {})]
            if not sections:
                close = difflib.get_close_matches(parts[0], sorted(known["runner"] | known["hyper_parameters"]),
                                                  n=1, cutoff=0.4)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ConfigError(f"override '{text}': unknown key '{parts[0]}'{hint}")
            if len(sections) != 1:
                raise ConfigError(f"override '{text}': write it as runner.{parts[0]} or hyper_parameters.{parts[0]}")
            parts = [sections[0], parts[0]]
        if parts[0] == "runner" and len(parts) == 2 and parts[1] in PATH_KEYS and value is not None:
            value = str((cwd / str(value)).resolve()) if not os.path.isabs(str(value)) else value
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{text}': '{part}' is not a section")
        node[parts[-1]] = value
    return raw


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                raw: dict | None = None) -> RunConfig:
    """Reads `path` (or a ready `raw` dict), applies `-o` overrides, validates, resolves paths."""
    from recstack.models.base import model_params_class

    base = Path(path).resolve().parent if path else Path.cwd()
    if raw is None:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except OSError as e:
            raise ConfigError(f"config file {path}: cannot read it: {e.strerror or e}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with runner and hyper_parameters")
    raw = copy.deepcopy(raw)  # overrides write into nested sections; never into the caller's dict
    for key in ("runner", "hyper_parameters"):
        if raw.get(key) is None:
            raw[key] = {}
        elif not isinstance(raw[key], dict):
            raise ConfigError(f"'{key}': expected a mapping of keys, got {raw[key]!r}")
    for key, value in raw["runner"].items():
        if key in PATH_KEYS and value is not None and not os.path.isabs(str(value)):
            raw["runner"][key] = str((base / str(value)).resolve())
    raw = apply_overrides(raw, overrides or [], Path.cwd())
    unknown = set(raw) - {"model", "runner", "hyper_parameters"}
    for key in unknown:
        close = difflib.get_close_matches(key, ["model", "runner", "hyper_parameters"], n=1, cutoff=0.4)
        raise ConfigError(f"unknown top-level key '{key}'" + (f"; did you mean '{close[0]}'?" if close else ""))
    if not isinstance(raw.get("model"), str):
        raise ConfigError("'model' is required: the name of a registered model (see `recstack models`)")
    params_cls = model_params_class(raw["model"])
    ignored = sorted(k for k in raw["runner"] if k in PADDLEREC_RUNTIME_KEYS)
    for key in ignored:
        raw["runner"].pop(key)
    try:
        runner = RunnerConfig.model_validate(raw["runner"])
    except ValidationError as e:
        _raise_pretty(e, "runner", RunnerConfig)
    try:
        hyper = params_cls.model_validate(raw["hyper_parameters"])
    except ValidationError as e:
        _raise_pretty(e, "hyper_parameters", params_cls)
    return RunConfig(model=raw["model"], runner=runner, hyper_parameters=hyper,
                     config_path=Path(path).resolve() if path else None, ignored_keys=ignored)
