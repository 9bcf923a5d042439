// Runs bench/adversary/main.ts under Deno: saboteur mixes against the real market and ledger, in one process.
import { spawn } from 'node:child_process';

/**
 * Wrong results per million shards (against the goal) per mix, and the all-honest baseline's extra
 * verification runs; `MESHWORK_ADVERSARY_SHARDS` sets the shards of the baseline and 10% mixes (default 30000).
 */
export function benchAdversary() {
  const shards = process.env.MESHWORK_ADVERSARY_SHARDS ?? '30000';
  return new Promise((resolve, reject) => {
    const child = spawn('node_modules/.bin/deno', ['run', '--allow-all', 'bench/adversary/main.ts', '--shards', shards], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.trim().split('\n');
      const last = lines.pop() ?? '';
      process.stderr.write(`${lines.join('\n')}\n`); // the Markdown table, for bench/RESULTS.md
      try {
        resolve(JSON.parse(last).rows);
      } catch {
        reject(new Error(`Cannot read the adversary report as deno exited with ${code} and printed: ${last.slice(0, 300)}`));
      }
    });
  });
}
