// Small SVG charts drawn from numbers only (no library): a line chart of numeric values over time,
// and success/error counts per time bucket. Each is an <svg role="img"> with a <title> naming what
// it shows, so screen readers announce it; colours come from studio.css classes.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 200;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children)
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

function frame(label, extraClass) {
  return s(
    "svg",
    {
      class: `chart ${extraClass}`,
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      "aria-label": label,
      preserveAspectRatio: "none",
    },
    s("title", {}, label),
  );
}

function shortTime(ms, spanMs) {
  const date = new Date(ms);
  return spanMs > 2 * 86400_000
    ? date.toLocaleDateString(undefined, { month: "short", day: "numeric" })
    : date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

function formatValue(value) {
  return Math.abs(value) >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
}

function axes(svg, { low, high, from, to }) {
  const x0 = PAD.left;
  const x1 = WIDTH - PAD.right;
  const y0 = HEIGHT - PAD.bottom;
  const y1 = PAD.top;
  svg.append(
    s("line", { class: "axis", x1: x0, y1: y0, x2: x1, y2: y0 }),
    s("line", { class: "axis", x1: x0, y1: y0, x2: x0, y2: y1 }),
    s("text", { class: "tick", x: x0 - 6, y: y0, "text-anchor": "end" }, formatValue(low)),
    s("text", { class: "tick", x: x0 - 6, y: y1 + 10, "text-anchor": "end" }, formatValue(high)),
    s("text", { class: "tick", x: x0, y: HEIGHT - 8 }, shortTime(from, to - from)),
    s("text", { class: "tick", x: x1, y: HEIGHT - 8, "text-anchor": "end" }, shortTime(to, to - from)),
  );
}

function scale(value, [lo, hi], [a, b]) {
  return hi === lo ? (a + b) / 2 : a + ((value - lo) / (hi - lo)) * (b - a);
}

function empty(svg, text) {
  svg.append(s("text", { class: "empty", x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle" }, text));
  return svg;
}

/**
 * lineChart(label, points, {from, to}) — points: [{time: Date|string|ms, value: number}], any order.
 * `from`/`to` (ms) fix the time axis (default: the points' own span).
 */
export function lineChart(label, points, { from, to } = {}) {
  const svg = frame(label, "line-chart");
  const data = points
    .map((p) => ({ t: new Date(p.time).getTime(), v: Number(p.value) }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v))
    .sort((a, b) => a.t - b.t);
  if (!data.length) return empty(svg, "No data in this time range");
  const start = from ?? data[0].t;
  const end = to ?? data[data.length - 1].t;
  let low = Math.min(...data.map((p) => p.v));
  let high = Math.max(...data.map((p) => p.v));
  if (low === high) {
    low -= 1;
    high += 1;
  }
  axes(svg, { low, high, from: start, to: end });
  const xs = [PAD.left, WIDTH - PAD.right];
  const ys = [HEIGHT - PAD.bottom, PAD.top];
  const coords = data.map(
    (p) => `${scale(p.t, [start, end], xs).toFixed(1)},${scale(p.v, [low, high], ys).toFixed(1)}`,
  );
  svg.append(s("polyline", { class: "series", points: coords.join(" ") }));
  if (data.length === 1) {
    const [x, y] = coords[0].split(",");
    svg.append(s("circle", { class: "point", cx: x, cy: y, r: 3 }));
  }
  return svg;
}

/**
 * countChart(label, buckets) — buckets: [{startTime, successCount, errorCount}], oldest first
 * (the `series` of `:metrics`). Side-by-side bars per bucket: successes and errors.
 */
export function countChart(label, buckets) {
  const svg = frame(label, "count-chart");
  if (!buckets?.length) return empty(svg, "No activity data");
  const high = Math.max(1, ...buckets.map((b) => Math.max(b.successCount, b.errorCount)));
  const from = new Date(buckets[0].startTime).getTime();
  const step = buckets.length > 1 ? new Date(buckets[1].startTime).getTime() - from : 600_000;
  const to = from + step * buckets.length;
  axes(svg, { low: 0, high, from, to });
  const width = (WIDTH - PAD.left - PAD.right) / buckets.length;
  const bar = Math.max(1, width / 2 - 2);
  const ys = [HEIGHT - PAD.bottom, PAD.top];
  buckets.forEach((bucket, i) => {
    const x = PAD.left + i * width + 1;
    for (const [kind, count, offset] of [
      ["success", bucket.successCount, 0],
      ["error", bucket.errorCount, bar],
    ]) {
      if (!count) continue;
      const y = scale(count, [0, high], ys);
      svg.append(
        s(
          "rect",
          { class: `bar ${kind}`, x: x + offset, y, width: bar, height: HEIGHT - PAD.bottom - y },
          s(
            "title",
            {},
            `${count} ${kind === "success" ? "successes" : "errors"} from ${shortTime(new Date(bucket.startTime).getTime(), 0)}`,
          ),
        ),
      );
    }
  });
  return svg;
}
