// Relative position buckets (transformers T5Attention._relative_position_bucket), hand-computed values.
import { describe, expect, it } from "vitest";
import { relativePositionBucket } from "./position-bias.js";

const enc = { bidirectional: true, numBuckets: 32, maxDistance: 128 };
const dec = { bidirectional: false, numBuckets: 32, maxDistance: 128 };

describe("relativePositionBucket", () => {
  it("bidirectional (encoder): exact near 0, the upper half for keys after the query, log-spaced far away", () => {
    expect(relativePositionBucket(0, enc)).toBe(0);
    expect(relativePositionBucket(-1, enc)).toBe(1);
    expect(relativePositionBucket(1, enc)).toBe(17); // 16 + 1
    expect(relativePositionBucket(-7, enc)).toBe(7); // last exact bucket (max_exact = 8)
    expect(relativePositionBucket(-8, enc)).toBe(8); // 8 + trunc(log(1)/log(16)·8)
    expect(relativePositionBucket(-16, enc)).toBe(10); // 8 + trunc(log(2)/log(16)·8) = 8 + 2
    expect(relativePositionBucket(-127, enc)).toBe(15); // 8 + trunc(7.98…) = 15
    expect(relativePositionBucket(1000, enc)).toBe(31); // clamped to the last bucket of the upper half
  });

  it("unidirectional (decoder): future keys share bucket 0, past keys use all 32", () => {
    expect(relativePositionBucket(5, dec)).toBe(0);
    expect(relativePositionBucket(-15, dec)).toBe(15); // max_exact = 16
    expect(relativePositionBucket(-16, dec)).toBe(16);
    expect(relativePositionBucket(-32, dec)).toBe(21); // 16 + trunc(log(2)/log(8)·16) = 16 + 5
    expect(relativePositionBucket(-128, dec)).toBe(31); // 16 + 16, clamped to 31
  });
});
