/**
 * GET /metrics output against the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), checked line
 * by line with a parser-level grammar rather than by comparing strings.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { renderPrometheus, counterSeries, sanitizeMetricName } from '../../../src/lib/daemon/metrics.js';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|NaN|[+-]Inf)';
const SAMPLE = new RegExp(`^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*)?\\})? ${VALUE}$`);
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

interface Parsed {
  types: Map<string, string>;
  samples: Map<string, string>;
}

/** Parse an exposition document, failing the test on any line outside the grammar. */
function parseExposition(text: string): Parsed {
  expect(text.endsWith('\n') || text === '', 'ends with a newline').to.equal(true);
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples = new Map<string, string>();
  for (const line of text.split('\n').slice(0, -1)) {
    let m: RegExpExecArray | null;
    if ((m = HELP.exec(line))) {
      expect(helps.has(m[1]!), `one HELP for ${m[1]}`).to.equal(false);
      helps.add(m[1]!);
    } else if ((m = TYPE.exec(line))) {
      expect(types.has(m[1]!), `one TYPE for ${m[1]}`).to.equal(false);
      types.set(m[1]!, m[2]!);
    } else if ((m = SAMPLE.exec(line))) {
      expect(types.has(m[1]!), `TYPE before the samples of ${m[1]}`).to.equal(true);
      const series = `${m[1]}${m[2] ?? ''}`;
      const labelNames = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((l) => l[1]);
      expect(new Set(labelNames).size, `label names unique in ${series}`).to.equal(labelNames.length);
      expect(samples.has(series), `series ${series} once`).to.equal(false);
      samples.set(series, line.slice(series.length + 1));
    } else {
      expect.fail(`line outside the exposition format: ${JSON.stringify(line)}`);
    }
  }
  return { types, samples };
}

describe('Prometheus exposition of counters', () => {
  it('turns drop.<reason> into one hnet_drop_total family labelled by reason', () => {
    const p = parseExposition(renderPrometheus({ 'drop.ipv4_bad_checksum': 3, 'drop.tcp_out_of_window': 5 }));
    expect(p.types.get('hnet_drop_total')).to.equal('counter');
    expect(p.samples.get('hnet_drop_total{reason="ipv4_bad_checksum"}')).to.equal('3');
    expect(p.samples.get('hnet_drop_total{reason="tcp_out_of_window"}')).to.equal('5');
    expect(p.types.size).to.equal(1);
  });

  it('turns other dotted names into hnet_<name>_total counters', () => {
    const p = parseExposition(renderPrometheus({ 'tcp.flows': 7, 'frames.in': 100, 'bytes.out_total': 9 }));
    expect(p.samples.get('hnet_tcp_flows_total')).to.equal('7');
    expect(p.samples.get('hnet_frames_in_total')).to.equal('100');
    expect(p.samples.get('hnet_bytes_out_total')).to.equal('9');
    expect([...p.types.values()]).to.deep.equal(['counter', 'counter', 'counter']);
  });

  it('sums names that sanitise to the same series instead of repeating it', () => {
    const p = parseExposition(renderPrometheus({ 'tcp.flows': 2, 'tcp-flows': 3 }));
    expect(p.samples.get('hnet_tcp_flows_total')).to.equal('5');
  });

  it('escapes backslash, quote and newline in reason labels', () => {
    const text = renderPrometheus({ 'drop.we"ird\\re\nason': 1 });
    const p = parseExposition(text);
    expect(p.samples.get('hnet_drop_total{reason="we\\"ird\\\\re\\nason"}')).to.equal('1');
  });

  it('adds gauges with their own TYPE and labels', () => {
    const p = parseExposition(renderPrometheus({ 'tcp.flows': 1 }, [{ name: 'uptime_seconds', value: 12.5 }, { name: 'info', value: 1, labels: { version: '0.1.0' } }]));
    expect(p.types.get('hnet_uptime_seconds')).to.equal('gauge');
    expect(p.samples.get('hnet_uptime_seconds')).to.equal('12.5');
    expect(p.samples.get('hnet_info{version="0.1.0"}')).to.equal('1');
  });

  it('spells non-finite values as the format does', () => {
    const p = parseExposition(renderPrometheus({}, [{ name: 'a', value: Infinity }, { name: 'b', value: NaN }]));
    expect(p.samples.get('hnet_a')).to.equal('+Inf');
    expect(p.samples.get('hnet_b')).to.equal('NaN');
  });

  it('never repeats a label name, even when two keys sanitise alike', () => {
    const p = parseExposition(renderPrometheus({}, [{ name: 'g', value: 1, labels: { 'a-b': 'x', a_b: 'y' } }]));
    expect(p.samples.get('hnet_g{a_b="y"}')).to.equal('1');
  });

  it('renders nothing for no metrics', () => {
    expect(renderPrometheus({})).to.equal('');
  });

  it('maps names to valid metric names', () => {
    expect(sanitizeMetricName('9lives.x-y')).to.equal('_9lives_x_y');
    expect(counterSeries('drop.').family).to.equal('hnet_drop_total');
    expect(counterSeries('drop.').labels).to.equal(undefined);
  });

  it('stays inside the grammar for any counter names and values (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(fc.nat(), fc.double())),
        fc.array(fc.record({ name: fc.string({ maxLength: 10 }), value: fc.double(), labels: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 10 })) }), { maxLength: 4 }),
        (counters, gauges) => {
          parseExposition(renderPrometheus(counters, gauges));
        },
      ),
    );
  });
});
