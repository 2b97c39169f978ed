"""Interaction data: parsers (with malformed lines), re-indexing, leave-one-out, CSR helpers, sampling, batches."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from recstack.data.interactions import (NegativeSampler, UserItems, leave_one_out, load_interactions,
                                        pair_batches, random_holdout, sequence_batches, user_batch)
from recstack.errors import ConfigError, DataFormatError


def write(path, text: str):
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def test_user_lines_reindex_and_leave_one_out(tmp_path):
    path = write(tmp_path / "seq.txt.gz", "7 30 10 20 40\n3 10 50\n9 20 30 50\n")
    data = load_interactions("user_items", path)
    assert (data.num_users, data.num_items) == (3, 5)
    assert data.item_ids.tolist() == [-1, 10, 20, 30, 40, 50]  # item i is raw item_ids[i]; 0 is padding
    assert data.user_ids.tolist() == [7, 3, 9]
    rows = lambda split, u: data.item_ids[split.items[split.indptr[u]:split.indptr[u + 1]]].tolist()  # noqa: E731
    assert rows(data.train, 0) == [30, 10] and rows(data.valid, 0) == [20] and rows(data.test, 0) == [40]
    assert rows(data.train, 1) == [10, 50] and rows(data.test, 1) == []  # under 3 items: train only
    history, targets = data.eval_split("test")
    assert rows(history, 0) == [30, 10, 20] and rows(targets, 2) == [50]
    assert data.eval_split("valid")[0] is data.train


def test_separate_test_file(tmp_path):
    train = write(tmp_path / "train.txt", "0 1 2 3\n1 2 4\n")
    test = write(tmp_path / "test.txt", "1 5\n")
    data = load_interactions("user_items", train, test)
    assert data.num_items == 5 and len(data.valid.items) == 0
    assert data.test.lengths().tolist() == [0, 1] and data.item_ids[data.test.items].tolist() == [5]
    with pytest.raises(ConfigError, match="missing from the train file"):
        load_interactions("user_items", train, write(tmp_path / "bad.txt", "8 1\n"))


def test_a_validation_fraction_of_each_users_train_items(tmp_path):
    rows = "\n".join(" ".join(map(str, [user, *range(1 + user, 11 + user)])) for user in range(50)) + "\n0 99\n"
    train, test = write(tmp_path / "train.txt", rows.rsplit("\n", 2)[0] + "\n"), write(tmp_path / "test.txt", "0 99\n")
    whole = load_interactions("user_items", train, test)
    data = load_interactions("user_items", train, test, valid_fraction=0.2)
    assert (data.valid.lengths() == 2).all() and (data.train.lengths() == 8).all()  # 20% of 10 items
    for user in (0, 17):
        got = [split.items[split.indptr[user]:split.indptr[user + 1]].tolist() for split in (data.train, data.valid)]
        everything = whole.train.items[whole.train.indptr[user]:whole.train.indptr[user + 1]].tolist()
        assert sorted(got[0] + got[1]) == sorted(everything) and got[0] == sorted(got[0])  # a split, in file order
    again = load_interactions("user_items", train, test, valid_fraction=0.2)
    assert np.array_equal(again.valid.items, data.valid.items)  # fixed: every training seed validates alike
    assert data.eval_split("test")[0].lengths().tolist() == whole.train.lengths().tolist()  # test sees it all
    single_train, single_valid = random_holdout([np.array([5])], 0.5)
    assert single_train[0].tolist() == [5] and single_valid[0].size == 0  # one item: nothing held out


@pytest.mark.parametrize("text, problem", [("1 2 3\n2 x 4\n", ":2: expected integer ids, found 'x'"),
                                           ("1 2\n\n3 4\n", ":2: empty line"),
                                           ("1 2\n1 3\n", ":2: user 1 already has a line (line 1)"),
                                           ("1 -2\n", ":1: negative id -2")])
def test_user_lines_malformed(tmp_path, text, problem):
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(DataFormatError) as error:
        load_interactions("user_items", path)
    assert str(error.value).startswith(f"{path}{problem}")


def test_movielens_sequences_sorted_by_time_with_ratings(tmp_path):
    rows = ["1\t10\t5\t300", "1\t11\t3\t100", "2\t10\t4\t50", "1\t12\t1\t200", "1\t13\t2\t200", "2\t11\t2\t60",
            "2\t12\t5\t70"]
    write(tmp_path / "u.data", "\n".join(rows) + "\n")
    data = load_interactions("movielens_sequence", tmp_path)
    raw = lambda split: data.item_ids[split.items].tolist()  # noqa: E731
    # user 1 by time: 11 (100), 12 (200, earlier line), 13 (200), 10 (300)
    assert raw(data.train)[:2] == [11, 12] and raw(data.valid)[0] == 13 and raw(data.test)[0] == 10
    assert data.train_ratings.tolist() == [3, 1, 4]
    write(tmp_path / "u.data", "1\t10\t5\n")
    with pytest.raises(DataFormatError, match=r"u.data:1: expected 4 tab-separated fields"):
        load_interactions("movielens_sequence", tmp_path)


def test_user_items_helpers_match_python():
    rows = [np.array([1, 2, 3]), np.array([], dtype=np.int64), np.array([4, 5])]
    other = UserItems.from_lists([np.array([9]), np.array([8]), np.array([], dtype=np.int64)])
    items = UserItems.from_lists(rows)
    assert items.last(np.array([0, 1, 2]), 2).tolist() == [[2, 3], [0, 0], [4, 5]]
    assert items.last(np.array([2]), 4).tolist() == [[0, 0, 4, 5]]
    user_rows, user_items = items.coo(np.array([2, 0]))
    assert user_rows.tolist() == [0, 0, 1, 1, 1] and user_items.tolist() == [4, 5, 1, 2, 3]
    joined = items.concat(other)
    assert [joined.items[joined.indptr[u]:joined.indptr[u + 1]].tolist() for u in range(3)] == [[1, 2, 3, 9], [8], [4, 5]]
    train, valid, test = leave_one_out(rows)
    assert train.lengths().tolist() == [1, 0, 2] and valid.items.tolist() == [2] and test.items.tolist() == [3]


def test_negative_sampler_avoids_positives():
    positives = UserItems.from_lists([np.arange(1, 10), np.array([1])])  # user 0 has 9 of the 10 items
    negatives = NegativeSampler(positives, 10, rounds=200).sample(np.array([0] * 200 + [1] * 200), 3,
                                                                 np.random.default_rng(0))
    assert (negatives[:200] == 10).all()
    assert ((negatives[200:] >= 2) & (negatives[200:] <= 10)).all()


def test_pair_and_sequence_batches(tmp_path):
    data = load_interactions("user_items", write(tmp_path / "s.txt", "0 1 2 3 4 5 6\n1 7 8 9\n2 1 5 9 3\n"))
    rng = np.random.default_rng(0)
    pairs = list(pair_batches(data, 3, rng, num_negatives=2, history_length=3))
    assert sum(len(b) for b in pairs) == len(data.train.items)
    for batch in pairs:
        for (user, item), history in zip(batch.sparse.tolist(), batch.sequences["history"].tolist()):
            seq = data.train.items[data.train.indptr[user]:data.train.indptr[user + 1]].tolist()
            before = seq[:seq.index(item)][-3:]
            assert history == [0] * (3 - len(before)) + before
    batches = list(sequence_batches(data, 2, rng, history_length=4))
    assert sorted(u for b in batches for u in b.sparse[:, 0].tolist()) == [0, 2]  # user 1 has 1 train item
    for batch in batches:
        history, targets = batch.sequences["history"], batch.sequences["targets"]
        assert ((history > 0) == (targets > 0)).all()
        assert history.shape[1] <= 4
    evaluation = user_batch(np.array([0, 1]), data.train, 2)
    assert evaluation.sequences["history"].tolist() == [[3, 4], [0, 7]]  # user 0 trains on 1..4
