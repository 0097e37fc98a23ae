/** Files of a dropped folder, with paths relative to the drop (`t2-tiny/experts/math.safetensors`). */
export async function collectDroppedFiles(
  data: DataTransfer,
): Promise<{ name: string; files: { path: string; file: File }[] }> {
  const files: { path: string; file: File }[] = [];
  const entries = [...data.items]
    .map((item) => item.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject),
      );
      files.push({ path: `${prefix}${entry.name}`, file });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns the listing in chunks; an empty chunk ends it.
    for (;;) {
      const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) =>
        reader.readEntries(resolve, reject),
      );
      if (chunk.length === 0) break;
      for (const child of chunk) await walk(child, `${prefix}${entry.name}/`);
    }
  };
  for (const e of entries) await walk(e, '');
  const name = entries.length === 1 ? entries[0]!.name : 'dropped files';
  return { name, files };
}
