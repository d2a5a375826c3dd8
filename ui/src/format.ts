// Small formatting helpers for the dashboard.

/** "just now", "42 s ago", "3 min ago", "5 h ago", "2 days ago", "never". */
export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (ms == null) return "never";
  const s = Math.max(0, Math.floor((now - ms) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86400);
  return `${d} day${d === 1 ? "" : "s"} ago`;
}

/** "512 B", "1.5 KiB", "3.2 MiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Creates an element with a class and text (text is never parsed as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Runs `f` at most once per `ms`, after the last call. */
export function debounce<A extends unknown[]>(f: (...a: A) => void, ms: number): (...a: A) => void {
  let t: number | undefined;
  return (...a: A) => {
    if (t !== undefined) window.clearTimeout(t);
    t = window.setTimeout(() => f(...a), ms);
  };
}

/** Estimated tokens, short: "850", "12.4k", "1.2M". */
export function tokens(n: number | null | undefined): string {
  if (n == null) return "–";
  if (n < 1000) return `${n}`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** A small bar chart of daily counts (oldest first), as an inline SVG built from elements. */
export function sparkline(daily: number[], title: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const w = 60;
  const h = 14;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", `${w}`);
  svg.setAttribute("height", `${h}`);
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  const t = document.createElementNS(ns, "title");
  t.textContent = title;
  svg.append(t);
  const max = Math.max(1, ...daily);
  const bw = w / Math.max(1, daily.length);
  daily.forEach((n, i) => {
    if (!n) return;
    const bh = Math.max(1.5, (n / max) * h);
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("x", (i * bw).toFixed(2));
    r.setAttribute("y", (h - bh).toFixed(2));
    r.setAttribute("width", Math.max(1, bw - 0.6).toFixed(2));
    r.setAttribute("height", bh.toFixed(2));
    svg.append(r);
  });
  return svg;
}
