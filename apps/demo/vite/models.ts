import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, resolve, sep } from 'node:path';
import type { Plugin } from 'vite';

/** The bundled model the page offers first. */
export const BUNDLED_MODEL = 't2-tiny';

/** Files of a Hugging Face folder the page reads (anything else is not copied into a build). */
const MODEL_FILES =
  /^(config\.json|generation_config\.json|model(-\d{5}-of-\d{5})?\.safetensors|model\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|chat_template\.jinja|README\.md)$/;

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
  '.jinja': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
};

/**
 * A folder's experts as the page finds them: there is no directory listing over HTTP,
 * so `experts/index.json` names the expert files (generated when the folder has none).
 */
export function expertIndex(modelDir: string): string[] {
  const dir = join(modelDir, 'experts');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.safetensors'))
    .sort();
}

function send(res: ServerResponse, file: string): void {
  const ext = file.slice(file.lastIndexOf('.'));
  res.setHeader('Content-Type', TYPES[ext] ?? 'application/octet-stream');
  res.setHeader('Content-Length', String(statSync(file).size));
  res.setHeader('Cache-Control', 'no-cache');
  createReadStream(file).pipe(res);
}

/** Serves `/models/…` from `root`, refusing paths that leave it. */
function modelsMiddleware(root: string) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/models/')) {
      next();
      return;
    }
    const rel = decodeURIComponent(url.pathname.slice('/models/'.length));
    const file = normalize(join(root, rel));
    if (file !== root && !file.startsWith(root + sep)) {
      res.statusCode = 403;
      res.end('outside the models folder');
      return;
    }
    if (existsSync(file) && statSync(file).isFile()) {
      send(res, file);
      return;
    }
    const listing = /^(.*)\/experts\/index\.json$/.exec(rel);
    if (listing) {
      const modelDir = join(root, listing[1]!);
      if (existsSync(join(modelDir, 'config.json'))) {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ experts: expertIndex(modelDir) }));
        return;
      }
    }
    res.statusCode = 404;
    res.end(`not found: ${url.pathname}`);
  };
}

/**
 * `/models/` maps to the repository's models folder (or `T2_MODELS_DIR`) in the dev and
 * preview servers; a build copies the bundled model into `dist/models/` with its expert
 * index, so the static site works on any file server.
 */
export function t2Models(modelsDir: string): Plugin {
  const root = resolve(modelsDir);
  let outDir = '';
  return {
    name: 't2-models',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(modelsMiddleware(root));
    },
    configurePreviewServer(server) {
      server.middlewares.use(modelsMiddleware(root));
    },
    async closeBundle() {
      const src = join(root, BUNDLED_MODEL);
      if (!outDir || !existsSync(join(src, 'config.json'))) return;
      const dest = join(outDir, 'models', BUNDLED_MODEL);
      await mkdir(join(dest, 'experts'), { recursive: true });
      for (const name of readdirSync(src)) {
        if (MODEL_FILES.test(name)) await cp(join(src, name), join(dest, name));
      }
      const experts = expertIndex(src);
      for (const name of experts) await cp(join(src, 'experts', name), join(dest, 'experts', name));
      await writeFile(join(dest, 'experts', 'index.json'), `${JSON.stringify({ experts })}\n`);
    },
  };
}
