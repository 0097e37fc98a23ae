type Nested = Float32Array | Nested[];

/**
 * gpu.js returns 2-D/3-D outputs as nested rows. webasm's rows are subarrays of one
 * buffer, so the flat result is a view; cpu and GL rows are separate and are copied.
 */
export function flatten(result: unknown, total: number): Float32Array {
  if (result instanceof Float32Array) {
    if (result.length !== total)
      throw new Error(`gpu.js kernel returned ${result.length} values, expected ${total}`);
    return result;
  }
  let first: Nested = result as Nested;
  while (!(first instanceof Float32Array)) first = first[0]!;
  if (first.byteOffset === 0 && first.buffer.byteLength === total * 4) {
    return new Float32Array(first.buffer, 0, total);
  }
  const out = new Float32Array(total);
  let offset = 0;
  const copy = (node: Nested): void => {
    if (node instanceof Float32Array) {
      out.set(node, offset);
      offset += node.length;
    } else {
      for (const child of node) copy(child);
    }
  };
  copy(result as Nested);
  if (offset !== total)
    throw new Error(`gpu.js kernel returned ${offset} values, expected ${total}`);
  return out;
}
