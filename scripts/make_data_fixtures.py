# Writes the Parquet and Arrow fixtures of tests/fixtures/data-formats/ from rows.json with pyarrow and the
# `datasets` library, as Python users and the HF hub write them. Run: python3 scripts/make_data_fixtures.py
# (needs pyarrow and datasets; the files are committed so tests and CI do not need Python).
import json
import os

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "data-formats")
SPEC = json.load(open(os.path.join(HERE, "rows.json"), encoding="utf-8"))
LABELS, ROWS = SPEC["labels"], SPEC["rows"]
COLUMNS = ["ID", "Title", "Body", "Label"]


def out(name):
    return os.path.join(HERE, name)


def string_table():
    return pa.table({c: pa.array([r[c] for r in ROWS], pa.string()) for c in COLUMNS})


def id_table():
    """Label as an integer class id (index into LABELS)."""
    cols = {c: pa.array([r[c] for r in ROWS], pa.string()) for c in COLUMNS[:-1]}
    cols["Label"] = pa.array([LABELS.index(r["Label"]) for r in ROWS], pa.int64())
    return pa.table(cols)


def parquet_files():
    t = string_table()
    # PLAIN only, no compression, data page v1
    pq.write_table(t, out("plain.parquet"), use_dictionary=False, compression="none")
    # dictionary pages + RLE_DICTIONARY indices, snappy, several row groups (pyarrow's defaults otherwise)
    pq.write_table(t, out("dictionary-snappy.parquet"), compression="snappy", row_group_size=4)
    # DELTA_BYTE_ARRAY / DELTA_LENGTH_BYTE_ARRAY strings, data page v2, zstd
    enc = {"ID": "DELTA_BYTE_ARRAY", "Title": "DELTA_LENGTH_BYTE_ARRAY", "Body": "DELTA_BYTE_ARRAY", "Label": "DELTA_LENGTH_BYTE_ARRAY"}
    pq.write_table(t, out("delta-zstd.parquet"), use_dictionary=False, column_encoding=enc, compression="zstd", data_page_version="2.0")
    pq.write_table(t, out("gzip.parquet"), compression="gzip", data_page_version="2.0")
    pq.write_table(t, out("brotli.parquet"), compression="brotli")
    pq.write_table(t, out("lz4.parquet"), compression="lz4")
    # integer ids: DELTA_BINARY_PACKED, no metadata (labels come from data.labels)
    pq.write_table(id_table(), out("int-labels.parquet"), use_dictionary=["ID", "Title", "Body"], column_encoding={"Label": "DELTA_BINARY_PACKED"})


def hf_dataset(rows=None, label_ids=None):
    rows = ROWS if rows is None else rows
    label_ids = [LABELS.index(r["Label"]) for r in rows] if label_ids is None else label_ids
    features = datasets.Features({
        "ID": datasets.Value("string"), "Title": datasets.Value("string"), "Body": datasets.Value("string"),
        "Label": datasets.ClassLabel(names=LABELS),
    })
    return datasets.Dataset.from_dict({c: [r[c] for r in rows] for c in COLUMNS[:-1]} | {"Label": label_ids}, features=features)


def hf_files():
    ds = hf_dataset()
    # what the hub's parquet conversion and Dataset.to_parquet write: ClassLabel ids + "huggingface" metadata
    ds.to_parquet(out("hf-classlabel.parquet"))
    # the datasets cache / save_to_disk: an Arrow IPC stream with the same metadata
    # a test split as GLUE keeps it: ClassLabel -1 = no label
    hf_dataset(ROWS[:3], [-1, -1, -1]).to_parquet(out("hf-unlabelled.parquet"))
    ds.save_to_disk(out("hf-save"))
    os.replace(out("hf-save/data-00000-of-00001.arrow"), out("datasets-cache.arrow"))
    for name in os.listdir(out("hf-save")):
        os.remove(out(f"hf-save/{name}"))
    os.rmdir(out("hf-save"))


def arrow_files():
    t = string_table()
    # a stream with a dictionary-encoded label column and large_string bodies, in two record batches
    dict_t = t.set_column(3, "Label", pa.array(t.column("Label").to_pylist()).dictionary_encode())
    dict_t = dict_t.set_column(2, "Body", t.column("Body").cast(pa.large_string()))
    with pa.ipc.new_stream(out("stream-dictionary.arrow"), dict_t.schema) as w:
        for batch in dict_t.to_batches(max_chunksize=5):
            w.write_batch(batch)
    # the IPC *file* format (Feather v2), which tfew also reads
    with pa.ipc.new_file(out("ipc-file.arrow"), t.schema) as w:
        w.write_table(t)


def bad_files():
    base = {"ID": ["a", "b"], "Title": ["x", "y"], "Label": ["billing", "bug report"]}
    nested = pa.table(base | {"Body": pa.array([["one", "two"], ["three"]], pa.list_(pa.string()))})
    binary = pa.table(base | {"Body": pa.array([b"\x00\x01", b"\xff"], pa.binary())})
    pq.write_table(nested, out("nested.parquet"))
    pq.write_table(binary, out("binary.parquet"))
    with pa.ipc.new_stream(out("nested.arrow"), nested.schema) as w:
        w.write_table(nested)
    with pa.ipc.new_stream(out("binary.arrow"), binary.schema) as w:
        w.write_table(binary)


if __name__ == "__main__":
    datasets.disable_progress_bars()
    parquet_files()
    hf_files()
    arrow_files()
    bad_files()
    print(f"pyarrow {pa.__version__}, datasets {datasets.__version__}: wrote {len(os.listdir(HERE))} files in {HERE}")
