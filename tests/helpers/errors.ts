// The one-line TfewError a promise rejects with (tests of expected failures).
import { expect } from "vitest";
import { TfewError } from "../../src/errors.js";

export async function tfewErrorOf(promise: Promise<unknown>): Promise<TfewError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TfewError);
  expect((error as TfewError).message).not.toContain("\n");
  return error as TfewError;
}

/** The message of tfewErrorOf. */
export async function tfewMessageOf(promise: Promise<unknown>): Promise<string> {
  return (await tfewErrorOf(promise)).message;
}

/** The one-line TfewError message that `fn` throws (fails the test when it throws nothing or something else). */
export function tfewMessageOfSync(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TfewError);
    expect((error as Error).message).not.toContain("\n");
    return (error as Error).message;
  }
  throw new Error("expected a TfewError");
}
