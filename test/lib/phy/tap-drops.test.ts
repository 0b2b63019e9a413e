import { expect } from 'chai';
import { constants } from 'node:os';
import { txDropReason } from '../../../src/lib/phy/tap.js';

describe('tap write failures', () => {
  it('count the same drop whether Node threw the error or koffi returned the raw errno', () => {
    const { EAGAIN, EIO, EBADF, ENOSPC } = constants.errno;
    expect([EAGAIN, EIO, EBADF, ENOSPC].map(txDropReason)).to.deep.equal(['tx_queue_full', 'tx_link_down', 'tx_closed', 'tx_error']);
    expect(['EAGAIN', 'EIO', 'EBADF', 'ENOSPC', undefined].map(txDropReason)).to.deep.equal(['tx_queue_full', 'tx_link_down', 'tx_closed', 'tx_error', 'tx_error']);
  });
});
