import { arrayBf16Home, type Bf16Home, bf16Tensor } from '../tensor/bf16-data';
import { Tensor } from '../tensor/tensor';
import { withAtomicFile } from './atomic';
import { assertLittleEndian, dtypeSizes, encodeInto } from './dtypes';
import { SafetensorsError } from './errors';
import { type Header, parseHeader, readHeaderLength } from './header';
import { type FileHandle, nodeModules, readExact, writeAll } from './node';
import {
  decodeEntry,
  planLayout,
  type SafetensorsFile,
  type SerializeOptions,
  type TensorDict,
} from './safetensors';

// 16-bit dtypes are encoded through a bounded scratch buffer, not a whole-file copy.
const ENCODE_CHUNK_ELEMENTS = 1 << 22;

/**
 * Reads a safetensors file (Node). The header is validated before any tensor data is read;
 * each tensor's bytes are then read straight into its own float32 buffer, so peak memory is
 * about the size of the tensors, not twice the file.
 */
export async function readSafetensorsFile(
  path: string,
  opts: ReadTensorsOptions = {},
): Promise<SafetensorsFile> {
  assertLittleEndian();
  const fh = await openRegular(path);
  try {
    return await readOpened(fh, path, opts);
  } catch (err) {
    // Header and tensor errors already name the file; I/O errors (a file that shrank, a
    // folder opened as a file) get its name too.
    if (err instanceof SafetensorsError) throw err;
    throw new SafetensorsError((err as Error).message, { file: path });
  } finally {
    await fh.close();
  }
}

/**
 * Opens a file for reading after checking it is a regular file: a device (/dev/zero), a pipe
 * or a folder is refused by name instead of hanging or failing with a bare EISDIR.
 */
async function openRegular(path: string): Promise<FileHandle> {
  const { fs } = await nodeModules();
  const why = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? 'no such file'
      : code === 'ENOTDIR'
        ? 'a part of the path is not a folder'
        : `cannot open (${code ?? (err as Error).message})`;
  };
  let st: import('node:fs').Stats;
  try {
    st = await fs.stat(path);
  } catch (err) {
    throw new SafetensorsError(why(err), { file: path });
  }
  if (st.isDirectory()) {
    throw new SafetensorsError('is a folder, expected a .safetensors file', { file: path });
  }
  if (!st.isFile()) {
    throw new SafetensorsError('is not a regular file (a device, pipe or socket)', { file: path });
  }
  try {
    return await fs.open(path, 'r');
  } catch (err) {
    throw new SafetensorsError(why(err), { file: path });
  }
}

/** A safetensors file's header, validated, without reading any tensor data (Node). */
export async function readSafetensorsHeader(path: string): Promise<Header & { dataStart: number }> {
  const fh = await openRegular(path);
  try {
    return await readHeaderOf(fh, path);
  } catch (err) {
    if (err instanceof SafetensorsError) throw err;
    throw new SafetensorsError((err as Error).message, { file: path });
  } finally {
    await fh.close();
  }
}

async function readHeaderOf(fh: FileHandle, path: string): Promise<Header & { dataStart: number }> {
  const size = (await fh.stat()).size;
  const n = readHeaderLength(await readExact(fh, 0, Math.min(8, size)), size, path);
  const header = parseHeader(await readExact(fh, 8, n), size - 8 - n, path);
  return { ...header, dataStart: 8 + n };
}

/** How tensor data is kept in memory. */
export interface ReadTensorsOptions {
  /**
   * Keep BF16 tensors as their bfloat16 bits (`Bf16Data`, half the memory of float32),
   * widened to float32 on their first host read; kernels that widen as they read (the
   * fused decoder's) use the bits in place. Off by default: every tensor is float32.
   */
  keepBf16?: boolean;
  /** Where kept bits go (a backend's memory, so its kernels read them without a copy). */
  bf16Home?: (count: number) => Bf16Home;
}

async function readOpened(
  fh: FileHandle,
  path: string,
  opts: ReadTensorsOptions,
): Promise<SafetensorsFile> {
  const header = await readHeaderOf(fh, path);
  const dataStart = header.dataStart;
  const read = new Map<string, Tensor>();
  // File order, so the disk is read front to back.
  for (const e of [...header.entries].sort((a, b) => a.begin - b.begin)) {
    const span = e.end - e.begin;
    try {
      if (e.dtype === 'F32') {
        const out = new Float32Array(span / 4);
        await readExact(fh, dataStart + e.begin, span, new Uint8Array(out.buffer));
        read.set(e.name, new Tensor(out, e.shape));
      } else if (e.dtype === 'BF16' && (opts.keepBf16 || opts.bf16Home)) {
        const home = opts.bf16Home?.(span / 2) ?? arrayBf16Home(new Uint16Array(span / 2));
        try {
          const bits = home.bits();
          await readExact(
            fh,
            dataStart + e.begin,
            span,
            new Uint8Array(bits.buffer, bits.byteOffset, span),
          );
        } catch (err) {
          home.free();
          throw err;
        }
        read.set(e.name, bf16Tensor(home, e.shape));
      } else {
        read.set(e.name, decodeEntry(e, await readExact(fh, dataStart + e.begin, span), path));
      }
    } catch (err) {
      if (err instanceof SafetensorsError) throw err;
      throw new SafetensorsError((err as Error).message, { file: path, tensor: e.name });
    }
  }
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, string>();
  for (const e of header.entries) {
    tensors.set(e.name, read.get(e.name)!);
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, metadata: header.metadata, dtypes };
}

/**
 * Writes a safetensors file atomically (temp file + rename), with the same bytes as
 * `serializeSafetensors` but streamed tensor by tensor instead of built in memory.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: TensorDict,
  opts?: SerializeOptions,
): Promise<void> {
  assertLittleEndian();
  const layout = planLayout(tensors, opts, path);
  await withAtomicFile(path, async (fh) => {
    await writeAll(fh, layout.prefix);
    let scratch: Uint8Array | null = null;
    for (const { tensor, dtype } of layout.items) {
      const data = tensor.data;
      if (dtype === 'F32') {
        await writeAll(fh, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        continue;
      }
      const size = dtypeSizes[dtype]!;
      scratch ??= new Uint8Array(ENCODE_CHUNK_ELEMENTS * size);
      for (let i = 0; i < data.length; i += ENCODE_CHUNK_ELEMENTS) {
        const part = data.subarray(i, Math.min(i + ENCODE_CHUNK_ELEMENTS, data.length));
        const bytes = scratch.subarray(0, part.length * size);
        encodeInto(dtype, part, bytes);
        await writeAll(fh, bytes);
      }
    }
  });
}
