// Reads PyTorch checkpoints (the torch.save zip format, PyTorch >= 1.6) without running their pickle: data.pkl
// goes through pickle-vm.ts with an allowlist of tensor constructors. Mirrors torch/serialization.py _load.
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { TfewError } from "../errors.js";
import { describe, PyDict, PyTuple, unpickle, type PickleHooks } from "./pickle-vm.js";
import { numel, type DType, type TensorRecord } from "./tensor-record.js";
import { openTorchZip, type TorchZip } from "./torch-zip.js";

/** Storage classes torch.save names in persistent ids, and the dtype each holds. */
export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};
/** The only callables a pickle may name besides torch.<X>Storage. */
export const ALLOWED_GLOBALS: readonly string[] = [
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_parameter",
];

const BYTES: Record<DType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const FIX = "the file is truncated or corrupt — re-download it";
const ONLY_TENSORS = "only plain state dicts of tensors can be loaded (convert it to safetensors)";
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

class TorchGlobal {
  constructor(readonly name: string) {}
}
class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: DType,
  ) {}
}
class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** Read every tensor of one torch.save zip checkpoint (pytorch_model.bin). */
export async function readTorchCheckpoint(path: string): Promise<Map<string, TensorRecord>> {
  return readCheckpoint(path, undefined);
}

/** Read a sharded checkpoint through its pytorch_model.bin.index.json; every weight_map key must be in its shard. */
export async function readTorchCheckpointIndex(indexPath: string): Promise<Map<string, TensorRecord>> {
  const weightMap = await readWeightMap(indexPath);
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of weightMap) {
    if (!byShard.has(shard)) byShard.set(shard, new Set());
    byShard.get(shard)!.add(name);
  }
  const found = new Map<string, TensorRecord>();
  for (const [shard, names] of byShard) {
    const tensors = await readCheckpoint(join(dirname(indexPath), shard), names);
    for (const name of names) {
      const tensor = tensors.get(name);
      if (tensor === undefined) {
        throw new TfewError(
          `cannot load ${indexPath}: weight_map puts tensor "${name}" in ${shard}, which does not contain it; re-download the checkpoint`,
        );
      }
      found.set(name, tensor);
    }
  }
  return new Map([...weightMap.keys()].map((name) => [name, found.get(name)!]));
}

async function readWeightMap(indexPath: string): Promise<Map<string, string>> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (error) {
    const code = (error as { code?: string }).code;
    const what = code === "ENOENT" ? "not found" : code !== undefined ? `unreadable (${code})` : "not valid JSON";
    throw new TfewError(`cannot load ${indexPath}: the index file is ${what}; check the path or re-download it`, {
      cause: error,
    });
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new TfewError(`cannot load ${indexPath}: it has no "weight_map" object; re-download the checkpoint index`);
  }
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (
      typeof shard !== "string" ||
      shard !== basename(shard) ||
      shard === "." ||
      shard === ".." ||
      shard.includes("\\")
    ) {
      throw new TfewError(
        `cannot load ${indexPath}: weight_map entry "${name}" names shard ${JSON.stringify(shard)}, not a file in the same folder; fix or re-download the index`,
      );
    }
    out.set(name, shard);
  }
  return out;
}

async function readCheckpoint(
  path: string,
  wanted: ReadonlySet<string> | undefined,
): Promise<Map<string, TensorRecord>> {
  if (!LITTLE_ENDIAN_HOST)
    throw new TfewError(`cannot load ${path}: this reader needs a little-endian host; convert the file to safetensors`);
  const archive = await openTorchZip(path);
  try {
    const pickleEntry = archive.entries.get(`${archive.prefix}/data.pkl`)!;
    if (pickleEntry.uncompressedSize > MAX_PICKLE_BYTES) {
      throw new TfewError(
        `cannot load ${path}: ${pickleEntry.fileName} is ${pickleEntry.uncompressedSize} bytes, more than a state dict needs; ${ONLY_TENSORS}`,
      );
    }
    const pickleBytes = await archive.read(pickleEntry);
    const root = unpickle(pickleBytes, torchHooks(path), `${path} (entry ${pickleEntry.fileName})`);
    return await materialize(archive, selectStateDict(root, path), wanted, path);
  } finally {
    await archive.close();
  }
}

/** The pickle hooks: build markers for allowlisted globals, refuse everything else. */
function torchHooks(path: string): PickleHooks {
  const storages = new Map<string, StorageRef>();
  const refuse = (what: string): never => {
    throw new TfewError(`refusing to load ${path}: its pickle ${what}; ${ONLY_TENSORS}`);
  };
  const bad = (what: string): never => {
    throw new TfewError(`cannot load ${path}: ${what}; ${ONLY_TENSORS}`);
  };
  return {
    findGlobal(module, name) {
      const full = `${module}.${name}`;
      if (ALLOWED_GLOBALS.includes(full)) return new TorchGlobal(full);
      if (module === "torch" && name.endsWith("Storage")) {
        const dtype = STORAGE_DTYPES[name];
        if (dtype !== undefined) return new StorageType(full, dtype);
        return bad(`it holds ${full} tensors, a dtype tfew cannot read`);
      }
      return refuse(`calls ${full}, which is not an allowed tensor constructor`);
    },
    persistentLoad(pid) {
      const items = pid instanceof PyTuple ? pid.items : [];
      const [tag, type, key, location, count] = items;
      const valid =
        tag === "storage" && type instanceof StorageType && typeof key === "string" && typeof location === "string";
      if (items.length !== 5 || !valid || !isCount(count)) {
        return bad(`its pickle has a persistent id that is not ('storage', type, key, location, numel)`);
      }
      if (!/^[A-Za-z0-9_.-]+$/.test(key) || key === "." || key === "..")
        return bad(`its pickle names storage key ${JSON.stringify(key)}`);
      const known = storages.get(key);
      if (known === undefined) {
        const ref = new StorageRef(key, type.dtype, count);
        storages.set(key, ref);
        return ref;
      }
      if (known.dtype !== type.dtype || known.numel !== count)
        return bad(`storage ${key} is used as two different types or sizes`);
      return known;
    },
    reduce(callable, args) {
      const a = args.items;
      const name =
        callable instanceof TorchGlobal || callable instanceof StorageType ? callable.name : describe(callable);
      if (name === "collections.OrderedDict" && a.length === 0) return new PyDict();
      if (
        (name === "torch._utils._rebuild_tensor_v2" && (a.length === 6 || a.length === 7)) ||
        (name === "torch._utils._rebuild_tensor" && a.length === 4)
      ) {
        const [storage, offset, shape, stride] = a;
        if (
          storage instanceof StorageRef &&
          isCount(offset) &&
          isCounts(shape) &&
          isCounts(stride) &&
          shape.items.length === stride.items.length
        ) {
          return new TensorRef(storage, offset, [...shape.items], [...stride.items]);
        }
      }
      if (name === "torch._utils._rebuild_parameter" && a.length === 3 && a[0] instanceof TensorRef) return a[0];
      return bad(`its pickle calls ${name} with arguments this reader does not expect`);
    },
    build(obj, _state) {
      // OrderedDict attributes such as a module's _metadata (versions per submodule): not needed for tensors
      if (!(obj instanceof PyDict)) bad(`its pickle sets state on a ${describe(obj)}`);
    },
  };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
function isCounts(value: unknown): value is PyTuple & { items: number[] } {
  return value instanceof PyTuple && value.items.every(isCount);
}

/** The name -> tensor dict: the root dict, or its "state_dict" / "model" dict (trainer checkpoints). */
function selectStateDict(root: unknown, path: string): Map<string, TensorRef> {
  if (!(root instanceof PyDict)) {
    throw new TfewError(
      `cannot load ${path}: its pickle holds a ${describe(root)}, not a dict of tensors; ${ONLY_TENSORS}`,
    );
  }
  let dict = root;
  for (const key of ["state_dict", "model"]) {
    const inner = root.items.get(key);
    if (inner instanceof PyDict) {
      dict = inner;
      break;
    }
  }
  const out = new Map<string, TensorRef>();
  for (const [key, value] of dict.items) {
    if (typeof key !== "string" || !(value instanceof TensorRef)) {
      const name = typeof key === "string" ? `"${key}"` : `key ${String(key)}`;
      throw new TfewError(
        `cannot load ${path}: entry ${name} holds a ${describe(value)}, not a tensor; ${ONLY_TENSORS}`,
      );
    }
    out.set(key, value);
  }
  return out;
}

/** Read each wanted tensor's bytes out of its storage entry (tied weights: one storage, several views). */
async function materialize(
  archive: TorchZip,
  refs: Map<string, TensorRef>,
  wanted: ReadonlySet<string> | undefined,
  path: string,
): Promise<Map<string, TensorRecord>> {
  const out = new Map<string, TensorRecord>();
  for (const [name, ref] of refs) {
    if (wanted !== undefined && !wanted.has(name)) continue;
    const { storage } = ref;
    const count = checkView(name, ref, path);
    const entry = archive.entries.get(`${archive.prefix}/data/${storage.key}`);
    if (entry === undefined)
      throw new TfewError(
        `cannot load ${path}: tensor "${name}" needs zip entry ${archive.prefix}/data/${storage.key}, which is missing; ${FIX}`,
      );
    const itemBytes = BYTES[storage.dtype];
    if (entry.uncompressedSize !== storage.numel * itemBytes) {
      throw new TfewError(
        `cannot load ${path}: entry ${entry.fileName} has ${entry.uncompressedSize} bytes, but its pickle says ${storage.numel} ${storage.dtype} values (${storage.numel * itemBytes} bytes); ${FIX}`,
      );
    }
    const bytes = await archive.read(entry, { start: ref.offset * itemBytes, length: count * itemBytes });
    out.set(name, {
      dtype: storage.dtype,
      shape: ref.shape,
      data: decode(storage.dtype, bytes, count, `${path} tensor "${name}"`),
    });
  }
  return out;
}

/** A tensor must be a contiguous row-major view that lies inside its storage. Returns its element count. */
function checkView(name: string, ref: TensorRef, path: string): number {
  const count = numel(ref.shape);
  let expected = 1;
  for (let d = ref.shape.length - 1; d >= 0; d--) {
    const size = ref.shape[d]!;
    if (count > 0 && size !== 1 && ref.stride[d] !== expected) {
      throw new TfewError(
        `cannot load ${path}: tensor "${name}" has shape [${ref.shape}] with strides [${ref.stride}], not contiguous row-major; save it with .contiguous() or convert it to safetensors`,
      );
    }
    expected *= size;
  }
  if (!Number.isSafeInteger(count) || (count > 0 && ref.offset + count > ref.storage.numel)) {
    throw new TfewError(
      `cannot load ${path}: tensor "${name}" (offset ${ref.offset}, shape [${ref.shape}]) reaches past its storage of ${ref.storage.numel} values; ${FIX}`,
    );
  }
  return count;
}

/** Widen one tensor's little-endian bytes (a fresh Buffer of exactly count values) as TensorRecord says. */
function decode(dtype: DType, bytes: Buffer, count: number, where: string): Float32Array | Int32Array {
  const { buffer, byteOffset: at } = bytes;
  const owned = at === 0 && buffer.byteLength === bytes.byteLength; // then F32/I32 can use it without a copy
  switch (dtype) {
    case "F32":
      return owned ? new Float32Array(buffer, 0, count) : new Float32Array(buffer, at, count).slice();
    case "I32":
      return owned ? new Int32Array(buffer, 0, count) : new Int32Array(buffer, at, count).slice();
    case "F64":
      return new Float32Array(new Float64Array(buffer, at, count));
    case "BF16": {
      const out = new Uint32Array(count);
      const src = new Uint16Array(buffer, at, count);
      for (let i = 0; i < count; i++) out[i] = src[i]! << 16; // bfloat16 is the top half of a float32
      return new Float32Array(out.buffer);
    }
    case "F16": {
      const table = halfTable();
      const src = new Uint16Array(buffer, at, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[src[i]!]!;
      return out;
    }
    case "I64": {
      const src = new Int32Array(buffer, at, 2 * count); // [lo, hi] pairs
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const lo = src[2 * i]!;
        if (src[2 * i + 1] !== lo >> 31) {
          const value = new BigInt64Array(buffer, at + 8 * i, 1)[0];
          throw new TfewError(
            `cannot load ${where}: element ${i} is ${value}, outside int32; tfew reads int64 tensors only when every value fits int32`,
          );
        }
        out[i] = lo;
      }
      return out;
    }
    case "I16":
      return new Int32Array(new Int16Array(buffer, at, count));
    case "I8":
      return new Int32Array(new Int8Array(buffer, at, count));
    case "U8":
      return new Int32Array(new Uint8Array(buffer, at, count));
    case "BOOL":
      return new Int32Array(new Uint8Array(buffer, at, count)).map((v) => (v === 0 ? 0 : 1));
  }
}

let halfValues: Float32Array | undefined;
/** float16 bit pattern -> float32 value, for all 65536 patterns. */
function halfTable(): Float32Array {
  if (halfValues !== undefined) return halfValues;
  halfValues = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    const magnitude =
      exponent === 0
        ? fraction * 2 ** -24
        : exponent === 31
          ? fraction === 0
            ? Infinity
            : NaN
          : (1 + fraction / 1024) * 2 ** (exponent - 15);
    halfValues[h] = h & 0x8000 ? -magnitude : magnitude;
  }
  return halfValues;
}
