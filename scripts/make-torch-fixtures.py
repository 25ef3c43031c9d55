# Writes the small PyTorch checkpoints in tests/fixtures/torch/ that src/io/torch-pickle.test.ts reads:
# real torch.save zip files (plain, sharded, nested, protocol 4, deflated, legacy) plus two malicious ones.
#
# Run with Debian's torch (apt-get install -y python3-torch), not the pyenv python first on PATH:
#   /usr/bin/python3 scripts/make-torch-fixtures.py
# Nothing here loads the malicious files; they are only written. Output is byte-for-byte deterministic (fixed
# seed, archive name "archive", fixed zip timestamps) except legacy.bin, whose format embeds memory addresses.
import collections
import io
import json
import os
import pickle
import struct
import zipfile
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "torch")
# Marker files the malicious payloads would create; the tests assert they never appear.
MARKER_SYSTEM = "/tmp/tfew-torch-fixture-pwned-by-os-system"
MARKER_EVAL = "/tmp/tfew-torch-fixture-pwned-by-eval"


def save(obj, name, **kwargs):
    """torch.save into OUT/name, with the archive folder always named 'archive' (as torch >= 2.0 does)."""
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)  # a file-like target gets the archive name "archive"
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    size = os.path.getsize(path)
    assert size < 50_000, f"{name} is {size} bytes; keep fixtures under 50 KB"
    print(f"wrote {name} ({size} bytes)")
    return path


def expected(state):
    """name -> {dtype, shape, values (float32/int values as Python numbers, row-major)}."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
             torch.bool: "BOOL"}
    out = {}
    for key, t in state.items():
        if t.is_floating_point():
            values = t.to(torch.float32).reshape(-1).tolist()  # what the reader widens to
        else:
            values = t.to(torch.int64).reshape(-1).tolist()
        out[key] = {"dtype": names[t.dtype], "shape": list(t.shape), "values": values}
    return out


def write_json(obj, name):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {name}")


def tiny_state():
    g = torch.Generator().manual_seed(1234)
    tied = torch.randn(4, 3, generator=g)
    base = torch.randn(4, 5, generator=g)
    flat = torch.randn(12, generator=g)
    state = collections.OrderedDict()
    state["encoder.weight"] = torch.randn(3, 5, generator=g)  # float32 2-D
    state["encoder.bias"] = torch.randn(5, generator=g)  # float32 1-D
    state["half.weight"] = torch.randn(2, 3, generator=g).to(torch.float16)
    state["bf16.weight"] = torch.randn(2, 2, generator=g).to(torch.bfloat16)
    state["f64.weight"] = torch.randn(3, generator=g).to(torch.float64)
    state["ids"] = torch.tensor([0, 1, -7, 2**31 - 1, -(2**31)], dtype=torch.int64)
    state["i32"] = torch.tensor([[5, -6], [7, 8]], dtype=torch.int32)
    state["mask"] = torch.tensor([True, False, True])
    state["bytes"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    state["scalar"] = torch.tensor(2.5)
    state["empty"] = torch.zeros(0, 3)
    state["shared.weight"] = tied  # a tied pair: the same tensor under two names, one storage
    state["lm_head.weight"] = tied
    state["base"] = base
    state["base.row2"] = base[2]  # a view: storage_offset 10 into base's storage
    state["flat.view"] = flat[4:10].view(2, 3)  # a view of a storage that is never saved whole
    return state


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)

    # (a) a tiny state dict with every dtype, tied weights and views, plus its expected values
    state = tiny_state()
    save(state, "tiny.bin")
    write_json(expected(state), "tiny.json")
    # the same state with pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE)
    save(state, "tiny-p4.bin", pickle_protocol=4)
    # the same archive with every entry deflated (torch writes stored entries; other zip tools may not)
    deflate_copy("tiny.bin", "tiny-deflated.bin")
    # the same archive in zip64 form, as torch writes files over 4 GB (T0_3B's 11 GB .bin)
    zip64_copy("tiny.bin", "tiny-zip64.bin")
    # a trainer checkpoint: {"state_dict": {...}, "epoch": 3}
    small = collections.OrderedDict((k, state[k]) for k in ["encoder.weight", "encoder.bias"])
    save({"state_dict": small, "epoch": 3, "lr": 0.001}, "nested.bin")
    # a module's state_dict(): an OrderedDict carrying _metadata, restored by the BUILD opcode
    torch.manual_seed(0)
    module_state = torch.nn.Linear(2, 3).state_dict()
    save(module_state, "module.bin")
    write_json(expected(module_state), "module.json")
    # nn.Parameter values (pickled through torch._utils._rebuild_parameter)
    save({"p": torch.nn.Parameter(state["encoder.bias"].clone())}, "parameter.bin")
    # a transposed (non-contiguous) tensor
    save({"t": torch.arange(6.0).reshape(2, 3).t()}, "noncontiguous.bin")
    # a dict whose value is not a tensor
    save({"w": state["encoder.bias"], "step": 7}, "not-tensors.bin")
    # values the reader cannot represent: an int64 outside int32, a complex dtype
    save({"big": torch.tensor([1, 2**40])}, "int64-overflow.bin")
    save({"z": torch.zeros(2, dtype=torch.complex64)}, "complex.bin")
    # a zip that is not a torch.save archive
    with zipfile.ZipFile(os.path.join(OUT, "not-torch.zip"), "w") as z:
        z.writestr(zipfile.ZipInfo("hello.txt", date_time=(1980, 1, 1, 0, 0, 0)), "hello\n")
    # a pre-1.6 (non-zip) checkpoint
    save({"w": state["encoder.bias"]}, "legacy.bin", _use_new_zipfile_serialization=False)

    # (b) two shards and their index
    shard1 = collections.OrderedDict((k, state[k].clone()) for k in ["encoder.weight", "half.weight"])
    shard2 = collections.OrderedDict((k, state[k].clone()) for k in ["encoder.bias", "ids"])
    save(shard1, "pytorch_model-00001-of-00002.bin")
    save(shard2, "pytorch_model-00002-of-00002.bin")
    weight_map = {k: "pytorch_model-00001-of-00002.bin" for k in shard1}
    weight_map.update({k: "pytorch_model-00002-of-00002.bin" for k in shard2})
    write_json({"metadata": {"total_size": 0}, "weight_map": weight_map}, "pytorch_model.bin.index.json")
    write_json(expected(collections.OrderedDict(list(shard1.items()) + list(shard2.items()))), "sharded.json")

    # (c) and (d): pickles that would run code in torch.load(weights_only=False)
    save({"w": state["encoder.bias"], "x": RunsOsSystem()}, "malicious.bin")
    save({"w": state["encoder.bias"], "x": RunsEval()}, "malicious-eval.bin")
    for name, needle in [("malicious.bin", b"system"), ("malicious-eval.bin", b"eval")]:
        with zipfile.ZipFile(os.path.join(OUT, name)) as z:
            assert needle in z.read("archive/data.pkl"), f"{name}: payload missing"

    # raw pickles (not torch files) for the pickle VM's own tests
    plain = {"ints": [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**31, 2**40, -2**40],
             "floats": [1.5, -0.0, 1e300], "flags": [True, False, None], "text": ["", "é✓", "x" * 300],
             "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)], "shared": [[7]] * 2}
    for proto in (2, 4):
        with open(os.path.join(OUT, f"plain-p{proto}.pkl"), "wb") as f:
            f.write(pickle.dumps(plain, protocol=proto))
        print(f"wrote plain-p{proto}.pkl")


class RunsOsSystem:
    def __reduce__(self):
        return (os.system, (f"echo pwned > {MARKER_SYSTEM}",))


class RunsEval:
    def __reduce__(self):
        return (eval, (f"__import__('os').system('echo pwned > {MARKER_EVAL}')",))


def deflate_copy(src, dst):
    with zipfile.ZipFile(os.path.join(OUT, src)) as zin, \
            zipfile.ZipFile(os.path.join(OUT, dst), "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            out.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(out, zin.read(info.filename))
    print(f"wrote {dst}")


def zip64_copy(src, dst):
    """Rewrite a stored zip with zip64 sizes/offsets in every header and a zip64 end record (forced, small)."""
    u16, u32, u64 = (lambda v: struct.pack("<H", v)), (lambda v: struct.pack("<I", v)), (lambda v: struct.pack("<Q", v))
    out, central = bytearray(), bytearray()
    with zipfile.ZipFile(os.path.join(OUT, src)) as zin:
        infos = zin.infolist()
        for info in infos:
            data, name = zin.read(info.filename), info.filename.encode()
            crc, offset = zlib.crc32(data), len(out)
            out += u32(0x04034B50) + u16(45) + u16(0) + u16(0) + u16(0) + u16(0x21) + u32(crc)
            out += u32(0xFFFFFFFF) * 2 + u16(len(name)) + u16(20) + name
            out += u16(1) + u16(16) + u64(len(data)) * 2 + data
            central += u32(0x02014B50) + u16(45) + u16(45) + u16(0) + u16(0) + u16(0) + u16(0x21) + u32(crc)
            central += u32(0xFFFFFFFF) * 2 + u16(len(name)) + u16(28) + u16(0) + u16(0) + u16(0) + u32(0)
            central += u32(0xFFFFFFFF) + name + u16(1) + u16(24) + u64(len(data)) * 2 + u64(offset)
    cd_offset, n = len(out), len(infos)
    out += central
    eocd64 = len(out)
    out += u32(0x06064B50) + u64(44) + u16(45) + u16(45) + u32(0) + u32(0) + u64(n) + u64(n)
    out += u64(len(central)) + u64(cd_offset)
    out += u32(0x07064B50) + u32(0) + u64(eocd64) + u32(1)
    out += u32(0x06054B50) + u16(0) + u16(0) + u16(0xFFFF) * 2 + u32(0xFFFFFFFF) * 2 + u16(0)
    with open(os.path.join(OUT, dst), "wb") as f:
        f.write(out)
    with zipfile.ZipFile(os.path.join(OUT, src)) as a, zipfile.ZipFile(os.path.join(OUT, dst)) as b:
        assert all(a.read(i.filename) == b.read(i.filename) for i in a.infolist()), "zip64 copy differs"
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
