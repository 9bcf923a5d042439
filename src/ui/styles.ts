/** Shared design tokens and control styles for every element (light and dark via prefers-color-scheme). */
import { css } from 'lit';

/** Colour, type and spacing tokens as custom properties on each host, so elements also work standalone. */
export const theme = css`
  :host {
    --mw-font: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
    --mw-mono: ui-monospace, 'SF Mono', 'Cascadia Mono', 'DejaVu Sans Mono', Menlo, Consolas, monospace;
    --mw-bg: #f6f7f9;
    --mw-surface: #ffffff;
    --mw-surface-2: #f0f2f5;
    --mw-border: #dde1e7;
    --mw-text: #1b1f24;
    --mw-muted: #5d6673;
    --mw-accent: #2f6fde;
    --mw-accent-text: #ffffff;
    --mw-accent-soft: #e6eefc;
    --mw-ok: #1f8a4c;
    --mw-warn: #a86a00;
    --mw-danger: #c8372d;
    --mw-radius: 10px;
    --mw-gap: 16px;
    --mw-shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 1px 3px rgb(16 24 40 / 8%);
    font-family: var(--mw-font);
    color: var(--mw-text);
    box-sizing: border-box;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --mw-bg: #0f1216;
      --mw-surface: #171b21;
      --mw-surface-2: #1f242c;
      --mw-border: #2d333d;
      --mw-text: #e6e9ee;
      --mw-muted: #9aa4b2;
      --mw-accent: #5b92f0;
      --mw-accent-text: #0b0e12;
      --mw-accent-soft: #1b2a44;
      --mw-ok: #4cc27f;
      --mw-warn: #e0a33a;
      --mw-danger: #f0685e;
      --mw-shadow: none;
    }
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
`;

/** Cards, headings, form controls, buttons, stat tiles: the building blocks of each view. */
export const controls = css`
  .card {
    background: var(--mw-surface);
    border: 1px solid var(--mw-border);
    border-radius: var(--mw-radius);
    box-shadow: var(--mw-shadow);
    padding: 20px;
  }
  h2 {
    font-size: 1.05rem;
    font-weight: 600;
    margin: 0 0 4px;
  }
  h3 {
    font-size: 0.8rem;
    font-weight: 600;
    text-transform: uppercase;
    letter-spacing: 0.04em;
    color: var(--mw-muted);
    margin: 20px 0 8px;
  }
  p.lead {
    color: var(--mw-muted);
    margin: 0 0 16px;
    font-size: 0.92rem;
    line-height: 1.45;
  }
  label {
    font-size: 0.88rem;
  }
  .field {
    display: flex;
    flex-direction: column;
    gap: 6px;
    min-width: 0;
  }
  .field > span {
    font-size: 0.8rem;
    color: var(--mw-muted);
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 10px;
    align-items: center;
  }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
    gap: 14px;
  }
  input[type='number'],
  select {
    font: inherit;
    font-size: 0.9rem;
    color: var(--mw-text);
    background: var(--mw-surface-2);
    border: 1px solid var(--mw-border);
    border-radius: 7px;
    padding: 7px 9px;
    width: 100%;
  }
  input[type='range'] {
    width: 100%;
    accent-color: var(--mw-accent);
  }
  input[type='checkbox'] {
    accent-color: var(--mw-accent);
    width: 16px;
    height: 16px;
    margin: 0;
    flex: none;
  }
  .check {
    display: flex;
    gap: 10px;
    align-items: flex-start;
    line-height: 1.4;
  }
  button {
    font: inherit;
    font-size: 0.9rem;
    font-weight: 550;
    border-radius: 7px;
    padding: 8px 16px;
    border: 1px solid var(--mw-border);
    background: var(--mw-surface-2);
    color: var(--mw-text);
    cursor: pointer;
  }
  button.primary {
    background: var(--mw-accent);
    border-color: var(--mw-accent);
    color: var(--mw-accent-text);
  }
  button.danger {
    color: var(--mw-danger);
  }
  button:disabled {
    opacity: 0.45;
    cursor: not-allowed;
  }
  button:focus-visible,
  input:focus-visible,
  select:focus-visible {
    outline: 2px solid var(--mw-accent);
    outline-offset: 2px;
  }
  .stats {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(120px, 1fr));
    gap: 10px;
  }
  .stat {
    background: var(--mw-surface-2);
    border-radius: 8px;
    padding: 10px 12px;
    min-width: 0;
  }
  .stat .k {
    font-size: 0.75rem;
    color: var(--mw-muted);
  }
  .stat .v {
    font-size: 1.15rem;
    font-weight: 600;
    font-variant-numeric: tabular-nums;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .mono {
    font-family: var(--mw-mono);
    font-size: 0.85em;
  }
  .muted {
    color: var(--mw-muted);
  }
  .error {
    border: 1px solid var(--mw-danger);
    color: var(--mw-danger);
    background: color-mix(in srgb, var(--mw-danger) 8%, transparent);
    border-radius: 8px;
    padding: 10px 12px;
    font-size: 0.88rem;
    overflow-wrap: anywhere;
  }
  table {
    border-collapse: collapse;
    width: 100%;
    font-size: 0.85rem;
  }
  th,
  td {
    text-align: left;
    padding: 6px 8px;
    border-bottom: 1px solid var(--mw-border);
    vertical-align: top;
  }
  th {
    font-weight: 500;
    color: var(--mw-muted);
  }
  td.num {
    font-variant-numeric: tabular-nums;
    text-align: right;
  }
  .pill {
    display: inline-block;
    font-size: 0.75rem;
    font-weight: 600;
    border-radius: 999px;
    padding: 2px 9px;
    background: var(--mw-surface-2);
    color: var(--mw-muted);
  }
  .pill.ok {
    background: color-mix(in srgb, var(--mw-ok) 15%, transparent);
    color: var(--mw-ok);
  }
  .pill.warn {
    background: color-mix(in srgb, var(--mw-warn) 15%, transparent);
    color: var(--mw-warn);
  }
  .pill.bad {
    background: color-mix(in srgb, var(--mw-danger) 15%, transparent);
    color: var(--mw-danger);
  }
  input[aria-invalid='true'] {
    border-color: var(--mw-danger);
  }
  .field-error {
    font-size: 0.78rem;
    color: var(--mw-danger);
    overflow-wrap: anywhere;
  }
  .hint {
    font-size: 0.8rem;
    color: var(--mw-muted);
    line-height: 1.45;
    overflow-wrap: anywhere;
  }
  .notice {
    border: 1px solid var(--mw-border);
    background: var(--mw-surface-2);
    border-radius: 8px;
    padding: 10px 12px;
    font-size: 0.88rem;
    overflow-wrap: anywhere;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0, 0, 0, 0);
    white-space: nowrap;
    border: 0;
  }
`;

/** A full-width notice row above the panels (reconnecting, open elsewhere, credits offered): text and buttons. */
export const banner = css`
  .banner {
    margin-bottom: 16px;
    display: flex;
    gap: 12px;
    align-items: center;
    justify-content: space-between;
    flex-wrap: wrap;
    overflow-wrap: anywhere;
  }
`;
