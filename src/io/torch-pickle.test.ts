// Tests for the safe PyTorch checkpoint reader against real torch.save files from
// scripts/make-torch-fixtures.py (PyTorch 1.13): exact values, shards, and refusal of malicious pickles.
import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TfewError } from "../errors.js";
import { PyDict, PyTuple, SUPPORTED_OPCODES, unpickle, type PickleHooks } from "./pickle-vm.js";
import { readTorchCheckpoint, readTorchCheckpointIndex } from "./torch-pickle.js";
import type { TensorRecord } from "./tensor-record.js";
import { tfewErrorOf } from "../../tests/helpers/errors.js";

const FIXTURES = join(import.meta.dirname, "../../tests/fixtures/torch");
const fixture = (name: string): string => join(FIXTURES, name);
// the files the malicious payloads would write (see scripts/make-torch-fixtures.py)
const MARKER_SYSTEM = "/tmp/tfew-torch-fixture-pwned-by-os-system";
const MARKER_EVAL = "/tmp/tfew-torch-fixture-pwned-by-eval";

interface Expected {
  dtype: string;
  shape: number[];
  values: number[];
}

function expectMatches(tensors: Map<string, TensorRecord>, jsonName: string): void {
  const expected = JSON.parse(readFileSync(fixture(jsonName), "utf8")) as Record<string, Expected>;
  expect([...tensors.keys()].sort()).toEqual(Object.keys(expected).sort());
  for (const [name, want] of Object.entries(expected)) {
    const got = tensors.get(name)!;
    expect({ name, dtype: got.dtype, shape: got.shape }).toEqual({ name, dtype: want.dtype, shape: want.shape });
    expect(got.data).toBeInstanceOf(["F32", "F16", "BF16", "F64"].includes(want.dtype) ? Float32Array : Int32Array);
    expect(Array.from(got.data)).toEqual(want.values); // exact: float32 values survive JSON round trips
  }
}

const failure = tfewErrorOf;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "tfew-torch-"));
}

describe("readTorchCheckpoint", () => {
  it("reads every dtype, tied weights and views exactly (protocol 2, as torch.save writes)", async () => {
    const tensors = await readTorchCheckpoint(fixture("tiny.bin"));
    expectMatches(tensors, "tiny.json");
    expect([...tensors.keys()].slice(0, 3)).toEqual(["encoder.weight", "encoder.bias", "half.weight"]); // file order
    // tied weights: equal values, independent copies
    expect(tensors.get("lm_head.weight")!.data).toEqual(tensors.get("shared.weight")!.data);
    expect(tensors.get("lm_head.weight")!.data).not.toBe(tensors.get("shared.weight")!.data);
    // the view base[2] starts at storage offset 10
    expect(Array.from(tensors.get("base.row2")!.data)).toEqual(Array.from(tensors.get("base")!.data.subarray(10, 15)));
  });

  it("reads the same state saved with pickle protocol 4, with deflated entries and with zip64 headers", async () => {
    expectMatches(await readTorchCheckpoint(fixture("tiny-p4.bin")), "tiny.json");
    expectMatches(await readTorchCheckpoint(fixture("tiny-deflated.bin")), "tiny.json");
    expectMatches(await readTorchCheckpoint(fixture("tiny-zip64.bin")), "tiny.json"); // as torch writes files > 4 GB
  });

  it("reads a module state_dict (OrderedDict with _metadata via BUILD) and nn.Parameter values", async () => {
    expectMatches(await readTorchCheckpoint(fixture("module.bin")), "module.json");
    const tiny = await readTorchCheckpoint(fixture("tiny.bin"));
    const params = await readTorchCheckpoint(fixture("parameter.bin"));
    expect(params.get("p")!.data).toEqual(tiny.get("encoder.bias")!.data);
  });

  it("uses the state_dict of a trainer checkpoint {state_dict, epoch, lr}", async () => {
    const tensors = await readTorchCheckpoint(fixture("nested.bin"));
    expect([...tensors.keys()]).toEqual(["encoder.weight", "encoder.bias"]);
  });

  it("refuses a pickle that calls os.system, and runs nothing", async () => {
    rmSync(MARKER_SYSTEM, { force: true });
    const error = await failure(readTorchCheckpoint(fixture("malicious.bin")));
    expect(error.message).toBe(
      `refusing to load ${fixture("malicious.bin")}: its pickle calls posix.system, which is not an allowed tensor constructor; ` +
        "only plain state dicts of tensors can be loaded (convert it to safetensors)",
    );
    expect(existsSync(MARKER_SYSTEM)).toBe(false);
  });

  it("refuses a pickle that calls builtins.eval, and runs nothing", async () => {
    rmSync(MARKER_EVAL, { force: true });
    const error = await failure(readTorchCheckpoint(fixture("malicious-eval.bin")));
    expect(error.message).toMatch(
      /^refusing to load .*malicious-eval\.bin: its pickle calls builtins\.eval, which is not an allowed tensor constructor/,
    );
    expect(existsSync(MARKER_EVAL)).toBe(false);
  });

  it("rejects non-contiguous tensors and non-tensor entries, naming the tensor", async () => {
    expect((await failure(readTorchCheckpoint(fixture("noncontiguous.bin")))).message).toMatch(
      /tensor "t" has shape \[3,2\] with strides \[1,3\], not contiguous row-major; save it with \.contiguous\(\)/,
    );
    expect((await failure(readTorchCheckpoint(fixture("not-tensors.bin")))).message).toMatch(
      /entry "step" holds a number, not a tensor/,
    );
  });

  it("explains legacy (pre-1.6) files, non-zip files, truncated and missing files", async () => {
    expect((await failure(readTorchCheckpoint(fixture("legacy.bin")))).message).toMatch(
      /legacy \(pre-1\.6, non-zip\) PyTorch checkpoint.*re-save it/,
    );
    expect((await failure(readTorchCheckpoint(fixture("tiny.json")))).message).toMatch(
      /tiny\.json: it is not a PyTorch checkpoint \(no zip signature\)/,
    );
    expect((await failure(readTorchCheckpoint(fixture("absent.bin")))).message).toMatch(
      /absent\.bin: the file is not found/,
    );
    const dir = tempDir();
    try {
      const whole = readFileSync(fixture("tiny.bin"));
      writeFileSync(join(dir, "cut.bin"), whole.subarray(0, whole.length - 300));
      expect((await failure(readTorchCheckpoint(join(dir, "cut.bin")))).message).toMatch(
        /cut\.bin: it is not a readable zip archive .*truncated or corrupt/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("rejects int64 values outside int32, complex dtypes and zips that torch.save did not write", async () => {
    expect((await failure(readTorchCheckpoint(fixture("int64-overflow.bin")))).message).toMatch(
      /int64-overflow\.bin tensor "big": element 1 is 1099511627776, outside int32/,
    );
    expect((await failure(readTorchCheckpoint(fixture("complex.bin")))).message).toMatch(
      /it holds torch\.ComplexFloatStorage tensors, a dtype tfew cannot read/,
    );
    expect((await failure(readTorchCheckpoint(fixture("not-torch.zip")))).message).toMatch(
      /the zip has no <archive>\/data\.pkl entry, so it is not a torch\.save checkpoint/,
    );
  });

  it("rejects a storage whose size disagrees with the pickle", async () => {
    const dir = tempDir();
    try {
      // same-length edit of the stored pickle: encoder.bias's storage "1" claims 6 floats instead of 5
      const bytes = Buffer.from(readFileSync(fixture("tiny.bin")));
      const at = bytes.indexOf(Buffer.from("X\x01\x00\x00\x001q\x0fh\x07K\x05", "latin1"));
      expect(at).toBeGreaterThan(0);
      bytes[at + 11] = 6;
      writeFileSync(join(dir, "edited.bin"), bytes); // yauzl does not check CRCs, so this reaches the reader
      expect((await failure(readTorchCheckpoint(join(dir, "edited.bin")))).message).toMatch(
        /entry archive\/data\/1 has 20 bytes, but its pickle says 6 F32 values \(24 bytes\)/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("readTorchCheckpoint on damaged files", () => {
  it("answers every single-byte corruption with a result or a TfewError, never another error", async () => {
    const whole = readFileSync(fixture("tiny.bin"));
    const dir = tempDir();
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const outcomes = new Map<string, number>();
    try {
      for (let trial = 0; trial < 200; trial++) {
        const bytes = Buffer.from(whole);
        const at = trial < 100 ? (next() % 1300) + 30 : next() % bytes.length; // half inside data.pkl
        bytes[at] = next() % 256;
        const file = join(dir, `t${trial}.bin`);
        writeFileSync(file, bytes);
        const result = await readTorchCheckpoint(file).then(
          () => "ok",
          (e: unknown) =>
            e instanceof TfewError ? e.message.split(":")[0]!.replace(file, "") || "TfewError" : `other: ${String(e)}`,
        );
        outcomes.set(result, (outcomes.get(result) ?? 0) + 1);
        rmSync(file);
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
    expect([...outcomes.keys()].filter((k) => k.startsWith("other"))).toEqual([]);
  });
});

describe("readTorchCheckpointIndex", () => {
  it("reads both shards in weight_map order", async () => {
    const tensors = await readTorchCheckpointIndex(fixture("pytorch_model.bin.index.json"));
    expectMatches(tensors, "sharded.json");
    const index = JSON.parse(readFileSync(fixture("pytorch_model.bin.index.json"), "utf8")) as { weight_map: object };
    expect([...tensors.keys()]).toEqual(Object.keys(index.weight_map));
  });

  it("fails when weight_map names a tensor its shard lacks, or a shard outside the folder", async () => {
    const dir = tempDir();
    try {
      for (const shard of ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]) {
        writeFileSync(join(dir, shard), readFileSync(fixture(shard)));
      }
      const index = JSON.parse(readFileSync(fixture("pytorch_model.bin.index.json"), "utf8")) as {
        weight_map: Record<string, string>;
      };
      index.weight_map["decoder.weight"] = "pytorch_model-00002-of-00002.bin";
      writeFileSync(join(dir, "a.json"), JSON.stringify(index));
      expect((await failure(readTorchCheckpointIndex(join(dir, "a.json")))).message).toMatch(
        /a\.json: weight_map puts tensor "decoder\.weight" in pytorch_model-00002-of-00002\.bin, which does not contain it/,
      );
      index.weight_map["decoder.weight"] = "../elsewhere.bin";
      writeFileSync(join(dir, "b.json"), JSON.stringify(index));
      expect((await failure(readTorchCheckpointIndex(join(dir, "b.json")))).message).toMatch(
        /names shard "\.\.\/elsewhere\.bin", not a file in the same folder/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("unpickle", () => {
  const plainHooks: PickleHooks = {
    findGlobal: (module, name) => {
      throw new TfewError(`global ${module}.${name}`);
    },
    persistentLoad: () => undefined,
    reduce: () => undefined,
    build: () => undefined,
  };
  const plain = (value: unknown): unknown => {
    if (value instanceof PyDict) return Object.fromEntries([...value.items].map(([k, v]) => [String(k), plain(v)]));
    if (value instanceof PyTuple) return { tuple: value.items.map(plain) };
    if (Array.isArray(value)) return value.map(plain);
    return value;
  };

  it("decodes Python's own protocol 2 and 4 pickles of plain data", () => {
    for (const name of ["plain-p2.pkl", "plain-p4.pkl"]) {
      const value = unpickle(readFileSync(fixture(name)), plainHooks, name);
      expect(plain(value)).toEqual({
        ints: [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 31, 2 ** 40, -(2 ** 40)],
        floats: [1.5, -0, 1e300],
        flags: [true, false, null],
        text: ["", "é✓", "x".repeat(300)],
        tuples: [{ tuple: [] }, { tuple: [1] }, { tuple: [1, 2] }, { tuple: [1, 2, 3] }, { tuple: [1, 2, 3, 4] }],
        shared: [[7], [7]],
      });
      const shared = (value as PyDict).items.get("shared") as unknown[];
      expect(shared[0]).toBe(shared[1]); // the memo keeps identity, as Python does
    }
  });

  it("reads big LONG1 values as bigint", () => {
    // PROTO 2, LONG1 9 bytes = 2**64 + 1, STOP
    const bytes = Uint8Array.from([0x80, 2, 0x8a, 9, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x2e]);
    expect(unpickle(bytes, plainHooks, "x")).toBe(2n ** 64n + 1n);
  });

  it("takes 200k values in one APPENDS, and refuses integers longer than 64 bytes", () => {
    const n = 200_000; // PROTO 2, EMPTY_LIST, MARK, n x NEWTRUE, APPENDS, STOP
    const bytes = Uint8Array.from([0x80, 2, 0x5d, 0x28, ...new Array<number>(n).fill(0x88), 0x65, 0x2e]);
    expect((unpickle(bytes, plainHooks, "x") as unknown[]).length).toBe(n);
    const huge = Uint8Array.from([0x80, 2, 0x8b, 0, 0, 1, 0, ...new Array<number>(65536).fill(1), 0x2e]); // LONG4 of 64 KiB
    expect(() => unpickle(huge, plainHooks, "h.pkl")).toThrow(
      /h\.pkl: an integer is 65536 bytes long \(LONG4 at byte 2\)/,
    );
  });

  it("refuses unknown opcodes, naming the byte and position", () => {
    // PROTO 2, EMPTY_DICT, INST (0x69, 'i': protocol 0 instance creation), ...
    const bytes = Uint8Array.from([0x80, 2, 0x7d, 0x69, ...Buffer.from("os\nsystem\n"), 0x2e]);
    expect(() => unpickle(bytes, plainHooks, "/m/x.bin (entry archive/data.pkl)")).toThrow(
      "cannot load /m/x.bin (entry archive/data.pkl): unsupported pickle opcode 0x69 ('i') at byte 3; " +
        "only plain state dicts of tensors can be loaded (convert it to safetensors)",
    );
    expect(SUPPORTED_OPCODES).not.toContain("INST");
    expect(SUPPORTED_OPCODES).not.toContain("OBJ");
    expect(SUPPORTED_OPCODES).not.toContain("NEWOBJ");
  });

  it("hands STACK_GLOBAL names to the hooks before anything can be called", () => {
    // PROTO 4, SHORT_BINUNICODE "builtins", SHORT_BINUNICODE "exec", STACK_GLOBAL, ...
    const bytes = Uint8Array.from([
      0x80,
      4,
      0x8c,
      8,
      ...Buffer.from("builtins"),
      0x8c,
      4,
      ...Buffer.from("exec"),
      0x93,
      0x2e,
    ]);
    expect(() => unpickle(bytes, plainHooks, "x")).toThrow("global builtins.exec");
  });

  it("reports truncated pickles and stack misuse", () => {
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x58, 9, 0, 0, 0, 0x61]), plainHooks, "t.pkl")).toThrow(
      "cannot load t.pkl: the pickle ends inside an opcode (BINUNICODE at byte 2); the file is truncated or corrupt — re-download it",
    );
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x7d]), plainHooks, "t.pkl")).toThrow(
      /the pickle ends before its STOP opcode \(at byte 3\)/,
    );
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x28, 0x85, 0x2e]), plainHooks, "t.pkl")).toThrow(
      /pops past its stack or MARK \(TUPLE1 at byte 3\)/,
    );
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x68, 5, 0x2e]), plainHooks, "t.pkl")).toThrow(
      /memo slot 5, which was never stored/,
    );
  });
});
