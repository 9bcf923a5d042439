/**
 * Lowers TC39 (2023) decorators with the TypeScript compiler before Vite's own transform.
 *
 * Why: Vite 8 transforms TypeScript with Oxc, which lowers only legacy (`experimentalDecorators`) decorators
 * and leaves standard `@customElement(...)` / `@property() accessor` syntax untouched, which browsers do not
 * parse yet. The project uses standard decorators (tsconfig: experimentalDecorators false), so files that
 * contain a decorator are passed through `ts.transpileModule` first; everything else is left to Oxc.
 */
import type { Plugin } from 'vite';

/** A line that starts with a decorator, e.g. `@customElement('mesh-app')` or `  @state() accessor x`. */
const DECORATOR_LINE = /^\s*@[A-Za-z_$][\w$.]*\s*\(/m;

/** Vite plugin: TC39 decorators in `src/**.ts` are lowered to ES2022 by TypeScript. */
export function tc39Decorators(): Plugin {
  let ts: typeof import('typescript') | undefined;
  return {
    name: 'meshwork:tc39-decorators',
    enforce: 'pre',
    async transform(code, id) {
      const file = id.split('?', 1)[0] ?? id;
      if (!file.endsWith('.ts') || file.includes('/node_modules/') || !DECORATOR_LINE.test(code)) return null;
      ts ??= (await import('typescript')).default;
      const out = ts.transpileModule(code, {
        fileName: file,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          experimentalDecorators: false,
          useDefineForClassFields: true,
          verbatimModuleSyntax: true,
          allowImportingTsExtensions: true,
          sourceMap: true,
          inlineSources: true,
        },
      });
      const map = out.sourceMapText === undefined ? null : (JSON.parse(out.sourceMapText) as { mappings: string });
      return { code: out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, ''), map };
    },
  };
}
