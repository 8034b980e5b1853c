/**
 * A plain aligned text table: columns padded to their widest cell, numbers
 * right-aligned, two spaces between columns.
 *
 * @module
 */

/** How a column's cells line up. */
export type Align = "left" | "right";

/** A column: its heading and alignment. */
export interface Column {
  /** The heading. */
  readonly title: string;
  /** Default: left. */
  readonly align?: Align;
}

/** Renders `rows` under `columns`; trailing spaces are trimmed from each line. */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  indent = "",
): string {
  const widths = columns.map((column, i) =>
    Math.max(width(column.title), ...rows.map((row) => width(row[i] ?? "")))
  );
  const line = (cells: readonly string[]) =>
    indent + columns.map((column, i) => {
      const cell = cells[i] ?? "";
      const pad = " ".repeat(widths[i] - width(cell));
      return column.align === "right" ? pad + cell : cell + pad;
    }).join("  ").trimEnd();
  return [columns.map((c) => c.title), ...rows].map(line).join("\n");
}

/** Display width, counting code points (good enough for names and tags). */
function width(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
