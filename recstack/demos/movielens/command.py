"""`recstack demo movielens`: original MovieLens files -> models, feature store, offline evaluation -> the app.

    recstack demo movielens [--data ../shared/data/ml-100k] [--out output/demo_movielens]
                            [--store sqlite:///OUT/store.db | redis://127.0.0.1:6379/0]
                            [--host 127.0.0.1] [--port 8000] [--rebuild] [--no-serve]
                            [--recall-config C] [--rank-config C] [--recall-override K=V] [--rank-override K=V]
                            [--rank-negatives 2]

The build (pipeline.py: train + export both models, index the movies; evaluate.py: the funnel on held-out
ratings) runs once per data folder and configs; later runs reuse out/ and only fill the store when it does not
hold the data's users and movies (e.g. a new --store). Then the app serves on http://HOST:PORT/.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Callable

from recstack.config import load_config
from recstack.data.movielens_demo import MovieLensDemo, load_movielens_demo
from recstack.demos.movielens import pipeline, records
from recstack.demos.movielens.evaluate import evaluate_funnel
from recstack.demos.movielens.funnel import Funnel
from recstack.errors import ConfigError, RecstackError
from recstack.serve.store import FeatureStore, open_store
from recstack.train.trainer import log

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "configs" / "demo"


def default_data() -> Path:
    """../shared/data/ml-100k from the working directory (a clone's root), else beside this clone."""
    for root in (Path.cwd(), REPO):
        if (root.parent / "shared" / "data" / "ml-100k").is_dir():
            return root.parent / "shared" / "data" / "ml-100k"
    return Path("../shared/data/ml-100k")


def _write_json(path: Path, content: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(content, indent=1))
    os.replace(tmp, path)


def build(data: Path, out: Path, store_url: str, recall_config: Path = CONFIGS / "movielens_recall.yaml",
          rank_config: Path = CONFIGS / "movielens_rank.yaml", recall_overrides: list[str] = (),
          rank_overrides: list[str] = (), rank_negatives: int = 2, rebuild: bool = False) -> dict:
    """Builds out/ unless it already holds a build of the same data and configs; fills the store; returns
    demo.json's content (with the evaluation)."""
    recall_cfg, rank_cfg = load_config(recall_config, list(recall_overrides)), load_config(rank_config, list(rank_overrides))
    size = recall_cfg.hyper_parameters.sparse_feature_number
    if rank_cfg.hyper_parameters.sparse_feature_number != size:
        raise ConfigError(f"hyper_parameters.sparse_feature_number: the rank config has "
                          f"{rank_cfg.hyper_parameters.sparse_feature_number}, the recall config {size}; the two "
                          f"models read the same hashed ids, so they must agree")
    if rank_negatives < 0:
        raise ConfigError(f"--rank-negatives must be >= 0, got {rank_negatives}")
    key = {"data": str(Path(data).resolve()), "recall": recall_cfg.dump(), "rank": rank_cfg.dump(),
           "rank_negatives": rank_negatives}
    demo = load_movielens_demo(data, size)
    out.mkdir(parents=True, exist_ok=True)
    facts_path = out / "demo.json"
    if not rebuild and facts_path.is_file() and json.loads(facts_path.read_text()).get("build") == key:
        log(f"reusing the build in {out} (--rebuild to train again)")
        facts = json.loads(facts_path.read_text())
        with open_store(store_url) as store:
            ensure_store(store, lambda: demo, facts)
        return facts
    facts = {"build": key, "release": demo.files.release, "num_embeddings": size,
             "users": len(demo.files.users["user_id"]), "movies": len(demo.files.movies["movie_id"]),
             **records.profile_facts(demo)}
    facts["recall"] = pipeline.train_recall(recall_cfg, demo, out / "recall")
    facts["rank"] = pipeline.train_rank(rank_cfg, demo, out / "rank", recall_cfg.hyper_parameters.cold_start_fraction,
                                        rank_negatives)
    # without the build key until the end: an interrupted build is not taken for a finished one
    _write_json(facts_path, {k: v for k, v in facts.items() if k != "build"})
    with open_store(store_url) as store:
        records.fill_store(store, demo)
        facts["evaluation"] = evaluate_funnel(Funnel(out, store), demo)
    _write_json(out / "evaluation.json", facts["evaluation"])
    _write_json(facts_path, facts)
    evaluation = facts["evaluation"]["all"]
    log(f"funnel on {evaluation['funnel']['users']} held-out ratings: recall@100 {evaluation['funnel']['recall@100']:.4f}"
        + "".join(f", ndcg@10 {name} {evaluation[key]['ndcg@10']:.4f}" for name, key in
                  (("served order", "funnel"), ("rank model alone", "rank_model"), ("recall order", "recall_order")))
        + f" (most popular: recall@100 {evaluation['most_popular']['recall@100']:.4f}, ndcg@10 "
          f"{evaluation['most_popular']['ndcg@10']:.4f}); {out / 'evaluation.json'}")
    return json.loads(facts_path.read_text())  # as a reuse returns it: JSON object keys are strings


def ensure_store(store: FeatureStore, demo: Callable[[], MovieLensDemo], facts: dict) -> None:
    """Fills the store from demo() unless it holds as many users and movies as the build's data."""
    if store.count("user") != facts["users"] or store.count("item") != facts["movies"]:
        records.fill_store(store, demo())


def serve(out: Path, store_url: str, host: str, port: int, threads: int) -> None:
    import uvicorn

    from recstack.demos.movielens.app import create_app

    store = open_store(store_url)
    app = create_app(Funnel(out, store, threads))
    print(f"MovieLens demo on http://{host}:{port}/ (feature store {store.url}; API: /api/recommend, /api/recall, "
          f"/api/rank, /api/users/ID, /api/items/ID)", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        store.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="recstack demo movielens", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="ML-100k or ML-1M folder (default ../shared/data/ml-100k)")
    parser.add_argument("--out", type=Path, default=Path("output/demo_movielens"))
    parser.add_argument("--store", default=None, help="feature store URL (default sqlite:///OUT/store.db)")
    parser.add_argument("--host", default="127.0.0.1", help="default: loopback only")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads per model")
    parser.add_argument("--rebuild", action="store_true", help="train again even if OUT holds a matching build")
    parser.add_argument("--no-serve", action="store_true", help="build and evaluate, then exit")
    parser.add_argument("--serve-only", action="store_true",
                        help="serve the build in --out as it is (its data and configs; no training)")
    parser.add_argument("--recall-config", type=Path, default=CONFIGS / "movielens_recall.yaml")
    parser.add_argument("--rank-config", type=Path, default=CONFIGS / "movielens_rank.yaml")
    parser.add_argument("--recall-override", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--rank-override", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--rank-negatives", type=int, default=2,
                        help="unrated movies drawn per rating as label-0 rows of the rank model (default 2)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    store_url = args.store or f"sqlite:///{out / 'store.db'}"
    if args.serve_only:
        if not (out / "demo.json").is_file():
            raise RecstackError(f"--serve-only: {out} holds no build (no demo.json); run without --serve-only first")
        facts = json.loads((out / "demo.json").read_text())
        with open_store(store_url) as store:
            ensure_store(store, lambda: load_movielens_demo(facts["build"]["data"], facts["num_embeddings"]), facts)
        serve(out, store_url, args.host, args.port, args.threads)
        return
    data = args.data or default_data()
    if not data.is_dir():
        raise RecstackError(f"--data: no MovieLens folder at {data} (ML-100k: u.data, u.user, u.item; "
                            f"ML-1M: ratings.dat, users.dat, movies.dat)")
    build(data, out, store_url, args.recall_config, args.rank_config, args.recall_override, args.rank_override,
          args.rank_negatives, args.rebuild)
    if not args.no_serve:
        serve(out, store_url, args.host, args.port, args.threads)
