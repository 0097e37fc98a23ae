import type { LlamaForCausalLM } from '../src/index';

/**
 * A direct float64 transcription of the Hugging Face LLaMA forward pass for one sequence,
 * written with plain loops and independent of the model's code: the reference the
 * model is tested against. Returns logits [seq][vocab].
 */
export function naiveLogits(model: LlamaForCausalLM, ids: number[]): number[][] {
  const c = model.config;
  const W = (name: string) => {
    const t = model.stateDict().get(name);
    if (!t) throw new Error(`naive: no ${name}`);
    return { data: Float64Array.from(t.data), shape: t.shape };
  };
  const opt = (name: string) => (model.stateDict().has(name) ? W(name) : null);
  const linear = (x: number[], name: string): number[] => {
    const w = W(`${name}.weight`);
    const b = opt(`${name}.bias`);
    const [out, inp] = w.shape as [number, number];
    const y = new Array<number>(out).fill(0);
    for (let o = 0; o < out; o++) {
      let s = b ? b.data[o]! : 0;
      for (let i = 0; i < inp; i++) s += w.data[o * inp + i]! * x[i]!;
      y[o] = s;
    }
    return y;
  };
  const rms = (x: number[], name: string): number[] => {
    const w = W(name).data;
    const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
    const r = 1 / Math.sqrt(ms + c.rmsNormEps);
    return x.map((v, i) => v * r * w[i]!);
  };
  const hd = c.headDim;
  const half = hd / 2;
  const invFreq = Array.from({ length: half }, (_, i) => {
    let f = c.ropeTheta ** (-(2 * i) / hd);
    const s = c.ropeScaling;
    if (s?.type === 'linear') f /= s.factor;
    if (s?.type === 'llama3') {
      const wl = (2 * Math.PI) / f;
      const lowWl = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
      const highWl = s.originalMaxPositionEmbeddings / s.highFreqFactor;
      if (wl > lowWl) f /= s.factor;
      else if (wl >= highWl) {
        const sm =
          (s.originalMaxPositionEmbeddings / wl - s.lowFreqFactor) /
          (s.highFreqFactor - s.lowFreqFactor);
        f = (1 - sm) * (f / s.factor) + sm * f;
      }
    }
    return f;
  });
  const rope = (v: number[], pos: number): number[] => {
    const out = v.slice();
    for (let h = 0; h < v.length / hd; h++) {
      for (let i = 0; i < half; i++) {
        const a = pos * invFreq[i]!;
        const x1 = v[h * hd + i]!;
        const x2 = v[h * hd + half + i]!;
        out[h * hd + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
        out[h * hd + half + i] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
    }
    return out;
  };
  const emb = W('model.embed_tokens.weight').data;
  let xs = ids.map((id) => Array.from(emb.subarray(id * c.hiddenSize, (id + 1) * c.hiddenSize)));
  const group = c.numAttentionHeads / c.numKeyValueHeads;
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `model.layers.${l}.`;
    const hs = xs.map((x) => rms(x, `${p}input_layernorm.weight`));
    const qs = hs.map((h, t) => rope(linear(h, `${p}self_attn.q_proj`), t));
    const ks = hs.map((h, t) => rope(linear(h, `${p}self_attn.k_proj`), t));
    const vs = hs.map((h) => linear(h, `${p}self_attn.v_proj`));
    const attn = xs.map((_, t) => {
      const o = new Array<number>(c.numAttentionHeads * hd).fill(0);
      for (let h = 0; h < c.numAttentionHeads; h++) {
        const kh = Math.floor(h / group);
        const scores = [];
        for (let j = 0; j <= t; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += qs[t]![h * hd + d]! * ks[j]![kh * hd + d]!;
          scores.push(s / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= t; j++) {
          for (let d = 0; d < hd; d++) o[h * hd + d]! += (e[j]! / z) * vs[j]![kh * hd + d]!;
        }
      }
      return linear(o, `${p}self_attn.o_proj`);
    });
    xs = xs.map((x, t) => x.map((v, i) => v + attn[t]![i]!));
    xs = xs.map((x) => {
      const h = rms(x, `${p}post_attention_layernorm.weight`);
      const g = linear(h, `${p}mlp.gate_proj`);
      const u = linear(h, `${p}mlp.up_proj`);
      const a = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!);
      const d = linear(a, `${p}mlp.down_proj`);
      return x.map((v, i) => v + d[i]!);
    });
  }
  xs = xs.map((x) => rms(x, 'model.norm.weight'));
  const head = c.tieWordEmbeddings ? 'model.embed_tokens' : 'lm_head';
  return xs.map((x) => linear(x, head));
}
