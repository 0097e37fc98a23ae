import { GPU, type IKernelRunShortcut, Input } from 'gpu.js';
import type { DeviceData, KernelData } from '../backend';
import { type DeviceHandle, type DeviceStats, DeviceView, GpuJsDeviceData } from './device-data';

/** gpu.js execution modes a backend can be built on. */
export type GpuJsMode = 'cpu' | 'webasm' | 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu';

export const GPU_JS_MODES: readonly GpuJsMode[] = [
  'cpu',
  'webasm',
  'headlessgl',
  'webgl2',
  'webgl',
  'webgpu',
];

/** gpu.js modes with synchronous kernels: each is a t2 backend, named `gpujs-<mode>`. */
export type GpuJsSyncMode = Exclude<GpuJsMode, 'webgpu'>;

/** The t2 backend name of a gpu.js mode: the prefix says whose kernels run ('cpu' alone read
 * like t2's plain-JS backend, 'webasm' like t2's own WebAssembly one). */
export type GpuJsBackendName = `gpujs-${GpuJsSyncMode}`;

export const gpuJsBackendName = (mode: GpuJsSyncMode): GpuJsBackendName => `gpujs-${mode}`;

/** The gpu.js mode behind a backend name ('gpujs-webgl2' → 'webgl2'), or null for other names. */
export function gpuJsModeOf(name: string): GpuJsSyncMode | null {
  const mode = name.startsWith('gpujs-') ? name.slice('gpujs-'.length) : null;
  return mode && mode !== 'webgpu' && (GPU_JS_MODES as readonly string[]).includes(mode)
    ? (mode as GpuJsSyncMode)
    : null;
}

/** Modes whose intermediates stay on the device (textures, storage buffers) by default. */
const DEVICE_MODES: ReadonlySet<GpuJsMode> = new Set(['headlessgl', 'webgl2', 'webgl', 'webgpu']);

/** Modes computing into GL textures, which results can stay in across calls. */
const GL_MODES: ReadonlySet<GpuJsMode> = new Set(['headlessgl', 'webgl2', 'webgl']);

/**
 * How kernels are called: `sync` for the Backend interface, `async` for the kernel set
 * that awaits every launch (createGpuJsAsyncKernels), the only way to run gpu.js WebGPU.
 */
export type GpuJsCalls = 'sync' | 'async';

/**
 * Why `mode` cannot run here, or null when it can. Synchronously webgpu is always
 * refused: gpu.js WebGPU kernels only return Promises. Asynchronously it needs
 * navigator.gpu (a device is requested on first use; see createGpuJsAsyncKernels).
 */
export function gpuJsUnsupportedReason(mode: GpuJsMode, calls: GpuJsCalls = 'sync'): string | null {
  switch (mode) {
    case 'cpu':
      return null;
    case 'webasm':
      return GPU.isWebAssemblySupported ? null : 'WebAssembly is not available in this environment';
    case 'headlessgl':
      return GPU.isHeadlessGLSupported
        ? null
        : "headless-gl is not available (the optional 'gl' package did not load)";
    case 'webgl2':
      return GPU.isWebGL2Supported ? null : 'WebGL2 is not available in this environment';
    case 'webgl':
      return GPU.isWebGLSupported ? null : 'WebGL is not available in this environment';
    case 'webgpu':
      if (calls === 'sync')
        return "gpu.js WebGPU kernels are asynchronous (every call returns a Promise) and the t2 Backend interface is synchronous; createGpuJsAsyncKernels('webgpu') runs them";
      return GPU.isWebGPUSupported
        ? null
        : 'WebGPU is not available in this environment (navigator.gpu is missing)';
    default:
      return `unknown gpu.js mode '${String(mode)}'`;
  }
}

export function gpuJsModeSupported(mode: GpuJsMode): boolean {
  return gpuJsUnsupportedReason(mode) === null;
}

/**
 * What a kernel reads: a flat array viewed as up to three axes ([x, y, z], x fastest),
 * device data (read 1-D as is, or through a DeviceView by axes), a device result of a
 * pipelined kernel (GL texture, WebGPU buffer), or a scalar.
 */
export type KernelArg = Input | Float32Array | GpuJsDeviceData | DeviceView | number | object;

/**
 * In webasm every `let` holding an integer decays to f32, so a flat index above 2^24
 * would be rounded. Kernels therefore index arrays by axes (`a[z][y][x]`), which gpu.js
 * combines in i32 with the dimensions baked in; each per-axis index must stay below this.
 */
export const EXACT_INDEX_LIMIT = 2 ** 24;

/** Views `data` as [x, y, z] (x fastest) for a kernel argument. */
export function view(data: KernelData, x: number, y = 1, z = 1): Input | DeviceView {
  if (data instanceof Float32Array) return new Input(data as unknown as number[], [x, y, z]);
  if (data instanceof GpuJsDeviceData) return new DeviceView(data, [x, y, z]);
  throw new Error('gpu.js kernels can read only host arrays and gpu.js device data');
}

interface Variant {
  fn: IKernelRunShortcut;
  lastOutput: string;
}

/**
 * One kernel source and its compiled gpu.js instance(s). Output size is set per call
 * (dynamicOutput), but a kernel keeps the output rank it was built with (gpu.js WebGPU
 * fixes its workgroup shape at build), so each rank gets its own instance. gpu.js's cpu
 * mode mis-indexes `input()` arguments under dynamicArguments (it uses the output's
 * extents), so there the kernel is compiled once per argument-size signature instead,
 * with sizes baked in.
 */
export class CompiledKernel {
  private readonly variants = new Map<string, Variant>();

  constructor(
    readonly key: string,
    private readonly create: (dynamicArguments: boolean) => IKernelRunShortcut,
    private readonly perShape: boolean,
  ) {}

  /** gpu.js modes that actually ran (webasm silently degrades to cpu on unsupported kernels). */
  get executedModes(): string[] {
    return [...this.variants.values()].map((v) => {
      const k = (v.fn as unknown as { kernel?: { constructor?: { mode?: string } } }).kernel;
      return k?.constructor?.mode ?? 'unknown';
    });
  }

  private variant(output: readonly number[], args: readonly KernelArg[]): Variant {
    let sig = String(output.length);
    if (this.perShape) {
      sig += `|${args
        .map((a) =>
          a instanceof Input ? a.size.join('x') : a instanceof Float32Array ? a.length : '',
        )
        .join('|')}`;
    }
    let v = this.variants.get(sig);
    if (v) {
      // Map order is the LRU order.
      this.variants.delete(sig);
    } else {
      v = { fn: this.create(!this.perShape), lastOutput: '' };
      if (this.variants.size >= MAX_SHAPE_VARIANTS) {
        const [oldest, old] = this.variants.entries().next().value as [string, Variant];
        this.variants.delete(oldest);
        old.fn.destroy();
      }
    }
    this.variants.set(sig, v);
    return v;
  }

  /**
   * Runs the kernel over `output` ([x], [x, y] or [x, y, z]) and returns what gpu.js
   * returns: nested rows, a device texture or buffer when pipelined, and in webgpu mode
   * a Promise of either.
   */
  call(output: readonly number[], args: readonly KernelArg[]): unknown {
    const v = this.variant(output, args);
    const sig = output.join('x');
    if (sig !== v.lastOutput) {
      v.fn.setOutput(output as number[]);
      v.lastOutput = sig;
    }
    return (v.fn as unknown as (...a: KernelArg[]) => unknown)(...args);
  }

  destroy(): void {
    for (const v of this.variants.values()) v.fn.destroy();
    this.variants.clear();
  }
}

/** Per-kernel bound on shape-specialised compilations (cpu mode). */
const MAX_SHAPE_VARIANTS = 64;

export interface GpuJsContextOptions {
  /** Whether intermediates stay on the device (`pipeline: true`); default: GL modes and webgpu. */
  pipelineIntermediates?: boolean;
  /**
   * Whether kernel results stay on the device too, as DeviceData that the next op reads
   * in place (read back only when the host asks); default: in GL modes with pipelined
   * intermediates and synchronous calls.
   */
  residentResults?: boolean;
  /** Default `sync`; webgpu can only be called `async`. */
  calls?: GpuJsCalls;
}

/**
 * One gpu.js instance and its kernels. Kernels are compiled on first use and cached by
 * key (op + whatever is baked into the source), never per call; sizes are arguments
 * or dynamic output, and webasm caches its modules per size signature underneath.
 */
export class GpuJsContext {
  readonly gpu: GPU;
  private readonly kernels = new Map<string, CompiledKernel>();
  readonly pipelineIntermediates: boolean;
  readonly residentResults: boolean;
  /** Whether kernels run on a GPU (GL, WebGPU), so that returning an array is a readback. */
  readonly onGpu: boolean;
  readonly stats: DeviceStats = { readbacks: 0, uploads: 0, reshapes: 0 };

  constructor(
    readonly mode: GpuJsMode,
    opts: GpuJsContextOptions = {},
  ) {
    const reason = gpuJsUnsupportedReason(mode, opts.calls);
    if (reason) throw new Error(`gpu.js backend '${mode}' is unavailable: ${reason}`);
    this.gpu = new GPU({ mode });
    this.pipelineIntermediates = opts.pipelineIntermediates ?? DEVICE_MODES.has(mode);
    this.onGpu = DEVICE_MODES.has(mode);
    // Results stay on a real device (GL textures); cpu/webasm "pipelines" are host arrays,
    // and WebGPU buffers are only reachable through the asynchronous kernel set.
    const glPipeline = this.pipelineIntermediates && GL_MODES.has(mode);
    const resident = opts.residentResults ?? (glPipeline && opts.calls !== 'async');
    if (resident && !glPipeline)
      throw new Error('gpu.js: residentResults needs a GL mode with pipelineIntermediates');
    if (resident && opts.calls === 'async')
      throw new Error('gpu.js: residentResults is for synchronous calls (the Backend)');
    this.residentResults = resident;
  }

  /** Whether `d` is a live result of this context's kernels. */
  holds(d: DeviceData): boolean {
    return d instanceof GpuJsDeviceData && d.owner === this && !d.released && !this.destroyed;
  }

  /** Keeps a pipelined kernel's result (a texture the caller owns) as DeviceData. */
  deviceData(handle: unknown, length: number): GpuJsDeviceData {
    return new GpuJsDeviceData(this, handle as DeviceHandle, length);
  }

  /**
   * The cached kernel for `key`, compiled from `source()` the first time. `pipeline`
   * kernels return device-resident results (GL textures, WebGPU buffers); the caller
   * keys them apart from kernels that return arrays.
   */
  kernel(key: string, source: () => string, opts: { pipeline?: boolean } = {}): CompiledKernel {
    let k = this.kernels.get(key);
    if (!k) {
      const src = source();
      const create = (dynamicArguments: boolean): IKernelRunShortcut => {
        const fn = this.gpu.createKernel(src, {
          output: [1],
          dynamicOutput: true,
          dynamicArguments,
          precision: 'single',
          tactic: 'precision',
          pipeline: opts.pipeline ?? false,
        });
        // Loop bounds are arguments; gpu.js caps non-constant loops at this count.
        fn.setLoopMaxIterations(2 ** 30);
        // A training step meets each kernel in a few dozen shapes; webasm rebuilds its
        // module per shape beyond this many (default 8), which costs ~1 ms each time.
        (fn as unknown as { moduleCacheLimit: number }).moduleCacheLimit = 16;
        return fn;
      };
      k = new CompiledKernel(key, create, this.mode === 'cpu');
      this.kernels.set(key, k);
    }
    return k;
  }

  /** Keys and executed modes of every kernel compiled so far (for checks and diagnostics). */
  compiledKernels(): { key: string; modes: string[] }[] {
    return [...this.kernels.values()].map((k) => ({ key: k.key, modes: k.executedModes }));
  }

  /** Set by destroy(): device data of this context can no longer be read. */
  destroyed = false;

  destroy(): void {
    this.destroyed = true;
    for (const k of this.kernels.values()) k.destroy();
    this.kernels.clear();
    void this.gpu.destroy();
  }
}
