/** A safetensors file (or folder) that cannot be read or written; names the file and tensor. */
export class SafetensorsError extends Error {
  readonly file?: string;
  readonly tensor?: string;

  constructor(detail: string, where: { file?: string; tensor?: string } = {}) {
    const prefix = [
      where.file !== undefined ? where.file : undefined,
      where.tensor !== undefined ? `tensor '${where.tensor}'` : undefined,
    ]
      .filter((s) => s !== undefined)
      .join(': ');
    super(prefix ? `${prefix}: ${detail}` : detail);
    this.name = 'SafetensorsError';
    if (where.file !== undefined) this.file = where.file;
    if (where.tensor !== undefined) this.tensor = where.tensor;
  }
}
