"""ANN index: exact kinds equal brute force, approximate kinds reach their recall, ids map back, save/load
round-trips, bad input is named; and the `recstack bench index` report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recstack.bench.index import clustered
from recstack.bench.index import main as bench_main
from recstack.errors import RecstackError
from recstack.serve.index import IndexSpec, VectorIndex, measure_index, recall_against

IDS = np.arange(2_000, dtype=np.int64) * 3 + 1_000_000  # ids unrelated to row numbers


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered(len(IDS), 16, seed=1), clustered(50, 16, seed=2)


def brute_force(vectors: np.ndarray, queries: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if metric == "cosine":
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    if metric == "l2":
        scores = ((queries[:, None, :].astype(np.float64) - vectors[None, :, :]) ** 2).sum(-1)
        order = np.argsort(scores, axis=1, kind="stable")[:, :k]
    else:
        scores = queries.astype(np.float64) @ vectors.T.astype(np.float64)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return IDS[order], np.take_along_axis(scores, order, axis=1)


@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
def test_flat_index_is_brute_force_search(data, metric):
    vectors, queries = data
    found, scores = VectorIndex.build(IDS, vectors, IndexSpec("flat", metric)).search(queries, 10)
    want, want_scores = brute_force(vectors, queries, 10, metric)
    np.testing.assert_array_equal(found, want)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-3)
    assert found.dtype == np.int64 and scores.shape == (50, 10)


@pytest.mark.parametrize("spec, floor", [(IndexSpec("hnsw"), 0.95), (IndexSpec("hnsw", "cosine"), 0.95),
                                         (IndexSpec("ivf", nlist=16, nprobe=4), 0.8)])
def test_approximate_indexes_find_most_of_the_exact_top_k(data, spec, floor):
    vectors, queries = data
    exact, _ = VectorIndex.build(IDS, vectors, IndexSpec("flat", spec.metric)).search(queries, 20)
    found, _ = VectorIndex.build(IDS, vectors, spec).search(queries, 20)
    assert recall_against(found, exact) >= floor
    assert np.isin(found, IDS).all()


def test_ivf_probing_every_cell_is_exact(data):
    vectors, queries = data
    exact, _ = VectorIndex.build(IDS, vectors, IndexSpec("flat")).search(queries, 20)
    found, _ = VectorIndex.build(IDS, vectors, IndexSpec("ivf", nlist=8, nprobe=8)).search(queries, 20)
    assert recall_against(found, exact) == 1.0


def test_asking_for_more_than_the_index_holds_pads_with_minus_one():
    vectors = np.eye(3, dtype=np.float32)
    found, scores = VectorIndex.build(np.array([30, 10, 20]), vectors, IndexSpec("flat")).search(vectors[1:2], 5)
    assert found.tolist() == [[10, 30, 20, -1, -1]] or found.tolist() == [[10, 20, 30, -1, -1]]
    assert scores[0, 0] == pytest.approx(1.0)


def test_recall_against_matches_a_set_reference():
    rng = np.random.default_rng(0)
    exact = np.stack([rng.permutation(50)[:10] for _ in range(30)])
    found = np.where(rng.random((30, 10)) < 0.3, -1, np.stack([rng.permutation(50)[:10] for _ in range(30)]))
    exact[3, 7:] = -1  # fewer than k true neighbours
    reference = sum(len(set(f[f >= 0]) & set(e[e >= 0])) for f, e in zip(found, exact)) / (exact >= 0).sum()
    assert recall_against(found, exact) == pytest.approx(reference)
    assert recall_against(exact, exact) == 1.0


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_save_then_load_answers_the_same(tmp_path: Path, data, kind):
    vectors, queries = data
    index = VectorIndex.build(IDS, vectors, IndexSpec(kind, "cosine", nlist=16, ef_search=64))
    path = index.save(tmp_path / "deep" / "items.index")
    loaded = VectorIndex.load(path)
    assert loaded.spec == index.spec and len(loaded) == len(IDS) and loaded.dim == 16
    for got, want in zip(loaded.search(queries, 7), index.search(queries, 7)):
        np.testing.assert_array_equal(got, want)
    assert [p.name for p in path.parent.iterdir()] == ["items.index"]  # no temporary file left behind


def test_loading_something_else_names_the_file(tmp_path: Path):
    bad = tmp_path / "not.index"
    bad.write_text("hello")
    with pytest.raises(RecstackError, match="not.index: not a saved recstack vector index"):
        VectorIndex.load(bad)


def test_bad_input_is_named(data):
    vectors, queries = data
    with pytest.raises(RecstackError, match="index kind must be one of"):
        IndexSpec("annoy")
    with pytest.raises(RecstackError, match="index metric must be one of"):
        IndexSpec("flat", "hamming")
    with pytest.raises(RecstackError, match="index ef_search must be a positive integer"):
        IndexSpec("hnsw", ef_search=0)
    with pytest.raises(RecstackError, match="ids must be distinct"):
        VectorIndex.build(np.zeros(len(IDS), dtype=np.int64), vectors)
    with pytest.raises(RecstackError, match=r"ids must be \[N\] integers"):
        VectorIndex.build(IDS[:5], vectors)
    with pytest.raises(RecstackError, match="vectors must hold finite numbers"):
        VectorIndex.build(IDS[:2], np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(RecstackError, match="nlist=5000 is more than the 2000 vectors"):
        VectorIndex.build(IDS, vectors, IndexSpec("ivf", nlist=5000))
    index = VectorIndex.build(IDS, vectors, IndexSpec("flat"))
    with pytest.raises(RecstackError, match=r"queries must be a \[N, 16\] matrix, got shape \[50, 8\]"):
        index.search(queries[:, :8], 5)
    with pytest.raises(RecstackError, match="k must be a positive integer"):
        index.search(queries, 0)


def test_measure_index_reports_recall_build_time_and_rates(data):
    vectors, queries = data
    exact, _ = VectorIndex.build(IDS, vectors, IndexSpec("flat")).search(queries, 10)
    report = measure_index(IndexSpec("hnsw"), IDS, vectors, queries, 10, exact, single_queries=20)
    assert report["recall@10"] >= 0.95 and report["build_s"] > 0
    assert min(report[key] for key in ("batched_qps", "batched_qps_cpu", "single_qps", "single_qps_cpu")) > 0
    assert report["spec"]["kind"] == "hnsw" and report["build_cpu_s"] > 0


def test_bench_index_writes_json_and_markdown(tmp_path: Path):
    result = bench_main(["--rows", "3000", "--small-rows", "500", "--dim", "8", "--queries", "40", "--k", "10",
                         "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "index.json").read_text())
    assert saved["command"].startswith("recstack bench index --rows 3000") and saved == json.loads(json.dumps(result))
    assert [d["name"] for d in saved["datasets"]] == ["clustered", "small"]
    flat = saved["datasets"][0]["results"][0]
    assert flat["index"] == "flat" and flat["recall@10"] == 1.0
    table = (tmp_path / "index.md").read_text()
    assert "| clustered 3,000 x 8 | hnsw | M 32, efConstruction 40, efSearch 128 |" in table
    assert "HNSW recall@10 >= 0.95 against exact search: met" in table
