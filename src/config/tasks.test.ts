// data.tasks and adapter.routing/experts: task entries override data.* keys (checked like data.*), duplicate
// names are one clear line, routing defaults to task.
import { describe, expect, it } from "vitest";
import { loadRunConfig } from "./load.js";

const load = (...sets: string[]) => loadRunConfig({ files: [], sets }).config;

describe("data.tasks", () => {
  it("accepts tasks with weights and data.* overrides; absent keys stay unset (the run's data.* applies)", () => {
    const config = load("data.tasks=[{name: a, path: x, labels: [p, q], weight: 2}, {name: b, path: y}]");
    expect(config.data.tasks).toEqual([
      { name: "a", path: "x", labels: ["p", "q"], weight: 2 },
      { name: "b", path: "y", weight: 1 },
    ]);
    expect(config.adapter.routing).toBe("task");
    expect(load().data.tasks).toBeNull();
  });

  it("rejects duplicate task names in one line", () => {
    expect(() => load("data.tasks=[{name: a, path: x}, {name: a, path: y}]")).toThrow(
      /^data\.tasks in --set data\.tasks=.* names the task "a" twice; give each task a unique name$/,
    );
  });

  it("checks an override like the data.* key it overrides", () => {
    expect(() => load("data.tasks=[{name: a, path: x, labels: 3}]")).toThrow(
      /^data\.tasks\.labels in --set .* must be a non-empty list of strings/,
    );
    expect(() => load("data.tasks=[{name: a, path: x, labls: [p]}]")).toThrow(
      /unknown key "data\.tasks\.labls" .*did you mean "labels"\?/,
    );
    expect(() => load("data.tasks=[{path: x}]")).toThrow(/data\.tasks\.name/);
  });

  it("takes adapter.routing and adapter.experts", () => {
    expect(load("adapter.routing=shared").adapter.routing).toBe("shared");
    expect(load("adapter.routing=smear", "adapter.experts=3").adapter.experts).toBe(3);
    expect(() => load("adapter.routing=mix")).toThrow(/adapter\.routing .* must be one of "task", "shared", "smear"/);
  });
});
