/**
 * Kernel source for the coordinates c0 … c(lead−1) of `lead` leading output axes folded
 * into thread.z (c0 outermost), and the parameters d1 … d(lead−1) (their extents) it
 * reads. Division by ⌊(r + ½) / d⌋ = ⌊r / d⌋ is robust to a GPU's inexact float division,
 * and exact below 2^24.
 */
export function leadingCoordinates(lead: number): { params: string[]; lines: string[] } {
  const params: string[] = [];
  const lines: string[] = [];
  if (lead === 1) return { params, lines: ['const c0 = this.thread.z;'] };
  for (let k = 1; k < lead; k++) params.push(`d${k}`);
  lines.push('let rest = this.thread.z;');
  for (let k = lead - 1; k >= 1; k--) {
    lines.push(
      `const q${k} = Math.floor((rest + 0.5) / d${k});`,
      `const c${k} = rest - q${k} * d${k};`,
      `rest = q${k};`,
    );
  }
  lines.push('const c0 = rest;');
  return { params, lines };
}
