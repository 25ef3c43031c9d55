// The same rows as CSV, JSONL, Parquet (pyarrow: delta/zstd and datasets' ClassLabel ids; JS-written snappy),
// Arrow (the datasets cache; a JS-written stream) and a Label Studio export give the same prompts (token ids, with
// the demo tokenizer) and the same zero-shot `tfew eval` metrics with the demo model.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderPrompt } from "../src/data/template.js";
import { loadTask } from "../src/data/task.js";
import { loadTokenizer } from "../src/data/tokenizer.js";
import { FORMAT_FIXTURES, FORMAT_ROWS, labelStudioExport, toCsvText, toJsonlText } from "./helpers/format-files.js";
import { DEMO_MODEL_DIR, ensureBuilt, makeTempDir, removeTempDir, runTfewOk } from "./helpers/tfew-cli.js";

const { rows: ROWS } = FORMAT_ROWS;
const COLUMNS = ["ID", "Title", "Body", "Label"] as const;
let tmp: string;
let files: Record<string, string>;

beforeAll(async () => {
  await ensureBuilt();
  tmp = makeTempDir("formats-eval");
  const put = (name: string, content: string | Uint8Array) => {
    writeFileSync(join(tmp, name), content);
    return join(tmp, name);
  };
  const arrays = Object.fromEntries(COLUMNS.map((c) => [c, ROWS.map((r) => r[c])]));
  files = {
    csv: put("rows.csv", toCsvText(ROWS)),
    jsonl: put("rows.jsonl", toJsonlText(ROWS)),
    "label studio": put("export.json", JSON.stringify(labelStudioExport(ROWS))),
    "parquet (pyarrow, delta + zstd)": join(FORMAT_FIXTURES, "delta-zstd.parquet"),
    "parquet (datasets, ClassLabel ids)": join(FORMAT_FIXTURES, "hf-classlabel.parquet"),
    "parquet (hyparquet-writer)": put(
      "js.parquet",
      new Uint8Array(
        parquetWriteBuffer({
          columnData: COLUMNS.map((name) => ({ name, data: arrays[name] as string[], type: "STRING" as const })),
        }),
      ),
    ),
    "arrow (datasets cache)": join(FORMAT_FIXTURES, "datasets-cache.arrow"),
    "arrow (apache-arrow stream)": put("js.arrow", tableToIPC(tableFromArrays(arrays), "stream")),
  };
});

afterAll(() => removeTempDir(tmp));

describe("every format gives the same prompts and zero-shot metrics", () => {
  it("renders identical prompt token ids", async () => {
    const tokenizer = await loadTokenizer(DEMO_MODEL_DIR);
    const prompts = async (path: string) => {
      const task = await loadTask({ path, labelField: "Label", idField: "ID" });
      return task.train.map((e) => renderPrompt(task, e, { tokenizer, maxSeqLen: 64 }).ids);
    };
    const reference = await prompts(files.csv as string);
    expect(reference).toHaveLength(ROWS.length);
    for (const [name, path] of Object.entries(files)) expect(await prompts(path), name).toEqual(reference);
  });

  it("tfew eval --model data/demo-model gives the same metrics.json numbers", async () => {
    const metricsOf = async (name: string, path: string) => {
      const out = join(tmp, `eval-${name.replace(/\W+/g, "-")}`);
      await runTfewOk([
        "eval",
        "--model",
        DEMO_MODEL_DIR,
        "--data",
        path,
        "--out",
        out,
        "--set",
        "monitor.gpu=off",
        "--set",
        "workers=1",
      ]);
      const { task: _task, ...numbers } = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as Record<
        string,
        unknown
      >;
      return numbers;
    };
    const reference = await metricsOf("csv", files.csv as string);
    expect(reference.n).toBe(ROWS.length);
    for (const [name, path] of Object.entries(files)) {
      if (name !== "csv") expect(await metricsOf(name, path), name).toEqual(reference);
    }
  });
});
