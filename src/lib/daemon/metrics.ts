/**
 * GET /metrics: the daemon's counters and a few gauges in the Prometheus text
 * exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Contract:
 * - Counters have dotted lowercase names (src/lib/counters.ts). `drop.<reason>`
 *   becomes one family `hnet_drop_total{reason="<reason>"}`; any other name
 *   `a.b` becomes `hnet_a_b_total`. Names are sanitised to
 *   [a-zA-Z_:][a-zA-Z0-9_:]*; two dotted names that sanitise to the same series
 *   are summed, so no series appears twice.
 * - Every family gets exactly one `# HELP` and one `# TYPE` line, before its
 *   samples; families and samples are sorted, so output is deterministic.
 * - Label values escape `\`, `"` and newline; HELP text escapes `\` and newline.
 * - Output ends with a newline (the format requires the last line to end with one).
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A gauge sample, e.g. { name: 'uptime_seconds', value: 12 } → hnet_uptime_seconds 12. */
export interface GaugeSample {
  name: string;
  value: number;
  help?: string;
  labels?: Record<string, string>;
}

interface Family {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  /** series key (rendered labels) → value */
  samples: Map<string, number>;
}

const PREFIX = 'hnet_';

/** Families whose last dotted part is a label rather than part of the name. */
const LABELLED: Record<string, { label: string; help: string }> = {
  drop: { label: 'reason', help: 'Frames and packets dropped, by reason' },
};

const KNOWN_HELP: Record<string, string> = {
  hnet_frames_in_total: 'Ethernet frames received from guests',
  hnet_frames_out_total: 'Ethernet frames sent to guests',
  hnet_bytes_in_total: 'Bytes received from guests',
  hnet_bytes_out_total: 'Bytes sent to guests',
  hnet_tcp_flows_total: 'TCP flows opened',
  hnet_udp_flows_total: 'UDP flows opened',
  hnet_busy_poll_hits_total: 'First inputs after an answer that arrived while the loop was still busy polling (no sleep, no wake-up)',
  hnet_busy_poll_misses_total: 'First inputs after an answer that found the loop asleep although they came within the busy-poll maximum',
  hnet_busy_poll_late_total: 'First inputs after an answer that came after the busy-poll maximum (sparse traffic: no window would have caught them)',
  hnet_memory_idle_reclaims_total: 'Memory reclaims (full GCs, malloc_trim) asked for after the daemon idled with grown RSS',
};

/** A valid Prometheus metric name from free text. */
export function sanitizeMetricName(text: string): string {
  let name = text.toLowerCase().replace(/[^a-z0-9_:]/g, '_').replace(/_+/g, '_');
  if (!/^[a-z_:]/.test(name)) name = `_${name}`;
  return name;
}

function sanitizeLabelName(text: string): string {
  let name = text.replace(/[^a-zA-Z0-9_]/g, '_');
  if (!/^[a-zA-Z_]/.test(name)) name = `_${name}`;
  return name;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Sample values: Go ParseFloat syntax; the format spells infinities +Inf/-Inf. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function renderLabels(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  // Two keys that sanitise alike would repeat a label name: the last one wins.
  const unique = new Map(Object.entries(labels).map(([k, v]) => [sanitizeLabelName(k), v] as const));
  const parts = [...unique.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function family(families: Map<string, Family>, name: string, type: Family['type'], help: string): Family {
  let f = families.get(name);
  if (!f) {
    f = { name, type, help, samples: new Map() };
    families.set(name, f);
  }
  return f;
}

/** Where a dotted counter name goes: its family name and its labels. */
export function counterSeries(dotted: string): { family: string; labels?: Record<string, string>; help: string } {
  const dot = dotted.indexOf('.');
  const head = dot > 0 ? dotted.slice(0, dot) : '';
  const labelled = LABELLED[head];
  if (labelled && dot < dotted.length - 1) {
    return { family: `${PREFIX}${sanitizeMetricName(head)}_total`, labels: { [labelled.label]: dotted.slice(dot + 1) }, help: labelled.help };
  }
  let base = sanitizeMetricName(dotted).replace(/^_+|_+$/g, '') || 'unnamed';
  if (base.endsWith('_total')) base = base.slice(0, -'_total'.length);
  const name = `${PREFIX}${base}_total`;
  return { family: name, help: KNOWN_HELP[name] ?? `hnet counter ${dotted}` };
}

/**
 * Render counters (dotted names) and gauges as one exposition-format document.
 * A gauge whose name collides with a counter family keeps the counter.
 */
export function renderPrometheus(counters: Record<string, number>, gauges: GaugeSample[] = []): string {
  const families = new Map<string, Family>();
  for (const [dotted, value] of Object.entries(counters)) {
    if (typeof value !== 'number') continue;
    const s = counterSeries(dotted);
    const f = family(families, s.family, 'counter', s.help);
    const key = renderLabels(s.labels);
    f.samples.set(key, (f.samples.get(key) ?? 0) + value);
  }
  for (const g of gauges) {
    if (typeof g.value !== 'number') continue;
    const name = `${PREFIX}${sanitizeMetricName(g.name).replace(/^hnet_/, '')}`;
    const existing = families.get(name);
    if (existing && existing.type !== 'gauge') continue;
    const f = family(families, name, 'gauge', g.help ?? `hnet gauge ${g.name}`);
    f.samples.set(renderLabels(g.labels), g.value);
  }
  const lines: string[] = [];
  for (const f of [...families.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const [labels, value] of [...f.samples.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      lines.push(`${f.name}${labels} ${formatValue(value)}`);
    }
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
