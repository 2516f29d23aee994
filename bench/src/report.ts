/** What a section hands back to the renderer (JSON between processes). */
export interface Table {
  caption?: string;
  columns: string[];
  rows: string[][];
}

export interface SectionResult {
  id: string;
  title: string;
  ok: boolean;
  /** Why the section failed (message only). */
  error?: string;
  /** Paragraphs before the tables: what is measured and how. */
  intro: string[];
  tables: Table[];
  /** One-line headlines for the summary at the top of RESULTS.md (and the README). */
  summary?: string[];
  /** Paragraphs after the tables: caveats, checks. */
  notes: string[];
  /** Versions discovered while running (e.g. Chromium's). */
  versions?: Record<string, string>;
  /** Wall time of the section, ms. */
  wallMs?: number;
}

export function renderTable(table: Table): string {
  const lines: string[] = [];
  if (table.caption) lines.push(`*${table.caption}*`, '');
  lines.push(`| ${table.columns.join(' | ')} |`);
  lines.push(`| ${table.columns.map(() => '---').join(' | ')} |`);
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}
