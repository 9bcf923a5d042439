// ESLint: TypeScript rules plus the dependency direction of DESIGN.md, enforced as import zones.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

/** Each zone: files in `target` must not import from `from`. */
const zone = (target, from, message) => ({ target, from, message });
const OUTSIDE_PROTOCOL = ['./src/core', './src/model', './src/mesh', './src/compute', './src/storage', './src/sdk', './src/ui', './workers', './shaders', './coordinator'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', '.tmp/**', 'data/**', '.gpu/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,js,mjs}'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker, ...globals.node, Deno: 'readonly' } },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-globals': ['error', 'event', 'name'],
      'import-x/no-restricted-paths': ['error', {
        zones: [
          zone('./src/protocol', OUTSIDE_PROTOCOL, 'src/protocol imports nothing outside itself.'),
          zone('./src/core', ['./src/model', './src/mesh', './src/compute', './src/storage', './src/sdk', './src/ui', './workers', './coordinator'], 'src/core imports protocol only.'),
          zone('./src/model', ['./src/mesh', './src/compute', './src/storage', './src/sdk', './src/ui', './workers', './coordinator'], 'src/model imports core and protocol only.'),
          zone('./src/mesh', ['./src/model', './src/compute', './src/storage', './src/sdk', './src/ui', './workers', './coordinator'], 'src/mesh imports core and protocol only.'),
          zone('./src/storage', ['./src/model', './src/compute', './src/mesh', './src/sdk', './src/ui', './workers', './coordinator'], 'src/storage imports core and protocol only.'),
          zone('./src/compute', ['./src/model', './src/mesh', './src/storage', './src/sdk', './src/ui', './coordinator'], 'src/compute imports core, protocol and spawns workers.'),
          zone('./src/sdk', ['./src/ui', './coordinator', './workers'], 'src/sdk never imports ui, workers or the coordinator.'),
          zone('./src/ui', ['./src/model', './src/mesh', './src/compute', './src/storage', './workers', './coordinator'], 'src/ui talks to the mesh through src/sdk only.'),
          zone('./workers', ['./src/model', './src/ui', './src/mesh', './src/sdk', './src/compute', './src/storage', './coordinator'], 'workers import core, protocol and shaders only.'),
          zone('./coordinator', ['./src/model', './src/mesh', './src/compute', './src/storage', './src/sdk', './src/ui', './workers'], 'the coordinator imports core and protocol only.'),
        ],
      }],
    },
  },
  {
    // The protocol imports no package but valibot (no dependencies, plain ESM), so it runs unchanged in browser,
    // worker and Deno.
    files: ['src/protocol/**/*.ts'],
    ignores: ['src/protocol/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(?![.]/|valibot$)', message: 'src/protocol imports nothing outside itself but valibot.' }] }] },
  },
);
