// An independent TensorBoard event-file reader for tests only, written from the public definitions (not from
// src/monitor): TFRecord = u64-LE length, masked CRC32C(length), data, masked CRC32C(data); CRC32C is the
// Castagnoli polynomial (reflected 0x82F63B78); mask = rotr15(crc) + 0xa282ead8. Protobuf wire format by hand:
// Event {1 wall_time double (wire 1), 2 step int64 (wire 0), 3 file_version string (wire 2), 5 summary (wire 2)},
// Summary {1 value (wire 2)}, Summary.Value {1 tag string (wire 2), 2 simple_value float (wire 5)}.

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32cReference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = (TABLE[(crc ^ b) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function masked(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export interface ReadEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: { tag: string; value: number }[];
}

class Wire {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.at >= this.bytes.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = this.bytes[this.at++];
      if (b === undefined) throw new Error("varint runs past the end");
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
  }
  take(n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw new Error("field runs past the end");
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  view(n: number): DataView {
    const b = this.take(n);
    return new DataView(b.buffer, b.byteOffset, n);
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.take(8);
    else if (wireType === 2) this.take(Number(this.varint()));
    else if (wireType === 5) this.take(4);
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

function expectWire(field: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${field}: wire type ${got}, expected ${want}`);
}

function readValue(bytes: Uint8Array): { tag: string; value: number } {
  const w = new Wire(bytes);
  let tag = "";
  let value = Number.NaN;
  while (!w.done) {
    const key = Number(w.varint());
    const [field, type] = [key >>> 3, key & 7];
    if (field === 1) {
      expectWire("Value.tag", type, 2);
      tag = new TextDecoder().decode(w.take(Number(w.varint())));
    } else if (field === 2) {
      expectWire("Value.simple_value", type, 5);
      value = w.view(4).getFloat32(0, true);
    } else w.skip(type);
  }
  return { tag, value };
}

function readEvent(bytes: Uint8Array): ReadEvent {
  const w = new Wire(bytes);
  const event: ReadEvent = { wallTime: Number.NaN, step: 0, values: [] };
  while (!w.done) {
    const key = Number(w.varint());
    const [field, type] = [key >>> 3, key & 7];
    if (field === 1) {
      expectWire("Event.wall_time", type, 1);
      event.wallTime = w.view(8).getFloat64(0, true);
    } else if (field === 2) {
      expectWire("Event.step", type, 0);
      event.step = Number(BigInt.asIntN(64, w.varint()));
    } else if (field === 3) {
      expectWire("Event.file_version", type, 2);
      event.fileVersion = new TextDecoder().decode(w.take(Number(w.varint())));
    } else if (field === 5) {
      expectWire("Event.summary", type, 2);
      const summary = new Wire(w.take(Number(w.varint())));
      while (!summary.done) {
        const k = Number(summary.varint());
        if (k >>> 3 === 1) {
          expectWire("Summary.value", k & 7, 2);
          event.values.push(readValue(summary.take(Number(summary.varint()))));
        } else summary.skip(k & 7);
      }
    } else w.skip(type);
  }
  return event;
}

/** Every event of a file; throws on any CRC mismatch or a partial record. */
export function readEventFile(bytes: Uint8Array): ReadEvent[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: ReadEvent[] = [];
  for (let at = 0; at < bytes.length;) {
    if (at + 12 > bytes.length) throw new Error(`partial record header at ${at}`);
    const length = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== masked(crc32cReference(bytes.subarray(at, at + 8))))
      throw new Error(`length CRC mismatch at ${at}`);
    if (at + 16 + length > bytes.length) throw new Error(`partial record at ${at}`);
    const data = bytes.subarray(at + 12, at + 12 + length);
    if (view.getUint32(at + 12 + length, true) !== masked(crc32cReference(data)))
      throw new Error(`data CRC mismatch at ${at}`);
    events.push(readEvent(data));
    at += 16 + length;
  }
  return events;
}
