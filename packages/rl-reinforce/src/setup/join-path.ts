/**
 * `dir/name` without node:path (this package is bundled for the browser too): the same
 * string as path.join for a plain folder name, '.' and '' (nothing before the name), and
 * trailing slashes.
 */
export function joinPath(dir: string, name: string): string {
  if (dir === '' || dir === '.') return name;
  return `${dir.replace(/\/+$/, '')}/${name}`;
}
