/** What this browser offers, probed on the page (the worker runs the kernels). */
export interface Capabilities {
  /** A description of the WebGPU adapter, or null when there is none. */
  webgpuAdapter: string | null;
  /** Why there is no adapter (no navigator.gpu, or requestAdapter gave null). */
  webgpuMissing?: string;
  webgl2: boolean;
  webgl: boolean;
  wasm: boolean;
  /** Whether shared memory is allowed (the wasm backend's threads need it). */
  crossOriginIsolated: boolean;
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string };
}

function describeAdapter(adapter: GpuAdapterLike): string {
  const i = adapter.info ?? {};
  return [i.vendor, i.architecture, i.description || i.device].filter(Boolean).join(' ') || 'yes';
}

export async function probeCapabilities(): Promise<Capabilities> {
  let webgpuAdapter: string | null = null;
  let webgpuMissing: string | undefined;
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) webgpuMissing = 'navigator.gpu is absent';
  else {
    try {
      const adapter = await gpu.requestAdapter();
      if (adapter) webgpuAdapter = describeAdapter(adapter);
      else webgpuMissing = 'requestAdapter() found no adapter';
    } catch (err) {
      webgpuMissing = `requestAdapter() failed: ${(err as Error).message}`;
    }
  }
  // The worker draws on an OffscreenCanvas, so GL counts only where that exists too.
  const offscreen = typeof OffscreenCanvas !== 'undefined';
  const canvas = document.createElement('canvas');
  const webgl2 = offscreen && !!canvas.getContext('webgl2');
  const webgl = offscreen && !!document.createElement('canvas').getContext('webgl');
  return {
    webgpuAdapter,
    ...(webgpuMissing !== undefined && { webgpuMissing }),
    webgl2,
    webgl,
    wasm: typeof WebAssembly === 'object',
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
  };
}

export interface BackendChoice {
  name: string;
  label: string;
  available: boolean;
  why?: string;
}

/** The backends the switcher lists, in preference order. */
export function backendChoices(c: Capabilities): BackendChoice[] {
  return [
    {
      name: 'webgpu',
      label: 'WebGPU (gpu.js)',
      available: c.webgpuAdapter !== null,
      why: c.webgpuMissing,
    },
    {
      name: 'gpujs-webgl2',
      label: 'WebGL2 (gpu.js)',
      available: c.webgl2,
      why: 'no WebGL2 context',
    },
    { name: 'gpujs-webgl', label: 'WebGL (gpu.js)', available: c.webgl, why: 'no WebGL context' },
    {
      name: 'gpujs-webasm',
      label: 'WebAssembly (gpu.js)',
      available: c.wasm,
      why: 'no WebAssembly',
    },
    { name: 'wasm', label: 'WebAssembly SIMD (t2)', available: c.wasm, why: 'no WebAssembly' },
    { name: 'gpujs-cpu', label: 'CPU (gpu.js)', available: true },
    { name: 'js', label: 'plain JS', available: true },
  ];
}

/** WebGPU where an adapter exists, else WebGL2, else WebAssembly. */
export function preferredBackend(c: Capabilities): string {
  if (c.webgpuAdapter) return 'webgpu';
  if (c.webgl2) return 'gpujs-webgl2';
  if (c.wasm) return 'gpujs-webasm';
  return 'js';
}
