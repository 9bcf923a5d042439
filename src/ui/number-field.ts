/**
 * A labelled number input that validates as the user types and never clamps: an invalid value stays in the box,
 * marked `aria-invalid`, with a message naming the field and its allowed range right under it (announced to
 * screen readers through `aria-describedby` and a polite live region). The owner keeps the raw text and
 * disables its Run button while any field is invalid.
 */
import { html, nothing } from 'lit';
import { checkField, type FieldCheck, type FieldRule } from './field-rules.ts';

/** What `numberField` draws. */
export interface NumberFieldOptions {
  testId: string;
  rule: FieldRule;
  /** The text the user typed (kept as typed, not as a number). */
  raw: string;
  disabled: boolean;
  /** Called with the new text on every keystroke and change. */
  onRaw: (raw: string) => void;
  /** Shown under the label when the value is valid. */
  hint?: string;
  /** Label text when it differs from the rule's label (e.g. with units). */
  label?: string;
  step?: string;
}

/** The field's check of its current text. */
export function fieldCheck(o: Pick<NumberFieldOptions, 'raw' | 'rule'>): FieldCheck {
  return checkField(o.raw, o.rule);
}

/** Renders the field (a `.field` label with input, hint and error). */
export function numberField(o: NumberFieldOptions) {
  const check = fieldCheck(o);
  const errId = `${o.testId}-error`;
  const hintId = `${o.testId}-hint`;
  const onInput = (e: Event) => o.onRaw((e.target as HTMLInputElement).value);
  return html`<div class="field">
    <label for=${o.testId}-input><span>${o.label ?? o.rule.label}</span></label>
    <input
      id=${o.testId}-input
      type="number"
      inputmode=${(o.rule.integer ?? true) ? 'numeric' : 'decimal'}
      min=${o.rule.min}
      max=${o.rule.max}
      step=${o.step ?? ((o.rule.integer ?? true) ? '1' : 'any')}
      data-testid=${o.testId}
      .value=${o.raw}
      ?disabled=${o.disabled}
      aria-invalid=${check.ok ? 'false' : 'true'}
      aria-describedby=${check.ok ? (o.hint ? hintId : nothing) : errId}
      @input=${onInput}
      @change=${onInput}
    />
    ${o.hint && check.ok ? html`<span class="hint" id=${hintId}>${o.hint}</span>` : nothing}
    <span class="field-error" id=${errId} data-testid="${o.testId}-error" aria-live="polite">${check.ok ? '' : check.message}</span>
  </div>`;
}
