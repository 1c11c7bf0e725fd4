# -*- coding: utf-8 -*-
"""A TBF qdisc made by edgenet.linux.tc_qdisc really shapes: a bounded TCP transfer between two
namespaces over a veth pair takes as long as the rate says (traffic stays inside the namespaces)."""

import subprocess
import sys
import uuid

import pytest

from conftest import sh

M = 'edgenet.linux.tc_qdisc'
SIZE = 250000  # bytes; at 1 Mbit/s (125000 bytes/s) this takes about 2 s, unshaped a few milliseconds

RECEIVER = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('198.18.7.2', 5001)); s.listen(1); print('ready', flush=True)
c, _ = s.accept(); got = 0
while got < int(sys.argv[1]):
    data = c.recv(65536)
    if not data:
        break
    got += len(data)
c.sendall(b'%d' % got); c.close()
'''
SENDER = r'''
import socket, sys, time
s = socket.create_connection(('198.18.7.2', 5001), timeout=30)
t = time.monotonic(); s.sendall(b'x' * int(sys.argv[1])); got = s.recv(64); print(got.decode(), time.monotonic() - t)
'''


@pytest.fixture
def pair(netns):
    other = 'edgt-%s' % uuid.uuid4().hex[:8]
    sh('ip', 'netns', 'add', other)
    try:
        sh('ip', '-n', netns, 'link', 'add', 'name', 's0', 'type', 'veth', 'peer', 'name', 's1', 'netns', other)
        sh('ip', '-n', netns, 'address', 'add', '198.18.7.1/24', 'dev', 's0')
        sh('ip', '-n', other, 'address', 'add', '198.18.7.2/24', 'dev', 's1')
        for ns, dev in ((netns, 's0'), (other, 's1'), (other, 'lo')):
            sh('ip', '-n', ns, 'link', 'set', dev, 'up')
        yield netns, other
    finally:
        subprocess.run(['ip', 'netns', 'del', other], capture_output=True, check=False)


def transfer(src, dst):
    rx = subprocess.Popen(['ip', 'netns', 'exec', dst, sys.executable, '-c', RECEIVER, str(SIZE)],
                          stdout=subprocess.PIPE, text=True)
    try:
        assert rx.stdout.readline().strip() == 'ready'
        got, seconds = sh('ip', 'netns', 'exec', src, sys.executable, '-c', SENDER, str(SIZE)).split()
        assert int(got) == SIZE
        return float(seconds)
    finally:
        rx.wait(timeout=30)


def test_tbf_holds_the_rate(pair, play):
    src, dst = pair
    unshaped = transfer(src, dst)
    r = play({M: {'netns': src, 'config': [{'dev': 's0', 'handle': '1:', 'kind': 'tbf', 'rate': '1mbit',
                                            'burst': '10kb', 'latency': '100ms'}]}})[0]
    assert r['changed'] and not r.get('failed'), r
    shaped = transfer(src, dst)
    # (SIZE - bucket) / 125000 bytes/s is about 1.9 s; allow for TCP and a loaded host, never for no shaping
    assert unshaped < 1.0, unshaped
    assert 1.6 < shaped < 6.0, shaped
    r = play({M: {'netns': src, 'state': 'deleted', 'config': [{'dev': 's0'}]}})[0]
    assert r['changed']
    assert transfer(src, dst) < 1.0
