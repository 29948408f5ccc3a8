// Embeddings from the provider's OpenAI-compatible `POST {apiBase}/embeddings`
// (platform.openai.com/docs/api-reference/embeddings): `{model, input: [texts]}` →
// `{data: [{index, embedding: [floats]}]}`. Used by memory when
// `agents.defaults.embeddingModel` is configured; otherwise memory embeds in wasm (embed.ts).

import { JValue, J_ARR, J_NUM, stringify } from "../../json";
import { Embedder } from "../embed";
import { Config, Route } from "../config";
import { providerRequest, sendWithRetries, readJson, LlmError } from "./client";

/** Texts per request: the API's input list limit is 2,048; smaller requests fail faster. */
const BATCH: i32 = 256;

/**
 * The provider's embedding model as an `Embedder` named `provider:<provider>/<model>`. Its
 * `dim` is `dimensions` when configured (sent as the `dimensions` parameter), else learned
 * from the first answer: `create` embeds one probe text to learn it.
 */
export class ProviderEmbedder extends Embedder {
  constructor(private cfg: Config, private route: Route, dim: i32, private askDim: bool) {
    super("provider:" + route.provider.name + "/" + route.model, dim);
  }

  /** An embedder for `route`; null with `LlmError.message` set when the probe fails. */
  static create(cfg: Config, route: Route, dimensions: i32): ProviderEmbedder | null {
    let e = new ProviderEmbedder(cfg, route, dimensions, dimensions > 0);
    if (dimensions > 0) return e;
    let probe = e.embed(["clawft"]);
    if (probe === null) {
      LlmError.message = e.error;
      return null;
    }
    e.dim = probe[0].length;
    return e;
  }

  /** One vector per text, in order; null with `error` set (HTTP, JSON shape, wrong length). */
  embed(texts: string[]): Float32Array[] | null {
    let out: Float32Array[] = [];
    let url = this.route.provider.apiBase + "/embeddings";
    for (let at = 0; at < texts.length; at += BATCH) {
      let input = JValue.array();
      let n = min(BATCH, texts.length - at);
      for (let i = 0; i < n; i++) input.push(JValue.string(texts[at + i]));
      let body = JValue.object().set("model", JValue.string(this.route.model)).set("input", input);
      if (this.askDim) body.set("dimensions", JValue.number(this.dim));
      let r = sendWithRetries(this.cfg, this.route, providerRequest(this.cfg, this.route, url, stringify(body), "application/json"));
      if (r === null) return this.failed(LlmError.message);
      let v = readJson(r, url);
      r.close();
      if (v === null) return this.failed(LlmError.message);
      let data = v.get("data");
      if (data === null || data.kind != J_ARR || data.items.length != n) return this.failed("the answer from " + url + " has no data list of " + n.toString() + " embeddings");
      let batch = new Array<Float32Array | null>(n);
      for (let i = 0; i < n; i++) {
        let d = data.items[i];
        let index = <i32>d.num("index", <f64>i);
        let emb = d.get("embedding");
        if (index < 0 || index >= n || emb === null || emb.kind != J_ARR) return this.failed("the answer from " + url + " has a malformed data[" + i.toString() + "]");
        let len = emb.items.length;
        if (this.dim > 0 && len != this.dim) return this.failed("the provider's embeddings have " + len.toString() + " dimensions, memory expects " + this.dim.toString());
        let vec = new Float32Array(len);
        for (let j = 0; j < len; j++) {
          let x = emb.items[j];
          if (x.kind != J_NUM) return this.failed("the answer from " + url + " has a non-number in data[" + i.toString() + "].embedding");
          vec[j] = <f32>x.n;
        }
        batch[index] = vec;
      }
      for (let i = 0; i < n; i++) {
        if (batch[i] === null) return this.failed("the answer from " + url + " repeats an index");
        out.push(batch[i]!);
      }
    }
    return out;
  }

  private failed(message: string): Float32Array[] | null {
    this.error = message;
    return null;
  }
}
