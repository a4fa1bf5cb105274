// Inline SVG icons (stroke = currentColor), so pages need no image requests and no icon font.

const svg = (body, extra = "") =>
  `<svg viewBox="0 0 48 48" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" ${extra}>${body}</svg>`;

const head = '<circle cx="24" cy="22" r="11"/><path d="M15 40c2-5 5-7 9-7s7 2 9 7"/>';

// Arrows point the way the customer turns as they see themselves in the mirrored preview.
export const ICONS = {
  blink: svg('<path d="M4 24c5-8 12-12 20-12s15 4 20 12c-5 8-12 12-20 12S9 32 4 24z"/><path d="M8 24c4 3 10 5 16 5s12-2 16-5"/><path d="M14 30l-2 4M24 32v4M34 30l2 4"/>'),
  turn_left: svg(`${head}<path d="M10 12H3m0 0l4-4M3 12l4 4"/><path d="M20 20h.01"/>`),
  turn_right: svg(`${head}<path d="M38 12h7m0 0l-4-4m4 4l-4 4"/><path d="M28 20h.01"/>`),
  look_up: svg(`${head}<path d="M24 8V1m0 0l-4 4m4-4l4 4"/>`),
  look_down: svg(`${head}<path d="M40 26v8m0 0l-4-4m4 4l4-4"/>`),
  face: svg(`${head}<path d="M20 21h.01M28 21h.01M21 26c2 1.5 4 1.5 6 0"/>`),
  pass: svg('<circle cx="24" cy="24" r="20"/><path d="M15 24l6 6 12-13"/>'),
  fail: svg('<circle cx="24" cy="24" r="20"/><path d="M17 17l14 14M31 17L17 31"/>'),
  retry: svg('<path d="M38 14a17 17 0 1 0 3 14"/><path d="M40 6v9h-9"/>'),
  camera: svg('<rect x="4" y="13" width="40" height="27" rx="4"/><path d="M17 13l3-5h8l3 5"/><circle cx="24" cy="26" r="7"/>'),
  camera_off: svg('<rect x="4" y="13" width="40" height="27" rx="4"/><path d="M17 13l3-5h8l3 5"/><path d="M6 6l36 36"/>'),
  clock: svg('<circle cx="24" cy="24" r="19"/><path d="M24 13v11l7 5"/>'),
  link_off: svg('<path d="M20 28l-4 4a6 6 0 0 1-8-8l6-6a6 6 0 0 1 8 0"/><path d="M28 20l4-4a6 6 0 0 1 8 8l-6 6a6 6 0 0 1-8 0"/><path d="M6 6l36 36"/>'),
  wifi_off: svg('<path d="M4 17c11-9 29-9 40 0M10 24c8-6 20-6 28 0M16 31c5-3 11-3 16 0"/><circle cx="24" cy="38" r="1.5"/><path d="M6 6l36 36"/>'),
  shield: svg('<path d="M24 4l16 6v12c0 10-7 18-16 22C15 40 8 32 8 22V10z"/><path d="M17 24l5 5 9-10"/>'),
  lock: svg('<rect x="9" y="21" width="30" height="21" rx="3"/><path d="M16 21v-6a8 8 0 0 1 16 0v6"/>'),
  speaker: svg('<path d="M6 18h8l10-8v28l-10-8H6z"/><path d="M32 17a10 10 0 0 1 0 14M37 12a17 17 0 0 1 0 24"/>'),
  logo: svg('<rect x="5" y="7" width="38" height="34" rx="5"/><circle cx="18" cy="22" r="6"/><path d="M9 36c2-4 5-6 9-6s7 2 9 6"/><path d="M30 18h8M30 24h8M30 30h5"/>'),
};

export function icon(name) {
  return ICONS[name] || ICONS.face;
}
