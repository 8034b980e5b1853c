/**
 * Result rows and the one markdown table they are printed as.
 *
 * @module
 */

/** Which part of the suite a row belongs to. */
export type Section = "uncontended" | "hand-off" | "contended" | "memory";

/** One measured operation in one runtime. */
export interface Row {
  /** Part of the suite. */
  section: Section;
  /** What was measured. */
  operation: string;
  /** Where it ran. */
  runtime: "deno" | "bun" | "C";
  /** Unit of `value`/`p90`/`p99`: time per operation, or a rate (higher is better). */
  unit: "ns" | "op/s" | "B/s";
  /** Median (or p50) in `unit`. */
  value: number;
  /** p90 in `unit`, where relevant. */
  p90?: number;
  /** p99 in `unit`: the hand-off rows (their tail is what a waiting bot feels). */
  p99?: number;
  /** The same-run baseline this row is compared with. */
  baseline?: { name: string; value: number };
  /** Names a C row whose value is the baseline; filled in by the driver. */
  baselineRef?: string;
  /** The project's target for `value / baseline`. */
  target?: { compare: "<=" | ">="; ratio: number };
  /** False when a correctness check failed (e.g. a lost increment). */
  ok?: boolean;
  /** Extra facts: counter checks, fairness, per-write times. */
  notes?: string;
}

/** Formats a quantity of `unit` for humans. */
export function formatValue(
  value: number | undefined,
  unit: Row["unit"],
): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  if (unit === "ns") {
    if (value < 1e3) return `${value.toFixed(0)} ns`;
    if (value < 1e6) return `${(value / 1e3).toFixed(value < 1e4 ? 2 : 1)} µs`;
    return `${(value / 1e6).toFixed(2)} ms`;
  }
  if (unit === "B/s") return `${(value / 1e9).toFixed(2)} GB/s`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M op/s`;
  return `${(value / 1e3).toFixed(1)} k op/s`;
}

/** `value / baseline`, or undefined without a baseline. */
export function ratioOf(row: Row): number | undefined {
  return row.baseline === undefined
    ? undefined
    : row.value / row.baseline.value;
}

function verdict(row: Row, ratio: number | undefined): string {
  if (row.ok === false) return "❌ check failed";
  if (row.target === undefined || ratio === undefined) return "";
  const pass = row.target.compare === "<="
    ? ratio <= row.target.ratio
    : ratio >= row.target.ratio;
  return `${pass ? "✅" : "❌"} ${
    row.target.compare === "<=" ? "≤" : "≥"
  } ${row.target.ratio}×`;
}

/** Escapes the table's column separator inside a cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** A quantile's cell: empty when the row has none. */
function optional(value: number | undefined, unit: Row["unit"]): string {
  return value === undefined ? "" : formatValue(value, unit);
}

const SECTION_ORDER: Section[] = [
  "uncontended",
  "hand-off",
  "contended",
  "memory",
];
const RUNTIME_ORDER = ["deno", "bun", "C"];

/** One markdown table: rows grouped by section, then operation, then runtime. */
export function markdownTable(rows: readonly Row[]): string {
  const operations = [...new Set(rows.map((r) => r.operation))];
  const sorted = [...rows].sort((a, b) =>
    SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section) ||
    operations.indexOf(a.operation) - operations.indexOf(b.operation) ||
    RUNTIME_ORDER.indexOf(a.runtime) - RUNTIME_ORDER.indexOf(b.runtime)
  );
  const lines = [
    "| section | operation | runtime | median / p50 | p90 | p99 | baseline (same run) | ratio | target | notes |",
    "|---|---|---|--:|--:|--:|---|--:|---|---|",
  ];
  for (const row of sorted) {
    const ratio = ratioOf(row);
    const baseline = row.baseline === undefined
      ? "—"
      : `${row.baseline.name}: ${formatValue(row.baseline.value, row.unit)}`;
    lines.push(
      `| ${row.section} | ${cell(row.operation)} | ${row.runtime} | ${
        formatValue(row.value, row.unit)
      } | ${optional(row.p90, row.unit)} | ${optional(row.p99, row.unit)} | ${
        cell(baseline)
      } | ${ratio === undefined ? "" : `${ratio.toFixed(2)}×`} | ${
        verdict(row, ratio)
      } | ${cell(row.notes ?? "")} |`,
    );
  }
  return lines.join("\n");
}

/**
 * Every compared row over several runs: its ratio in each run, the median,
 * and, for rows with a target, the verdict on the median (this VM's noise
 * moves single-run ratios by up to ±0.2×).
 */
export function runsSummary(runs: readonly (readonly Row[])[]): string {
  const keyOf = (r: Row) => `${r.operation}\u0000${r.runtime}`;
  const first = runs[0] ?? [];
  const lines = [
    "| section | operation | runtime | ratio in each run | median | target |",
    "|---|---|---|---|--:|---|",
  ];
  for (const row of first) {
    const ratios = runs
      .map((rows) => rows.find((r) => keyOf(r) === keyOf(row)))
      .map((r) => r === undefined ? undefined : ratioOf(r))
      .filter((x): x is number => x !== undefined);
    if (ratios.length === 0) continue;
    const sorted = [...ratios].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    let target = "";
    if (row.target !== undefined) {
      const { compare, ratio } = row.target;
      const pass = compare === "<=" ? median <= ratio : median >= ratio;
      target = `${pass ? "✅" : "❌"} ${
        compare === "<=" ? "≤" : "≥"
      } ${ratio}×`;
    }
    lines.push(
      `| ${row.section} | ${cell(row.operation)} | ${row.runtime} | ${
        ratios.map((x) => `${x.toFixed(2)}×`).join(", ")
      } | ${median.toFixed(2)}× | ${target} |`,
    );
  }
  return lines.join("\n");
}
