# -*- coding: utf-8 -*-
"""edgenet.linux.tc_class for HFSC, DRR and QFQ classes, which the host kernel lacks. Runs under user-mode
Linux only (make test-uml); few playbook runs, each doing a lot, because Python is slow in the guest.

The oracle is `tc -d class show` as text (iproute2 6.1 prints invalid JSON for HFSC)."""

import re

import pytest

from conftest import assert_no_traceback, sh

M = 'edgenet.linux.tc_class'
pytestmark = pytest.mark.uml
DEVS = ('c0', 'c1', 'c2', 'c3')


def shown(ns):
    """{(dev, classid): the text tc -d prints for the class, from its parent on}"""
    out = {}
    for dev in DEVS:
        for line in sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', dev).splitlines():
            w = line.split()
            if len(w) > 3 and w[0] == 'class' and w[3] != 'root' or len(w) > 4 and w[3] == 'root':
                out[(dev, w[2])] = re.sub(r'\s+', ' ', ' '.join(w[1:2] + w[3:])).strip()
    return out


TREE = [
    {'dev': 'c0', 'classid': '1:1', 'parent': '1:', 'ls': {'m2': '10mbit'}, 'ul': {'m2': '10mbit'}},
    {'dev': 'c0', 'classid': '1:10', 'parent': '1:1', 'rt': {'umax': '1500b', 'dmax': '10ms', 'rate': '1mbit'},
     'ls': {'m2': '1mbit'}},
    {'dev': 'c0', 'classid': '1:20', 'parent': '1:1', 'ls': {'m2': '6mbit'}},
    {'dev': 'c0', 'classid': '1:30', 'parent': '1:1', 'ls': {'m1': 0, 'd': '100ms', 'm2': '3mbit'}},
    {'dev': 'c0', 'classid': '1:40', 'parent': '1:1', 'sc': {'m2': '500kbit'}},
    {'dev': 'c1', 'classid': '2:1', 'parent': '2:', 'kind': 'drr', 'quantum': 3000},
    {'dev': 'c1', 'classid': '2:2', 'parent': '2:', 'kind': 'drr'},
    {'dev': 'c2', 'classid': '3:1', 'parent': '3:', 'weight': 10, 'maxpkt': 3000},
    {'dev': 'c2', 'classid': '3:2', 'parent': 'root', 'kind': 'qfq'},
    # made by tc itself (below) with odd values: nothing to change
    {'dev': 'c3', 'classid': '4:1', 'parent': '4:', 'sc': {'m1': '1001kbit', 'd': '13ms', 'm2': '333kbit'},
     'ul': {'m2': '2mbit'}},
    {'dev': 'c3', 'classid': '4:2', 'parent': '4:1', 'rt': {'umax': 1500, 'dmax': '10ms', 'rate': '100kbit'},
     'ls': {'m2': '50kbit'}},
]
EXPECT = {
    ('c0', '1:1'): 'hfsc parent 1: ls m1 0bit d 0us m2 10Mbit ul m1 0bit d 0us m2 10Mbit',
    ('c0', '1:10'): 'hfsc parent 1:1 rt m1 1200Kbit d 10ms m2 1Mbit ls m1 0bit d 0us m2 1Mbit',
    ('c0', '1:20'): 'hfsc parent 1:1 ls m1 0bit d 0us m2 6Mbit',
    ('c0', '1:30'): 'hfsc parent 1:1 ls m1 0bit d 100ms m2 3Mbit',
    ('c0', '1:40'): 'hfsc parent 1:1 sc m1 0bit d 0us m2 500Kbit',
    ('c1', '2:1'): 'drr root quantum 3000b',
    ('c1', '2:2'): 'drr root quantum 1514b',
    ('c2', '3:1'): 'qfq root weight 10 maxpkt 3000',
    ('c2', '3:2'): 'qfq root weight 1 maxpkt 1514',
}
CHANGE = [  # state replaced: the classes become exactly this
    {'dev': 'c0', 'classid': '1:10', 'parent': '1:1', 'ls': {'m2': '2mbit'}},  # rt left out: a new class
    {'dev': 'c0', 'classid': '1:20', 'parent': '1:1', 'ls': {'m2': '5mbit'}, 'ul': {'m2': '8mbit'}},
    {'dev': 'c1', 'classid': '2:1', 'parent': '2:', 'kind': 'drr', 'quantum': 4000},
    {'dev': 'c2', 'classid': '3:1', 'parent': '3:', 'weight': 20, 'lmax': 3000},
    {'dev': 'c2', 'classid': '3:2', 'parent': '3:', 'lmax': 2000},
]
BAD = [
    ({'dev': 'c0', 'classid': '1:50', 'parent': '1:1', 'kind': 'hfsc'}, 'rt'),  # no curve
    ({'dev': 'c0', 'classid': '1:51', 'parent': '1:1', 'rt': {'m2': '1mbit'}, 'ul': {'m2': '1mbit'}}, 'ul'),
    ({'dev': 'c0', 'classid': '1:52', 'parent': '1:99', 'ls': {'m2': '1mbit'}}, 'parent'),  # no such parent
    ({'dev': 'c0', 'classid': '1:53', 'parent': '1:1', 'rt': {'m1': '1mbit', 'd': '1ms'}}, 'rt.m2'),
    ({'dev': 'c2', 'classid': '3:3', 'parent': '3:', 'weight': 1025}, 'weight'),  # qfq weight out of range
    ({'dev': 'c2', 'classid': '3:4', 'parent': '3:', 'weight': 1, 'lmax': 100}, 'lmax'),
    ({'dev': 'c2', 'classid': '3:5', 'parent': '3:1', 'weight': 2}, 'parent'),  # qfq classes are flat
    ({'dev': 'c1', 'classid': '2:6', 'parent': '2:', 'kind': 'qfq'}, 'kind'),  # qdisc 2: is drr
    ({'dev': 'c0', 'classid': '1:54', 'parent': '1:1', 'rate': '1mbit'}, 'kind'),  # an htb option on hfsc
]


def test_full_kernel_classes(netns, play):
    ns = netns
    for dev in DEVS:
        sh('ip', '-n', ns, 'link', 'add', dev, 'type', 'dummy')
    for dev, handle, kind in (('c0', '1:', 'hfsc'), ('c1', '2:', 'drr'), ('c2', '3:', 'qfq'), ('c3', '4:', 'hfsc')):
        sh('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', handle, kind)
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'c3', 'parent', '4:', 'classid', '4:1', 'hfsc', 'sc', 'm1', '1001kbit',
       'd', '13ms', 'm2', '333kbit', 'ul', 'm2', '2mbit')
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'c3', 'parent', '4:1', 'classid', '4:2', 'hfsc', 'rt', 'umax', '1500b',
       'dmax', '10ms', 'rate', '100kbit', 'ls', 'm2', '50kbit')
    task = {M: {'netns': ns, 'config': TREE}}
    check, apply, again, gathered = play([dict(task, check_mode=True), task, task,
                                          {M: {'netns': ns, 'state': 'gathered'}}])
    for r in (check, apply, again, gathered):
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
    first = shown(ns)
    for key, text in EXPECT.items():
        assert first[key] == text, (key, first[key])
    assert check['changed'] and check['after'] == apply['after'] and check['commands'] == apply['commands']
    # parents first; the tc-made HFSC tree with odd values is already right
    c0 = [c.split()[10] for c in apply['commands'] if c.split()[6] == 'c0']
    assert c0[0] == '1:1' and sorted(c0) == ['1:1', '1:10', '1:20', '1:30', '1:40'], apply['commands']
    assert not [c for c in apply['commands'] if ' c3 ' in c], apply['commands']
    assert again['changed'] is False and again['commands'] == [], again['commands']
    by = dict(((o['dev'], o['classid']), o) for o in apply['after'])
    assert by[('c0', '1:10')]['rt'] == {'m1': 1200000, 'd': 10000, 'm2': 1000000}
    assert by[('c0', '1:40')]['rt'] == by[('c0', '1:40')]['ls'] == {'m1': 0, 'd': 0, 'm2': 500000}
    assert by[('c2', '3:2')] == {'dev': 'c2', 'classid': '3:2', 'parent': '3:', 'kind': 'qfq', 'weight': 1,
                                 'lmax': 1514}
    assert sorted(gathered['gathered'], key=str) == sorted(apply['after'], key=str)
    line = [c for c in apply['commands'] if ' 1:30 ' in c][0]
    assert line.endswith('hfsc ls m1 0bit d 100000us m2 3000000bit'), line

    replaced = {M: {'netns': ns, 'state': 'replaced', 'config': CHANGE}}
    prune = {M: {'netns': ns, 'state': 'overridden', 'dev': 'c0', 'config': TREE[:1] + CHANGE[1:2]}}
    results = play([{M: {'netns': ns, 'state': 'overridden', 'config': gathered['gathered']}},
                    dict(replaced, check_mode=True), replaced, replaced, dict(prune, check_mode=True), prune, prune,
                    {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'c1'}]}}])
    fed, check2, real2, again2, check3, real3, again3, deleted = results
    for r in results:
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
    assert fed['changed'] is False and fed['commands'] == [], fed['commands']
    assert check2['after'] == real2['after'] and check2['commands'] == real2['commands']
    verbs = [(c.split()[4], c.split()[10]) for c in real2['commands']]
    assert sorted(verbs) == [('add', '1:10'), ('change', '1:20'), ('change', '2:1'), ('change', '3:1'),
                             ('change', '3:2'), ('del', '1:10')], real2['commands']
    assert verbs.index(('del', '1:10')) < verbs.index(('add', '1:10'))
    assert again2['changed'] is False and again2['commands'] == []
    assert check3['after'] == real3['after'] and again3['changed'] is False
    assert sorted(c.split()[10] for c in real3['commands']) == ['1:10', '1:30', '1:40']
    assert [c.split()[10] for c in deleted['commands']] == ['2:2', '2:1'] or \
        sorted(c.split()[10] for c in deleted['commands']) == ['2:1', '2:2']
    now = shown(ns)
    assert now[('c0', '1:20')] == 'hfsc parent 1:1 ls m1 0bit d 0us m2 5Mbit ul m1 0bit d 0us m2 8Mbit'
    assert now[('c2', '3:1')] == 'qfq root weight 20 maxpkt 3000' and now[('c2', '3:2')] == 'qfq root weight 1 maxpkt 2000'
    assert ('c0', '1:10') not in now and not [k for k in now if k[0] == 'c1']

    # replaced without the ul curve of 1:1, which has a child: a curve left out takes a new class, which the kernel
    # cannot make while 1:20 hangs from it; the error named classid and spoke of a delete nobody asked for
    no_ul = {M: {'netns': ns, 'state': 'replaced', 'config': [
        {'dev': 'c0', 'classid': '1:1', 'parent': '1:', 'ls': {'m2': '10mbit'}}]}}
    bad = play([{M: {'netns': ns, 'config': [case[0]]}} for case in BAD] + [dict(no_ul, check_mode=True), no_ul])
    for r, (item, field) in zip(bad, BAD):
        assert_no_traceback(r)
        assert r.get('failed') and r.get('field') == field, (item, r.get('field'), r.get('msg'))
    for r in bad[len(BAD):]:
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'ul' and r['object'] == 'class 1:1 dev c0', r
        assert 'leaving out the ul curve the class has means deleting the class and making it again' in r['msg'], r
        assert 'while the class has children (1:20)' in r['msg'], r
    assert shown(ns) == now

    # the rendered commands work when pasted on fresh qdiscs, and make what the module makes
    for dev, handle, kind in (('c0', '1:', 'hfsc'), ('c1', '2:', 'drr'), ('c2', '3:', 'qfq')):
        sh('tc', '-n', ns, 'qdisc', 'del', 'dev', dev, 'root')
        sh('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', handle, kind)
    rendered = play({M: {'netns': ns, 'state': 'rendered', 'config': TREE[:9]}})[0]
    for line in rendered['rendered']:
        sh(*line.split())
    same = play({M: {'netns': ns, 'config': TREE[:9]}})[0]
    assert same['changed'] is False and same['commands'] == [], same['commands']


# an htb with a netem (no child qdisc) in one class, and a drr and an htb in two others: 6.1's dump of all the
# classes of d0 ends at the netem (its class cannot be dumped), and `tc class show dev d0` shows only 1:'s classes
NETEM_TREE = '''qdisc add dev d0 root handle 1: htb default 10
class add dev d0 parent 1: classid 1:1 htb rate 10mbit
class add dev d0 parent 1:1 classid 1:10 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:18 htb rate 1mbit
class add dev d0 parent 1:1 classid 1:20 htb rate 1mbit
qdisc add dev d0 parent 1:10 handle 10: netem delay 20ms
qdisc add dev d0 parent 1:18 handle 18: drr
class add dev d0 parent 18: classid 18:1 drr quantum 3000
qdisc add dev d0 parent 1:20 handle 20: htb
class add dev d0 parent 20: classid 20:1 htb rate 1mbit
class add dev d0 parent 20:1 classid 20:2 htb rate 1mbit
filter add dev d0 parent 20:1 prio 1 protocol ip u32 match ip dst 198.18.0.1/32 classid 20:2'''


def test_the_classes_of_qdiscs_after_a_netem_are_seen(netns, play):
    """The modules read a device's classes with one dump of the device. A netem without a child qdisc ends that
    dump on 6.1 (its class dump fails), so the classes of the qdiscs after it were not seen: tc_class gathered
    none of 18:1, 20:1, 20:2 and refused the classes that exist ("parent class 20:1 does not exist"), tc_filter's
    check mode predicted adding the u32 filter that exists and its real run failed ("class 20:1 does not exist"),
    and tc_qdisc's check mode predicted a qdisc under class 18:1 that its real run then refused ("class 18:1 does
    not exist"). They now read the classes of each qdisc with a dump of that qdisc. The oracle reads per qdisc too
    (tc class show ... parent), since tc's own device-wide dump misses the same classes."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'd0', 'type', 'dummy')
    sh('ip', '-n', ns, 'link', 'set', 'd0', 'up')
    for line in NETEM_TREE.splitlines():
        sh('tc', '-n', ns, *line.split())

    def classes():
        return sorted(re.sub(r'\s+', ' ', line).strip() for q in ('1:', '10:', '18:', '20:')
                      for line in sh('tc', '-n', ns, 'class', 'show', 'dev', 'd0', 'parent', q).splitlines())

    def filters():
        return sh('tc', '-n', ns, 'filter', 'show', 'dev', 'd0', 'parent', '20:1')
    before, filters_before = classes(), filters()
    assert [c for c in before if c.startswith('class drr 18:1 ')], before
    drr = {'dev': 'd0', 'classid': '18:1', 'parent': '18:', 'kind': 'drr', 'quantum': 3000}
    leaf = {'dev': 'd0', 'classid': '20:2', 'parent': '20:1', 'rate': '1mbit'}
    u32 = {'dev': 'd0', 'parent': '20:1', 'protocol': 'ip', 'prio': 1, 'kind': 'u32', 'classid': '20:2',
           'match': {'dst': '198.18.0.1'}}
    pfifo = {'dev': 'd0', 'parent': '18:1', 'handle': '181:', 'kind': 'pfifo', 'limit': 30}
    classes_task = {M: {'netns': ns, 'config': [drr, leaf]}}
    filter_task = {'edgenet.linux.tc_filter': {'netns': ns, 'config': [u32]}}
    qdisc_task = {'edgenet.linux.tc_qdisc': {'netns': ns, 'config': [pfifo]}}
    gathered, c_check, c_run, f_check, f_run, q_check, q_run, q_again = play([
        {M: {'netns': ns, 'state': 'gathered'}}, dict(classes_task, check_mode=True), classes_task,
        dict(filter_task, check_mode=True), filter_task, dict(qdisc_task, check_mode=True), qdisc_task, qdisc_task])
    for r in (gathered, c_check, c_run, f_check, f_run, q_check, q_run, q_again):
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
    assert set(o['classid'] for o in gathered['gathered']) == {'1:1', '1:10', '1:18', '1:20', '18:1', '20:1', '20:2'}, \
        gathered['gathered']
    for r in (c_check, c_run, f_check, f_run):
        assert r['changed'] is False and r['commands'] == [], r['commands']
    assert q_check['changed'] and q_check['commands'] == q_run['commands'], (q_check, q_run)
    assert q_again['changed'] is False and q_again['commands'] == [], q_again['commands']
    assert [c.replace(' leaf 181:', '') for c in classes()] == before and filters() == filters_before
    leaves = [line for line in sh('tc', '-n', ns, 'qdisc', 'show', 'dev', 'd0').splitlines() if ' 181: ' in line]
    assert len(leaves) == 1 and 'parent 18:1 limit 30p' in leaves[0], leaves
