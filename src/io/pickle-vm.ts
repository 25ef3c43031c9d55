// A pickle opcode interpreter that only builds plain data and never runs code: GLOBAL, REDUCE, BUILD and
// BINPERSID go to the caller's hooks, which decide what is allowed. Mirrors CPython's Lib/pickle.py _Unpickler.
import { TfewError } from "../errors.js";

/** A Python tuple (Python lists become JS arrays, dicts become PyDict). */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** Keys a PyDict accepts: the hashable plain values. */
export type DictKey = string | number | bigint | boolean | null;

/** A Python dict (or OrderedDict), in insertion order. A Map, so keys like "__proto__" stay plain data. */
export class PyDict {
  readonly items = new Map<DictKey, unknown>();
}

/** What the caller allows. Each hook either returns a value (a marker object of its own) or throws. */
export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL "module.name": a marker for an allowed callable, or throw. */
  findGlobal(module: string, name: string): unknown;
  /** BINPERSID: the value a persistent id stands for. */
  persistentLoad(pid: unknown): unknown;
  /** REDUCE: the value of callable(*args). */
  reduce(callable: unknown, args: PyTuple): unknown;
  /** BUILD: apply state to obj (obj.__setstate__ in Python). */
  build(obj: unknown, state: unknown): void;
}

const FIX = "the file is truncated or corrupt — re-download it";
const UNSUPPORTED = "only plain state dicts of tensors can be loaded (convert it to safetensors)";
// Python 3 maps Python 2 module names in protocol < 3 pickles (pickle's fix_imports); report the Python 3 name.
const PY2_MODULES = new Map([
  ["__builtin__", "builtins"],
  ["copy_reg", "copyreg"],
]);

const MAX_LONG_BYTES = 64; // torch needs at most 8; Python allows any, but decoding huge ones is quadratic
// Opcodes by byte value, named as in pickletools. Anything missing here is refused.
const OPCODE_NAMES = new Map<number, string>([
  [0x80, "PROTO"],
  [0x95, "FRAME"],
  [0x2e, "STOP"],
  [0x28, "MARK"],
  [0x30, "POP"],
  [0x31, "POP_MARK"],
  [0x32, "DUP"],
  [0x4e, "NONE"],
  [0x88, "NEWTRUE"],
  [0x89, "NEWFALSE"],
  [0x4a, "BININT"],
  [0x4b, "BININT1"],
  [0x4d, "BININT2"],
  [0x8a, "LONG1"],
  [0x8b, "LONG4"],
  [0x47, "BINFLOAT"],
  [0x58, "BINUNICODE"],
  [0x8c, "SHORT_BINUNICODE"],
  [0x8d, "BINUNICODE8"],
  [0x42, "BINBYTES"],
  [0x43, "SHORT_BINBYTES"],
  [0x29, "EMPTY_TUPLE"],
  [0x74, "TUPLE"],
  [0x85, "TUPLE1"],
  [0x86, "TUPLE2"],
  [0x87, "TUPLE3"],
  [0x5d, "EMPTY_LIST"],
  [0x61, "APPEND"],
  [0x65, "APPENDS"],
  [0x7d, "EMPTY_DICT"],
  [0x73, "SETITEM"],
  [0x75, "SETITEMS"],
  [0x71, "BINPUT"],
  [0x72, "LONG_BINPUT"],
  [0x94, "MEMOIZE"],
  [0x68, "BINGET"],
  [0x6a, "LONG_BINGET"],
  [0x63, "GLOBAL"],
  [0x93, "STACK_GLOBAL"],
  [0x52, "REDUCE"],
  [0x62, "BUILD"],
  [0x51, "BINPERSID"],
]);

/** The opcodes unpickle() executes, by pickletools name. */
export const SUPPORTED_OPCODES: readonly string[] = [...OPCODE_NAMES.values()];

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Run a pickle program and return the object it builds. `where` names the source in error messages
 * (e.g. "/m/pytorch_model.bin (entry archive/data.pkl)").
 */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks, where: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opName = "";
  let opStart = 0;

  const fail = (what: string, fix = FIX): never => {
    const at = opName === "" ? `at byte ${opStart}` : `${opName} at byte ${opStart}`;
    throw new TfewError(`cannot load ${where}: ${what} (${at}); ${fix}`);
  };
  const take = (n: number): number => {
    if (n > bytes.byteLength - pos) fail("the pickle ends inside an opcode");
    const at = pos;
    pos += n;
    return at;
  };
  // as in Python, MARK starts a fresh stack: nothing below the latest mark can be popped or read
  const pop = (): unknown =>
    stack.length > (marks.at(-1) ?? 0) ? stack.pop() : fail("the pickle pops past its stack or MARK");
  const top = (): unknown =>
    stack.length > (marks.at(-1) ?? 0) ? stack[stack.length - 1] : fail("the pickle reads past its stack or MARK");
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) fail("the pickle has no MARK to pop to");
    return stack.splice(mark!);
  };
  const text = (n: number): string => {
    const at = take(n);
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      return fail("a string is not valid UTF-8");
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("the pickle ends inside a GLOBAL name");
    const value = text(end - pos);
    pos += 1; // the newline
    return value;
  };
  const long = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail(`an integer is ${n} bytes long`, UNSUPPORTED);
    const at = take(n);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i]!);
    if (n > 0 && bytes[at + n - 1]! >= 0x80) value -= 1n << BigInt(8 * n);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };
  const size = (n: 4 | 8): number =>
    n === 4 ? view.getUint32(take(4), true) : Number(view.getBigUint64(take(8), true));
  const dictKey = (key: unknown): DictKey => {
    const type = typeof key;
    if (key === null || type === "string" || type === "number" || type === "bigint" || type === "boolean")
      return key as DictKey;
    return fail(`a dict key is a ${describe(key)}, which this reader does not support`, UNSUPPORTED);
  };
  const setItems = (dict: unknown, flat: unknown[]): void => {
    if (!(dict instanceof PyDict)) fail(`the pickle sets items on a ${describe(dict)}, not a dict`, UNSUPPORTED);
    if (flat.length % 2 !== 0) fail("SETITEMS has an odd number of values");
    for (let i = 0; i < flat.length; i += 2) (dict as PyDict).items.set(dictKey(flat[i]), flat[i + 1]);
  };
  const append = (list: unknown, values: unknown[]): void => {
    if (!Array.isArray(list)) fail(`the pickle appends to a ${describe(list)}, not a list`, UNSUPPORTED);
    for (const value of values) (list as unknown[]).push(value); // no spread: APPENDS may carry any number of values
  };
  const global = (module: string, name: string): unknown => hooks.findGlobal(PY2_MODULES.get(module) ?? module, name);

  for (;;) {
    opStart = pos;
    opName = "";
    if (pos >= bytes.byteLength) fail("the pickle ends before its STOP opcode");
    const code = bytes[take(1)]!;
    opName = OPCODE_NAMES.get(code) ?? "";
    switch (opName) {
      case "PROTO": {
        const protocol = bytes[take(1)]!;
        if (protocol > 5) fail(`the pickle uses protocol ${protocol}, newer than 5`, UNSUPPORTED);
        break;
      }
      case "FRAME": // frames only group opcodes for buffered reading; the whole pickle is in memory already
        if (size(8) > bytes.byteLength - pos) fail("a FRAME is longer than the rest of the pickle");
        break;
      case "STOP":
        if (stack.length !== 1 || marks.length !== 0) fail(`the pickle stops with ${stack.length} values on its stack`);
        return stack[0];
      case "MARK":
        marks.push(stack.length);
        break;
      case "POP":
        pop();
        break;
      case "POP_MARK":
        popMark();
        break;
      case "DUP":
        stack.push(top());
        break;
      case "NONE":
        stack.push(null);
        break;
      case "NEWTRUE":
        stack.push(true);
        break;
      case "NEWFALSE":
        stack.push(false);
        break;
      case "BININT":
        stack.push(view.getInt32(take(4), true));
        break;
      case "BININT1":
        stack.push(bytes[take(1)]!);
        break;
      case "BININT2":
        stack.push(view.getUint16(take(2), true));
        break;
      case "LONG1":
        stack.push(long(bytes[take(1)]!));
        break;
      case "LONG4":
        stack.push(long(size(4)));
        break;
      case "BINFLOAT":
        stack.push(view.getFloat64(take(8), false));
        break;
      case "BINUNICODE":
        stack.push(text(size(4)));
        break;
      case "SHORT_BINUNICODE":
        stack.push(text(bytes[take(1)]!));
        break;
      case "BINUNICODE8":
        stack.push(text(size(8)));
        break;
      case "BINBYTES": {
        const n = size(4);
        const at = take(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }
      case "SHORT_BINBYTES": {
        const n = bytes[take(1)]!;
        const at = take(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }
      case "EMPTY_TUPLE":
        stack.push(new PyTuple([]));
        break;
      case "TUPLE":
        stack.push(new PyTuple(popMark()));
        break;
      case "TUPLE1": {
        const a = pop();
        stack.push(new PyTuple([a]));
        break;
      }
      case "TUPLE2": {
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case "TUPLE3": {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case "EMPTY_LIST":
        stack.push([]);
        break;
      case "APPEND": {
        const value = pop();
        append(top(), [value]);
        break;
      }
      case "APPENDS": {
        const values = popMark();
        append(top(), values);
        break;
      }
      case "EMPTY_DICT":
        stack.push(new PyDict());
        break;
      case "SETITEM": {
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case "SETITEMS": {
        const flat = popMark();
        setItems(top(), flat);
        break;
      }
      case "BINPUT":
        memo.set(bytes[take(1)]!, top());
        break;
      case "LONG_BINPUT":
        memo.set(size(4), top());
        break;
      case "MEMOIZE":
        memo.set(memo.size, top());
        break;
      case "BINGET":
      case "LONG_BINGET": {
        const index = opName === "BINGET" ? bytes[take(1)]! : size(4);
        if (!memo.has(index)) fail(`the pickle reads memo slot ${index}, which was never stored`);
        stack.push(memo.get(index));
        break;
      }
      case "GLOBAL": {
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case "STACK_GLOBAL": {
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL names are not strings");
        stack.push(global(module as string, name as string));
        break;
      }
      case "REDUCE": {
        const args = pop();
        const callable = pop();
        if (!(args instanceof PyTuple)) fail(`REDUCE arguments are a ${describe(args)}, not a tuple`);
        stack.push(hooks.reduce(callable, args as PyTuple));
        break;
      }
      case "BUILD": {
        const state = pop();
        hooks.build(top(), state);
        break;
      }
      case "BINPERSID":
        stack.push(hooks.persistentLoad(pop()));
        break;
      default: {
        const shown = code >= 0x20 && code < 0x7f ? ` ('${String.fromCharCode(code)}')` : "";
        throw new TfewError(
          `cannot load ${where}: unsupported pickle opcode 0x${code.toString(16).padStart(2, "0")}${shown} at byte ${opStart}; ${UNSUPPORTED}`,
        );
      }
    }
  }
}

/** A short Python-like type name for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "None";
  if (value instanceof PyTuple) return "tuple";
  if (value instanceof PyDict) return "dict";
  if (Array.isArray(value)) return "list";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "object") return (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
  return { string: "str", number: "number", bigint: "int", boolean: "bool" }[typeof value as string] ?? typeof value;
}
