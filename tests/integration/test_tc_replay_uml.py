# -*- coding: utf-8 -*-
"""What the kernel deletes along with a tc object, made again as it was (_tc.Snapshot, Replay), for the kinds the
host kernel lacks: qdiscs fq_codel, sfq, netem, fq, codel, cake, prio, hfsc, drr, qfq; classes hfsc, drr, qfq; filters
flower, matchall, basic, fw, and u32 and flower filters with gact, police, mirred and skbedit actions. Runs under
user-mode Linux only (make test-uml); few playbook runs, each doing a lot, because Python is slow in the guest.

The oracle is tc's text (tc -d; iproute2 6.1 prints invalid JSON for hfsc), read per qdisc and per class: a dump of
all the classes of a device ends at a netem without a child qdisc (its class dump fails), leaving out the classes
of the qdiscs after it (here the drr's and the prio's), a dump per qdisc does not (see _tc.class_dumps). Where no hfsc is on a device,
tc -j also shows the CoDel times exactly (tc's text rounds them to 0.1 ms)."""

import difflib
import json
import re

import pytest

from conftest import assert_no_traceback, ns_and_twin, printed_then_real, qdisc_handles_unchecked, settled, sh

QM = 'edgenet.linux.tc_qdisc'
CM = 'edgenet.linux.tc_class'
pytestmark = pytest.mark.uml


def _devices(netns):
    # (no IPv6 on them: no packets of the kernel's own through the trees, nor flows that fq_codel shows as classes)
    sh('ip', 'netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1')
    for dev in ('d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'):
        sh('ip', '-n', netns, 'link', 'add', dev, 'type', 'dummy')
        sh('ip', '-n', netns, 'link', 'set', dev, 'up')
    return netns


ns, twin = ns_and_twin(_devices)


def _made(ns, lines):
    """Run tc's command ``lines`` in ``ns`` (a line that starts with spaces goes on the one before)."""
    for line in lines.strip().replace('\n  ', ' ').splitlines():
        sh('tc', '-n', ns, *line.split())


# an htb with a leaf qdisc of every kind in its classes (a prio with qdiscs in its bands, hfsc, drr and qfq with
# classes and qdiscs of their own), and filters of every kind with actions on the htb, a class of it and the qdiscs
# in it: all of it as tc_filter's command lines can say it
HTB_TREE = '''
qdisc add dev d0 root handle 1: htb default 10
class add dev d0 parent 1: classid 1:1 htb rate 10mbit
class add dev d0 parent 1:1 classid 1:10 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:11 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:12 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:13 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:14 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:15 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:16 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:17 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:18 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:19 htb rate 1mbit
qdisc add dev d0 parent 1:10 handle 10: fq_codel limit 1000 target 3ms interval 50ms
qdisc add dev d0 parent 1:11 handle 11: sfq limit 100 perturb 10 quantum 1600
qdisc add dev d0 parent 1:12 handle 12: netem delay 20ms 2ms loss 0.5% rate 10mbit limit 2000
qdisc add dev d0 parent 1:13 handle 13: fq limit 2000 flow_limit 50 maxrate 10mbit
qdisc add dev d0 parent 1:14 handle 14: codel limit 500 target 7ms interval 120ms ecn
qdisc add dev d0 parent 1:15 handle 15: cake bandwidth 50mbit diffserv4 rtt 50ms
qdisc add dev d0 parent 1:16 handle 16: prio bands 4 priomap 3 2 1 0
qdisc add dev d0 parent 16:1 handle 161: pfifo limit 30
qdisc add dev d0 parent 16:3 handle 163: fq_codel
qdisc add dev d0 parent 1:17 handle 17: hfsc default 1
class add dev d0 parent 17: classid 17:1 hfsc sc rate 1mbit ul rate 2mbit
class add dev d0 parent 17:1 classid 17:2 hfsc rt umax 1500b dmax 10ms rate 500kbit ls rate 333kbit
qdisc add dev d0 parent 17:2 handle 172: sfq
qdisc add dev d0 parent 1:18 handle 18: drr
class add dev d0 parent 18: classid 18:1 drr quantum 3000
qdisc add dev d0 parent 18:1 handle 181: pfifo limit 7
qdisc add dev d0 parent 1:19 handle 19: qfq
class add dev d0 parent 19: classid 19:1 qfq weight 10 maxpkt 2048
qdisc add dev d0 parent 19:1 handle 191: netem delay 1ms
filter add dev d0 parent 1: prio 1 protocol ip flower dst_ip 198.18.0.1 ip_proto tcp dst_port 80 classid 1:10
  action police rate 1mbit burst 10k conform-exceed drop/pipe action gact pass
filter add dev d0 parent 1: prio 2 protocol ip u32 match ip dst 198.18.0.2/32 classid 1:11 action skbedit priority 1:12 action mirred egress mirror dev d1
filter add dev d0 parent 1: prio 3 protocol all matchall classid 1:12 action gact drop
filter add dev d0 parent 1: prio 4 protocol ip basic classid 1:13 action police rate 2mbit burst 20k drop
filter add dev d0 parent 1: prio 5 protocol ip handle 5 fw classid 1:14
filter add dev d0 parent 1: prio 7 protocol ip handle 0x10000/0xffff0000 fw classid 1:16 action skbedit mark 7
filter add dev d0 parent 1:1 prio 1 protocol ip flower src_ip 198.18.0.0/24 classid 1:17
filter add dev d0 parent 1:1 prio 2 protocol ipv6 flower dst_ip fd42:ed6e::1 classid 1:18 action gact pipe action mirred egress redirect dev d1
filter add dev d0 parent 16: prio 1 protocol ip matchall classid 16:3
filter add dev d0 parent 17: prio 1 protocol ip basic classid 17:2
filter add dev d0 parent 17:1 prio 1 protocol ip matchall classid 17:2 action gact ok
filter add dev d0 parent 18: prio 1 protocol all matchall classid 18:1
filter add dev d0 parent 19: prio 1 protocol all matchall classid 19:1 action police rate 100kbit burst 5k
'''
# what tc_filter's command lines cannot say (a gact's random choice, a police action's peak rate, the old police of a
# u32 filter, a flower's skip_hw) and CoDel times that tc's text rounds: made again as they were all the same (the
# request is the kernel's own dump); no hfsc here, so tc -j shows the qdiscs exactly
EXTRA_TREE = '''
qdisc add dev d3 root handle 1: htb default 10
class add dev d3 parent 1: classid 1:10 htb rate 1mbit
class add dev d3 parent 1: classid 1:11 htb rate 1mbit
class add dev d3 parent 1: classid 1:12 htb rate 1mbit
qdisc add dev d3 parent 1:10 handle 10: fq_codel target 3333us interval 77777us ce_threshold 1234us
qdisc add dev d3 parent 1:11 handle 11: codel target 4321us interval 99999us
qdisc add dev d3 parent 1:12 handle 12: netem delay 1.234567ms 333us loss 0.3333% rate 1234567bit
filter add dev d3 parent 1: prio 1 protocol all matchall classid 1:10 action gact drop random determ ok 10
filter add dev d3 parent 1: prio 2 protocol ip basic classid 1:11 action police rate 2mbit burst 20k peakrate 3mbit mtu 2k drop
filter add dev d3 parent 1: prio 3 protocol ip u32 match ip src 198.18.0.3/32 classid 1:12 police rate 1mbit burst 10k drop
filter add dev d3 parent 1: prio 4 protocol ip flower src_ip 198.18.0.0/24 classid 1:12 skip_hw
'''


def _filters(ns, dev, parent):
    """tc's text for the filters of one parent, without the ids of u32 hash tables and of actions (a filter made again
    keeps its action's index, but the kernel frees a deleted filter's actions a moment later, and one pasted gets the
    first free index)."""
    text = sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', dev, 'parent', parent, check=False)  # (none on a fifo)
    text = re.sub(r'\bindex [0-9]+ ref', 'index N ref', text)
    text = re.sub(r'\bpolice 0x[0-9a-f]+ ', 'police N ', text)
    return re.sub(r'\b8[0-9a-f]{2}:', 'HT:', re.sub(r'key ht 8[0-9a-f]{2}', 'key ht HT', text))


def tree(ns, dev):
    """The whole tc tree of ``dev`` as tc shows it: {'qdisc': {handle: line}, 'class': {classid: line},
    'filter': {parent: text}}, the classes and filters read per qdisc and per class."""
    out = {'qdisc': {}, 'class': {}, 'filter': {}}
    for line in sh('tc', '-n', ns, '-d', 'qdisc', 'show', 'dev', dev).splitlines():
        w = line.split()
        if len(w) > 2 and w[0] == 'qdisc' and w[2] != '0:':
            out['qdisc'][w[2]] = re.sub(r'\s+', ' ', re.sub(r'refcnt \d+ |direct_packets_stat \d+ ', '', line)).strip()
    for handle in out['qdisc']:
        for line in sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', dev, 'parent', handle).splitlines():
            w = line.split()
            if len(w) > 2 and w[0] == 'class' and w[1] in ('htb', 'hfsc', 'drr', 'qfq', 'prio'):  # (not flows)
                out['class'][w[2]] = re.sub(r'\s+', ' ', line).strip()
    for parent in list(out['qdisc']) + list(out['class']):
        out['filter'][parent] = _filters(ns, dev, parent)
    return out


def _diff(a, b):
    """What differs between two trees (or dicts of trees), line by line: an assertion's message."""
    def lines(t, path=''):
        if isinstance(t, dict):
            return [line for k in sorted(t) for line in lines(t[k], '%s/%s' % (path, k))]
        return ['%s: %s' % (path, line) for line in str(t).splitlines()]
    return '\n'.join(difflib.unified_diff(lines(a), lines(b), 'before', 'after', lineterm='', n=1))


def exact(ns, dev):
    """tc -j's qdiscs of ``dev`` (a device without hfsc), counters left out: times as the kernel reports them."""
    qdiscs = json.loads(sh('tc', '-n', ns, '-j', '-d', 'qdisc', 'show', 'dev', dev))
    for q in qdiscs:
        q.pop('refcnt', None)
        q.get('options', {}).pop('direct_packets_stat', None)
    return sorted(qdiscs, key=lambda q: q['handle'])


def _quanta(text, old, new):
    return text.replace('quantum %d ' % old, 'quantum %d ' % new)


def test_an_htb_replaced_for_r2q_and_default_keeps_a_tree_of_every_kind(ns, twin, play):
    """An htb's r2q and default are only taken when it is made: the change replaces it, and the kernel deletes its
    tree with it. A tree with a leaf qdisc of every kind (and their own classes, qdiscs and filters) and filters of
    every kind with actions is made again as it was (but the quanta the kernel derives from r2q), in both modes'
    commands: pasted on a twin with the same tree, they make the same tree. What the commands cannot say (d3) is made
    again as it was too: the kernel gets its own dump back. A second run changes nothing."""
    for where in (ns, twin):
        _made(where, HTB_TREE)
        _made(where, EXTRA_TREE)
    before, extra, extra_exact = tree(ns, 'd0'), tree(ns, 'd3'), exact(ns, 'd3')
    assert before['class']['18:1'].startswith('class drr 18:1 root leaf 181:'), before['class']
    assert len(before['qdisc']) == 16 and '16:3' in before['class'] and '17:2' in before['class'], before
    assert 'ce_threshold 1.23ms' in extra['qdisc']['10:'] and 'peakrate 3Mbit' in extra['filter']['1:'], extra
    assert tree(twin, 'd0') == before, _diff(before, tree(twin, 'd0'))
    task = {QM: {'netns': ns, 'config': [{'dev': 'd0', 'handle': '1:', 'kind': 'htb', 'default': '11', 'r2q': 20},
                                         {'dev': 'd3', 'handle': '1:', 'kind': 'htb', 'default': '11'}]}}
    real = printed_then_real(play, task, ns, twin, lambda where: tree(where, 'd0'))
    assert_no_traceback(real)
    lines = [c.split(' ', 3)[3] for c in real['commands'] if ' dev d0 ' in c]
    assert lines[:2] == ['qdisc del dev d0 root handle 1:', 'qdisc add dev d0 root handle 1: htb default 11 r2q 20']
    made = [[m.group(1), 'add', m.group(2)] for m in (re.match(
        r'^(qdisc|class) add dev \S+ parent \S+ (?:handle|classid) \S+ (\S+)', line) for line in lines[2:]) if m]
    for kind in ('fq_codel', 'sfq', 'netem', 'fq', 'codel', 'cake', 'prio', 'hfsc', 'drr', 'qfq', 'pfifo'):
        assert ['qdisc', 'add', kind] in made, (kind, lines)
    for kind in ('htb', 'hfsc', 'drr', 'qfq'):
        assert ['class', 'add', kind] in made, (kind, lines)
    for kind in ('flower', 'matchall', 'basic', 'fw', 'u32'):
        assert any(line.startswith('filter add ') and ' %s ' % kind in line for line in lines), (kind, lines)
    assert sum(line.startswith('filter add dev d0 ') for line in lines) == 13, lines
    assert any('sfq perturb 0 quantum 1514' in line for line in lines), lines  # (made without a limit: 128 flows)
    assert [w for w in real['warnings'] if re.search(
        r'sch_htb cannot change default, r2q in place: the qdisc is replaced \(deleted, then created\), and the 4[0-9] '
        r'class\(es\), qdisc\(s\) and filter\(s\) the kernel deletes with it are made again as they were', w)], \
        real['warnings']
    after = tree(ns, 'd0')
    assert after['qdisc'] == dict(before['qdisc'], **{'1:': before['qdisc']['1:'].replace(
        'r2q 10 default 0x10', 'r2q 20 default 0x11')}), (before['qdisc'], after['qdisc'])
    # the leaf classes' quanta, made from rate / r2q, follow the new r2q (as for the tc lines that made them)
    expect = dict((c, _quanta(line, 12500, 6250)) for c, line in before['class'].items())
    assert after['class'] == expect, _diff(expect, after['class'])
    assert after['filter'] == before['filter'], _diff(before['filter'], after['filter'])
    assert 'flows 128 ' in after['qdisc']['172:'] and 'limit 127p' in after['qdisc']['172:'], after['qdisc']
    now = tree(ns, 'd3')
    assert now == dict(extra, qdisc=dict(extra['qdisc'], **{'1:': extra['qdisc']['1:'].replace(
        'default 0x10', 'default 0x11')})), (extra, now)
    assert [q for q in exact(ns, 'd3') if q['handle'] != '1:'] == [q for q in extra_exact if q['handle'] != '1:']


# top-level hfsc, drr and qfq with classes, qdiscs and filters, and a prio with qdiscs in its bands
TOP_TREES = '''
qdisc add dev d4 root handle 4: hfsc default 2
class add dev d4 parent 4: classid 4:1 hfsc ls rate 10mbit ul rate 10mbit
class add dev d4 parent 4:1 classid 4:2 hfsc sc m1 2mbit d 20ms m2 1mbit
class add dev d4 parent 4:1 classid 4:3 hfsc rt rate 3mbit
qdisc add dev d4 parent 4:2 handle 42: fq_codel
qdisc add dev d4 parent 4:3 handle 43: cake bandwidth 3mbit besteffort
filter add dev d4 parent 4: prio 1 protocol ip flower ip_proto udp dst_port 53 classid 4:3 action skbedit priority 4:3
filter add dev d4 parent 4:1 prio 1 protocol ip u32 match ip tos 0x10 0xff classid 4:3 action gact pass
qdisc add dev d5 root handle 5: drr
class add dev d5 parent 5: classid 5:1 drr quantum 1500
class add dev d5 parent 5: classid 5:2 drr
qdisc add dev d5 parent 5:1 handle 51: sfq perturb 5
qdisc add dev d5 parent 5:2 handle 52: fq
filter add dev d5 parent 5: prio 1 protocol all matchall classid 5:2 action police rate 1mbit burst 10k
filter add dev d5 parent 5: prio 2 protocol ip handle 3 fw classid 5:1
qdisc add dev d6 root handle 6: qfq
class add dev d6 parent 6: classid 6:1 qfq weight 5 maxpkt 3000
qdisc add dev d6 parent 6:1 handle 61: codel target 4ms
filter add dev d6 parent 6: prio 1 protocol ip basic classid 6:1 action mirred egress mirror dev d1
qdisc add dev d7 root handle 7: prio bands 3
qdisc add dev d7 parent 7:1 handle 71: netem delay 5ms
qdisc add dev d7 parent 7:2 handle 72: tbf rate 1mbit burst 10k latency 50ms
filter add dev d7 parent 7: prio 1 protocol ip flower dst_ip 198.18.0.9 classid 7:1 action gact pipe
'''


def test_a_failed_run_restores_every_kind(ns, play):
    """A refusal after an htb was replaced for its r2q (its tree made again) and top-level hfsc, drr, qfq and prio
    qdiscs were replaced by another kind: the rollback adds each old qdisc again and makes again what went with it,
    of every kind, as it was."""
    _made(ns, HTB_TREE)
    _made(ns, TOP_TREES)
    _made(ns, '''
qdisc add dev d2 root handle 1: htb
class add dev d2 parent 1: classid 1:10 htb rate 1mbit
class add dev d2 parent 1: classid 1:20 htb rate 1mbit
''')
    devs = ('d0', 'd2', 'd4', 'd5', 'd6', 'd7')
    before = dict((dev, tree(ns, dev)) for dev in devs)
    assert sorted(before['d7']['qdisc']) == ['71:', '72:', '7:'] and sorted(before['d5']['class']) == ['5:1', '5:2']
    cfg = [{'dev': 'd0', 'handle': '1:', 'kind': 'htb', 'default': '11', 'r2q': 20}]
    cfg += [{'dev': dev, 'handle': '9:', 'kind': 'pfifo', 'limit': 10} for dev in ('d4', 'd5', 'd6', 'd7')]
    cfg += [{'dev': 'd2', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 20},
            {'dev': 'd2', 'parent': '1:20', 'handle': '10:', 'kind': 'pfifo', 'limit': 30}]  # refused: handle in use
    r = qdisc_handles_unchecked(ns, cfg)
    assert_no_traceback(r)
    assert r.get('failed') and 'parent 1:20' in r['object'] and not r.get('changed'), r
    assert 'rolled back the' in r['msg'] and not r['rollback_failed'] and not r.get('not_restored'), r
    assert any(' qdisc add dev d4 root handle 4: hfsc' in c for c in r['rolled_back']), r['rolled_back']
    now = settled(lambda: dict((dev, tree(ns, dev)) for dev in devs), before)
    assert now == before, _diff(before, now)


LEAFY = '''
qdisc add dev d0 root handle 1: htb
class add dev d0 parent 1: classid 1:1 htb rate 10mbit
class add dev d0 parent 1: classid 1:2 htb rate 10mbit
class add dev d0 parent 1:1 classid 1:20 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:30 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:40 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:50 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:60 htb rate 1mbit
qdisc add dev d0 parent 1:20 handle 20: hfsc default 1
class add dev d0 parent 20: classid 20:1 hfsc sc rate 1mbit
qdisc add dev d0 parent 20:1 handle 21: netem delay 3ms
filter add dev d0 parent 20: prio 1 protocol ip basic classid 20:1
qdisc add dev d0 parent 1:30 handle 30: prio bands 3
qdisc add dev d0 parent 30:1 handle 31: sfq perturb 7
qdisc add dev d0 parent 30:2 handle 32: fq_codel target 4ms
qdisc add dev d0 parent 1:40 handle 40: drr
class add dev d0 parent 40: classid 40:1 drr quantum 2000
qdisc add dev d0 parent 40:1 handle 41: codel
filter add dev d0 parent 40: prio 1 protocol all matchall classid 40:1 action police rate 500kbit burst 8k
qdisc add dev d0 parent 1:50 handle 50: qfq
class add dev d0 parent 50: classid 50:1 qfq weight 3
qdisc add dev d0 parent 50:1 handle 51: fq
qdisc add dev d0 parent 1:60 handle 60: cake bandwidth 1mbit diffserv3
filter add dev d0 parent 1:20 prio 1 protocol ip flower dst_ip 198.18.0.20 action gact pipe action mirred egress mirror dev d1
filter add dev d0 parent 1:30 prio 1 protocol ip handle 9 fw action skbedit priority 1:30
filter add dev d0 parent 1:40 prio 1 protocol ip u32 match ip dst 198.18.0.40/32 action skbedit mark 4
filter add dev d0 parent 1:50 prio 1 protocol all matchall action gact ok
'''


def test_a_class_move_keeps_a_leaf_qdisc_of_every_kind(ns, twin, play):
    """htb classes moved to another parent are deleted and added again, and the kernel deletes their leaf qdiscs (hfsc,
    prio, drr, qfq and cake here, with their classes, qdiscs and filters) and the filters attached to them: made again
    right after each class, as they were, in both modes; pasted, the commands make the same tree."""
    for where in (ns, twin):
        _made(where, LEAFY)
    before = tree(ns, 'd0')
    assert tree(twin, 'd0') == before, _diff(before, tree(twin, 'd0'))
    moved = ['1:20', '1:30', '1:40', '1:50', '1:60']
    task = {CM: {'netns': ns, 'config': [{'dev': 'd0', 'classid': c, 'parent': '1:2', 'rate': '1mbit'} for c in moved]}}
    real = printed_then_real(play, task, ns, twin, lambda where: tree(where, 'd0'))
    lines = [c.split(' ', 3)[3] for c in real['commands']]
    for c in moved:
        assert 'class del dev d0 parent 1:1 classid %s' % c in lines, lines
        assert any(line.startswith('qdisc add dev d0 parent %s handle %s0: ' % (c, c[2])) for line in lines), lines
    assert sum(line.startswith('filter add ') for line in lines) == 6, lines
    after = tree(ns, 'd0')
    assert after['qdisc'] == before['qdisc'] and after['filter'] == before['filter'], _diff(before, after)
    # the moved classes as they were but for their parent; 1:1 is a leaf now, 1:2 an inner class
    expect = dict((c, line.replace(' parent 1:1 ', ' parent 1:2 ') if c in moved else line)
                  for c, line in before['class'].items())
    expect['1:1'], expect['1:2'] = before['class']['1:2'].replace('1:2', '1:1'), before['class']['1:1'].replace('1:1', '1:2')
    assert after['class'] == expect, _diff(expect, after['class'])
