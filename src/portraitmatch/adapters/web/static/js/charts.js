// Small SVG charts drawn as strings: horizontal bars, stacked or single. No chart library.

import { esc } from "./http.js";

const ROW_H = 30;
const LABEL_W = 190;
const WIDTH = 520;

/**
 * Stacked horizontal bars. rows: [{label, values: [n, ...]}]; series: [{name, color}].
 * Returns an SVG string plus a legend, sized to the number of rows.
 */
export function stackedBars(rows, series, { title = "" } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.values.reduce((a, b) => a + b, 0)));
  const plotW = WIDTH - LABEL_W - 50;
  const height = rows.length * ROW_H + 8;
  const bars = rows
    .map((row, i) => {
      const y = 4 + i * ROW_H;
      let x = LABEL_W;
      const parts = row.values
        .map((value, k) => {
          const w = (value / max) * plotW;
          const rect = value
            ? `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${Math.max(w, 1).toFixed(1)}" height="${ROW_H - 8}" fill="${series[k].color}"><title>${esc(series[k].name)}: ${value}</title></rect>`
            : "";
          x += w;
          return rect;
        })
        .join("");
      const total = row.values.reduce((a, b) => a + b, 0);
      return `<text x="${LABEL_W - 8}" y="${y + ROW_H / 2 + 4}" text-anchor="end" font-size="14" fill="#14212b">${esc(row.label)}</text>${parts}
        <text x="${(x + 6).toFixed(1)}" y="${y + ROW_H / 2 + 4}" font-size="14" fill="#4b5b66">${total}</text>`;
    })
    .join("");
  const legend = series.map((s) => `<span style="--c:${s.color}">${esc(s.name)}</span>`).join("");
  return `<svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(title)}">${bars}</svg><div class="legend">${legend}</div>`;
}

/** Single-series horizontal bars: rows [{label, value}]. */
export function bars(rows, { color = "#0b6e69", title = "" } = {}) {
  return stackedBars(
    rows.map((r) => ({ label: r.label, values: [r.value] })),
    [{ name: title, color }],
    { title },
  ).replace(/<div class="legend">.*<\/div>$/, "");
}
