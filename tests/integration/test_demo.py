# -*- coding: utf-8 -*-
"""tools/demo, what `make demo` runs after installing (the README's first command), end to end.

The demo builds a 4-host lab, runs site.yml with --check --diff, applies it, re-runs it and must see
changed=0 on every host; it leaves the lab up and prints commands to look around. This test runs it in a
private lab (its own EDGELAB_PREFIX and subnet), checks what it printed against its own logs, checks the
objects the printed commands point at with iproute2, and removes the lab (also when an assertion fails).
"""

import os
import re
import subprocess

from conftest import BIN, HERE, bridgej, ipj, sh

DEMO = os.path.join(HERE, '..', '..', 'tools', 'demo')
HOSTS = 4  # the demo's own default


def test_demo_predicts_applies_and_reruns_unchanged(lab):
    env = dict(lab.env, VENV=os.path.dirname(BIN), ANSIBLE_NOCOLOR='1')
    env.pop('DEMO_HOSTS', None)
    p = subprocess.run([DEMO], capture_output=True, text=True, env=env, check=False, timeout=900)
    out = re.sub(r'\x1b\[[0-9;]*m', '', p.stdout + p.stderr)
    assert p.returncode == 0, out[-6000:]
    assert 'Traceback' not in out, out[-6000:]
    assert 'demo: OK: site.yml applied to %d hosts and the second run changed nothing.' % HOSTS in out, out[-3000:]

    # its summary line agrees with the PLAY RECAPs it printed: predicted == applied, and more than nothing
    predicted, applied = map(int, re.search(
        r'check mode predicted (\d+) changed task\(s\) over %d hosts; the real run changed (\d+)' % HOSTS,
        out).groups())
    recaps = re.findall(r'^PLAY RECAP.*?\n((?:\S+\s+: ok=.*\n)+)', out, re.M)
    assert len(recaps) == 3, out[-6000:]  # check, apply, again

    def changed(recap):
        rows = dict(re.findall(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', recap, re.M))
        assert sorted(rows) == ['%s-h%d' % (lab.prefix, i) for i in range(1, HOSTS + 1)], recap
        return sum(map(int, rows.values()))

    assert [changed(r) for r in recaps] == [predicted, applied, 0] and predicted == applied > 0, out[-6000:]

    # the lab is still up, and what the closing hints point at exists (iproute2 is the oracle)
    hosts = [ns for ns in lab.namespaces() if re.match(r'%s-h\d+$' % re.escape(lab.prefix), ns)]
    assert hosts == ['%s-h%d' % (lab.prefix, i) for i in range(1, HOSTS + 1)], lab.namespaces()
    h1 = lab.ns(1)
    assert ipj(h1, '-d', 'link', 'show', 'br0')[0]['linkinfo']['info_kind'] == 'bridge'
    vx = ipj(h1, '-d', 'link', 'show', 'vx100')[0]['linkinfo']
    assert vx['info_kind'] == 'vxlan' and vx['info_data']['local'] == lab.addr(1)
    # (iproute2 6.1 prints HTB classes as text even with -j)
    classes = set(re.findall(r'^class htb (\S+) ', sh('tc', '-n', h1, 'class', 'show', 'dev', 'br0'), re.M))
    assert {'1:10', '1:20', '1:30'} <= classes, classes
    fdb = bridgej(h1, 'fdb', 'show', 'dev', 'vx100')
    her = sorted(e['dst'] for e in fdb if e.get('mac') == '00:00:00:00:00:00' and 'dst' in e)
    assert her == sorted(lab.addr(i) for i in range(2, HOSTS + 1)), fdb
    hint = re.search(r'ssh -F (\S+) %s-h1 ' % re.escape(lab.prefix), out)
    assert hint and hint.group(1) == os.path.join(lab.state, 'ssh_config'), out[-3000:]
    assert lab.ssh(1, 'ip', '-j', 'link', 'show', 'br0').returncode == 0
