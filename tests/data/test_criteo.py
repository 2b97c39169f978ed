"""Raw Criteo TSV: parsing, missing values, hash and vocab ids, dense transforms, error reports."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from recstack.data.formats import ReadOptions, SkipCounter, criteo
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.errors import DataFormatError

REAL_SAMPLE = Path("/work/shared/data/criteo/kaggle_train_head900.txt.gz")
MASK64 = (1 << 64) - 1
N = 1000
SMALL = FeatureSchema(sparse=(SparseSlot("C1"), SparseSlot("C2"), SparseSlot("C3")), num_dense=2, num_embeddings=N)
FULL = FeatureSchema(sparse=tuple(SparseSlot(f"C{i + 1}") for i in range(26)), num_dense=13, num_embeddings=N)


def ref_splitmix64(x: int) -> int:
    """Independent pure-Python splitmix64 (Steele, Lea, Flood 2014; Vigna's reference constants)."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def ref_id(hex_value: str, field: int, num_embeddings: int) -> int:
    value = int(hex_value, 16) if hex_value else -1
    return ref_splitmix64((value + 1) * 64 + field) % num_embeddings


def write(path: Path, lines: list[str], gz: bool = False) -> Path:
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def read(path: Path, schema: FeatureSchema = SMALL, skipped: SkipCounter | None = None,
         vocabulary: criteo.Vocabulary | None = None, **options) -> dict[str, np.ndarray]:
    chunks = list(criteo.iter_columns(path, ReadOptions(schema, **options),
                                      skipped if skipped is not None else SkipCounter(), vocabulary))
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


ROWS = [
    "1\t5\t-3\t68fd1e64\t80e26c9b\tfb936136",
    "0\t\t44\t\t0b153874\tFFFFFFFF",
    "0\t2\t\t68fd1e64\t\t1",
    "1\t0\t7\t00000000\t80e26c9b\t",
]


def check_rows(cols: dict[str, np.ndarray], rows: list[str] = ROWS, schema: FeatureSchema = SMALL) -> None:
    fields = [r.split("\t") for r in rows]
    nd = schema.num_dense
    assert cols["labels"].shape == (len(rows), 1) and cols["labels"].dtype == np.float32
    np.testing.assert_array_equal(cols["labels"][:, 0], [float(f[0]) for f in fields])
    expected_dense = [[math.copysign(math.log1p(abs(int(v))), int(v)) if v else 0.0 for v in f[1:1 + nd]]
                      for f in fields]
    np.testing.assert_allclose(cols["dense"], expected_dense, rtol=1e-6)
    expected_ids = [[ref_id(v, j, schema.num_embeddings) for j, v in enumerate(f[1 + nd:])] for f in fields]
    np.testing.assert_array_equal(cols["sparse"], expected_ids)
    np.testing.assert_array_equal(cols["line"], np.arange(1, len(rows) + 1))


def test_plain_file(tmp_path):
    cols = read(write(tmp_path / "a.txt", ROWS))
    check_rows(cols)
    assert cols["dense"].dtype == np.float32 and cols["sparse"].dtype == np.int64
    assert cols["sparse"].min() >= 0 and cols["sparse"].max() < N


def test_gzip_file_same_as_plain(tmp_path):
    plain = read(write(tmp_path / "a.txt", ROWS))
    gz = read(write(tmp_path / "a.txt.gz", ROWS, gz=True))
    check_rows(gz)
    for k in plain:
        np.testing.assert_array_equal(plain[k], gz[k])


def test_file_without_final_newline(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("\n".join(ROWS))
    check_rows(read(path))


def test_folder_of_files(tmp_path):
    from recstack.data.datasets import list_files

    folder = tmp_path / "train"
    folder.mkdir()
    write(folder / "part-0.txt", ROWS[:2])
    write(folder / "part-1.txt.gz", ROWS[2:3], gz=True)
    write(folder / "part-2.txt", ROWS[3:])
    (folder / ".hidden").write_text("junk")
    (folder / "README.md").write_text("junk")
    files = list_files(folder, "train_data_dir")
    assert [f.name for f in files] == ["part-0.txt", "part-1.txt.gz", "part-2.txt"]
    parts = [read(f) for f in files]
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    np.testing.assert_array_equal(cols["line"], [1, 2, 1, 1])  # lines count per file
    cols["line"] = np.arange(1, 5)
    check_rows(cols)


def test_missing_values(tmp_path):
    cols = read(write(tmp_path / "a.txt", ROWS))
    assert cols["dense"][1, 0] == 0.0 and cols["dense"][2, 1] == 0.0  # missing dense -> 0
    # a missing categorical hashes key `field`: every field has its own "missing" id
    assert cols["sparse"][1, 0] == ref_splitmix64(0) % N
    assert cols["sparse"][2, 1] == ref_splitmix64(1) % N
    assert cols["sparse"][3, 2] == ref_splitmix64(2) % N
    # "00000000" is the value 0, not missing
    assert cols["sparse"][3, 0] == ref_splitmix64(64) % N != ref_splitmix64(0) % N


def test_hash_formula_directly():
    rng = np.random.default_rng(0)
    values = rng.integers(-1, 2**32, size=(200, 5))
    values[::7, 2] = -1
    for n in (1, 7, 1000, 1000001, 2**40 + 3):
        ids = criteo.hash_ids(values, n)
        expected = [[ref_splitmix64((int(v) + 1) * 64 + f) % n for f, v in enumerate(row)] for row in values]
        np.testing.assert_array_equal(ids, expected)
        assert ids.dtype == np.int64


def test_hash_known_vector():
    # splitmix64 reference output: seed 0 -> first output 0xE220A8397B1DCDAF
    assert ref_splitmix64(0) == 0xE220A8397B1DCDAF
    assert int(criteo.splitmix64_(np.array([0], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF


def test_same_hex_in_two_fields_maps_apart(tmp_path):
    big = FeatureSchema(sparse=SMALL.sparse, num_dense=2, num_embeddings=2**40)
    cols = read(write(tmp_path / "a.txt", ["1\t1\t1\tabc\tabc\tabc"]), big)
    assert len(set(cols["sparse"][0].tolist())) == 3


def test_ids_deterministic_across_calls(tmp_path):
    path = write(tmp_path / "a.txt", ROWS)
    first, second = read(path), read(path)
    np.testing.assert_array_equal(first["sparse"], second["sparse"])
    np.testing.assert_array_equal(first["dense"], second["dense"])


def test_fast_and_careful_paths_agree(tmp_path):
    clean = read(write(tmp_path / "a.txt", ROWS))
    # a bad line sends the chunk down the careful path; the good rows must come out the same
    skipped = SkipCounter()
    dirty = read(write(tmp_path / "b.txt", ROWS[:2] + ["1\t2"] + ROWS[2:]), skipped=skipped, skip_bad_lines=True)
    assert skipped.count == 1
    for k in ("labels", "dense", "sparse"):
        np.testing.assert_array_equal(clean[k], dirty[k])
    np.testing.assert_array_equal(dirty["line"], [1, 2, 4, 5])


# ---------------------------------------------------------------- vocabulary

VOCAB_ROWS = [
    "1\t1\t1\ta\t10\t5",
    "0\t1\t1\ta\t10\t5",
    "0\t1\t1\tb\t\t5",
    "1\t1\t1\tc\t20\t6",
    "0\t1\t1\tc\t20\t",
    "0\t1\t1\t\t30\t",
]


def test_vocabulary_min_count_and_offsets(tmp_path):
    path = write(tmp_path / "train.txt", VOCAB_ROWS)
    vocab = criteo.fit_vocabulary([path], ReadOptions(SMALL), min_count=2)
    # kept values per field, ascending: C1 {a, c}; C2 {0x10, 0x20}; C3 {5}
    assert [v.tolist() for v in vocab.values] == [[0xA, 0xC], [0x10, 0x20], [5]]
    np.testing.assert_array_equal(vocab.offsets, [0, 3, 6])
    assert vocab.num_embeddings == 8
    cols = read(path, vocabulary=vocab)
    np.testing.assert_array_equal(cols["sparse"], [
        [1, 4, 7],
        [1, 4, 7],
        [0, 3, 7],  # b rare -> C1 OOV (0); C2 missing -> C2 OOV (3)
        [2, 5, 6],  # 6 rare -> C3 OOV (6)
        [2, 5, 6],  # C3 missing -> OOV
        [0, 3, 6],  # C1 missing; 0x30 rare
    ])


def test_vocabulary_min_count_one_keeps_all_and_unseen_is_oov(tmp_path):
    path = write(tmp_path / "train.txt", VOCAB_ROWS)
    vocab = criteo.fit_vocabulary([path], ReadOptions(SMALL), min_count=1)
    assert [v.tolist() for v in vocab.values] == [[0xA, 0xB, 0xC], [0x10, 0x20, 0x30], [5, 6]]
    np.testing.assert_array_equal(vocab.offsets, [0, 4, 8])
    test = read(write(tmp_path / "test.txt", ["1\t1\t1\tb\t30\t7", "0\t1\t1\tff\t10\t6"]), vocabulary=vocab)
    np.testing.assert_array_equal(test["sparse"], [[2, 7, 8], [0, 5, 10]])


def test_vocabulary_save_load_roundtrip(tmp_path):
    vocab = criteo.fit_vocabulary([write(tmp_path / "t.txt", VOCAB_ROWS)], ReadOptions(SMALL), min_count=2)
    vocab.save(tmp_path / "v.npz")
    back = criteo.Vocabulary.load(tmp_path / "v.npz")
    assert [v.tolist() for v in back.values] == [v.tolist() for v in vocab.values]


def test_vocabulary_field_with_nothing_kept():
    vocab = criteo.Vocabulary([np.array([3, 9]), np.array([], dtype=np.int64)])
    ids = vocab.encode(np.array([[9, 4], [-1, -1], [3, 0]]))
    np.testing.assert_array_equal(ids, [[2, 3], [0, 3], [1, 3]])
    assert vocab.num_embeddings == 4


def test_vocabulary_many_fields_roundtrip(tmp_path):
    values = [np.arange(i + 1, dtype=np.int64) for i in range(12)]  # f10, f11 sort before f2 as strings
    criteo.Vocabulary(values).save(tmp_path / "v.npz")
    back = criteo.Vocabulary.load(tmp_path / "v.npz")
    assert [len(v) for v in back.values] == list(range(1, 13))


# ---------------------------------------------------------------- dense transforms

def full_line(label: str, dense: list[str], cats: list[str] | None = None) -> str:
    cats = cats if cats is not None else ["68fd1e64"] * 26
    return "\t".join([label, *dense, *cats])


def test_log1p_values(tmp_path):
    dense = ["0", "-3", "1", "", "9", "64000", "2", "3", "4", "5", "6", "7", "100"]
    cols = read(write(tmp_path / "a.txt", [full_line("1", dense)]), FULL, dense_transform="log1p")
    expected = [0.0, -math.log(4), math.log(2), 0.0, math.log(10), math.log(64001), math.log(3), math.log(4),
                math.log(5), math.log(6), math.log(7), math.log(8), math.log(101)]
    np.testing.assert_allclose(cols["dense"][0], expected, rtol=1e-6)


def test_minmax_values(tmp_path):
    # PaddleRec ranges: min [0,-3,0,...], max [20,600,100,50,64000,500,100,50,500,10,10,10,50]
    dense = ["5", "-3", "50", "", "128000", "250", "-1", "50", "100", "1", "10", "3", "25"]
    cols = read(write(tmp_path / "a.txt", [full_line("0", dense)]), FULL, dense_transform="minmax")
    expected = [0.25, 0.0, 0.5, 0.0, 1.0, 0.5, 0.0, 1.0, 0.2, 0.1, 1.0, 0.3, 0.5]
    np.testing.assert_allclose(cols["dense"][0], expected, rtol=1e-6)
    i2 = read(write(tmp_path / "b.txt", [full_line("0", ["0", "300"] + ["0"] * 11)]), FULL, dense_transform="minmax")
    assert i2["dense"][0, 1] == pytest.approx(303 / 603)


def test_unknown_transform():
    with pytest.raises(ValueError, match="unknown dense transform"):
        criteo.transform_dense(np.zeros((1, 2)), "zscore")


# ---------------------------------------------------------------- malformed lines

GOOD = "1\t1\t2\tab\tcd\tef"


def expect_error(path: Path, line: int, *words: str, **options) -> DataFormatError:
    with pytest.raises(DataFormatError) as info:
        read(path, **options)
    err = info.value
    assert err.line == line and err.path == str(path)
    assert f"{path}:{line}:" in str(err)
    for word in words:
        assert word in str(err), str(err)
    return err


@pytest.mark.parametrize("bad, line, words", [
    ("1\t1\t2\tab\tcd", 3, ("expected 6 tab-separated columns, found 5",)),
    ("1\t1\t2\tab\tcd\tef\t00", 3, ("expected 6", "found 7")),
    ("1\t1\t2\tab\tzz\tef", 3, ("C2", "hex", "'zz'")),
    ("1\t1\t2\tab\t-1\tef", 3, ("C2", "hex", "'-1'")),
    ("2\t1\t2\tab\tcd\tef", 3, ("label", "0 or 1", "'2'")),
    ("x\t1\t2\tab\tcd\tef", 3, ("label", "0 or 1", "'x'")),
    ("\t1\t2\tab\tcd\tef", 3, ("label", "0 or 1")),
    ("1\t1.5\t2\tab\tcd\tef", 3, ("I1", "integer", "'1.5'")),
    ("1\t1\tseven\tab\tcd\tef", 3, ("I2", "integer", "'seven'")),
    ("", 3, ("expected 6", "found 1")),
])
def test_malformed_line(tmp_path, bad, line, words):
    path = write(tmp_path / "bad.txt", [GOOD, GOOD, bad, GOOD])
    expect_error(path, line, *words)


def test_short_and_long_line_in_same_chunk_balance_tabs(tmp_path):
    short, long = "1\t1\t2\tab\tcd", "1\t1\t2\tab\tcd\tef\t00"
    expect_error(write(tmp_path / "a.txt", [GOOD, short, GOOD, long, GOOD]), 2, "found 5")
    expect_error(write(tmp_path / "b.txt", [GOOD, long, GOOD, short, GOOD]), 2, "found 7")
    skipped = SkipCounter()
    cols = read(tmp_path / "b.txt", skipped=skipped, skip_bad_lines=True)
    assert skipped.count == 2
    np.testing.assert_array_equal(cols["line"], [1, 3, 5])


def test_malformed_gzip_line(tmp_path):
    expect_error(write(tmp_path / "bad.txt.gz", [GOOD, "1\t1\t2\tab\tcd", GOOD], gz=True), 2, "found 5")


def test_bad_line_in_later_chunk(tmp_path):
    lines = [GOOD] * 40
    lines[29] = "1\t1\t2\tab\tcd\tqq"  # line 30
    path = write(tmp_path / "a.txt", lines)
    chunk_bytes = 64  # ~4 lines per chunk
    ok = write(tmp_path / "ok.txt", [GOOD] * 40)
    chunks = list(criteo.iter_columns(ok, ReadOptions(SMALL, chunk_bytes=chunk_bytes), SkipCounter()))
    assert len(chunks) > 5
    expect_error(path, 30, "C3", "'qq'", chunk_bytes=chunk_bytes)
    lines[29] = "1\t1\t2\tab\tcd"
    expect_error(write(tmp_path / "b.txt", lines), 30, "found 5", chunk_bytes=chunk_bytes)


def test_line_column_across_chunks_with_skips(tmp_path):
    lines = [f"{i % 2}\t{i}\t{i}\t{i:x}\tcd\tef" for i in range(1, 51)]
    bad = {7, 23, 24, 50}
    for b in bad:
        lines[b - 1] = "1\toops\t2\tab\tcd\tef" if b % 2 else "1\t2\tab"
    skipped = SkipCounter()
    cols = read(write(tmp_path / "a.txt", lines), skipped=skipped, skip_bad_lines=True, chunk_bytes=100)
    kept = [i for i in range(1, 51) if i not in bad]
    np.testing.assert_array_equal(cols["line"], kept)
    # each kept row is the row written on that line
    np.testing.assert_allclose(cols["dense"][:, 0], np.log1p(kept), rtol=1e-6)
    np.testing.assert_array_equal(cols["labels"][:, 0], [i % 2 for i in kept])
    assert skipped.count == 4
    assert skipped.examples[0].startswith(f"{tmp_path / 'a.txt'}:7:")


def test_skip_bad_lines_counts_and_keeps_good(tmp_path):
    lines = [ROWS[0], "1\t1\t2\tab\tcd", ROWS[1], "2\t1\t2\tab\tcd\tef", ROWS[2], "1\tx\t2\tab\tcd\tef",
             ROWS[3], "1\t1\t2\tab\tcd\tzz", "\t1\t2\tab\tcd\tef", "1\t1\t2\t-1\tcd\tef"]
    skipped = SkipCounter()
    cols = read(write(tmp_path / "a.txt", lines), skipped=skipped, skip_bad_lines=True)
    assert skipped.count == 6
    assert len(skipped.examples) == 5  # only the first few reasons are kept
    assert [e.split(":")[1] for e in skipped.examples] == ["2", "4", "6", "8", "9"]
    np.testing.assert_array_equal(cols["line"], [1, 3, 5, 7])
    cols["line"] = np.arange(1, 5)
    check_rows(cols)


def test_all_lines_bad_and_skipped(tmp_path):
    skipped = SkipCounter()
    chunks = list(criteo.iter_columns(write(tmp_path / "a.txt", ["1\t2", "x"]), ReadOptions(SMALL, skip_bad_lines=True),
                                      skipped))
    assert skipped.count == 2
    assert sum(len(c["labels"]) for c in chunks) == 0
    assert all(c["sparse"].shape[1] == 3 and c["dense"].shape[1] == 2 for c in chunks)


# ---------------------------------------------------------------- the real sample

def test_real_kaggle_sample():
    cols = read(REAL_SAMPLE, FULL)
    assert cols["labels"].shape == (900, 1)
    assert int(cols["labels"].sum()) == 176
    np.testing.assert_array_equal(cols["line"], np.arange(1, 901))
    with gzip.open(REAL_SAMPLE, "rt") as fh:
        first = fh.readline().rstrip("\n").split("\t")
    assert first[:6] == ["0", "1", "1", "5", "0", "1382"]
    np.testing.assert_allclose(cols["dense"][0, :5], np.log1p([1, 1, 5, 0, 1382]), rtol=1e-6)
    assert cols["dense"][0, 11] == 0.0  # I12 is missing on the first row
    expected = [ref_id(v, j, N) for j, v in enumerate(first[14:])]
    np.testing.assert_array_equal(cols["sparse"][0], expected)
    # chunked reading gives the same columns
    small = read(REAL_SAMPLE, FULL, chunk_bytes=5000)
    for k in cols:
        np.testing.assert_array_equal(cols[k], small[k])


def test_chunk_smaller_than_a_line(tmp_path):
    path = write(tmp_path / "a.txt", ROWS)
    chunks = list(criteo.iter_columns(path, ReadOptions(SMALL, chunk_bytes=8), SkipCounter()))
    assert len(chunks) == len(ROWS)
    check_rows({k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]})
    bad = write(tmp_path / "b.txt", ROWS[:3] + ["1\t1\t2\tab\tcd\tzz"] + ROWS[3:])
    expect_error(bad, 4, "C3", chunk_bytes=8)
