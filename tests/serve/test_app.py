"""The scoring service: same scores as the predictor, 4xx naming the field or line, never down after bad input."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

with warnings.catch_warnings():  # starlette's TestClient warns that its httpx use is deprecated
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from recstack.cli import build_parser
from recstack.config import load_config
from recstack.data.datasets import build_schema
from recstack.export.commands import export_model
from recstack.export.predictor import Predictor
from recstack.serve.app import Limits, create_app
from recstack.train.recipes import make_model

REPO = Path(__file__).resolve().parents[2]
CRITEO_HEAD = REPO.parent / "shared" / "data" / "criteo" / "kaggle_train_head900.txt.gz"


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> Predictor:
    tmp = tmp_path_factory.mktemp("serve")
    cfg = load_config(REPO / "configs" / "rank" / "deepfm.yaml", [
        "hyper_parameters.sparse_feature_number=10007", "hyper_parameters.fc_sizes=[32, 16]",
        f"runner.cache_dir={tmp / 'cache'}"])
    torch.manual_seed(0)
    export_model(cfg, make_model(cfg, build_schema(cfg)), tmp / "artifact", {"initialized": True})
    return Predictor(tmp / "artifact")


@pytest.fixture(scope="module")
def client(predictor) -> TestClient:
    return TestClient(create_app(predictor, Limits(max_rows=200, max_body_bytes=200_000, max_file_bytes=300_000)))


def test_health_and_version_describe_the_model(client):
    assert client.get("/health").json() == {"status": "ok", "model": "deepfm"}
    version = client.get("/version").json()
    assert version["fields"] == [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]
    assert version["runtime"] == "onnx" and version["tasks"] == ["click"] and version["data_format"] == "criteo"


def test_rows_and_files_score_like_the_predictor(client, predictor):
    rows = predictor.encoder.example_rows(100, seed=3)
    reply = client.post("/predict", json={"rows": rows})
    assert reply.status_code == 200
    np.testing.assert_allclose(reply.json()["scores"]["click"], predictor.predict_rows(rows)[:, 0], atol=1e-7)
    data = gzip.open(CRITEO_HEAD).read()
    reply = client.post("/predict/file", files={"file": ("head.txt", data)})
    expected = np.concatenate([s[:, 0] for _, s in predictor.iter_file(CRITEO_HEAD)])
    assert reply.status_code == 200 and reply.json()["lines"] == list(range(1, 901))
    np.testing.assert_allclose(reply.json()["scores"]["click"], expected, atol=1e-7)
    gz = client.post("/predict/file", files={"file": ("head.txt.gz", CRITEO_HEAD.read_bytes())})
    assert gz.status_code == 200 and gz.json()["scores"] == reply.json()["scores"]


def test_bad_requests_get_a_4xx_that_names_the_problem(client, predictor):
    good = predictor.encoder.example_rows(2)
    cases = [
        ({"rows": [good[0], {k: v for k, v in good[1].items() if k != "C5"}]}, 422, "rows[1].C5", "missing field"),
        ({"rows": [{**good[0], "I3": "seven"}]}, 422, "rows[0].I3", "must be an integer"),
        ({"rows": [{**good[0], "C2": {"x": 1}}]}, 422, "rows[0].C2", "got dict"),
        ({"rows": [{**good[0], "C9": "nothex"}]}, 422, "rows[0].C9", "hex string"),
        ({"rows": []}, 422, "rows", "non-empty"),
        ({"items": good}, 422, "rows", "expected a JSON object"),
        ({"rows": good * 101}, 413, "rows", "over the limit of 200"),
    ]
    for body, status, field, words in cases:
        reply = client.post("/predict", json=body)
        assert (reply.status_code, reply.json().get("field")) == (status, field), reply.json()
        assert words in reply.json()["detail"]
    assert client.post("/predict", content=b'{"rows": [').status_code == 400
    huge = b'{"rows": [' + b" " * 300_000 + b"]}"
    assert client.post("/predict", content=huge).status_code == 413
    # without a Content-Length (chunked upload) the limit holds while reading
    assert client.post("/predict", content=iter([huge[:150_000], huge[150_000:]])).status_code == 413
    assert client.get("/health").status_code == 200


def test_bad_files_get_a_4xx_that_names_the_line(client):
    lines = gzip.open(CRITEO_HEAD).read().split(b"\n")
    lines[6] = b"1\t2\t3"
    reply = client.post("/predict/file", files={"file": ("bad.txt", b"\n".join(lines))})
    assert reply.status_code == 422 and reply.json()["line"] == 7 and "tab-separated columns" in reply.json()["detail"]
    truncated = CRITEO_HEAD.read_bytes()[:500]
    assert client.post("/predict/file", files={"file": ("cut.txt.gz", truncated)}).status_code == 422
    assert client.post("/predict/file", data={"other": "x"}).json()["field"] == "file"
    big = client.post("/predict/file", files={"file": ("big.txt", b"\n".join(lines) * 4)})
    assert big.status_code == 413 and big.json()["field"] == "file"
    assert client.get("/health").status_code == 200


def test_serve_binds_loopback_by_default():
    assert build_parser().parse_args(["serve", "--model", "artifact"]).host == "127.0.0.1"
