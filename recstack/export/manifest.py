"""manifest.json: what an exported artifact takes, and exactly how raw features become its inputs.

The preprocessing block is written from the same config keys and constants the readers in
`recstack/data/formats/` use (hash function and bucket count, vocabulary file, dense transform and
its constants), and `recstack.export.features` reads raw rows and files back through those readers,
so online inputs are computed the way the model saw them offline. Example (Criteo TSV, hashed):

    {"data_format": "criteo", "columns": ["label", "I1", ..., "C26"],
     "dense": {"fields": ["I1", ...], "transform": "log1p", "formula": "sign(x) * log(1 + |x|)", "missing": 0.0},
     "sparse": {"fields": ["C1", ...], "value": "hex string; empty or null = missing", "encoding": "hash",
                "hash": {"function": "splitmix64", "key": "(value + 1) * 64 + field_index",
                         "missing_value": -1, "modulo": 1000001}}}
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from recstack.config import RunConfig
from recstack.data.formats.criteo import PADDLEREC_DENSE_MAX, PADDLEREC_DENSE_MIN
from recstack.data.schema import FeatureSchema
from recstack.errors import RecstackError

MANIFEST_VERSION = 1
MANIFEST = "manifest.json"


def _criteo(cfg: RunConfig, schema: FeatureSchema, vocabulary_file: str | None) -> dict:
    runner, width = cfg.runner, schema.num_dense
    dense_fields = [f"I{j + 1}" for j in range(width)]
    dense = {"fields": dense_fields, "transform": runner.dense_transform, "missing": 0.0,
             "value": "integer as in Criteo TSV; null = missing"}
    if runner.dense_transform == "log1p":
        dense["formula"] = "sign(x) * log(1 + |x|)"
    else:
        dense.update(formula="clip((x - min) / (max - min), 0, 1)", min=PADDLEREC_DENSE_MIN[:width].tolist(),
                     max=PADDLEREC_DENSE_MAX[:width].tolist())
    sparse = {"fields": [s.name for s in schema.sparse], "value": "hex string as in Criteo TSV; empty or null = missing"}
    if vocabulary_file is None:
        sparse.update(encoding="hash", hash={"function": "splitmix64", "key": "(value + 1) * 64 + field_index",
                                             "missing_value": -1, "modulo": schema.num_embeddings})
    else:
        sparse.update(encoding="vocab", vocabulary={"file": vocabulary_file, "min_count": runner.min_count,
                                                    "unseen": "the field's OOV id (its offset)"})
    return {"data_format": "criteo", "columns": ["label", *dense_fields, *sparse["fields"]],
            "dense": dense, "sparse": sparse}


def preprocessing(cfg: RunConfig, schema: FeatureSchema, vocabulary_file: str | None = None) -> dict:
    """The preprocessing block for the config's data format (see the module doc)."""
    runner = cfg.runner
    single = [s.name for s in schema.single_slots]
    multi = {s.name: s.max_len for s in schema.multi_slots}
    if runner.train_reader_path is None and runner.data_format in ("criteo", "synthetic"):
        return _criteo(cfg, schema, vocabulary_file)
    if runner.train_reader_path is None and runner.data_format == "slot":
        return {"data_format": "slot", "label_slots": list(schema.labels), "dense_slot": schema.dense_names[0],
                "dense_width": schema.num_dense,
                "sparse": {"fields": single, "multi_valued": multi,
                           "encoding": "ids as written, each < num_embeddings; a missing single-valued slot is id 0"}}
    if runner.train_reader_path is None and runner.data_format == "libfm":
        return {"data_format": "libfm", "sparse": {"fields": single, "encoding": "feature index as written"}}
    # a user's PaddleRec reader or MovieLens' joined vocabularies: rows arrive as already-encoded ids
    source = "paddle_reader" if runner.train_reader_path is not None else runner.data_format
    return {"data_format": "ids", "source_format": source, "dense_field": "dense", "dense_width": schema.num_dense,
            "sparse": {"fields": single, "multi_valued": multi, "encoding": "ids as the offline reader emits them"}}


def build_manifest(cfg: RunConfig, schema: FeatureSchema, graph: dict, source: dict,
                   vocabulary_file: str | None = None) -> dict:
    from recstack import __version__

    return {"manifest_version": MANIFEST_VERSION, "recstack_version": __version__, "model": cfg.model,
            "runtime": graph["runtime"], "model_file": graph["file"], "exporter": graph["exporter"],
            "agreement_max_abs_diff": graph["max_abs_diff"],
            "precision": "float32",  # bf16 autocast (runner.bf16) is a training/eval speed-up, not exported
            "outputs": {"name": "scores", "tasks": list(schema.labels), "meaning": "probability per task"},
            "schema": asdict(schema), "preprocessing": preprocessing(cfg, schema, vocabulary_file),
            "source": source, "config": cfg.dump()}


def load_manifest(artifact: Path) -> dict:
    """Reads and checks `artifact/manifest.json`; errors name the file and what is wrong."""
    path = Path(artifact) / MANIFEST
    if not path.is_file():
        raise RecstackError(f"{artifact}: not an exported model (no {MANIFEST}); run `recstack export` first")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise RecstackError(f"{path}: cannot read the manifest: {error}") from None
    missing = [k for k in ("manifest_version", "runtime", "model_file", "schema", "preprocessing") if k not in manifest]
    if missing:
        raise RecstackError(f"{path}: missing keys {missing}")
    if manifest["manifest_version"] != MANIFEST_VERSION:
        raise RecstackError(f"{path}: manifest_version {manifest['manifest_version']} is not supported "
                            f"(this recstack reads version {MANIFEST_VERSION})")
    if not (Path(artifact) / manifest["model_file"]).is_file():
        raise RecstackError(f"{path}: model_file {manifest['model_file']} is missing from the artifact")
    return manifest


def schema_from_manifest(manifest: dict) -> FeatureSchema:
    return FeatureSchema.from_json(json.dumps(manifest["schema"]))
