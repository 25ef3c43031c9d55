// `tfew inspect`: a model's config, parameter counts and its default (IA)³ targets and parameter count.
import { defineCommand, verboseOption } from "./command.js";

const count = (n: number) => n.toLocaleString("en-US");

export const inspectCommand = defineCommand({
  command: "inspect",
  describe: "print a model's config, parameter counts and (IA)³ parameter count",
  options: {
    model: { type: "string", demandOption: true, describe: "model folder or hub id" },
    revision: { type: "string", describe: "hub branch, tag or commit of --model" },
    ...verboseOption,
  },
  async run(args, ctx) {
    const { ia3ParameterCount, ia3Specs } = await import("../adapters/ia3.js");
    const { resolveIa3Config } = await import("../adapters/ia3-config.js");
    const { loadTokenizer } = await import("../data/tokenizer.js");
    const { resolveModelSource } = await import("../io/hub.js");
    const { countParameters, readT5Config } = await import("../model/config.js");
    const { linearShapes } = await import("../model/weights.js");
    const source = await resolveModelSource(args.model, { revision: args.revision });
    const config = await readT5Config(source.dir);
    const counts = countParameters(config);
    const ia3 = resolveIa3Config(config.modelType, { targetModules: null, feedforwardModules: null });
    const specs = ia3Specs(linearShapes(config), ia3);
    const ia3Count = ia3ParameterCount(specs);
    const c = config;
    ctx.out(`model: ${args.model} (${source.kind}) at ${source.dir}`);
    const layers = `layers ${c.numLayers}+${c.numDecoderLayers}, vocab ${c.vocabSize}`;
    ctx.out(`type: ${c.modelType}, d_model ${c.dModel}, d_kv ${c.dKv}, heads ${c.numHeads}, d_ff ${c.dFf}, ${layers}`);
    const buckets = `relative buckets ${c.relativeAttentionNumBuckets} (max distance ${c.relativeAttentionMaxDistance})`;
    const ffn = `feed-forward: ${c.gatedFfn ? "gated-" : ""}${c.activation}, tied embeddings: ${c.tieWordEmbeddings}`;
    ctx.out(`${ffn}, ${buckets}, eps ${c.layerNormEpsilon}`);
    const parts = [
      `embedding ${count(counts.embedding)}`,
      `encoder ${count(counts.encoder)}`,
      `decoder ${count(counts.decoder)}`,
      `lm_head ${count(counts.lmHead)}`,
    ];
    ctx.out(`parameters: ${count(counts.total)} (${parts.join(", ")})`);
    const share = ((100 * ia3Count) / counts.total).toFixed(4);
    const targets = `${JSON.stringify(ia3.targetModules)} (feed-forward ${JSON.stringify(ia3.feedforwardModules)})`;
    const vectors = `${specs.length} vectors, ${count(ia3Count)} parameters (${share}% of the model)`;
    ctx.out(`(IA)³ default targets ${targets}: ${vectors}`);
    try {
      const tok = await loadTokenizer(source.dir);
      ctx.out(`tokenizer: tokenizer.json with ${tok.vocabSize} tokens`);
    } catch {
      ctx.out("tokenizer: none in the model folder (set tokenizer: in the config)");
    }
    return 0;
  },
});
