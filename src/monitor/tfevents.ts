// The TensorBoard event-file format: TFRecord framing (uint64 length, masked CRC32C of the length, data, masked
// CRC32C of the data) around `tensorboard.Event` protos holding scalar `Summary` values. Mirrors
// tensorboard/compat/proto/{event,summary}.proto and TensorFlow's lib/io/record_writer + crc32c masking.
import crc32c from "crc-32/crc32c.js";
import protobuf from "protobufjs/light.js";
import { TfewError } from "../errors.js";

/** The first event of every file: TensorBoard checks this version string. */
export const FILE_VERSION = "brain.Event:2";
/** TensorBoard loads files whose name contains "tfevents"; writers name them `events.out.tfevents.<time>.<host>`. */
export const EVENT_FILE_PREFIX = "events.out.tfevents.";

// Only the fields tfew writes or reads; protobufjs skips the others when decoding (e.g. files of other writers).
const root = protobuf.Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ["file_version", "summary"] } },
          fields: {
            wall_time: { type: "double", id: 1 },
            step: { type: "int64", id: 2 },
            file_version: { type: "string", id: 3 },
            summary: { type: "Summary", id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: "repeated", type: "Value", id: 1 } },
          nested: {
            // simple_value sits in `oneof value` as in summary.proto: a oneof member is written even when it is 0
            Value: {
              oneofs: { value: { oneof: ["simple_value"] } },
              fields: { tag: { type: "string", id: 1 }, simple_value: { type: "float", id: 2 } },
            },
          },
        },
      },
    },
  },
});
const EventType = root.lookupType("tensorboard.Event");

export interface TbEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** tag → value (float32 on disk) */
  scalars?: Record<string, number>;
}

/** Serializes one Event (only the fields given). */
export function encodeEvent(event: TbEvent): Uint8Array {
  const message: Record<string, unknown> = { wall_time: event.wallTime, step: event.step };
  if (event.fileVersion !== undefined) message.file_version = event.fileVersion;
  if (event.scalars !== undefined) {
    message.summary = { value: Object.entries(event.scalars).map(([tag, value]) => ({ tag, simple_value: value })) };
  }
  return EventType.encode(EventType.fromObject(message)).finish();
}

interface DecodedEvent {
  wall_time?: number;
  step?: number;
  file_version?: string;
  summary?: { value?: { tag?: string; simple_value?: number }[] };
}

/** Parses one Event (simple_value scalars only; other summary kinds give no scalar). */
export function decodeEvent(data: Uint8Array): TbEvent {
  // a plain object of the fields present, int64 as a JS number (steps stay far below 2^53)
  const raw = EventType.toObject(EventType.decode(data), { longs: Number }) as DecodedEvent;
  const event: TbEvent = { wallTime: raw.wall_time ?? 0, step: raw.step ?? 0 };
  if (raw.file_version) event.fileVersion = raw.file_version;
  if (raw.summary !== undefined) {
    const scalars: Record<string, number> = {};
    for (const v of raw.summary.value ?? [])
      if (v.tag !== undefined && v.simple_value !== undefined) scalars[v.tag] = v.simple_value;
    event.scalars = scalars;
  }
  return event;
}

/** TFRecord's masked CRC: rotate right by 15 bits, then add 0xa282ead8 (mod 2^32). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c.buf(bytes) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length (u64 LE), masked CRC of those 8 bytes, the data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

export interface TfRecord {
  /** byte range of the whole framed record in the file */
  start: number;
  end: number;
  data: Uint8Array;
}

/**
 * Splits a TFRecord file into records, checking both CRCs of each. A cut-off last record (a killed writer) ends
 * the list (`truncated`); a CRC mismatch before the end is a TfewError naming the file and offset.
 */
export function parseRecords(bytes: Uint8Array, where: string): { records: TfRecord[]; truncated: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: TfRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) return { records, truncated: true };
    const length = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) {
      throw new TfewError(
        `event file ${where}: length CRC mismatch at byte ${at}; the file is corrupt, delete it (metrics.jsonl holds the same values)`,
      );
    }
    const end = at + 12 + length + 4;
    if (end > bytes.length) return { records, truncated: true };
    const data = bytes.subarray(at + 12, at + 12 + length);
    if (view.getUint32(at + 12 + length, true) !== maskedCrc32c(data)) {
      throw new TfewError(
        `event file ${where}: data CRC mismatch in the record at byte ${at}; the file is corrupt, delete it (metrics.jsonl holds the same values)`,
      );
    }
    records.push({ start: at, end, data });
    at = end;
  }
  return { records, truncated: false };
}

/**
 * The records of an event file that `keep` accepts (file-version events always stay), as new file bytes; a
 * truncated tail is dropped. `events` counts the summary events kept.
 */
export function filterEventRecords(
  bytes: Uint8Array,
  keep: (event: TbEvent) => boolean,
  where: string,
): { bytes: Uint8Array; events: number; changed: boolean } {
  const { records, truncated } = parseRecords(bytes, where);
  const kept: TfRecord[] = [];
  let events = 0;
  for (const record of records) {
    const event = decodeEvent(record.data);
    if (event.fileVersion !== undefined) kept.push(record);
    else if (keep(event)) {
      kept.push(record);
      events++;
    }
  }
  const out = new Uint8Array(kept.reduce((n, r) => n + (r.end - r.start), 0));
  let at = 0;
  for (const r of kept) {
    out.set(bytes.subarray(r.start, r.end), at);
    at += r.end - r.start;
  }
  return { bytes: out, events, changed: truncated || kept.length !== records.length };
}
