import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The fenced blocks of a Markdown file, as the tests that run the documentation read them. A block
 * that needs what a local environment cannot offer carries a marker on the line before its fence,
 * for example `<!-- needs: eks -->` (comma-separated).
 */
export interface Block {
  file: string;
  /** The line of the opening fence, from 1. */
  line: number;
  lang: string;
  text: string;
  needs: string[];
}

/** The blocks of `file` (a path from the project's root), or of `text` when given. */
export function blocksOf(file: string, text = readFileSync(path.resolve(file), 'utf8')): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    let before = i - 1;
    while (before >= 0 && (lines[before] ?? '').trim() === '') before--;
    const marker = /^<!--\s*needs:\s*([\w, -]+?)\s*-->$/.exec((lines[before] ?? '').trim());
    blocks.push({
      file,
      line: i + 1,
      lang: open[1] ?? '',
      text: lines.slice(i + 1, end).join('\n'),
      needs: marker?.[1] ? marker[1].split(',').map((n) => n.trim()).filter(Boolean) : [],
    });
    i = end;
  }
  return blocks;
}

/** The first YAML block of `file` that holds an object of that kind, with `replace`'s keys replaced by its values. */
export function yamlBlockWith(file: string, kind: string, replace: Record<string, string> = {}): string {
  const block = blocksOf(file).find((b) => /^ya?ml$/.test(b.lang) && parseAllDocuments(b.text).some((d) => (d.toJS() as { kind?: string } | null)?.kind === kind));
  if (!block) throw new Error(`${file} has no yaml block with a ${kind}`);
  return Object.entries(replace).reduce((text, [from, to]) => text.split(from).join(to), block.text);
}

/** The one object of that kind in `file`'s YAML blocks, with `replace` applied as above. */
export function objectOf(file: string, kind: string, replace: Record<string, string> = {}): Record<string, unknown> & { spec: Record<string, unknown> } {
  const doc = parseAllDocuments(yamlBlockWith(file, kind, replace)).map((d) => d.toJS() as { kind?: string; spec: Record<string, unknown> }).find((o) => o.kind === kind);
  if (!doc) throw new Error(`${file} has no ${kind}`);
  return doc;
}
