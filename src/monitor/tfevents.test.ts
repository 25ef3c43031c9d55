import { describe, expect, it } from "vitest";
import { crc32cReference, readEventFile } from "../../tests/helpers/tfevents-reader.js";
import { decodeEvent, encodeEvent, filterEventRecords, frameRecord, maskedCrc32c, parseRecords } from "./tfevents.js";

const ascii = (s: string) => new TextEncoder().encode(s);

/** Concatenates framed records into one file's bytes. */
function file(...events: Parameters<typeof encodeEvent>[0][]): Uint8Array {
  return Buffer.concat(events.map((e) => frameRecord(encodeEvent(e))));
}

describe("CRC32C (the package) against known vectors", () => {
  it("matches RFC 3720's and the check value, via the masked form", () => {
    // unmask: subtract the delta, rotate left by 15 — then compare with the published CRC32C values
    const unmask = (m: number) => {
      const r = (m - 0xa282ead8) >>> 0;
      return ((r << 15) | (r >>> 17)) >>> 0;
    };
    expect(unmask(maskedCrc32c(ascii("123456789")))).toBe(0xe3069283); // the CRC-32C check value
    expect(unmask(maskedCrc32c(new Uint8Array(32)))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 zero bytes
    expect(unmask(maskedCrc32c(new Uint8Array(32).fill(0xff)))).toBe(0x62a8ab43); // 32 bytes of 0xff
    expect(unmask(maskedCrc32c(Uint8Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e); // 0..31
    expect(crc32cReference(ascii("123456789"))).toBe(0xe3069283); // the test reader's own table agrees
  });
});

describe("encodeEvent / frameRecord", () => {
  it("writes what an independent reader decodes: wall_time, step, file_version, tags and float32 values", () => {
    const bytes = file(
      { wallTime: 1700000000.25, step: 0, fileVersion: "brain.Event:2" },
      { wallTime: 1700000001.5, step: 7, scalars: { "train/loss": 2.5, "train/lr": 0.003 } },
      { wallTime: 1700000002, step: 2 ** 40, scalars: { "eval/f1/a b": 0.1, zero: 0 } },
    );
    expect(readEventFile(bytes)).toEqual([
      { wallTime: 1700000000.25, step: 0, fileVersion: "brain.Event:2", values: [] },
      {
        wallTime: 1700000001.5,
        step: 7,
        values: [
          { tag: "train/loss", value: 2.5 },
          { tag: "train/lr", value: Math.fround(0.003) },
        ],
      },
      {
        wallTime: 1700000002,
        step: 2 ** 40,
        values: [
          { tag: "eval/f1/a b", value: Math.fround(0.1) },
          { tag: "zero", value: 0 },
        ],
      }, // a 0 is written (oneof)
    ]);
  });

  it("decodeEvent reads back what encodeEvent wrote", () => {
    expect(decodeEvent(encodeEvent({ wallTime: 3.5, step: 12, scalars: { x: 1.25 } }))).toEqual({
      wallTime: 3.5,
      step: 12,
      scalars: { x: 1.25 },
    });
    expect(decodeEvent(encodeEvent({ wallTime: 1, step: 0, fileVersion: "brain.Event:2" }))).toEqual({
      wallTime: 1,
      step: 0,
      fileVersion: "brain.Event:2",
    });
  });
});

describe("parseRecords", () => {
  const bytes = file({ wallTime: 1, step: 1, scalars: { a: 1 } }, { wallTime: 2, step: 2, scalars: { a: 2 } });

  it("splits records and reports a cut-off tail as truncated, not as an error", () => {
    expect(parseRecords(bytes, "f").records.map((r) => decodeEvent(r.data).step)).toEqual([1, 2]);
    const cut = parseRecords(bytes.subarray(0, bytes.length - 3), "f");
    expect(cut.truncated).toBe(true);
    expect(cut.records.map((r) => decodeEvent(r.data).step)).toEqual([1]);
    expect(parseRecords(bytes.subarray(0, 5), "f")).toEqual({ records: [], truncated: true });
  });

  it("rejects a flipped byte in the length or the data with the file and offset", () => {
    const badLength = Uint8Array.from(bytes);
    badLength[0] = (badLength[0] as number) ^ 1;
    expect(() => parseRecords(badLength, "x/events")).toThrow(/^event file x\/events: length CRC mismatch at byte 0;/);
    const badData = Uint8Array.from(bytes);
    badData[14] = (badData[14] as number) ^ 0x40;
    expect(() => parseRecords(badData, "x/events")).toThrow(/data CRC mismatch in the record at byte 0/);
  });
});

describe("filterEventRecords", () => {
  it("keeps the file-version event and the accepted events, byte for byte", () => {
    const version = { wallTime: 1, step: 0, fileVersion: "brain.Event:2" };
    const bytes = file(
      version,
      { wallTime: 2, step: 1, scalars: { a: 1 } },
      { wallTime: 3, step: 2, scalars: { a: 2 } },
      { wallTime: 4, step: 3, scalars: { a: 3 } },
    );
    const kept = filterEventRecords(bytes, (e) => e.step <= 2, "f");
    expect(kept.events).toBe(2);
    expect(kept.changed).toBe(true);
    expect(
      Buffer.from(kept.bytes).equals(
        Buffer.from(
          file(version, { wallTime: 2, step: 1, scalars: { a: 1 } }, { wallTime: 3, step: 2, scalars: { a: 2 } }),
        ),
      ),
    ).toBe(true);
    expect(filterEventRecords(bytes, () => true, "f").changed).toBe(false);
    expect(filterEventRecords(bytes.subarray(0, bytes.length - 1), () => true, "f")).toMatchObject({
      events: 2,
      changed: true,
    });
  });
});
