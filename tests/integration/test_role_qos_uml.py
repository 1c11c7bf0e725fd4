# -*- coding: utf-8 -*-
"""roles/qos with the example of its README, as written there: an HFSC tree with real-time voice and link-sharing
classes, fq_codel leaves, u32 and flower filters. Under user-mode Linux only (make test-uml): the host kernel has
neither sch_hfsc nor cls_flower.

The README's `eth1` is a veth in a fresh namespace (qos_netns), its peer in a second one. One test doing a lot, as
Python is slow in the guest: --check --diff (every list would change, the kernel does not), the real run (what
check mode predicted), the oracle (`tc -d qdisc/class show` as text: iproute2 6.1 prints invalid JSON for HFSC;
`tc -j filter show`), SIP over UDP sent across the link counted in the voice class, and a second run with
changed=0, and the same trees deleted.
"""

import json
import os
import re

import pytest
import yaml

from conftest import HERE, diff_side, sh
from test_role_qos import TASKS, run_role

ALL = TASKS + ('Qdiscs of the classes',)  # the README's tree has fq_codel under two classes

pytestmark = pytest.mark.uml


def readme_trees():
    """qos_trees of the README's HFSC example (its first YAML block after the heading)."""
    with open(os.path.join(HERE, '..', '..', 'roles', 'qos', 'README.md')) as f:
        text = f.read()
    block = text.split('## Example: an HFSC tree', 1)[1].split('```yaml', 1)[1].split('```', 1)[0]
    return yaml.safe_load(block)[0]['roles'][0]['vars']['qos_trees']


def shown(ns, what):
    """tc's text lines of the qdiscs or classes of eth1, one space between words, counters and leaf qdiscs left
    out (the kernel's default qdisc too)."""
    out = []
    for line in sh('tc', '-n', ns, '-d', what, 'show', 'dev', 'eth1').splitlines():
        line = re.sub(r' (refcnt \d+|leaf [0-9a-f]+:)', '', re.sub(r'\s+', ' ', line)).strip()
        if line and not line.startswith('qdisc noqueue'):
            out.append(line)
    return sorted(out)


def filters(ns):
    """[(kind, prio, class)] of the filters on eth1, from tc's JSON."""
    out = []
    for f in json.loads(sh('tc', '-n', ns, '-j', 'filter', 'show', 'dev', 'eth1') or '[]'):
        opts = f.get('options', {})
        flow = opts.get('flowid', opts.get('classid'))
        if flow:
            out.append((f['kind'], f['pref'], flow))
    return sorted(out)


def test_readme_hfsc_example(netns, twin_netns, tmp_path):
    ns, peer = netns, twin_netns
    sh('ip', '-n', ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p', 'netns', peer)
    sh('ip', '-n', ns, 'addr', 'add', '198.18.0.1/30', 'dev', 'eth1')
    sh('ip', '-n', peer, 'addr', 'add', '198.18.0.2/30', 'dev', 'eth1p')
    sh('ip', '-n', ns, 'link', 'set', 'eth1', 'up')
    sh('ip', '-n', peer, 'link', 'set', 'eth1p', 'up')
    trees = readme_trees()
    assert [t['dev'] for t in trees] == ['eth1'] and any(f['kind'] == 'flower' for f in trees[0]['filters'])
    role_vars = {'qos_netns': ns, 'qos_trees': trees}
    empty = (shown(ns, 'qdisc'), shown(ns, 'class'), filters(ns))

    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert (shown(ns, 'qdisc'), shown(ns, 'class'), filters(ns)) == empty, 'check mode changed the kernel'
    assert all(check[n]['changed'] for n in ALL), out[-3000:]
    assert 'rt:' in diff_side(check['Classes'], 'after') and 'kind: flower' in diff_side(check['Filters'], 'after')

    apply, out = run_role(tmp_path, 'apply', role_vars)
    for n in ALL:
        assert apply[n]['changed'] and apply[n]['commands'] == check[n]['commands'], (n, out[-3000:])
        assert apply[n]['after'] == check[n]['after'], n
    qdiscs = shown(ns, 'qdisc')
    assert re.match(r'qdisc fq_codel 20: parent 1:20 .* target 5ms interval 100ms ', qdiscs[0]), qdiscs
    assert re.match(r'qdisc fq_codel 30: parent 1:30 .* target 10ms interval 100ms ', qdiscs[1]), qdiscs
    assert qdiscs[2] == 'qdisc hfsc 1: root default 30', qdiscs
    assert [c for c in shown(ns, 'class') if c.startswith('class hfsc ')] == [  # (fq_codel lists flows as classes)
        'class hfsc 1: root',
        'class hfsc 1:1 parent 1: ls m1 0bit d 0us m2 10Mbit ul m1 0bit d 0us m2 10Mbit',
        'class hfsc 1:10 parent 1:1 rt m1 1200Kbit d 10ms m2 1Mbit ls m1 0bit d 0us m2 1Mbit',
        'class hfsc 1:20 parent 1:1 ls m1 0bit d 0us m2 6Mbit',
        'class hfsc 1:30 parent 1:1 ls m1 0bit d 0us m2 3Mbit',
    ]
    assert filters(ns) == [('flower', 3, '1:10'), ('u32', 1, '1:10'), ('u32', 2, '1:20')]

    # SIP over UDP across the link: the flower filter puts it in the voice class
    sh('ip', 'netns', 'exec', ns, 'python3', '-c',
       'import socket, time\n'
       's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
       'for _ in range(8):\n'
       '    s.sendto(b"INVITE sip:lab" + b"." * 200, ("198.18.0.2", 5060)); time.sleep(0.05)\n')
    voice = sh('tc', '-n', ns, '-s', 'class', 'show', 'dev', 'eth1', 'classid', '1:10')
    sent = re.search(r'Sent (\d+) bytes (\d+) pkt', voice)
    assert sent and int(sent.group(2)) >= 7, voice

    again, out = run_role(tmp_path, 'again', role_vars)
    for n in ALL:
        assert again[n]['changed'] is False and again[n]['commands'] == [], (n, again[n]['commands'])
    assert 'changed=0' in out, out[-2000:]

    # the same trees with qos_state deleted: filters, the classes' qdiscs, classes, then the root qdisc
    gone, out = run_role(tmp_path, 'deleted', dict(role_vars, qos_state='deleted'))
    assert all(gone[n]['changed'] for n in ALL), out[-3000:]
    assert (shown(ns, 'qdisc'), shown(ns, 'class'), filters(ns)) == empty


def _nested_hfsc(parent):
    """An htb on e0 with an hfsc 10: in class ``parent``, two hfsc classes, an fq_codel in each (depth 2), a filter of
    the hfsc into its first class, and a netem in a class of the htb with a pfifo in its one class."""
    return [{'dev': 'e0',
             'qdiscs': [{'handle': '1:', 'kind': 'htb', 'default': 30},
                        {'parent': parent, 'handle': '10:', 'kind': 'hfsc', 'default': 2},
                        {'parent': '10:1', 'handle': '101:', 'kind': 'fq_codel'},
                        {'parent': '10:2', 'handle': '102:', 'kind': 'fq_codel', 'target': '10ms'},
                        {'parent': '1:30', 'handle': '30:', 'kind': 'netem', 'delay': '5ms'},
                        {'parent': '30:1', 'handle': '31:', 'kind': 'pfifo', 'limit': 20}],
             'classes': [{'classid': '1:1', 'parent': '1:', 'rate': '10mbit'},
                         {'classid': '1:10', 'parent': '1:1', 'rate': '4mbit', 'ceil': '10mbit'},
                         {'classid': '1:20', 'parent': '1:1', 'rate': '4mbit', 'ceil': '10mbit'},
                         {'classid': '1:30', 'parent': '1:1', 'rate': '2mbit', 'ceil': '10mbit'},
                         {'classid': '10:1', 'parent': '10:', 'ls': {'m2': '3mbit'}},
                         {'classid': '10:2', 'parent': '10:', 'ls': {'m2': '1mbit'}}],
             'filters': [{'parent': '10:', 'protocol': 'ip', 'prio': 1, 'kind': 'u32', 'classid': '10:1',
                          'match': {'ip_proto': 'udp'}}]}]


def test_an_hfsc_in_an_htb_class_with_fq_codel_leaves_is_made_depth_by_depth(netns, tmp_path):
    """The role's nested tree with the kinds the host kernel lacks: an hfsc in an htb class with its own classes,
    an fq_codel in each (depth 2), and a netem with a pfifo in its one class. Check mode shows the commands of the
    real run, tc shows the tree, a second run changes nothing; overridden moves the hfsc to another htb class with
    its tree (made again under it), and deleted goes from the deepest up, in both modes alike."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    empty = (shown_dev(ns, 'qdisc'), shown_dev(ns, 'class'))
    for state, parent in (('merged', '1:10'), ('overridden', '1:20'), ('deleted', '1:20')):
        role_vars = {'qos_netns': ns, 'qos_trees': _nested_hfsc(parent), 'qos_state': state}
        before = (shown_dev(ns, 'qdisc'), shown_dev(ns, 'class'))
        check, out = run_role(tmp_path, 'check-' + state, role_vars, '--check', '--diff')
        assert (shown_dev(ns, 'qdisc'), shown_dev(ns, 'class')) == before, state
        real, out = run_role(tmp_path, 'real-' + state, role_vars)
        commands = [dict((n, r.get('commands')) for n, r in res.items() if r.get('commands') is not None)
                    for res in (check, real)]
        assert commands[0] == commands[1], (state, commands)
        qd, cl = shown_dev(ns, 'qdisc'), shown_dev(ns, 'class')
        if state == 'deleted':
            assert (qd, cl) == empty, (qd, cl)
            continue
        text = ' | '.join(qd)
        for words in ('qdisc hfsc 10: parent %s default 2' % parent, 'qdisc fq_codel 101: parent 10:1 ',
                      'qdisc fq_codel 102: parent 10:2 ', 'target 10ms', 'qdisc netem 30: parent 1:30 ',
                      'qdisc pfifo 31: parent 30:1 limit 20p'):
            assert words in text, (words, qd)
        assert [c for c in cl if c.startswith('class hfsc 10:1 parent 10: ls ')], cl
        inner = json.loads(sh('tc', '-n', ns, '-j', 'filter', 'show', 'dev', 'e0', 'parent', '10:') or '[]')
        assert [f for f in inner if f.get('options', {}).get('flowid') == '10:1'], inner
        again, out = run_role(tmp_path, 'again-' + state, role_vars)
        assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]


def shown_dev(ns, what):
    """tc's text lines of the qdiscs or classes of e0, as :func:`shown` reads eth1's."""
    out = []
    for line in sh('tc', '-n', ns, '-d', what, 'show', 'dev', 'e0').splitlines():
        line = re.sub(r' (refcnt \d+|leaf [0-9a-f]+:)', '', re.sub(r'\s+', ' ', line)).strip()
        if line and not line.startswith('qdisc noqueue') and not line.startswith('class fq_codel'):
            out.append(line)
    return sorted(out)
