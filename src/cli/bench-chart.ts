// The SVG chart of `ov-memory bench --svg`: throughput (GB/s) against the number of rows, both axes
// logarithmic (the cases span two orders of magnitude), one polyline per series.

export interface Series {
  id: string;
  label: string;
  points: { n: number; gbps: number }[];
  dashed?: boolean;
}

const WIDTH = 920, HEIGHT = 460;
const PLOT = { left: 70, right: 540, top: 50, bottom: 400 };
const COLOURS = ['#7f7f7f', '#bcbd22', '#1f77b4', '#d62728', '#9467bd', '#2ca02c', '#ff7f0e', '#17becf', '#8c564b'];

export function throughputChart(series: readonly Series[], title: string): string {
  const all = series.flatMap((s) => s.points);
  const x = logScale(all.map((p) => p.n), PLOT.left, PLOT.right);
  const y = logScale(all.map((p) => p.gbps), PLOT.bottom, PLOT.top);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${PLOT.left}" y="28" font-size="15">${escape(title)}</text>`,
  ];
  for (const tick of y.ticks) {
    out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y.at(tick)}" y2="${y.at(tick)}" stroke="#e5e5e5"/>`,
      `<text x="${PLOT.left - 8}" y="${y.at(tick) + 4}" text-anchor="end">${formatNumber(tick)}</text>`);
  }
  for (const tick of x.ticks) {
    out.push(`<line x1="${x.at(tick)}" x2="${x.at(tick)}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#e5e5e5"/>`,
      `<text x="${x.at(tick)}" y="${PLOT.bottom + 18}" text-anchor="middle">${formatNumber(tick)}</text>`);
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#555"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 42}" text-anchor="middle">rows (N, log scale)</text>`,
    `<text transform="translate(20 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">GB/s (corpus bytes / time per query, log scale)</text>`,
  );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const points = s.points.map((p) => `${x.at(p.n)},${y.at(p.gbps)}`).join(' ');
    out.push(`<polyline data-series="${escape(s.id)}" points="${points}" fill="none" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of s.points) out.push(`<circle cx="${x.at(p.n)}" cy="${y.at(p.gbps)}" r="3" fill="${colour}"/>`);
    const legendY = PLOT.top + 10 + i * 22;
    out.push(`<line x1="${PLOT.right + 20}" x2="${PLOT.right + 44}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${PLOT.right + 50}" y="${legendY + 4}">${escape(s.label)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

/** A log10 scale from the data's range (padded a little) onto pixels, with ticks at 1, 2 and 5 of each decade. */
function logScale(values: readonly number[], from: number, to: number): { at(v: number): number; ticks: number[] } {
  let low = Math.log10(Math.min(...values)), high = Math.log10(Math.max(...values));
  const pad = Math.max(0.05 * (high - low), high === low ? 0.3 : 0);
  low -= pad;
  high += pad;
  const at = (v: number) => Math.round((from + ((Math.log10(v) - low) / (high - low)) * (to - from)) * 10) / 10;
  const ticks: number[] = [];
  for (let decade = Math.floor(low); decade <= Math.ceil(high); decade++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** decade;
      if (Math.log10(v) >= low && Math.log10(v) <= high) ticks.push(v);
    }
  }
  return { at, ticks };
}

function formatNumber(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(Number(v.toPrecision(3)));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
