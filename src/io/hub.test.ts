import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { TfewError } from "../errors.js";
import { readCheckpointDir } from "./checkpoint-dir.js";
import {
  hubCacheDir,
  raftHubFiles,
  RAFT_REPO,
  resolveDatasetFiles,
  resolveModelSource,
  validateRepoId,
  type HubOptions,
} from "./hub.js";
import { serializeSafetensors } from "./safetensors.js";
import { tfewMessageOf } from "../../tests/helpers/errors.js";

const HUB = "https://hub.test";
const SHA = "0123456789abcdef0123456789abcdef01234567";

interface FakeRepo {
  type: "model" | "dataset";
  id: string;
  sha: string;
  files: Record<string, Uint8Array | string>;
}

/** Git blob id for small files, sha256 (LFS oid) for weights: the etags the hub reports, and the blob names. */
function etagOf(path: string, content: Uint8Array): string {
  if (path.endsWith(".safetensors") || path.endsWith(".bin")) return createHash("sha256").update(content).digest("hex");
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** An in-memory hub answering the calls @huggingface/hub makes; `log` records "METHOD url" of each. */
function fakeHub(repos: FakeRepo[]): { fetch: typeof fetch; log: string[] } {
  const log: string[] = [];
  const bytes = (c: Uint8Array | string): Uint8Array => (typeof c === "string" ? new TextEncoder().encode(c) : c);
  const json = (value: unknown, status = 200): Response =>
    new Response(JSON.stringify(value), { status, headers: { "Content-Type": "application/json" } });
  const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const method = init?.method ?? "GET";
    log.push(`${method} ${url.pathname}`);
    for (const repo of repos) {
      const api = `/api/${repo.type}s/${repo.id}/`;
      const resolvePrefix = `${repo.type === "model" ? "" : `/${repo.type}s`}/${repo.id}/resolve/`;
      const revOk = (rev: string): boolean => rev === "main" || rev === repo.sha;
      if (url.pathname.startsWith(`${api}revision/`)) {
        if (!revOk(decodeURIComponent(url.pathname.slice(`${api}revision/`.length))))
          return json({ error: "Invalid rev id" }, 404);
        const siblings = Object.keys(repo.files).map((rfilename) => ({ rfilename }));
        return json({
          _id: "x",
          id: repo.id,
          sha: repo.sha,
          siblings,
          private: false,
          gated: false,
          downloads: 0,
          likes: 0,
          lastModified: "2024-01-01T00:00:00.000Z",
        });
      }
      if (url.pathname.startsWith(`${api}paths-info/`) && method === "POST") {
        const { paths } = JSON.parse(String(init?.body)) as { paths: string[] };
        return json(
          paths
            .filter((p) => repo.files[p] !== undefined)
            .map((p) => {
              const content = bytes(repo.files[p] as Uint8Array | string);
              const etag = etagOf(p, content);
              const lfs = etag.length === 64 ? { oid: etag, size: content.length, pointerSize: 134 } : undefined;
              return { type: "file", path: p, oid: etag.slice(0, 40), size: content.length, lfs };
            }),
        );
      }
      if (url.pathname.startsWith(resolvePrefix)) {
        const [rev, ...rest] = url.pathname.slice(resolvePrefix.length).split("/");
        const content = repo.files[rest.join("/")];
        if (!revOk(decodeURIComponent(rev ?? "")) || content === undefined) {
          return new Response("not found", { status: 404, headers: { "X-Error-Code": "EntryNotFound" } });
        }
        const body = bytes(content);
        const etag = `"${etagOf(rest.join("/"), body)}"`;
        if (new Headers(init?.headers).get("Range") === "bytes=0-0") {
          return new Response(body.slice(0, 1), {
            status: 206,
            headers: { "Content-Range": `bytes 0-0/${body.length}`, ETag: etag },
          });
        }
        return new Response(body, { status: 200, headers: { ETag: etag } });
      }
    }
    return json({ error: "Repository not found" }, 404);
  };
  return { fetch: fake as typeof fetch, log };
}

const weights = serializeSafetensors(
  { "shared.weight": { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } },
  { format: "pt" },
);
const tinyRepo: FakeRepo = {
  type: "model",
  id: "org/tiny-t5",
  sha: SHA,
  files: {
    "config.json": '{"model_type":"t5"}',
    "tokenizer.json": "{}",
    "spiece.model": "spm",
    "model.safetensors": weights,
    "pytorch_model.bin": "never fetched",
    "README.md": "never fetched",
  },
};

let cacheDir = "";
let root = "";
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tfew-hub-"));
  // Nothing may reach the real network: the global fetch fails loudly.
  vi.stubGlobal("fetch", () => Promise.reject(new Error("real network used in a test")));
  vi.spyOn(console, "debug").mockImplementation(() => undefined); // the library logs each download
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  cacheDir = await mkdtemp(join(root, "cache-"));
});

const noNetwork = (() => Promise.reject(new TypeError("fetch failed"))) as typeof fetch;
const opts = (extra: Partial<HubOptions> = {}): HubOptions => ({ cacheDir, hubUrl: HUB, env: {}, ...extra });

const errorOf = tfewMessageOf;

describe("resolveModelSource from the hub", () => {
  it("downloads into the standard cache layout and writes refs/main", async () => {
    const hub = fakeHub([tinyRepo]);
    const source = await resolveModelSource("org/tiny-t5", opts({ fetch: hub.fetch }));
    const storage = join(cacheDir, "models--org--tiny-t5");
    expect(source).toEqual({ dir: join(storage, "snapshots", SHA), kind: "hub", repoId: "org/tiny-t5", commit: SHA });
    expect(await readFile(join(storage, "refs", "main"), "utf8")).toBe(SHA);
    expect(await readFile(join(source.dir, "config.json"), "utf8")).toBe('{"model_type":"t5"}');
    expect((await readdir(source.dir)).sort()).toEqual([
      "config.json",
      "model.safetensors",
      "spiece.model",
      "tokenizer.json",
    ]);
    const weightsEtag = etagOf("model.safetensors", weights);
    expect((await lstat(join(source.dir, "model.safetensors"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(source.dir, "model.safetensors"))).toBe(join("..", "..", "blobs", weightsEtag));
    expect(await readdir(join(storage, "blobs"))).toContain(weightsEtag);
    expect((await readCheckpointDir(source.dir)).tensors.get("shared.weight")?.data).toEqual(
      new Float32Array([1, 2, 3, 4]),
    );
    expect(
      hub.log.some(
        (l) => l.includes("pytorch_model.bin") || l.includes("README.md") || l.includes("generation_config"),
      ),
    ).toBe(false);
    // one info call on the branch, then per file paths-info + resolve, all pinned to the commit sha
    expect(hub.log[0]).toBe("GET /api/models/org/tiny-t5/revision/main");
    expect(hub.log.slice(1).every((l) => l.includes(`/paths-info/${SHA}`) || l.includes(`/resolve/${SHA}/`))).toBe(
      true,
    );
    expect(hub.log).toContain(`GET /org/tiny-t5/resolve/${SHA}/model.safetensors`);
  });

  it("a second call uses the cache: no request online, works offline (option or HF_HUB_OFFLINE=1)", async () => {
    const hub = fakeHub([tinyRepo]);
    const first = await resolveModelSource("org/tiny-t5", opts({ fetch: hub.fetch }));
    const requests = hub.log.length;
    expect(await resolveModelSource("org/tiny-t5", opts({ fetch: hub.fetch }))).toEqual(first);
    expect(hub.log.length).toBe(requests);
    expect(await resolveModelSource("org/tiny-t5", opts({ fetch: noNetwork, offline: true }))).toEqual(first);
    expect(await resolveModelSource("org/tiny-t5", opts({ fetch: noNetwork, env: { HF_HUB_OFFLINE: "1" } }))).toEqual(
      first,
    );
  });

  it("downloads every shard of model.safetensors.index.json", async () => {
    const shard = (name: string): Uint8Array =>
      serializeSafetensors({ [name]: { dtype: "F32", shape: [1], data: new Float32Array([name.length]) } });
    const index = {
      metadata: {},
      weight_map: { a: "model-00001-of-00002.safetensors", bb: "model-00002-of-00002.safetensors" },
    };
    const repo: FakeRepo = {
      type: "model",
      id: "sharded",
      sha: "f".repeat(40),
      files: {
        "config.json": "{}",
        "model.safetensors.index.json": JSON.stringify(index),
        "model-00001-of-00002.safetensors": shard("a"),
        "model-00002-of-00002.safetensors": shard("bb"),
      },
    };
    const source = await resolveModelSource("sharded", opts({ fetch: fakeHub([repo]).fetch }));
    expect(source.dir).toBe(join(cacheDir, "models--sharded", "snapshots", "f".repeat(40)));
    expect([...(await readCheckpointDir(source.dir)).tensors.keys()].sort()).toEqual(["a", "bb"]);
    expect(await resolveModelSource("sharded", opts({ fetch: noNetwork, offline: true }))).toEqual(source);
  });

  it("offline and not cached: the one-line error", async () => {
    expect(
      await errorOf(resolveModelSource("org/tiny-t5", opts({ fetch: noNetwork, env: { HF_HUB_OFFLINE: "1" } }))),
    ).toBe(
      `model org/tiny-t5 is not in the HF cache at ${cacheDir} and HF_HUB_OFFLINE=1 is set; download it once with network ` +
        `(tfew or huggingface-cli download org/tiny-t5) or point --model at a local folder`,
    );
  });

  it("a snapshot with config.json but no weights is not a cache hit", async () => {
    const storage = join(cacheDir, "models--org--tiny-t5");
    await mkdir(join(storage, "refs"), { recursive: true });
    await mkdir(join(storage, "snapshots", SHA), { recursive: true });
    await writeFile(join(storage, "refs", "main"), SHA);
    await writeFile(join(storage, "snapshots", SHA, "config.json"), "{}");
    expect(await errorOf(resolveModelSource("org/tiny-t5", opts({ offline: true })))).toMatch(/is not in the HF cache/);
  });

  it("network failure, unknown repo, repo without weights: one-line errors", async () => {
    const failing = (() =>
      Promise.reject(new TypeError("fetch failed", { cause: { code: "ENOTFOUND" } }))) as typeof fetch;
    expect(await errorOf(resolveModelSource("org/tiny-t5", opts({ fetch: failing })))).toBe(
      "could not reach the hub to download model org/tiny-t5: fetch failed (ENOTFOUND); check network or set HF_HUB_OFFLINE=1 with a cached copy",
    );
    expect(await errorOf(resolveModelSource("org/missing", opts({ fetch: fakeHub([]).fetch })))).toMatch(
      /^the hub answered HTTP 404 for model org\/missing \(revision main\): it does not exist, or it is private or gated/,
    );
    const noWeights: FakeRepo = { type: "model", id: "cfg-only", sha: SHA, files: { "config.json": "{}" } };
    expect(await errorOf(resolveModelSource("cfg-only", opts({ fetch: fakeHub([noWeights]).fetch })))).toMatch(
      /hub model cfg-only \(revision main\) has none of model.safetensors, .*pytorch_model.bin.index.json/,
    );
  });

  it("a hub repo of another family (model_type bert) is refused after config.json, before its weights download", async () => {
    const bert: FakeRepo = {
      type: "model",
      id: "org/bert-base",
      sha: SHA,
      files: { "config.json": '{"model_type":"bert"}', "tokenizer.json": "{}", "model.safetensors": weights },
    };
    const hub = fakeHub([bert]);
    expect(await errorOf(resolveModelSource("org/bert-base", opts({ fetch: hub.fetch })))).toMatch(
      /^model: model_type bert is not a T5-family model \(/,
    );
    expect(hub.log.some((l) => l.includes("config.json"))).toBe(true);
    expect(hub.log.some((l) => l.includes("model.safetensors"))).toBe(false);
  });
});

describe("resolveModelSource: local folders and ids", () => {
  it("a local folder whose config.json names another family is refused; T5, mT5 and unreadable configs pass on", async () => {
    const folder = async (name: string, config: string) => {
      const dir = join(root, name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "config.json"), config);
      return dir;
    };
    const bert = await folder("bert", '{"model_type": "bert", "hidden_size": 768}');
    expect(await errorOf(resolveModelSource(bert, opts()))).toBe(
      `model: model_type bert is not a T5-family model (tfew runs model_type t5 or mt5: T5, Flan-T5, T0, mT5; read from ${join(bert, "config.json")}); set model (--model) to a T5-family checkpoint`,
    );
    for (const [name, config] of [
      ["t5", '{"model_type": "t5"}'],
      ["mt5", '{"model_type": "mt5"}'],
      ["broken", "{not json"],
      ["untyped", "{}"],
    ]) {
      const dir = await folder(name as string, config as string);
      expect((await resolveModelSource(dir, opts())).dir).toBe(dir); // the full config check (model/config.ts) reports the rest
    }
  });

  it("an existing folder is local; missing paths and files are errors", async () => {
    expect(await resolveModelSource(root, opts({ fetch: noNetwork }))).toEqual({ dir: root, kind: "local" });
    expect(await errorOf(resolveModelSource("./no/such/model", opts()))).toBe(
      `model folder ./no/such/model does not exist (relative to the current folder ${process.cwd()}); fix the path, ` +
        "or give a hub id such as google/t5-v1_1-small",
    );
    expect(await errorOf(resolveModelSource("/abs/missing", opts()))).toMatch(
      /model folder \/abs\/missing does not exist; fix/, // an absolute path: no "relative to"
    );
    expect(await errorOf(resolveModelSource("../x", opts()))).toMatch(/model folder \.\.\/x does not exist/);
    const file = join(root, "file.txt");
    await writeFile(file, "x");
    expect(await errorOf(resolveModelSource(file, opts()))).toMatch(/is a file, not a folder/);
  });

  it("validateRepoId accepts org/name and name, rejects the rest with the reason and the expected form", () => {
    expect(validateRepoId("google/t5-v1_1-small")).toBe("google/t5-v1_1-small");
    expect(validateRepoId("t5-small")).toBe("t5-small");
    const cases: Array<[string, RegExp]> = [
      ["../x", /contains '\.\.'/],
      ["/abs", /starts with '\/'/],
      ["a/b/c", /has 3 parts separated by '\/'/],
      ["bad id!", /contains " "/],
      ["a\\b", /backslash/],
      ["org/", /empty part/],
      ["", /is empty/],
      ["x".repeat(97), /97 characters long \(at most 96\)/],
    ];
    for (const [id, reason] of cases) {
      expect(() => validateRepoId(id)).toThrow(TfewError);
      expect(() => validateRepoId(id)).toThrow(reason);
      expect(() => validateRepoId(id)).toThrow(/; expected "org\/name" or "name" \(e\.g\. google\/t5-v1_1-small\)$/);
    }
  });

  it("resolveModelSource rejects bad ids before any network use", async () => {
    expect(await errorOf(resolveModelSource("a/b/c", opts({ fetch: noNetwork })))).toMatch(/^invalid hub id "a\/b\/c"/);
    expect(await errorOf(resolveModelSource("bad id!", opts({ fetch: noNetwork })))).toMatch(
      /^invalid hub id "bad id!"/,
    );
  });
});

describe("hubCacheDir", () => {
  it("HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub", () => {
    expect(hubCacheDir({ HF_HUB_CACHE: "/c/hub", HF_HOME: "/h" })).toBe("/c/hub");
    expect(hubCacheDir({ HF_HOME: "/h" })).toBe(join("/h", "hub"));
    expect(hubCacheDir({ HF_HOME: "" })).toBe(join(homedir(), ".cache", "huggingface", "hub"));
    expect(hubCacheDir({})).toBe(join(homedir(), ".cache", "huggingface", "hub"));
  });
});

describe("resolveDatasetFiles (RAFT)", () => {
  const raft: FakeRepo = {
    type: "dataset",
    id: RAFT_REPO,
    sha: "a".repeat(40),
    files: {
      "data/ade_corpus_v2/train.csv": "Sentence,Label,ID\nx,1,0\n",
      "data/ade_corpus_v2/test_unlabeled.csv": "Sentence,ID\ny,0\n",
    },
  };

  it("downloads into datasets--ought--raft/snapshots/<sha>, then works offline", async () => {
    const hub = fakeHub([raft]);
    const files = raftHubFiles("ade_corpus_v2");
    const got = await resolveDatasetFiles(RAFT_REPO, files, opts({ fetch: hub.fetch }));
    const storage = join(cacheDir, "datasets--ought--raft");
    expect(got).toEqual({ dir: join(storage, "snapshots", "a".repeat(40)), commit: "a".repeat(40) });
    expect(await readFile(join(got.dir, "data/ade_corpus_v2/train.csv"), "utf8")).toBe("Sentence,Label,ID\nx,1,0\n");
    expect(await readFile(join(storage, "refs", "main"), "utf8")).toBe("a".repeat(40));
    expect(hub.log[0]).toBe("GET /api/datasets/ought/raft/revision/main");
    expect(await resolveDatasetFiles(RAFT_REPO, files, opts({ fetch: noNetwork, offline: true }))).toEqual(got);
  });

  it("unknown task file, offline miss, bad file names: one-line errors", async () => {
    expect(
      await errorOf(resolveDatasetFiles(RAFT_REPO, raftHubFiles("nope"), opts({ fetch: fakeHub([raft]).fetch }))),
    ).toBe("file data/nope/train.csv is not in hub dataset ought/raft at revision main; check the task name");
    expect(
      await errorOf(resolveDatasetFiles(RAFT_REPO, raftHubFiles("ade_corpus_v2"), opts({ offline: true }))),
    ).toMatch(
      /^dataset ought\/raft \(data\/ade_corpus_v2\/train.csv, data\/ade_corpus_v2\/test_unlabeled.csv\) is not in the HF cache at .* and offline mode is on/,
    );
    expect(await errorOf(resolveDatasetFiles(RAFT_REPO, ["../x.csv"], opts()))).toMatch(
      /must be a relative path inside the repo/,
    );
  });
});
