// Hand-drawn SVG charts (createElementNS; colours come from style.css classes
// .series-0 … .series-3). Each chart is a <figure> with a caption, an SVG with
// role="img", <title> and <desc>, and a visually-hidden table of the same data.

import { fmtNumber } from './i18n.js';
import { h, uid } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';

/**
 * Creates an SVG element with attributes.
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {...(Node | string)} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

/**
 * "Nice" tick values from 0 up to at least `max`.
 * @param {number} max
 * @param {number} [count]
 * @returns {number[]}
 */
function ticks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  /** @type {number[]} */
  const out = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  if (out.length < 2) out.push(step);
  return out;
}

/**
 * One line of a line chart; `points` are [x, y] pairs (x usually a time in ms).
 * @typedef {object} Series
 * @property {string} name
 * @property {[number, number][]} points
 */

/**
 * A line chart (one line per series, each with its own colour and dash pattern, and a legend).
 * @param {object} opts
 * @param {Series[]} opts.series
 * @param {string} opts.title caption and accessible name
 * @param {string} [opts.description] a sentence summarising the data for screen readers
 * @param {(x: number) => string} [opts.xFormat] axis and table labels for x (default: number)
 * @param {(y: number) => string} [opts.yFormat] axis and table labels for y (default: fmtNumber)
 * @param {string} [opts.xLabel] header of the x column in the data table
 * @param {number} [opts.yMax] fixed top of the y axis (e.g. 1 for ratios); default from the data
 * @param {number[]} [opts.xTicks] the x values to label (default: the data's distinct x values)
 * @param {[number, number]} [opts.xDomain] fixed x range (e.g. the last 24 hours, so charts side by side line up); default from the data
 * @param {number} [opts.width] viewBox width (default 520)
 * @param {number} [opts.height] viewBox height (default 220)
 * @returns {HTMLElement}
 */
export function lineChart(opts) {
  // Points with a non-finite coordinate are left out (never NaN in an SVG attribute).
  const series = opts.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }));
  const { title } = opts;
  const xFormat = opts.xFormat ?? ((x) => fmtNumber(x));
  const yFormat = opts.yFormat ?? ((y) => fmtNumber(y));
  const W = opts.width ?? 520;
  const H = opts.height ?? 220;
  const m = { top: 12, right: 16, bottom: 28, left: 56 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const xMin = opts.xDomain ? opts.xDomain[0] : xs.length ? Math.min(...xs) : 0;
  const xMax = opts.xDomain ? opts.xDomain[1] : xs.length ? Math.max(...xs) : 1;
  const yTicks = ticks(opts.yMax ?? Math.max(0, ...all.map((p) => p[1])));
  const yTop = opts.yMax ?? yTicks[yTicks.length - 1];
  /** @param {number} x */
  const sx = (x) => m.left + (xMax === xMin ? (W - m.left - m.right) / 2 : ((x - xMin) / (xMax - xMin)) * (W - m.left - m.right));
  /** @param {number} y */
  const sy = (y) => H - m.bottom - (yTop > 0 ? (y / yTop) * (H - m.top - m.bottom) : 0);

  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, class: 'chart', focusable: 'false' },
    svg('title', { id: titleId }, title),
    svg('desc', { id: descId }, opts.description ?? series.map((s) => `${s.name}: ${s.points.length}`).join('; ')));

  const grid = svg('g', { class: 'grid' });
  for (const v of yTicks) {
    const y = sy(v);
    grid.appendChild(svg('line', { x1: m.left, x2: W - m.right, y1: y, y2: y }));
    grid.appendChild(svg('text', { x: m.left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, yFormat(v)));
  }
  root.appendChild(grid);

  // About five x labels, evenly spread over the distinct x values (or over the fixed domain).
  const distinct = opts.xTicks ?? [...new Set(xs)].sort((a, b) => a - b);
  const every = Math.max(1, Math.ceil(distinct.length / 5));
  const axis = svg('g', { class: 'axis' }, svg('line', { x1: m.left, x2: W - m.right, y1: H - m.bottom, y2: H - m.bottom }));
  distinct.forEach((x, i) => {
    if (i % every !== 0) return;
    axis.appendChild(svg('text', { x: sx(x), y: H - m.bottom + 18, 'text-anchor': 'middle', class: 'tick' }, xFormat(x)));
  });
  root.appendChild(axis);

  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    const g = svg('g', { class: `series series-${i % 4}` });
    if (pts.length > 1) {
      g.appendChild(svg('polyline', { points: pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' '), fill: 'none' }));
    }
    for (const [x, y] of pts) {
      g.appendChild(svg('circle', { cx: sx(x).toFixed(1), cy: sy(y).toFixed(1), r: 2.5 },
        svg('title', {}, `${s.name}, ${xFormat(x)}: ${yFormat(y)}`)));
    }
    root.appendChild(g);
  });

  const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' },
    series.map((s, i) => h('li', null, h('span', { class: `swatch series-${i % 4}` }), s.name)));

  // The same data as a table for assistive technology.
  const byX = new Map();
  series.forEach((s, i) => {
    for (const [x, y] of s.points) {
      if (!byX.has(x)) byX.set(x, new Array(series.length).fill(undefined));
      byX.get(x)[i] = y;
    }
  });
  const rows = [...byX.entries()].sort((a, b) => a[0] - b[0]);
  const tbl = h('table', null,
    h('caption', null, title),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, opts.xLabel ?? ''), series.map((s) => h('th', { scope: 'col' }, s.name)))),
    h('tbody', null, rows.map(([x, ys]) => h('tr', null,
      h('th', { scope: 'row' }, xFormat(x)),
      /** @type {(number | undefined)[]} */ (ys).map((y) => h('td', null, y === undefined ? '—' : yFormat(y)))))));

  return h('figure', { class: 'chart-figure' }, h('figcaption', null, title), root, legend, h('div', { class: 'visually-hidden' }, tbl));
}

/**
 * One bar of a bar chart; with `href` its label is a link.
 * @typedef {object} Bar
 * @property {string} label
 * @property {number} value
 * @property {string} [href]
 * @property {string} [className] extra class for the bar (e.g. 'bar-bad')
 */

/**
 * A horizontal bar chart (labels left, values right), with the data as a hidden table.
 * @param {object} opts
 * @param {Bar[]} opts.bars
 * @param {string} opts.title
 * @param {string} [opts.description]
 * @param {(v: number) => string} [opts.format] value labels (default: fmtNumber)
 * @param {boolean} [opts.captionHidden] keep the caption for assistive technology only (e.g. under a heading that says the same)
 * @param {string} [opts.labelHeader] header of the label column in the data table
 * @param {string} [opts.valueHeader] header of the value column in the data table
 * @param {number} [opts.width] viewBox width (default 480)
 * @returns {HTMLElement}
 */
export function barChart(opts) {
  const bars = opts.bars.map((b) => ({ ...b, value: Number.isFinite(b.value) ? b.value : 0 }));
  const { title } = opts;
  const format = opts.format ?? ((v) => fmtNumber(v));
  const W = opts.width ?? 480;
  const rowH = 28;
  const labelW = Math.min(W * 0.45, 12 + 8 * Math.max(4, ...bars.map((b) => b.label.length)));
  const valueW = 64;
  const H = Math.max(1, bars.length) * rowH + 8;
  const max = Math.max(0, ...bars.map((b) => b.value));
  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, class: 'chart bar-chart', focusable: 'false' },
    svg('title', { id: titleId }, title),
    svg('desc', { id: descId }, opts.description ?? bars.map((b) => `${b.label}: ${format(b.value)}`).join('; ')));
  bars.forEach((b, i) => {
    const y = 4 + i * rowH;
    const w = max > 0 ? ((W - labelW - valueW) * b.value) / max : 0;
    const g = svg('g', { class: 'bar-row' },
      svg('text', { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'tick' }, b.label),
      svg('rect', { x: labelW, y: y + 4, width: Math.max(b.value > 0 ? 2 : 0, w).toFixed(1), height: rowH - 8, class: `bar series-${i % 4}${b.className ? ` ${b.className}` : ''}` }),
      svg('text', { x: labelW + w + 6, y: y + rowH / 2 + 4, class: 'value' }, format(b.value)));
    root.appendChild(g);
  });
  const tbl = h('table', null,
    h('caption', null, title),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, opts.labelHeader ?? ''), h('th', { scope: 'col' }, opts.valueHeader ?? ''))),
    h('tbody', null, bars.map((b) => h('tr', null, h('th', { scope: 'row' }, b.href ? h('a', { href: b.href }, b.label) : b.label), h('td', null, format(b.value))))));
  return h('figure', { class: 'chart-figure' }, h('figcaption', { class: opts.captionHidden ? 'visually-hidden' : null }, title), root, h('div', { class: 'visually-hidden' }, tbl));
}
