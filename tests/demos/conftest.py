"""Fixtures of the demo tests: the demo built on the tiny MovieLens folder, and the session's redis-server from
tests/serve/conftest.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tiny_movielens import TINY_RANK, TINY_RECALL, write_tiny_movielens

_serve = importlib.util.spec_from_file_location("serve_conftest", Path(__file__).parents[1] / "serve" / "conftest.py")
_serve_fixtures = importlib.util.module_from_spec(_serve)
_serve.loader.exec_module(_serve_fixtures)
redis_url = _serve_fixtures.redis_url


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> tuple[Path, Path, dict]:
    """(data folder, built demo folder, demo.json) of the tiny data, built once per session on SQLite."""
    import torch

    from recstack.demos.movielens.command import build

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("movielens_demo")
    data, out = write_tiny_movielens(root / "ml-tiny"), root / "out"
    facts = build(data, out, f"sqlite:///{out / 'store.db'}", recall_overrides=TINY_RECALL, rank_overrides=TINY_RANK)
    return data, out, facts
