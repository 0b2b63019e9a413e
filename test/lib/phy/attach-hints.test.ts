import { expect } from 'chai';
import { attachHints, attachHintLines } from '../../../src/lib/phy/attach-hints.js';
import { defaultListenUris, parseListenUri } from '../../../src/lib/phy/uri.js';

describe('attach hints (what hnet start prints for each --listen)', () => {
  it('gives QEMU -netdev stream and the Lima socket form for qemu://', () => {
    const h = attachHints(parseListenUri('qemu:///tmp/h/q.sock', '/h'));
    expect(h.map((x) => x.client)).to.deep.equal(['QEMU', 'Lima']);
    expect(h[0].fragment).to.contain('-netdev stream,id=hnet,server=off,addr.type=unix,addr.path=/tmp/h/q.sock');
    expect(h[1].fragment).to.equal('networks: [{ socket: "/tmp/h/q.sock" }]');
  });

  it('gives vfkit virtio-net and QEMU -netdev dgram with its own local socket for vfkit://', () => {
    const h = attachHints(parseListenUri('vfkit:///tmp/h/v.sock', '/h'));
    expect(h[0]).to.deep.include({ client: 'vfkit' });
    expect(h[0].fragment).to.contain('--device virtio-net,unixSocketPath=/tmp/h/v.sock');
    expect(h[1].fragment).to.contain('local.type=unix,local.path=/tmp/h/v-qemu.sock,remote.type=unix,remote.path=/tmp/h/v.sock');
  });

  it('names the port for qemu+tcp and the hyperkit slot for vpnkit', () => {
    expect(attachHints(parseListenUri('qemu+tcp://127.0.0.1:5555', '/h'))[0].fragment).to.contain('addr.host=127.0.0.1,addr.port=5555');
    expect(attachHints(parseListenUri('vpnkit:///tmp/k.sock', '/h'))[0].fragment).to.equal('-s 2:0,virtio-vpnkit,path=/tmp/k.sock');
  });

  it('covers both default listeners, in order', () => {
    const lines = attachHintLines(defaultListenUris('/home/u/.hnet'), '/home/u/.hnet', parseListenUri);
    expect(lines).to.have.length(4);
    expect(lines[0]).to.match(/^ {2}attach \(QEMU\): -netdev stream.*\/home\/u\/\.hnet\/run\/qemu\.sock/);
    expect(lines[2]).to.match(/^ {2}attach \(vfkit\): .*\/home\/u\/\.hnet\/run\/vfkit\.sock/);
  });
});
