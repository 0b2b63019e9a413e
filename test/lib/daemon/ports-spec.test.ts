/**
 * Docker-style port specs (DESIGN §4): [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp].
 */
import { expect } from 'chai';
import { HnetError } from '../../../src/lib/errors.js';
import { parseAddSpec, parseRemoveSpec, MAX_RANGE } from '../../../src/lib/daemon/ports-spec.js';

function badSpec(fn: () => unknown): HnetError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HnetError);
    expect((err as HnetError).code).to.equal('HNET_BAD_SPEC');
    expect((err as HnetError).exitCode).to.equal(2);
    return err as HnetError;
  }
  throw new Error('expected HNET_BAD_SPEC');
}

describe('port spec: add', () => {
  it('binds 127.0.0.1 and tcp by default (8080:80)', () => {
    expect(parseAddSpec('8080:80')).to.deep.equal([{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80 }]);
  });

  it('takes a host IP and a protocol (0.0.0.0:5353:53/udp)', () => {
    expect(parseAddSpec('0.0.0.0:5353:53/udp')).to.deep.equal([{ proto: 'udp', hostIp: '0.0.0.0', hostPort: 5353, guestPort: 53 }]);
  });

  it('maps a host range onto a guest range port by port', () => {
    const r = parseAddSpec('8000-8002:9000-9002');
    expect(r.map((p) => [p.hostPort, p.guestPort])).to.deep.equal([[8000, 9000], [8001, 9001], [8002, 9002]]);
  });

  it('carries --guest into every forward', () => {
    expect(parseAddSpec('8000-8001:80-81', '192.168.65.3').every((p) => p.guestIp === '192.168.65.3')).to.equal(true);
  });

  it('refuses ranges of different lengths, naming both', () => {
    expect(badSpec(() => parseAddSpec('8000-8010:80')).message).to.match(/11 ports.*1/);
  });

  it('refuses reversed and oversized ranges', () => {
    badSpec(() => parseAddSpec('8010-8000:8010-8000'));
    badSpec(() => parseAddSpec(`1-${MAX_RANGE + 1}:1-${MAX_RANGE + 1}`));
  });

  it('refuses port 0, ports above 65535, words, a bad IP, an unknown protocol and a missing guest port', () => {
    for (const s of ['0:80', '8080:65536', 'http:80', '300.1.1.1:8080:80', '8080:80/sctp', '8080', '1:2:3:4', '8080:80/', '-1:80']) badSpec(() => parseAddSpec(s));
  });

  it('refuses a --guest that is not an IPv4 address', () => {
    badSpec(() => parseAddSpec('8080:80', 'guest-one'));
  });

  it('suggests the accepted forms', () => {
    expect(badSpec(() => parseAddSpec('nope')).suggestions.join(' ')).to.contain('127.0.0.1:8080:80');
  });
});

describe('port spec: remove', () => {
  it('names host ports only: [HOST_IP:]HOST_PORT[-END][/proto]', () => {
    expect(parseRemoveSpec('8080')).to.deep.equal({ proto: 'tcp', hostIp: '127.0.0.1', hostPorts: [8080] });
    expect(parseRemoveSpec('0.0.0.0:5353/udp')).to.deep.equal({ proto: 'udp', hostIp: '0.0.0.0', hostPorts: [5353] });
    expect(parseRemoveSpec('8000-8002').hostPorts).to.deep.equal([8000, 8001, 8002]);
  });

  it('refuses a guest port in a remove spec', () => {
    badSpec(() => parseRemoveSpec('127.0.0.1:8080:80'));
  });
});
