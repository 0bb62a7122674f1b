// A small accessible bar chart in SVG (no library): one <rect> per bar with a <title>, and a text summary.
const NS = "http://www.w3.org/2000/svg";

export function barChart(container, items, { label, format = (v) => String(v) } = {}) {
  container.replaceChildren();
  const width = 640, height = 220, pad = 28;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const max = Math.max(1, ...items.map((i) => i.value));
  const step = items.length ? (width - pad * 2) / items.length : 0;
  const every = Math.max(1, Math.ceil(items.length / 10)); // at most ~10 axis labels
  items.forEach((item, n) => {
    const h = Math.round(((height - pad * 2) * item.value) / max);
    const rect = document.createElementNS(NS, "rect");
    const w = Math.min(Math.max(step - 4, 2), 56);
    rect.setAttribute("x", String(pad + n * step + (step - w) / 2));
    rect.setAttribute("y", String(height - pad - h));
    rect.setAttribute("width", String(w));
    rect.setAttribute("height", String(h));
    rect.setAttribute("class", "bar");
    const title = document.createElementNS(NS, "title");
    title.textContent = `${item.key}: ${format(item.value)}`;
    rect.appendChild(title);
    svg.appendChild(rect);
    const text = document.createElementNS(NS, "text");
    text.setAttribute("x", String(pad + n * step + step / 2));
    text.setAttribute("y", String(height - 8));
    text.setAttribute("text-anchor", "middle");
    text.setAttribute("class", "axis");
    text.textContent = item.key.slice(5);
    if (n % every === 0) svg.appendChild(text);
  });
  if (items.length) {
    const top = document.createElementNS(NS, "text");
    top.setAttribute("x", String(pad));
    top.setAttribute("y", String(pad - 10));
    top.setAttribute("class", "axis");
    top.textContent = `max ${format(max)}`;
    svg.appendChild(top);
  }
  const baseline = document.createElementNS(NS, "line");
  baseline.setAttribute("x1", String(pad)); baseline.setAttribute("x2", String(width - pad));
  baseline.setAttribute("y1", String(height - pad)); baseline.setAttribute("y2", String(height - pad));
  baseline.setAttribute("class", "baseline");
  svg.appendChild(baseline);
  container.appendChild(svg);
  const summary = document.createElement("p");
  summary.className = "sr";
  summary.textContent = items.length
    ? items.map((i) => `${i.key}: ${format(i.value)}`).join("; ")
    : "No usage in this period.";
  container.appendChild(summary);
  if (!items.length) {
    const empty = document.createElement("p");
    empty.textContent = "No usage yet in this period.";
    container.appendChild(empty);
  }
}
