import { round } from './stats.js';

/**
 * The printed lines of a phase that keeps its rows and targets beside its own code (events, public):
 * a section title, then one line per figure with its unit, its target and whether it is met, in the
 * columns and words of the main table (report.ts). Figures absent from the run are left out; a
 * section with none is not printed at all.
 */

export interface PhaseTarget {
  max: number;
  /** What the target says, for the table. */
  text: string;
}

export interface PhaseRow {
  figure: string;
  label: string;
  unit: string;
  target?: PhaseTarget;
}

export interface PhaseVerdict {
  figure: string;
  value: number;
  target: string;
  met: boolean;
  indicative: boolean;
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(round(value, Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 2 : 3));
}

/** Each row with a target and a figure: its value, and whether it is within the target. */
export function phaseVerdicts(rows: readonly PhaseRow[], figures: Record<string, number>, indicative: boolean): PhaseVerdict[] {
  const out: PhaseVerdict[] = [];
  for (const row of rows) {
    const value = figures[row.figure];
    if (!row.target || value === undefined) continue;
    out.push({ figure: row.figure, value, target: row.target.text, met: Number.isFinite(value) && value <= row.target.max, indicative });
  }
  return out;
}

/**
 * The section: `title`, then `figure  value  target  met` lines. `indicative` marks every verdict
 * "(indicative)": the run's size is not the one the targets are stated for.
 */
export function phaseTable(title: string, rows: readonly PhaseRow[], figures: Record<string, number>, indicative: boolean): string {
  const lines: string[][] = [];
  for (const row of rows) {
    const value = figures[row.figure];
    if (value === undefined) continue;
    const verdict = row.target ? `${Number.isFinite(value) && value <= row.target.max ? 'met' : 'MISSED'}${indicative ? ' (indicative)' : ''}` : '';
    lines.push([row.label, `${formatValue(value)} ${row.unit}`.trim(), row.target?.text ?? '', verdict]);
  }
  if (lines.length === 0) return '';
  const header = ['figure', 'value', 'target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [title, fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}
