"""From a run config to cached train/test columns and the feature schema they follow.

This is the only place that knows which format a config names; it returns columns and a schema,
never a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recstack.config import RunConfig
from recstack.data import cache
from recstack.data.formats import ReadOptions, SkipCounter, criteo, libfm, movielens, paddle_reader, slot
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.errors import ConfigError


@dataclass
class DataBundle:
    schema: FeatureSchema
    train: cache.ColumnStore | None
    test: cache.ColumnStore | None
    valid: cache.ColumnStore | None = None
    info: dict = field(default_factory=dict)  # e.g. the synthetic teacher's oracle AUC


def list_files(path: Path | None, key: str) -> list[Path]:
    if path is None:
        raise ConfigError(f"runner.{key} is not set")
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ConfigError(f"runner.{key}: {path} does not exist")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix != ".md")
    if not files:
        raise ConfigError(f"runner.{key}: {path} holds no data files")
    return files


def build_schema(cfg: RunConfig, num_embeddings: int | None = None) -> FeatureSchema:
    runner, hyper = cfg.runner, cfg.hyper_parameters
    if runner.sparse_slots:
        names = runner.sparse_slots.split()
        labels, sparse = (names[0],), names[1:]
    else:
        labels = ("click",)
        count = hyper.sparse_inputs_slots - 1
        sparse = [f"C{i + 1}" for i in range(count)] if runner.data_format != "slot" else \
            [str(i + 1) for i in range(count)]
    num_dense = hyper.dense_input_dim
    dense_name = "dense_feature"
    if runner.dense_slots:
        dense_name, _, width = runner.dense_slots.partition(":")
        if not width.isdigit():
            raise ConfigError(f"runner.dense_slots: expected 'name:width' such as 'dense_feature:13', got "
                              f"{runner.dense_slots!r}")
        num_dense = int(width)
    unknown = set(runner.multi_value_slots) - set(sparse)
    if unknown:
        raise ConfigError(f"runner.multi_value_slots names slots that are not sparse slots: {sorted(unknown)}")
    # a max length below 1 would make a slot neither single- nor multi-valued: silently dropped
    too_short = {n: m for n, m in runner.multi_value_slots.items() if m < 1}
    if too_short:
        raise ConfigError(f"runner.multi_value_slots: a slot's max length must be >= 1, got {too_short}")
    slots = tuple(SparseSlot(n, runner.multi_value_slots.get(n, 1)) for n in sparse)
    return FeatureSchema(sparse=slots, num_dense=num_dense, labels=labels,
                         num_embeddings=num_embeddings or hyper.sparse_feature_number,
                         dense_names=(dense_name,))


def _read_all(cfg: RunConfig, schema: FeatureSchema, files: list[Path], reader: Path | None,
              root: Path, vocabulary: criteo.Vocabulary | None, vocab_key: str | None) -> cache.ColumnStore:
    runner = cfg.runner
    options = ReadOptions(schema, runner.dense_transform, runner.skip_bad_lines)
    skipped = SkipCounter()
    material = {"files": cache.file_fingerprint(files), "schema": schema.to_json(), "format": runner.data_format,
                "dense_transform": runner.dense_transform, "encoding": runner.categorical_encoding,
                "vocabulary": vocab_key, "skip_bad_lines": runner.skip_bad_lines}
    if reader is not None:
        material.update(format="paddle_reader", reader=paddle_reader.reader_digest(reader))
        chunks = paddle_reader.iter_columns(reader, files, cfg.dump(), options, len(schema.labels))
    elif runner.data_format == "libfm":
        chunks = (c for path in files for c in libfm.iter_columns(path, options, skipped))
    elif runner.data_format == "slot":
        chunks = (c for path in files for c in slot.iter_columns(path, options, skipped, schema.labels,
                                                                 schema.dense_names[0]))
    else:
        chunks = (c for path in files for c in criteo.iter_columns(path, options, skipped, vocabulary))

    def report() -> dict:
        if skipped.count:
            print(f"skipped {skipped.count} bad lines (runner.skip_bad_lines); first: {skipped.examples}")
        return {"skipped_lines": skipped.count, "skipped_examples": skipped.examples or []}

    return cache.cached(root, material, lambda: chunks, report)


def synthetic_files(cfg: RunConfig, root: Path) -> tuple[Path, Path, dict]:
    """Generates (once) the synthetic rows a config asks for; returns train, test and the oracle."""
    from recstack.data import synthetic

    runner, hyper = cfg.runner, cfg.hyper_parameters
    cardinalities = runner.synthetic_cardinalities or synthetic.CRITEO_CARDINALITIES[: hyper.sparse_inputs_slots - 1]
    spec = synthetic.SyntheticSpec(train_rows=runner.synthetic_train_rows, test_rows=runner.synthetic_test_rows,
                                   seed=runner.synthetic_seed, num_dense=hyper.dense_input_dim,
                                   cardinalities=tuple(cardinalities))
    folder = root / "synthetic" / cache.cache_key({"spec": spec.to_json()})
    oracle = synthetic.ensure(spec, folder)
    return folder / "train.txt", folder / "test.txt", oracle


def fitted_vocabulary(cfg: RunConfig, schema: FeatureSchema, train_files: list[Path], root: Path
                ) -> tuple[criteo.Vocabulary, str]:
    """Fits (once, cached) the per-field vocabularies of the training files."""
    key = cache.cache_key({"files": cache.file_fingerprint(train_files), "min_count": cfg.runner.min_count,
                           "fields": len(schema.sparse)})
    vocab_file = root / "vocab" / f"{key}.npz"
    if vocab_file.exists():
        return criteo.Vocabulary.load(vocab_file), key
    vocabulary = criteo.fit_vocabulary(train_files, ReadOptions(schema, skip_bad_lines=True), cfg.runner.min_count)
    vocab_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = vocab_file.with_suffix(".tmp.npz")
    vocabulary.save(tmp)
    tmp.replace(vocab_file)
    return vocabulary, key


def _movielens_ctr(cfg: RunConfig, train: bool, test: bool) -> DataBundle:
    """MovieLens-100k as CTR rows, built from the original files (fast enough not to cache)."""
    folder = cfg.runner.train_data_dir
    if folder is None or not folder.is_dir():
        raise ConfigError(f"runner.train_data_dir: data_format movielens_ctr needs the ml-100k folder, got {folder}")
    schema, train_columns, test_columns = movielens.movielens_100k_ctr(folder)
    return DataBundle(schema, cache.ColumnStore(train_columns) if train else None,
                      cache.ColumnStore(test_columns) if test else None)


def _hold_out_valid(cfg: RunConfig, data: DataBundle) -> DataBundle:
    """runner.valid_fraction: a fixed random part of the train rows becomes the validation data (never test rows)."""
    fraction = cfg.runner.valid_fraction
    if fraction == 0 or data.train is None:
        return data
    # seed 0, not runner.seed: every training seed sees the same validation rows
    is_valid = np.random.default_rng(0).random(data.train.num_rows) < fraction

    def pick(mask: np.ndarray) -> cache.ColumnStore:
        return cache.ColumnStore({k: np.asarray(v)[mask] for k, v in data.train.columns.items()}, dict(data.train.meta))

    return DataBundle(data.schema, pick(~is_valid), data.test, pick(is_valid), data.info)


def load_data(cfg: RunConfig, train: bool = True, test: bool = True, valid: bool = False) -> DataBundle:
    """Reads (or reuses the cache of) the train and/or test data a config names."""
    if cfg.runner.valid_fraction > 0 and cfg.runner.valid_data_dir is not None:
        raise ConfigError("runner.valid_fraction and runner.valid_data_dir are both set: keep one")
    data = _load_data(cfg, train, test, valid)
    return _hold_out_valid(cfg, data) if valid else data


def _load_data(cfg: RunConfig, train: bool, test: bool, valid: bool) -> DataBundle:
    runner = cfg.runner
    root = runner.cache_dir or cache.default_cache_root()
    info: dict = {}
    train_dir, test_dir = runner.train_data_dir, runner.test_data_dir
    if runner.data_format == "movielens_ctr":
        return _movielens_ctr(cfg, train, test)
    if runner.data_format == "synthetic":
        train_dir, test_dir, info["oracle"] = synthetic_files(cfg, root)
    train_files = list_files(train_dir, "train_data_dir")
    vocabulary, vocab_key = None, None
    schema = build_schema(cfg)
    if runner.categorical_encoding == "vocab" and runner.data_format != "slot" and runner.train_reader_path is None:
        vocabulary, vocab_key = fitted_vocabulary(cfg, schema, train_files, root)
        schema = build_schema(cfg, num_embeddings=vocabulary.num_embeddings)
    train_store = test_store = None
    if train or runner.test_fraction > 0:
        train_store = _read_all(cfg, schema, train_files, runner.train_reader_path, root, vocabulary, vocab_key)
    if runner.test_fraction > 0:
        if runner.data_format != "synthetic" and test_dir is not None:
            raise ConfigError("runner.test_fraction holds out part of train_data_dir; leave runner.test_data_dir unset")
        cut = int(round(train_store.num_rows * (1 - runner.test_fraction)))
        train_store, test_store = train_store.slice(0, cut), (train_store.slice(cut, train_store.num_rows) if test else None)
    elif test and test_dir is not None:
        reader = runner.infer_reader_path or runner.train_reader_path
        test_store = _read_all(cfg, schema, list_files(test_dir, "test_data_dir"), reader, root, vocabulary, vocab_key)
    valid_store = None
    if valid and runner.valid_data_dir is not None:
        reader = runner.infer_reader_path or runner.train_reader_path
        valid_store = _read_all(cfg, schema, list_files(runner.valid_data_dir, "valid_data_dir"), reader, root,
                                vocabulary, vocab_key)
    return DataBundle(schema, train_store if train else None, test_store, valid_store, info)
