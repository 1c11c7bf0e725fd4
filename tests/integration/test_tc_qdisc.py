# -*- coding: utf-8 -*-
"""edgenet.linux.tc_qdisc against a real kernel; the oracle is `tc -j qdisc show`."""

import json
import re
import subprocess

import pytest

from conftest import (assert_no_traceback, check_real_again, diff_side, ns_and_twin, printed_then_real, qdisc_handles_unchecked,
                      settled, sh)

M = 'edgenet.linux.tc_qdisc'


def tcj(ns, *args):
    out = sh('tc', '-n', ns, '-j', *args)
    return json.loads(out) if out.strip() else []


def qdiscs(ns):
    """{(dev, parent): tc's JSON object} without the kernel's default qdiscs (handle 0:)."""
    out = {}
    for q in tcj(ns, 'qdisc', 'show'):
        if q['handle'] == '0:':
            continue
        parent = 'root' if q.get('root') else ('ingress' if q.get('parent') == 'ffff:fff1' else q.get('parent'))
        q.pop('refcnt', None)
        q.get('options', {}).pop('direct_packets_stat', None)  # a counter: traffic (IPv6 DAD) moves it
        out[(q['dev'], parent)] = q
    return out


def _devices(netns):
    for a, b in (('e0', 'e1'), ('e2', 'e3')):
        sh('ip', '-n', netns, 'link', 'add', 'name', a, 'type', 'veth', 'peer', 'name', b)
        sh('ip', '-n', netns, 'link', 'set', a, 'up')
        sh('ip', '-n', netns, 'link', 'set', b, 'up')
    return netns


ns, twin = ns_and_twin(_devices)


CONFIG = [
    {'dev': 'e0', 'handle': '1:', 'kind': 'htb', 'default': 10, 'r2q': 20},
    {'dev': 'e0', 'kind': 'clsact'},
    {'dev': 'e1', 'handle': '2:', 'kind': 'tbf', 'rate': '1.5mbit', 'burst': '10kb', 'latency': '50ms'},
    {'dev': 'e2', 'handle': '3:', 'kind': 'pfifo', 'limit': 50},
    {'dev': 'e3', 'kind': 'ingress'},
]


def test_merged_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    check = play([task], check=True)[0]
    assert qdiscs(ns) == {}
    apply, again = play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['changed'] and check['before'] == [] and 'diff' in check
    q = qdiscs(ns)
    assert set(q) == {('e0', 'root'), ('e0', 'ingress'), ('e1', 'root'), ('e2', 'root'), ('e3', 'ingress')}
    assert q[('e0', 'root')]['kind'] == 'htb' and q[('e0', 'root')]['handle'] == '1:'
    assert q[('e0', 'root')]['options']['default'] == '0x10' and q[('e0', 'root')]['options']['r2q'] == 20
    assert q[('e0', 'ingress')]['kind'] == 'clsact'
    tbf = q[('e1', 'root')]
    assert tbf['kind'] == 'tbf' and tbf['handle'] == '2:' and tbf['options']['rate'] == 187500
    # latency 50ms -> limit = rate * latency + burst, as tc computes it; tc prints it back as lat 50ms (to the
    # microsecond: tc lets the kernel compute the bucket time, pyroute2 truncates it to whole microseconds)
    assert abs(tbf['options']['lat'] - 50000) <= 1 and tbf['options']['burst'] == 10239
    assert q[('e2', 'root')]['options']['limit'] == 50
    assert q[('e3', 'ingress')]['kind'] == 'ingress'
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert apply['commands'][0] == 'tc -n %s qdisc add dev e0 root handle 1: htb default 10 r2q 20' % ns
    after = dict(((o['dev'], o['parent']), o) for o in apply['after'])
    assert after[('e1', 'root')] == {'dev': 'e1', 'parent': 'root', 'handle': '2:', 'kind': 'tbf', 'rate': 1500000,
                                     'burst': 10240, 'limit': 19615}
    assert again['changed'] is False and again['commands'] == []
    assert again['before'] == apply['after']
    # gathered output fed back as config is no change
    # (gathered shows the bucket as tc prints it: 10kb is 10239 bytes at this rate)
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    assert [dict(o, burst=10240) if o['kind'] == 'tbf' else o for o in gathered] == apply['after']
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': gathered}})[0]
    assert r['changed'] is False and r['commands'] == [], r


def test_rendered_commands_work_when_pasted(ns, play):
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': CONFIG}})[0]
    assert len(r['rendered']) == 5
    for line in r['rendered']:
        words = line.split()
        assert words[:3] == ['tc', '-n', ns]
        sh(*words)
    # the pasted commands made exactly what the module would: a merged run changes nothing
    again = play({M: {'netns': ns, 'config': CONFIG}})[0]
    assert again['changed'] is False and again['commands'] == [], again


def test_change_in_place_and_kind_replace(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dev': 'e1', 'handle': '2:', 'kind': 'tbf', 'rate': '2mbit', 'burst': 20000, 'limit': 30000},
           {'dev': 'e2', 'handle': '3:', 'kind': 'pfifo', 'limit': 70},
           {'dev': 'e3', 'kind': 'clsact'}]
    check = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'config': cfg}}] * 2)
    assert check['after'] == real['after'] and check['commands'] == real['commands']
    assert real['commands'] == [
        'tc -n %s qdisc del dev e3 ingress' % ns,
        'tc -n %s qdisc change dev e1 root handle 2: tbf rate 2000000bit burst 20000 limit 30000' % ns,
        'tc -n %s qdisc change dev e2 root handle 3: pfifo limit 70' % ns,
        'tc -n %s qdisc add dev e3 clsact' % ns,
    ]
    assert 'kind: ingress' in diff_side(real, 'before') and 'kind: clsact' in diff_side(real, 'after')
    q = qdiscs(ns)
    # limit 30000 bytes at 250000 bytes/s, less the 80 ms bucket: tc prints lat 40ms
    assert q[('e1', 'root')]['options']['rate'] == 250000 and abs(q[('e1', 'root')]['options']['lat'] - 40000) <= 1
    assert q[('e2', 'root')]['options']['limit'] == 70 and q[('e3', 'ingress')]['kind'] == 'clsact'
    assert not again['changed'] and again['commands'] == []


def test_replaced_and_deleted_as_printed_make_the_same_state(ns, twin, play):
    """state replaced, then deleted: the commands of each check-mode run, pasted into tc on a twin namespace in
    the same state, make exactly what the real run makes (change, del and add lines; a kind change replaces
    the qdisc and warns that it takes its classes and filters along)."""
    for where in (ns, twin):
        play({M: {'netns': where, 'config': CONFIG}})
    cfg = [{'dev': 'e1', 'handle': '2:', 'kind': 'bfifo', 'limit': 30000},  # tbf to bfifo: replaced
           {'dev': 'e2', 'handle': '3:', 'kind': 'pfifo'},  # limit left out: back to the default (txqueuelen)
           {'dev': 'e3', 'kind': 'clsact'}]  # ingress to clsact: replaced
    real = printed_then_real(play, {M: {'netns': ns, 'state': 'replaced', 'config': cfg}}, ns, twin, qdiscs)
    assert [c.split(' ', 3)[3] for c in real['commands']] == [
        'qdisc del dev e1 root handle 2:',
        'qdisc del dev e3 ingress',
        'qdisc add dev e1 root handle 2: bfifo limit 30000',
        'qdisc change dev e2 root handle 3: pfifo limit 1000',
        'qdisc add dev e3 clsact',
    ]
    replaced = sorted(w for w in real['warnings'] if 'becomes' in w)
    assert len(replaced) == 2 and all('the qdisc is replaced (deleted, then created), which deletes its classes, '
                                      'child qdiscs and filters' in w for w in replaced), replaced
    assert ' dev e3 ' in replaced[0] and 'kind ingress becomes clsact' in replaced[0], replaced
    assert replaced[1].startswith('qdisc tbf 2: dev e1 parent root: kind tbf becomes bfifo;'), replaced
    q = qdiscs(ns)
    assert q[('e1', 'root')]['kind'] == 'bfifo' and q[('e1', 'root')]['options']['limit'] == 30000
    assert q[('e2', 'root')]['options']['limit'] == 1000 and q[('e3', 'ingress')]['kind'] == 'clsact'
    assert q[('e0', 'root')]['kind'] == 'htb'  # not listed: left alone
    real = printed_then_real(play, {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e0'}, {'kind': 'bfifo'}]}},
                             ns, twin, qdiscs)
    assert len(real['commands']) == 3 and set(qdiscs(ns)) == {('e2', 'root'), ('e3', 'ingress')}, real['commands']


def test_htb_option_change_replaces_with_warning(ns, play):
    play({M: {'netns': ns, 'config': CONFIG[:1]}})
    r = play({M: {'netns': ns, 'config': [dict(CONFIG[0], default='20')]}})[0]
    assert r['changed'] and [c.split(' ', 3)[3] for c in r['commands']] == [
        'qdisc del dev e0 root handle 1:', 'qdisc add dev e0 root handle 1: htb default 20 r2q 20']
    assert any('replaced' in w for w in r.get('warnings', []))
    assert qdiscs(ns)[('e0', 'root')]['options']['default'] == '0x20'


def test_overridden_and_deleted_keep_kernel_defaults(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    check = play({M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': CONFIG[:1]}}, check=True)[0]
    real = play({M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': CONFIG[:1]}})[0]
    assert check['after'] == real['after'] == [dict(dev='e0', parent='root', handle='1:', kind='htb', default='10',
                                                    r2q=20)]
    assert set(qdiscs(ns)) == {('e0', 'root'), ('e1', 'root'), ('e2', 'root'), ('e3', 'ingress')}
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'kind': 'tbf'}, {'dev': 'e3'}]}})[0]
    assert r['changed'] and set(qdiscs(ns)) == {('e0', 'root'), ('e2', 'root')}, r
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['changed'] and qdiscs(ns) == {}
    # the kernel's defaults (noqueue on veth) are still there and never show up
    assert all(q['handle'] == '0:' for q in tcj(ns, 'qdisc', 'show'))
    again = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert again['changed'] is False and again['before'] == []


def test_child_qdisc_under_a_class(ns, play):
    play({M: {'netns': ns, 'config': CONFIG[:1]}})
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1mbit')
    child = {'dev': 'e0', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 20}
    check = play({M: {'netns': ns, 'config': [child]}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'config': [child]}}] * 2)
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    assert real['commands'] == ['tc -n %s qdisc add dev e0 parent 1:10 handle 10: pfifo limit 20' % ns]
    assert qdiscs(ns)[('e0', '1:10')]['options']['limit'] == 20
    # a missing parent class is refused before anything is sent
    r = play({M: {'netns': ns, 'config': [dict(child, parent='1:99', handle='99:')]}})[0]
    assert r.get('failed') and r['field'] == 'parent' and '1:99' in r['msg']
    # deleting everything deletes the child before the root
    r = play({M: {'netns': ns, 'state': 'deleted', 'dev': 'e0'}})[0]
    assert [c.split()[7] for c in r['commands']] == ['parent', 'root'] and qdiscs(ns) == {}


def test_tc_root_handle_is_root(ns, play):
    """ffff:ffff (TC_H_ROOT written as a handle) is root for tc and the kernel: a qdisc and a top class given it
    attach at the root, the same objects as parent root (it was taken as a class handle)."""
    q = {'dev': 'e0', 'parent': 'ffff:ffff', 'handle': '1:', 'kind': 'htb'}
    c = {'dev': 'e0', 'parent': 'FFFF:FFFF', 'classid': '1:1', 'rate': '1mbit'}
    tasks = [{M: {'netns': ns, 'config': [q]}}, {'edgenet.linux.tc_class': {'netns': ns, 'config': [c]}}]
    real = play(tasks)
    assert all(r['changed'] and not r.get('failed') for r in real), real
    assert real[0]['after'][0]['parent'] == 'root' and real[1]['after'][0]['parent'] == '1:'
    assert list(qdiscs(ns)) == [('e0', 'root')] and qdiscs(ns)[('e0', 'root')]['handle'] == '1:'
    k = sh('tc', '-n', ns, 'class', 'show', 'dev', 'e0')  # iproute2 6.1 prints HTB classes as text even with -j
    assert [line.split()[:4] for line in k.splitlines()] == [['class', 'htb', '1:1', 'root']]
    # the same objects as root and 1: : nothing to change, either way written
    again = play(tasks + [{M: {'netns': ns, 'config': [dict(q, parent='root')]}},
                          {'edgenet.linux.tc_class': {'netns': ns, 'config': [dict(c, parent='1:')]}}])
    assert not any(r['changed'] for r in again), again


def test_level_top_and_child_leave_each_other_alone(ns, play):
    """level: a tree with qdiscs in its classes is applied as top qdiscs, classes, then the classes' qdiscs (the
    qos role's calls); overridden and deleted at one level never touch the other."""
    top = CONFIG[:2]  # htb 1: and clsact on e0
    child = {'dev': 'e0', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 20}
    play({M: {'netns': ns, 'level': 'top', 'config': top}})
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1mbit')
    first = play({M: {'netns': ns, 'level': 'child', 'state': 'overridden', 'config': [child]}})[0]
    assert first['changed'] and first['before'] == [] and [o['parent'] for o in first['after']] == ['1:10']
    r = play({M: {'netns': ns, 'level': 'top', 'state': 'overridden', 'config': top[:1]}})[0]
    assert r['changed'] and [c.split(' ', 3)[3] for c in r['commands']] == ['qdisc del dev e0 clsact']
    assert sorted(o['parent'] for o in r['before']) == ['ingress', 'root']
    assert set(qdiscs(ns)) == {('e0', 'root'), ('e0', '1:10')}
    r = play({M: {'netns': ns, 'level': 'child', 'state': 'overridden', 'config': [child]}})[0]
    assert not r['changed'] and r['before'] == first['after']
    # an item at the other level is refused before anything is sent, naming its field
    for level, item in (('top', child), ('child', top[0]), ('child', top[1])):
        r = play({M: {'netns': ns, 'level': level, 'config': [item]}})[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'parent' and 'level %s' % level in r['msg'], r
    # deleted at the child level: the class's qdisc only (a selector by kind alone selects at that level)
    r = play({M: {'netns': ns, 'level': 'child', 'state': 'deleted', 'config': [{'kind': 'htb'}]}})[0]
    assert not r['changed'] and len(qdiscs(ns)) == 2, r
    r = play({M: {'netns': ns, 'level': 'child', 'state': 'deleted', 'config': [{'kind': 'pfifo'}]}})[0]
    assert r['changed'] and set(qdiscs(ns)) == {('e0', 'root')}
    r = play({M: {'netns': ns, 'level': 'top', 'state': 'deleted', 'config': [{'dev': 'e0'}]}})[0]
    assert r['changed'] and qdiscs(ns) == {}


@pytest.mark.parametrize('item,field', [
    ({'dev': 'e1', 'kind': 'htb'}, 'handle'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'htb', 'rate': '1mbit'}, 'rate'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'rate': '1mbps', 'burst': '10kb'}, 'limit'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'rate': '10 furlongs', 'burst': '10kb', 'limit': 1000}, 'rate'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10kb', 'latency': '5 fortnights'},
     'latency'),
    ({'dev': 'e1', 'handle': '1:10', 'kind': 'htb'}, 'handle'),
    ({'dev': 'e1', 'handle': '1:', 'parent': 'ingress', 'kind': 'htb'}, 'parent'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'htb', 'default': 'xyz'}, 'default'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'pfifo', 'limit': 0}, 'limit'),
    ({'dev': 'nope', 'handle': '1:', 'kind': 'htb'}, 'dev'),
    ({'dev': 'e1', 'kind': 'ingress', 'handle': '1:'}, 'handle'),
])
def test_bad_input_names_field_and_changes_nothing(ns, play, item, field):
    play({M: {'netns': ns, 'config': CONFIG[:1]}})
    before = qdiscs(ns)
    r = play({M: {'netns': ns, 'config': [CONFIG[1], item]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and r.get('field') == field, r
    assert qdiscs(ns) == before


def test_bfifo_and_tbf_peakrate(ns, play):
    """bfifo (bytes) and TBF's peak rate with its mtu/minburst bucket, which the module sends as a size
    (TCA_TBF_PBURST) so the kernel computes the time exactly; in place changes; tc-made is no change."""
    cfg = [{'dev': 'e0', 'handle': '1:', 'kind': 'bfifo', 'limit': '30kb'},
           {'dev': 'e1', 'handle': '2:', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10kb', 'latency': '50ms',
            'peakrate': '2mbit', 'minburst': 1540}]
    task = {M: {'netns': ns, 'config': cfg}}
    check, apply, again = play([dict(task, check_mode=True), task, task])
    for r in (check, apply, again):
        assert not r.get('failed'), r.get('msg')
    assert check['after'] == apply['after'] and check['commands'] == apply['commands'] and again['changed'] is False
    q = qdiscs(ns)
    assert q[('e0', 'root')]['kind'] == 'bfifo' and q[('e0', 'root')]['options']['limit'] == 30720
    tbf = q[('e1', 'root')]['options']
    assert tbf['rate'] == 125000 and tbf['minburst'] == 1540 and abs(tbf['burst'] - 10240) <= 1
    assert abs(tbf['lat'] - 50000) <= 1
    assert 'peakrate 2Mbit mtu 1540b' in sh('tc', '-n', ns, '-d', 'qdisc', 'show', 'dev', 'e1')
    after = dict(((o['dev'], o['parent']), o) for o in apply['after'])
    # limit = min(rate x latency + burst, peakrate x latency + mtu), as tc computes it
    assert after[('e1', 'root')] == {'dev': 'e1', 'parent': 'root', 'handle': '2:', 'kind': 'tbf', 'rate': 1000000,
                                     'burst': 10240, 'limit': 14040, 'peakrate': 2000000, 'mtu': 1540}
    peak = {'dev': 'e1', 'handle': '2:', 'kind': 'tbf', 'peakrate': '3mbit', 'mtu': 3000}
    r = play({M: {'netns': ns, 'config': [dict(cfg[0], limit=50000), peak]}})[0]
    assert [c.split()[4] for c in r['commands']] == ['change', 'change'], r['commands']
    q = qdiscs(ns)
    assert q[('e0', 'root')]['options']['limit'] == 50000
    assert abs(q[('e1', 'root')]['options']['minburst'] - 3000) <= 1  # tc prints the size the ticks buy
    assert re.search(r'peakrate 3Mbit mtu (2999|3000)b', sh('tc', '-n', ns, '-d', 'qdisc', 'show', 'dev', 'e1'))
    # the same made by tc itself: no change
    for dev in ('e2', 'e3'):
        sh('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '5:', 'tbf', 'rate', '1234kbit', 'burst',
           '7777', 'latency', '33ms', 'peakrate', '3333kbit', 'mtu', '1999')
    same = {'handle': '5:', 'kind': 'tbf', 'rate': '1234kbit', 'burst': 7777, 'latency': '33ms',
            'peakrate': '3333kbit', 'mtu': 1999}
    r = play({M: {'netns': ns, 'config': [dict(same, dev='e2'), dict(same, dev='e3')]}})[0]
    assert r['changed'] is False and r['commands'] == [], r['commands']
    # rendered lines work when pasted
    sh('tc', '-n', ns, 'qdisc', 'del', 'dev', 'e0', 'root')
    sh('tc', '-n', ns, 'qdisc', 'del', 'dev', 'e1', 'root')
    for line in play({M: {'netns': ns, 'state': 'rendered', 'config': cfg}})[0]['rendered']:
        sh(*line.split())
    r = play(task)[0]
    assert r['changed'] is False and r['commands'] == [], r['commands']


@pytest.mark.parametrize('item,field', [
    ({'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10kb', 'limit': 9000,
      'peakrate': '2mbit'}, 'mtu'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'rate': '2mbit', 'burst': '10kb', 'limit': 9000,
      'peakrate': '1mbit', 'mtu': 1500}, 'peakrate'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'bfifo', 'limit': 'big'}, 'limit'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'bfifo', 'bands': 3}, 'bands'),
    ({'dev': 'e1', 'handle': '1:', 'kind': 'netem', 'loss': '200%'}, 'loss'),
])
def test_bad_input_new_kinds(ns, play, item, field):
    before = qdiscs(ns)
    r = play({M: {'netns': ns, 'config': [CONFIG[1], item]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and r.get('field') == field, r
    assert qdiscs(ns) == before


def test_kernel_refusal_midway_rolls_back_the_whole_plan(ns, play):
    """Two qdiscs of one device with the same handle, with the module's own check of handles turned off: the
    kernel refuses the second ("Cannot move an existing qdisc to a different parent"); the qdiscs the same pipelined
    batch added before it are deleted again and the kernel is as before. (The module refuses such a task before
    anything is sent: test_a_second_qdisc_with_a_handle_is_refused_naming_handle.)"""
    play({M: {'netns': ns, 'config': CONFIG[:1]}})
    for minor in ('10', '20'):
        sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:' + minor, 'htb', 'rate', '1mbit')
    before = qdiscs(ns)
    cfg = [CONFIG[2], {'dev': 'e0', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 20},
           {'dev': 'e0', 'parent': '1:20', 'handle': '10:', 'kind': 'pfifo', 'limit': 30}]
    r = qdisc_handles_unchecked(ns, cfg)
    assert r.get('failed') and r['object'].startswith('qdisc') and 'parent 1:20' in r['object'], r
    assert 'refused the tc qdisc add' in r['msg'] and 'rolled back the 2 change(s) already made' in r['msg'], r
    assert qdiscs(ns) == before


def test_tbf_merged_change_keeps_link_layer_overhead_and_mpu(ns, play):
    """A tbf made by tc with a link layer, an overhead and an mpu the module does not model: a merged change of its
    limit keeps them (oracle: tc -d qdisc show), its command names them, and the same change again is none."""
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'root', 'handle', '1:', 'tbf', 'rate', '10mbit', 'burst', '20kb',
       'limit', '30000', 'mpu', '64', 'overhead', '8', 'linklayer', 'atm')

    def line():
        return [x for x in sh('tc', '-n', ns, '-d', 'qdisc', 'show', 'dev', 'e0').splitlines() if 'tbf' in x][0]
    assert 'linklayer atm' in line() and 'mpu 64b' in line() and 'overhead 8' in line(), line()
    burst = line().split(' burst ')[1].split()[0]
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'handle': '1:', 'kind': 'tbf', 'limit': 40000}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert_no_traceback(real)
    assert real['changed'] and not again['changed'] and check['commands'] == real['commands'], (check, real)
    assert real['commands'][0].endswith('mpu 64 overhead 8 linklayer atm'), real['commands']
    assert 'linklayer atm' in line() and 'mpu 64b' in line() and 'overhead 8' in line(), line()
    assert line().split(' burst ')[1].split()[0] == burst, (burst, line())  # the same bucket


def test_tbf_with_a_link_layer_is_the_size_tc_was_given(ns, twin, play):
    """A tbf made by tc with a link layer, an overhead and an mpu: the kernel sizes its bucket from the adjusted
    length (ATM cells of 53 bytes for 48, plus the overhead), and tc prints that length back. The size tc was given
    is the same bucket (no change, check mode and real run), the gathered size given back is too, and a merged rate
    change keeps the bucket's bytes: its printed command, pasted into tc on a twin, makes what the real run makes,
    and changing the rate back gives the first bucket again (it used to grow with every change: the printed,
    adjusted size was sent, and adjusted again)."""
    spec = ('mpu', '64', 'overhead', '8', 'linklayer', 'atm')
    for where in (ns, twin):
        sh('tc', '-n', where, 'qdisc', 'add', 'dev', 'e0', 'root', 'handle', '1:', 'tbf', 'rate', '10mbit', 'burst',
           '10240', 'limit', '30000', 'peakrate', '20mbit', 'mtu', '2000', *spec)
    first = qdiscs(ns)
    assert first[('e0', 'root')]['options']['burst'] == 11341, first  # what tc prints: the adjusted length

    def task(**fields):
        return {M: {'netns': ns, 'config': [dict({'dev': 'e0', 'handle': '1:', 'kind': 'tbf'}, **fields)]}}
    given = task(rate='10mbit', burst=10240, limit=30000, peakrate='20mbit', mtu=2000)
    check = play(given, check=True)[0]
    real = play(given)[0]
    for r in (check, real):
        assert_no_traceback(r)
        assert not r['changed'] and r['commands'] == [], r
    assert qdiscs(ns) == first
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    mine = [q for q in gathered if q['dev'] == 'e0' and q.get('kind') == 'tbf'][0]
    assert 10240 <= mine['burst'] < 10240 + 48 and 2000 <= mine['mtu'] < 2000 + 48, mine  # (one ATM cell's bytes)
    again = play({M: {'netns': ns, 'config': [mine]}})[0]
    assert not again['changed'] and again['commands'] == [], again

    refused = play(task(rate='40mbit'), check=True)[0]  # (above the kernel's peak rate: the kernel refuses it)
    assert_no_traceback(refused)
    assert refused.get('failed') and 'peakrate' in refused['msg'] and 'e0' in refused['object'], refused
    real = printed_then_real(play, task(rate='15mbit'), ns, twin, qdiscs)
    assert real['commands'][0].endswith(' '.join(spec)), real['commands']
    moved = qdiscs(ns)[('e0', 'root')]['options']
    assert moved['rate'] == 1875000 and abs(moved['burst'] - 11341) <= 1, moved  # the same bytes at the new rate
    for rate in ('10mbit', '15mbit', '10mbit'):
        r = play(task(rate=rate))[0]
        assert_no_traceback(r)
        assert r['changed'], r
    assert qdiscs(ns) == first, (qdiscs(ns), first)


def test_tbf_merged_change_keeps_the_buckets(ns, play):
    """A merged change that leaves out burst and mtu keeps the kernel's buckets: it used to send back the size tc
    prints (cut to whole microseconds), and every such change made the buckets smaller (101000 bytes at 20gbit:
    100000, 97500, 95000 ...). Check mode predicts the real run; the same change again is no change."""
    play({M: {'netns': ns, 'config': [
        {'dev': 'e0', 'handle': '1:', 'kind': 'tbf', 'rate': '20gbit', 'burst': 101000, 'limit': 200000},
        {'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'rate': '1mbit', 'burst': 1600, 'limit': 10000,
         'peakrate': '2gbit', 'mtu': 1600}]}})
    first = qdiscs(ns)
    assert first[('e0', 'root')]['options']['burst'] == 100000 and first[('e1', 'root')]['options']['minburst'] == 1500
    for limit in (210000, 220000, 230000):
        task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'handle': '1:', 'kind': 'tbf', 'limit': limit},
                                            {'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'limit': limit // 10}]}}
        _check, real, _again = check_real_again(play, task)
        assert real['changed']
        q = qdiscs(ns)
        for dev, field in (('e0', 'burst'), ('e1', 'burst'), ('e1', 'minburst')):
            assert q[(dev, 'root')]['options'][field] == first[(dev, 'root')]['options'][field], (limit, q)
        assert q[('e0', 'root')]['options']['rate'] == 2500000000 and q[('e1', 'root')]['options']['rate'] == 125000
        after = dict((o['dev'], o) for o in real['after'])
        assert after['e0']['burst'] == 100000 and after['e1']['burst'] == 1600 and after['e1']['mtu'] == 1500
    # a new rate without a burst keeps the bucket's bytes (the printed size at 20gbit is 1000 bytes short)
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'handle': '1:', 'kind': 'tbf', 'rate': '10gbit'}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert check['after'] == real['after'] and check['commands'] == real['commands'] and not again['changed']
    burst = qdiscs(ns)[('e0', 'root')]['options']['burst']
    assert burst == real['after'][0]['burst'] and 100000 <= burst <= 101000, (burst, real['commands'])


def test_tbf_rates_of_32gbit_and_more(ns, twin, play):
    """A tbf rate or peak rate of 2^32 bytes/s (34.4 Gbit/s) or more travels as a u64 beside the ratespec
    (TCA_TBF_RATE64, TCA_TBF_PRATE64): the module refused such rates as input ("not supported"), though it gathered
    them from the kernel and made them again (tc_qdisc's snapshot replays). They are sent as tc sends them: the
    printed commands pasted make the same qdiscs, a second run changes nothing, gathered output fed back is no
    change, and a merged change of the limit keeps the buckets."""
    task = {M: {'netns': ns, 'config': [
        {'dev': 'e0', 'handle': '1:', 'kind': 'tbf', 'rate': '40gbit', 'burst': '1mb', 'latency': '10ms'},
        {'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'rate': '35gbit', 'burst': '512kb', 'limit': '4mb',
         'peakrate': '50gbit', 'mtu': '64kb'}]}}
    real = printed_then_real(play, task, ns, twin, qdiscs)
    q = qdiscs(ns)
    e0, e1 = q[('e0', 'root')]['options'], q[('e1', 'root')]['options']
    assert e0['rate'] == 5000000000 and e1['rate'] == 4375000000, q  # (bytes per second)
    assert 1040000 <= e0['burst'] <= 1048576 and 520000 <= e1['burst'] <= 524288, q
    assert re.search(r'qdisc tbf 1: root .*rate 35Gbit burst \S+ peakrate 50Gbit minburst', sh(
        'tc', '-n', ns, 'qdisc', 'show', 'dev', 'e1')), sh('tc', '-n', ns, 'qdisc', 'show', 'dev', 'e1')
    after = dict((o['dev'], o) for o in real['after'])
    assert after['e0']['rate'] == 40000000000 and after['e1']['peakrate'] == 50000000000, after
    gathered = [o for o in play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered'] if o['kind'] == 'tbf']
    assert len(gathered) == 2, gathered
    _check, fed, _again = check_real_again(play, {M: {'netns': ns, 'config': gathered}})
    assert fed['changed'] is False and qdiscs(ns) == q, fed
    _check, limit, _again = check_real_again(play, {M: {'netns': ns, 'config': [
        {'dev': 'e0', 'handle': '1:', 'kind': 'tbf', 'limit': 60000000}]}})
    assert limit['changed'] and qdiscs(ns)[('e0', 'root')]['options']['burst'] == e0['burst'], limit


def test_tbf_buckets_under_a_microsecond_are_gathered_as_sizes_that_feed_back(ns, twin, play):
    """A TBF bucket that lasts less than a microsecond at its rate (a peak bucket of 100 bytes at 10gbit, a
    1500-byte bucket at 20gbit) was gathered as the size tc prints, cut to whole microseconds: 0, which fed back
    was refused (mtu must be more than 0 bytes). It is gathered as the size that makes the kernel's bucket: fed back
    it is no change, and the commands pasted make the same qdiscs."""
    task = {M: {'netns': ns, 'config': [
        {'dev': 'e0', 'handle': '1:', 'kind': 'tbf', 'rate': '20gbit', 'burst': 1500, 'limit': 100000},
        {'dev': 'e1', 'handle': '1:', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10k', 'limit': '10k',
         'peakrate': '10gbit', 'mtu': 100}]}}
    printed_then_real(play, task, ns, twin, qdiscs)
    q = qdiscs(ns)
    gathered = [o for o in play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered'] if o['kind'] == 'tbf']
    by_dev = dict((o['dev'], o) for o in gathered)
    assert 1500 <= by_dev['e0']['burst'] < 1700 and 100 <= by_dev['e1']['mtu'] < 200, gathered  # (the largest sizes)
    check, fed, again = check_real_again(play, {M: {'netns': ns, 'config': gathered}})
    for r in (check, fed, again):
        assert_no_traceback(r)
        assert not r.get('failed') and r['changed'] is False and r['commands'] == [], r
    assert qdiscs(ns) == q
    # given as gathered, for a change of the limit: the buckets stay, and the commands pasted make them
    changed = [dict(o, limit=o['limit'] + 1000) for o in gathered]
    twin_task = {M: {'netns': twin, 'config': changed}}
    real = printed_then_real(play, {M: {'netns': ns, 'config': changed}}, ns, twin, qdiscs)
    assert real['changed'] and play(twin_task)[0]['changed'] is False
    now = qdiscs(ns)
    for dev, field in (('e0', 'burst'), ('e1', 'minburst')):
        assert now[(dev, 'root')]['options'][field] == q[(dev, 'root')]['options'][field], (now, q)


def test_merged_kind_change_starts_from_the_new_kinds_defaults(ns, play):
    """merged with another kind replaces the qdisc; what the element leaves out is the new kind's default, not the
    old qdisc's option (a tbf's 50000-byte limit became a pfifo of 50000 packets; htb to bfifo failed with an
    internal error, KeyError 'limit'). Check mode predicts the real run."""
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'root', 'handle', '1:', 'tbf', 'rate', '1mbit', 'burst', '10kb',
       'limit', '50000')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e1', 'root', 'handle', '1:', 'htb', 'default', '10')
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'handle': '1:', 'kind': 'pfifo'},
                                        {'dev': 'e1', 'kind': 'bfifo'}]}}  # (handle: the old qdisc's)
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['after'] == real['after'] and check['commands'] == real['commands']
    assert real['after'] == [{'dev': 'e0', 'parent': 'root', 'handle': '1:', 'kind': 'pfifo', 'limit': 1000},
                             {'dev': 'e1', 'parent': 'root', 'handle': '1:', 'kind': 'bfifo', 'limit': 1514000}]
    assert [c.split(' ', 3)[3] for c in real['commands']] == [
        'qdisc del dev e0 root handle 1:', 'qdisc del dev e1 root handle 1:',
        'qdisc add dev e0 root handle 1: pfifo limit 1000', 'qdisc add dev e1 root handle 1: bfifo limit 1514000']
    q = qdiscs(ns)
    assert q[('e0', 'root')]['kind'] == 'pfifo' and q[('e0', 'root')]['options']['limit'] == 1000  # txqueuelen
    assert q[('e1', 'root')]['kind'] == 'bfifo' and q[('e1', 'root')]['options']['limit'] == 1514000
    assert not again['changed'] and again['commands'] == []


@pytest.mark.parametrize('default', ['-1', '-0x5', '10000'])
def test_htb_default_out_of_range_is_refused_in_both_modes(ns, play, default):
    """A negative default passed validation and check mode, then the real run failed with an internal error."""
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'handle': '1:', 'kind': 'htb', 'default': default}]}}
    for r in (play(task, check=True)[0], play(task)[0]):
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'default' and r['object'] == 'config[0]', r
        assert 'is not a class minor number (0 to ffff)' in r['msg'], r
    assert qdiscs(ns) == {}


def _htb_tree(ns, dev):
    """htb 1: on ``dev`` with class 1:10, a pfifo 10: in it and a u32 filter to it, made by tc."""
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '10')
    sh('tc', '-n', ns, 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1mbit')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'parent', '1:10', 'handle', '10:', 'pfifo', 'limit', '30')
    sh('tc', '-n', ns, 'filter', 'add', 'dev', dev, 'parent', '1:', 'prio', '1', 'protocol', 'ip', 'u32', 'match',
       'ip', 'dst', '198.18.0.1/32', 'classid', '1:10')


def _classes(ns, dev):
    return [line.split()[2] for line in sh('tc', '-n', ns, 'class', 'show', 'dev', dev).splitlines()]


def _dev_tree(ns, dev):
    """The oracle for one device: tc -d's qdiscs, classes and filters (all parents), as text, counters left out."""
    out = []
    for what in ('qdisc', 'class', 'filter'):
        text = sh('tc', '-n', ns, '-d', what, 'show', 'dev', dev)
        out.append(re.sub(r'refcnt \d+ |direct_packets_stat \d+ ', '', text))
    return out


def test_an_option_change_that_replaces_an_htb_keeps_its_tree(ns, twin, play):
    """An htb's r2q and default are only taken when the qdisc is made: a change replaces it, and the kernel deletes its
    classes, their qdiscs and the filters with it. They are now made again as they were, right after it, in both
    modes' commands (pasted into tc, they make the same tree); before, a successful run warned and left the htb empty.
    A config that lists the child qdisc as it is (overridden) is fine; one that changes it in the same task gets the
    tree back as it was read, then the change (before: refused up front)."""
    for where in (ns, twin):
        _htb_tree(where, 'e0')
        sh('tc', '-n', where, 'class', 'add', 'dev', 'e0', 'parent', '1:10', 'classid', '1:11', 'htb', 'rate', '512kbit')
        sh('tc', '-n', where, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '2mbit')
        sh('tc', '-n', where, 'qdisc', 'add', 'dev', 'e0', 'parent', '1:20', 'handle', '20:', 'tbf', 'rate', '1mbit',
           'burst', '10kb', 'latency', '50ms')
    before = _dev_tree(ns, 'e0')
    assert 'leaf 10:' not in before[1] and 'qdisc pfifo 10:' not in before[0]  # (1:10 got a child: its leaf went)
    top = {'dev': 'e0', 'handle': '1:', 'kind': 'htb', 'default': '20', 'r2q': 20}
    child = {'dev': 'e0', 'parent': '1:20', 'handle': '20:', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10kb',
             'latency': '50ms'}
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': [top, child]}}
    real = printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    assert_no_traceback(real)
    check = play(task, check=True)[0]  # (after the real run: nothing left to change)
    assert not check['changed'] and check['commands'] == [], check
    lines = [c.split(' ', 3)[3] for c in real['commands']]
    assert lines[:2] == ['qdisc del dev e0 root handle 1:', 'qdisc add dev e0 root handle 1: htb default 20 r2q 20']
    assert sorted(line.split(' classid ')[1].split()[0] for line in lines if line.startswith('class add')) == \
        ['1:10', '1:11', '1:20'], lines
    assert any(line.startswith('qdisc add dev e0 parent 1:20 handle 20: tbf') for line in lines), lines
    assert sum(line.startswith('filter add dev e0 parent 1: ') for line in lines) == 1, lines
    assert [w for w in real['warnings'] if 'sch_htb cannot change default, r2q in place: the qdisc is replaced '
            '(deleted, then created), and the 5 class(es), qdisc(s) and filter(s) the kernel deletes with it are made '
            'again as they were' in w], real['warnings']
    assert [(o['parent'], o['kind']) for o in real['after']] == [('1:20', 'tbf'), ('root', 'htb')], real['after']
    after = _dev_tree(ns, 'e0')
    # the classes and the filter, as they were; the leaf classes' quanta, made from rate / r2q, follow the new r2q (as
    # for the tc lines that made them, and as tc_class computes them)
    assert after[1] == before[1].replace('quantum 6400', 'quantum 3200').replace('quantum 25000', 'quantum 12500')
    assert after[2] == before[2], (before, after)
    assert after[0] == before[0].replace('r2q 10 default 0x10', 'r2q 20 default 0x20'), (before[0], after[0])
    # a change of the child qdisc in the same task: the tree comes back as it was, then the child is changed (both
    # modes' commands in that order; pasted into tc on the twin, they give the same tree)
    task = {M: {'netns': ns, 'dev': 'e0', 'config': [dict(top, r2q=30), dict(child, rate='2mbit')]}}
    real = printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    assert_no_traceback(real)
    assert real['changed'] and not real.get('failed'), real
    lines = [c.split(' ', 3)[3] for c in real['commands']]
    assert lines[:2] == ['qdisc del dev e0 root handle 1:', 'qdisc add dev e0 root handle 1: htb default 20 r2q 30']
    made = [i for i, line in enumerate(lines) if line.startswith('qdisc add dev e0 parent 1:20 handle 20: tbf')]
    changed = [i for i, line in enumerate(lines) if line.startswith('qdisc change dev e0 parent 1:20 handle 20: tbf')]
    assert len(made) == 1 and len(changed) == 1 and made[0] < changed[0], lines
    assert 'rate 2000000bit' in lines[changed[0]], lines
    now = _dev_tree(ns, 'e0')
    assert 'qdisc tbf 20: parent 1:20 rate 2Mbit' in now[0] and 'r2q 30 ' in now[0], now[0]
    assert now[2] == after[2], (after, now)
    assert [c.split()[2] for c in now[1].splitlines() if c.startswith('class')] == \
        [c.split()[2] for c in after[1].splitlines() if c.startswith('class')], (after[1], now[1])
    again = play(task)[0]
    assert not again['changed'] and again['commands'] == [], again


def test_an_option_change_refused_when_the_tree_cannot_come_back(ns, play):
    """What the kernel deletes along with an htb whose r2q changes, of a kind this module cannot make again as it was
    (pfifo_head_drop here): refused up front in both modes, naming it; nothing changes."""
    _htb_tree(ns, 'e0')
    sh('tc', '-n', ns, 'qdisc', 'del', 'dev', 'e0', 'parent', '1:10')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'parent', '1:10', 'handle', '10:', 'pfifo_head_drop', 'limit', '5')
    before = _dev_tree(ns, 'e0')
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'handle': '1:', 'kind': 'htb', 'default': '10', 'r2q': 20}]}}
    for r in (play(task, check=True)[0], play(task)[0]):
        assert_no_traceback(r)
        assert r.get('failed') and r['object'] == 'qdisc htb 1: dev e0 parent root' and r['field'] == 'r2q', r
        assert 'the kernel deletes with it qdisc pfifo_head_drop 10: dev e0 parent 1:10, which this module cannot make ' \
               'again as it was' in r['msg'], r
        assert not r.get('changed'), r
    assert _dev_tree(ns, 'e0') == before


def test_a_failed_run_restores_an_htb_replaced_for_an_option(ns, play):
    """A refusal after an htb was replaced for its r2q and its tree made again: the rollback deletes the new htb and
    adds the old one with its tree, as it was."""
    _htb_tree(ns, 'e0')
    for line in ('qdisc add dev e2 root handle 1: htb', 'class add dev e2 parent 1: classid 1:10 htb rate 1mbit',
                 'class add dev e2 parent 1: classid 1:20 htb rate 1mbit'):
        sh('tc', '-n', ns, *line.split())
    before = _dev_tree(ns, 'e0'), _dev_tree(ns, 'e2')
    cfg = [{'dev': 'e0', 'handle': '1:', 'kind': 'htb', 'default': '10', 'r2q': 20},
           {'dev': 'e2', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 20},
           {'dev': 'e2', 'parent': '1:20', 'handle': '10:', 'kind': 'pfifo', 'limit': 30}]  # refused: handle in use
    r = qdisc_handles_unchecked(ns, cfg)
    assert_no_traceback(r)
    assert r.get('failed') and 'parent 1:20' in r['object'] and not r.get('changed'), r
    assert 'rolled back the 3 change(s) already made' in r['msg'] and not r['rollback_failed'], r
    assert any(c.endswith('class add dev e0 parent 1: classid 1:10 htb rate 1000000bit') or
               'class add dev e0 parent 1: classid 1:10 ' in c for c in r['rolled_back']), r['rolled_back']
    assert (_dev_tree(ns, 'e0'), _dev_tree(ns, 'e2')) == before


def test_an_htb_keeps_its_direct_qlen_through_a_replace_and_a_rollback(ns, play):
    """An htb's direct_qlen (not the device's txqueuelen) is not an option of the module: a replace for another
    default, and the rollback of one, made the htb again with the kernel's default (1000), and nothing said so."""
    for line in ('qdisc add dev e0 root handle 1: htb default 10 direct_qlen 5',
                 'class add dev e0 parent 1: classid 1:10 htb rate 1mbit',
                 'qdisc add dev e2 root handle 1: htb', 'class add dev e2 parent 1: classid 1:10 htb rate 1mbit',
                 'class add dev e2 parent 1: classid 1:20 htb rate 1mbit'):
        sh('tc', '-n', ns, *line.split())

    def qlen():
        return qdiscs(ns)[('e0', 'root')]['options']['direct_qlen']
    assert qlen() == 5
    before = _dev_tree(ns, 'e0'), _dev_tree(ns, 'e2')
    htb = {'dev': 'e0', 'handle': '1:', 'kind': 'htb', 'default': '20'}
    bad = [{'dev': 'e2', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 20},
           {'dev': 'e2', 'parent': '1:20', 'handle': '10:', 'kind': 'pfifo', 'limit': 30}]  # refused: handle in use
    r = qdisc_handles_unchecked(ns, [htb] + bad)
    assert_no_traceback(r)
    assert r.get('failed') and 'rolled back the' in r['msg'] and not r['rollback_failed'], r
    assert 'tc -n %s qdisc add dev e0 root handle 1: htb default 10 r2q 10 direct_qlen 5' % ns in r['rolled_back']
    assert (_dev_tree(ns, 'e0'), _dev_tree(ns, 'e2')) == before and qlen() == 5
    task = {M: {'netns': ns, 'config': [htb]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert check['commands'] == real['commands'] and not again['changed'], again
    assert 'tc -n %s qdisc add dev e0 root handle 1: htb default 20 r2q 10 direct_qlen 5' % ns in real['commands']
    assert qlen() == 5 and qdiscs(ns)[('e0', 'root')]['options']['default'] == '0x20'


def test_a_kind_change_takes_the_tree_along(ns, play):
    """Replacing a root qdisc by another kind deletes its classes and their qdiscs: a qdisc of the config among them is
    refused up front in both modes (overridden reported success with it gone, and the next run failed); one the config
    leaves out is shown gone in check mode and in the real run's before/after."""
    _htb_tree(ns, 'e0')
    before = qdiscs(ns)
    child = {'dev': 'e0', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 30}
    new = {'dev': 'e0', 'handle': '1:', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10kb', 'latency': '50ms'}
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': [new, child]}}
    for r in (play(task, check=True)[0], play(task)[0]):
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'parent' and r['object'] == 'qdisc pfifo 10: dev e0 parent 1:10', r
        assert 'along with qdisc htb 1: dev e0 parent root, which this task replaces' in r['msg'], r
    assert qdiscs(ns) == before and _classes(ns, 'e0') == ['1:10']
    task = {M: {'netns': ns, 'config': [new]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['after'] == real['after'] and check['before'] == real['before'] and check['diff'] == real['diff']
    assert [(o['parent'], o['kind']) for o in real['before']] == [('1:10', 'pfifo'), ('root', 'htb')]
    assert [(o['parent'], o['kind']) for o in real['after']] == [('root', 'tbf')], real['after']
    assert 'kind: pfifo' in diff_side(real, 'before') and 'kind: pfifo' not in diff_side(real, 'after')
    assert list(qdiscs(ns)) == [('e0', 'root')] and _classes(ns, 'e0') == ['1:1']  # (tbf's own class)
    assert not again['changed']
    # deleted, selecting the root alone: its child qdisc is reported gone too
    _htb_tree(ns, 'e2')
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e2', 'parent': 'root'}]}}
    check = play(task, check=True)[0]
    real = play(task)[0]
    assert check['before'] == real['before'] and check['after'] == real['after'] == [], (check, real)
    assert [(o['parent'], o['kind']) for o in real['before']] == [('1:10', 'pfifo'), ('root', 'htb')]
    assert real['commands'] == ['tc -n %s qdisc del dev e2 root handle 1:' % ns] and ('e2', '1:10') not in qdiscs(ns)


def _tree(ns):
    """Every qdisc (tc -j), class and filter (tc -d) of the devices of test_a_failed_replace_restores_what_went_along."""
    out = [qdiscs(ns)]
    for dev in ('e0', 'e1', 'e2'):
        out.append(sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', dev))
    for dev, where in (('e0', ['parent', '1:']), ('e0', ['parent', '1:10']), ('e1', ['ingress'])):
        out.append(sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', dev, *where))
    return out


def test_a_failed_replace_restores_what_went_along(ns, play):
    """A refusal after a replaced qdisc was deleted: the rollback adds the qdisc again and makes again what the kernel
    deleted with it, as it was - its classes, their qdiscs and the filters of all of them, actions included (before,
    the rollback left the qdisc empty, with changed and not_restored). What cannot be made again as it was (a qdisc
    of a kind whose dump is not known to be taken back) is still named in not_restored, with changed=true."""
    _htb_tree(ns, 'e0')
    for line in ('class add dev e0 parent 1: classid 1:20 htb rate 2mbit ceil 4mbit prio 2',
                 'filter add dev e0 parent 1:10 prio 3 protocol ip u32 match ip tos 0x10 0xff classid 1:20',
                 'qdisc add dev e1 clsact',
                 'filter add dev e1 ingress prio 1 protocol ip u32 match ip dst 198.18.0.1/32 '
                 'action mirred egress mirror dev e2',
                 'qdisc add dev e2 root handle 1: htb',
                 'class add dev e2 parent 1: classid 1:10 htb rate 1mbit',
                 'class add dev e2 parent 1: classid 1:20 htb rate 1mbit'):
        sh('tc', '-n', ns, *line.split())
    before = _tree(ns)
    cfg = [{'dev': 'e0', 'handle': '1:', 'kind': 'pfifo', 'limit': 100},  # replaces the htb tree
           {'dev': 'e1', 'kind': 'ingress'},  # replaces the clsact and its filter
           {'dev': 'e2', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 20},
           {'dev': 'e2', 'parent': '1:20', 'handle': '10:', 'kind': 'pfifo', 'limit': 30}]  # refused: handle in use
    r = qdisc_handles_unchecked(ns, cfg)
    assert_no_traceback(r)
    assert r.get('failed') and 'refused the tc qdisc add' in r['msg'] and 'parent 1:20' in r['object'], r
    assert 'rolled back the 5 change(s) already made' in r['msg'] and not r['rollback_failed'], r
    assert not r.get('changed') and not r.get('not_restored'), r
    assert 'tc -n %s class add dev e0 parent 1: classid 1:20 htb rate 2000000bit ceil 4000000bit prio 2' % ns \
        in r['rolled_back'], r['rolled_back']
    assert settled(lambda: _tree(ns), before) == before
    # a qdisc whose dump is not known to be taken back as it was: named, with changed; the rest is made again
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'parent', '1:20', 'handle', '20:', 'pfifo_head_drop', 'limit', '5')
    before = _tree(ns)
    r = qdisc_handles_unchecked(ns, cfg)
    assert r.get('failed') and r['changed'] is True, r
    assert r['not_restored'] == ['qdisc htb 1: dev e0 parent root took along qdisc pfifo_head_drop 20: dev e0 '
                                 'parent 1:20'], r
    assert 'the rollback cannot re-create what the kernel deleted' in r['msg'], r
    del before[0][('e0', '1:20')]
    before[1] = before[1].replace('leaf 20: ', '')  # (class 1:20 is back, with the kernel's default qdisc)
    assert settled(lambda: _tree(ns), before) == before


def test_a_qdisc_on_an_inner_class_is_refused_naming_parent(ns, play):
    """An htb class with classes under it is an inner class: the kernel grafts no qdisc on it (EINVAL, naming
    nothing), which check mode had shown as fine. It is refused now before anything is sent, naming parent, and
    check mode (where an earlier task may move the classes) warns. A leaf class takes the qdisc."""
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'root', 'handle', '1:', 'htb')
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10mbit')
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:1', 'classid', '1:10', 'htb', 'rate', '5mbit')

    def qdiscs():
        return sorted((q['kind'], q['handle'], q.get('parent', '')) for q in json.loads(
            sh('tc', '-n', ns, '-j', 'qdisc', 'show', 'dev', 'e0')))

    before = qdiscs()
    task = {'edgenet.linux.tc_qdisc': {'netns': ns, 'level': 'child', 'config': [
        {'dev': 'e0', 'parent': '1:10', 'handle': '6:', 'kind': 'pfifo', 'limit': 10},
        {'dev': 'e0', 'parent': '1:1', 'handle': '5:', 'kind': 'pfifo', 'limit': 10}]}}
    check, = play(task, check=True)
    assert_no_traceback(check)
    assert not check.get('failed') and any('class 1:1 has classes under it (1:10)' in w and 'earlier task' in w
                                           for w in check.get('warnings') or []), check
    real, = play(task)
    assert_no_traceback(real)
    assert real['failed'] and real['field'] == 'parent' and 'class 1:1 has classes under it' in real['msg'], real
    assert qdiscs() == before
    leaf = {'edgenet.linux.tc_qdisc': {'netns': ns, 'level': 'child', 'config': [task['edgenet.linux.tc_qdisc'][
        'config'][0]]}}
    first, = play(leaf)
    assert first['changed'] and not first.get('failed'), first
    assert 'qdisc pfifo 6: parent 1:10' in sh('tc', '-n', ns, 'qdisc', 'show', 'dev', 'e0')


def test_a_second_qdisc_with_a_handle_is_refused_naming_handle(ns, play):
    """The kernel refuses a qdisc whose handle another qdisc of the device has (after the requests before it were
    sent), which check mode had shown as fine. Two of the task's own are refused before anything is sent, in
    check mode too, naming the second and its handle; one that the host holds is refused by the real run before
    anything is sent, and check mode (where an earlier task may delete it) warns. tc refuses the same."""
    for line in ('qdisc add dev e2 root handle 1: htb', 'class add dev e2 parent 1: classid 1:10 htb rate 1mbit',
                 'class add dev e2 parent 1: classid 1:20 htb rate 1mbit'):
        sh('tc', '-n', ns, *line.split())
    before = _dev_tree(ns, 'e2')
    two = [{'dev': 'e2', 'parent': '1:10', 'handle': '10:', 'kind': 'pfifo', 'limit': 20},
           {'dev': 'e2', 'parent': '1:20', 'handle': '10:', 'kind': 'pfifo', 'limit': 30}]
    for check in (True, False):
        r, = play({M: {'netns': ns, 'level': 'child', 'config': two}}, check=check)
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'handle' and 'parent 1:20' in r['object'], r
        assert 'is the handle of the qdisc at parent 1:10 of e2 too' in r['msg'] and not r.get('changed'), r
        assert _dev_tree(ns, 'e2') == before
    # one the host holds: the oracle refuses a second
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e2', 'parent', '1:10', 'handle', '10:', 'pfifo')
    oracle = subprocess.run(['tc', '-n', ns, 'qdisc', 'add', 'dev', 'e2', 'parent', '1:20', 'handle', '10:', 'pfifo'],
                            capture_output=True, text=True, check=False)
    assert oracle.returncode != 0, oracle  # (6.18: "Cannot move an existing qdisc to a different parent")
    before = _dev_tree(ns, 'e2')
    task = {M: {'netns': ns, 'level': 'child', 'config': two[1:]}}
    check, = play(task, check=True)
    assert_no_traceback(check)
    assert not check.get('failed') and check['changed'], check
    assert any("field 'handle'" in w and 'at parent 1:10 of e2' in w and 'deletes that qdisc' in w
               for w in check.get('warnings') or []), check
    real, = play(task)
    assert_no_traceback(real)
    assert real.get('failed') and real['field'] == 'handle' and not real.get('changed'), real
    assert _dev_tree(ns, 'e2') == before
    # another handle is taken
    again, = play({M: {'netns': ns, 'level': 'child', 'config': [dict(two[1], handle='20:')]}})
    assert again['changed'] and not again.get('failed'), again
    # a handle that a qdisc the task's replace takes along had is free (found by a probe: it was refused)
    task = {M: {'netns': ns, 'config': [{'dev': 'e2', 'handle': '10:', 'kind': 'tbf', 'rate': '1mbit',
                                         'burst': '10kb', 'latency': '50ms'}]}}
    check, = play(task, check=True)
    assert not check.get('failed') and not any('handle' in w for w in check.get('warnings') or []), check
    real, = play(task)
    assert real['changed'] and not real.get('failed'), real
    assert [(q['kind'], q['handle']) for q in json.loads(sh('tc', '-n', ns, '-j', 'qdisc', 'show', 'dev', 'e2'))] \
        == [('tbf', '10:')]


def test_a_qdisc_in_the_class_of_a_tbf_that_replaces_another_root_is_taken(ns, play):
    """A tbf (as a netem) has one class, which holds one qdisc. Replacing an htb root by a tbf with the same handle
    and adding a qdisc at its class 1:1 in the same task was refused ("class 1:1 does not exist": the check read the
    host's htb, which had no such class). It is taken now, check mode shows what the real run does, the re-run
    changes nothing; tc shows the tree, and tc itself takes the same child."""
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'root', 'handle', '1:', 'htb')
    task = {M: {'netns': ns, 'config': [
        {'dev': 'e0', 'parent': 'root', 'handle': '1:', 'kind': 'tbf', 'rate': '10mbit', 'burst': '10kb',
         'latency': '50ms'},
        {'dev': 'e0', 'parent': '1:1', 'handle': '10:', 'kind': 'pfifo', 'limit': 100}]}}
    check, = play(task, check=True)
    assert_no_traceback(check)
    assert not check.get('failed') and check['changed'], check
    assert [q['kind'] for q in tcj(ns, 'qdisc', 'show', 'dev', 'e0')] == ['htb']
    first, again = play([task, task])
    assert not first.get('failed') and first['changed'], first
    assert first['commands'] == check['commands'] and first['after'] == check['after']
    assert again['changed'] is False and again['commands'] == [], again
    got = qdiscs(ns)
    assert (got[('e0', 'root')]['kind'], got[('e0', 'root')]['handle']) == ('tbf', '1:')
    assert (got[('e0', '1:1')]['kind'], got[('e0', '1:1')]['handle'], got[('e0', '1:1')]['options']['limit']) == \
        ('pfifo', '10:', 100)
    # the oracle: tc takes a child at the class of a tbf
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e2', 'root', 'handle', '2:', 'tbf', 'rate', '1mbit', 'burst', '10kb',
       'latency', '50ms')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e2', 'parent', '2:1', 'handle', '20:', 'pfifo')


def test_the_one_class_of_a_tbf_takes_one_qdisc_and_a_deleted_parent_none(ns, play):
    """A tbf answers every minor with its one class, which holds one qdisc: a second child (at 1:2 after one at 1:1)
    passed check mode, and the kernel refused it (EEXIST) after the requests before it were sent. It is refused now
    before anything is sent, naming parent (the second of the task's own; one the host holds: check mode warns, as
    an earlier task may delete it). A child at a qdisc that the task deletes (overridden without the tbf) passed check
    mode too, and the kernel refused it (ENOENT); it is refused before anything is sent. tc refuses the same."""
    tbf = {'dev': 'e2', 'handle': '1:', 'parent': 'root', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10kb',
           'latency': '50ms'}
    two = [tbf, {'dev': 'e2', 'parent': '1:1', 'handle': '10:', 'kind': 'pfifo', 'limit': 100},
           {'dev': 'e2', 'parent': '1:2', 'handle': '20:', 'kind': 'pfifo', 'limit': 50}]
    for check in (True, False):
        r, = play({M: {'netns': ns, 'config': two}}, check=check)
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'parent' and 'parent 1:2' in r['object'], r
        assert 'a tbf has one class, which holds one qdisc, and qdisc 10: (at parent 1:1) is in it already' in r['msg']
    assert qdiscs(ns) == {}
    # the host holds the tbf and its child at 1:5: another child is refused by the real run, warned of by check mode
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e2', 'root', 'handle', '1:', 'tbf', 'rate', '1mbit', 'burst', '10kb',
       'latency', '50ms')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e2', 'parent', '1:5', 'handle', '10:', 'pfifo', 'limit', '100')
    before = qdiscs(ns)
    third = {M: {'netns': ns, 'config': [{'dev': 'e2', 'parent': '1:1', 'handle': '20:', 'kind': 'pfifo'}]}}
    check, = play(third, check=True)
    assert not check.get('failed') and any('qdisc 10: (at parent 1:5) is in it already' in w and 'earlier task' in w
                                           for w in check.get('warnings') or []), check
    real, = play(third)
    assert real.get('failed') and real['field'] == 'parent' and 'qdisc 10: (at parent 1:5)' in real['msg'], real
    assert qdiscs(ns) == before
    p = subprocess.run(['tc', '-n', ns, 'qdisc', 'add', 'dev', 'e2', 'parent', '1:1', 'handle', '20:', 'pfifo'],
                       capture_output=True, text=True, check=False)
    assert p.returncode != 0, p  # the oracle: tc is refused too
    # a child at the tbf that the task deletes (overridden lists only the child)
    gone = {M: {'netns': ns, 'state': 'overridden', 'config': [
        {'dev': 'e2', 'parent': '1:1', 'handle': '20:', 'kind': 'pfifo', 'limit': 100}]}}
    for check in (True, False):
        r, = play(gone, check=check)
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'parent' and 'qdisc 1: of e2 is deleted by this task' in r['msg'], r
    assert qdiscs(ns) == before


def test_a_qdisc_moved_to_another_class_takes_its_tree_along(ns, twin, play):
    """The kernel cannot move a qdisc: overridden moving one (the same kind and handle at another class of its
    device) deletes it and adds it there, and the kernel deletes what it held with it. That tree (its classes, their
    qdisc, a filter) is now read first and made again under it, in both modes' commands (pasted into tc on the twin,
    they make the same tree); before, it was lost, check mode did not say so, and a later tc_class run had to make
    the classes again."""
    for where in (ns, twin):
        for line in ('qdisc add dev e0 root handle 1: htb', 'class add dev e0 parent 1: classid 1:10 htb rate 2mbit',
                     'class add dev e0 parent 1: classid 1:20 htb rate 2mbit',
                     'qdisc add dev e0 parent 1:10 handle 10: htb default 1',
                     'class add dev e0 parent 10: classid 10:1 htb rate 1mbit',
                     'class add dev e0 parent 10: classid 10:2 htb rate 512kbit',
                     'qdisc add dev e0 parent 10:1 handle 101: pfifo limit 40',
                     'filter add dev e0 parent 10: prio 1 protocol ip u32 match ip dst 198.18.0.2/32 classid 10:2'):
            sh('tc', '-n', where, *line.split())
    before = _dev_tree(ns, 'e0')
    config = [{'dev': 'e0', 'parent': '1:20', 'handle': '10:', 'kind': 'htb', 'default': '1'},
              {'dev': 'e0', 'parent': '10:1', 'handle': '101:', 'kind': 'pfifo', 'limit': 40}]
    task = {M: {'netns': ns, 'state': 'overridden', 'level': 'child', 'config': config}}
    real = printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    lines = [c.split(' ', 3)[3] for c in real['commands']]
    assert lines[:2] == ['qdisc del dev e0 parent 1:10 handle 10:',
                         'qdisc add dev e0 parent 1:20 handle 10: htb default 1 r2q 10'], lines
    assert sorted(line.split(' classid ')[1].split()[0] for line in lines if line.startswith('class add')) == \
        ['10:1', '10:2'], lines
    assert [line for line in lines if line.startswith('qdisc add dev e0 parent 10:1 handle 101: pfifo limit 40')], lines
    assert sum(line.startswith('filter add dev e0 parent 10: ') for line in lines) == 1, lines
    assert [w for w in real['warnings'] if 'it moves from parent 1:10 to 1:20, and the kernel cannot move a qdisc' in w
            and 'the 4 class(es), qdisc(s) and filter(s) the kernel deletes with it are made again' in w], real['warnings']
    after = _dev_tree(ns, 'e0')
    assert 'qdisc htb 10: parent 1:20 ' in after[0] and 'qdisc pfifo 101: parent 10:1 limit 40p' in after[0], after[0]
    ours = [[c for c in tree[1].splitlines() if c.startswith('class htb 10:')] for tree in (before, after)]
    assert ours[0] and ours[0] == ours[1], (before[1], after[1])
    assert after[2] == before[2], (before[2], after[2])


def test_depth_acts_on_one_depth_and_names_a_qdisc_at_another(ns, play):
    """Option depth: overridden at depth 1 leaves the qdisc at depth 2 (in a class of the depth-1 qdisc) alone, and
    at depth 2 the one at depth 1; an item whose parent is a class of a qdisc at another depth is refused naming
    parent, and a depth below 1 or with level top naming depth, in both modes, with nothing changed."""
    for line in ('qdisc add dev e0 root handle 1: htb', 'class add dev e0 parent 1: classid 1:10 htb rate 2mbit',
                 'class add dev e0 parent 1: classid 1:20 htb rate 2mbit',
                 'qdisc add dev e0 parent 1:10 handle 10: htb', 'class add dev e0 parent 10: classid 10:1 htb rate 1mbit',
                 'qdisc add dev e0 parent 10:1 handle 101: pfifo limit 40',
                 'qdisc add dev e0 parent 1:20 handle 20: pfifo limit 30'):
        sh('tc', '-n', ns, *line.split())
    one = [{'dev': 'e0', 'parent': '1:10', 'handle': '10:', 'kind': 'htb'}]
    r, = play({M: {'netns': ns, 'state': 'overridden', 'depth': 1, 'config': one}})
    assert_no_traceback(r)
    assert r['changed'] and [c.split(' ', 3)[3] for c in r['commands']] == ['qdisc del dev e0 parent 1:20 handle 20:'], r
    assert [(q['parent'], q['handle']) for q in r['after']] == [('1:10', '10:')], r['after']
    assert [q['handle'] for q in qdiscs(ns).values() if q['handle'] == '101:'] == ['101:']
    # state deleted at one depth keeps a qdisc at another that its selector names, and says so (it was silent)
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'parent', '1:20', 'handle', '20:', 'pfifo', 'limit', '30')
    for check in (True, False):
        r, = play({M: {'netns': ns, 'state': 'deleted', 'depth': 2,
                       'config': [{'dev': 'e0', 'handle': '10:'}, {'dev': 'e0', 'handle': '20:'}]}}, check=check)
        assert_no_traceback(r)
        assert not r.get('failed') and not r['changed'] and r['commands'] == [], r
        kept = [w for w in r.get('warnings', []) if 'is kept' in w]
        assert kept == ['qdisc htb 10: dev e0 parent 1:10 is kept: state=deleted deletes only what is in the task\'s '
                        'scope, and it is at depth 1, and the task acts on depth 2 (the option depth)',
                        'qdisc pfifo 20: dev e0 parent 1:20 is kept: state=deleted deletes only what is in the '
                        'task\'s scope, and it is at depth 1, and the task acts on depth 2 (the option depth)'], r
    assert sorted(q['handle'] for q in qdiscs(ns).values()) == ['101:', '10:', '1:', '20:'], qdiscs(ns)
    sh('tc', '-n', ns, 'qdisc', 'del', 'dev', 'e0', 'parent', '1:20', 'handle', '20:')
    r, = play({M: {'netns': ns, 'state': 'overridden', 'depth': 2, 'config': []}})
    assert r['changed'] and [c.split(' ', 3)[3] for c in r['commands']] == ['qdisc del dev e0 parent 10:1 handle 101:'], r
    assert not [w for w in r.get('warnings', []) if 'is kept' in w], r
    assert sorted(q['handle'] for q in qdiscs(ns).values()) == ['10:', '1:'], qdiscs(ns)
    # a selector that matches in scope deletes it, with no word of those out of scope that it matches too
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'parent', '10:1', 'handle', '101:', 'pfifo', 'limit', '40')
    r, = play({M: {'netns': ns, 'state': 'deleted', 'depth': 2, 'config': [{'dev': 'e0'}]}})
    assert r['changed'] and [c.split(' ', 3)[3] for c in r['commands']] == ['qdisc del dev e0 parent 10:1 handle 101:'], r
    assert not [w for w in r.get('warnings', []) if 'is kept' in w], r
    before = _dev_tree(ns, 'e0')
    wrong = {'dev': 'e0', 'parent': '1:20', 'handle': '20:', 'kind': 'pfifo'}
    for task, field, words in (
            ({'depth': 2, 'config': [wrong]}, 'parent',
             'class 1:20 is a class of qdisc 1:, which is at depth 0, so this qdisc is at depth 1, not at depth 2'),
            ({'depth': 0, 'config': [wrong]}, 'depth', 'depth must be 1 or more'),
            ({'depth': 1, 'level': 'top', 'config': []}, 'depth', 'depth 1 is a depth of level child')):
        for check in (True, False):
            r, = play({M: dict(task, netns=ns)}, check=check)
            assert_no_traceback(r)
            assert r.get('failed') and r.get('field') == field and words in r['msg'] and not r.get('changed'), r
            assert _dev_tree(ns, 'e0') == before


BASE_TREE = ('qdisc add dev e0 root handle 1: htb', 'class add dev e0 parent 1: classid 1:10 htb rate 2mbit',
             'class add dev e0 parent 1: classid 1:20 htb rate 2mbit',
             'qdisc add dev e0 parent 1:10 handle 10: htb default 1',
             'class add dev e0 parent 10: classid 10:1 htb rate 1mbit',
             'class add dev e0 parent 10: classid 10:2 htb rate 512kbit',
             'qdisc add dev e0 parent 10:1 handle 101: pfifo limit 40',
             'filter add dev e0 parent 10: prio 1 protocol ip u32 match ip dst 198.18.0.2/32 classid 10:2')


def _tree_lines(where, lines):
    for line in lines:
        sh('tc', '-n', where, *line.split())


def test_a_qdisc_moves_while_another_takes_its_class_or_they_swap(ns, twin, play):
    """Found by a probe: a qdisc that moves, whose old class gets another qdisc in the same task (or two qdiscs that
    swap classes), was refused up front ("the kernel deletes this qdisc ... along with"): the add at its old class
    hid the move. Both are moves now, with the tree made again under the moved qdisc; tc is the oracle."""
    for where in (ns, twin):
        _tree_lines(where, BASE_TREE + ('qdisc add dev e0 parent 1:20 handle 20: pfifo limit 30',))
    keep = {'dev': 'e0', 'parent': '10:1', 'handle': '101:', 'kind': 'pfifo', 'limit': 40}
    moved = {'dev': 'e0', 'parent': '1:20', 'handle': '10:', 'kind': 'htb', 'default': '1'}
    swapped = {'dev': 'e0', 'parent': '1:10', 'handle': '20:', 'kind': 'pfifo', 'limit': 30}
    task = {M: {'netns': ns, 'state': 'overridden', 'level': 'child', 'config': [moved, keep, swapped]}}
    printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    after = _dev_tree(ns, 'e0')
    for text in ('qdisc htb 10: parent 1:20 ', 'qdisc pfifo 101: parent 10:1 limit 40p',
                 'qdisc pfifo 20: parent 1:10 limit 30p'):
        assert text in after[0], after[0]
    assert [c for c in after[1].splitlines() if c.startswith('class htb 10:')], after[1]
    assert 'flowid 10:2' in sh('tc', '-n', ns, 'filter', 'show', 'dev', 'e0', 'parent', '10:')
    # and another qdisc where the moved one was
    task = {M: {'netns': ns, 'state': 'overridden', 'level': 'child',
                'config': [dict(moved, parent='1:10'), keep, dict(swapped, parent='1:20', handle='30:')]}}
    printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    after = _dev_tree(ns, 'e0')
    assert 'qdisc htb 10: parent 1:10 ' in after[0] and 'qdisc pfifo 30: parent 1:20 limit 30p' in after[0], after[0]


def test_a_handle_held_at_another_depth_is_refused_before_anything_is_sent(ns, play):
    """Found by a probe: with depth 1, an add whose handle a depth-2 qdisc holds (out of the task's scope, so the
    task does not delete it) passed check mode, and the kernel refused it ("Cannot move an existing qdisc to a
    different parent") after the requests before it. The real run now refuses it before anything is sent, naming
    handle; check mode warns (an earlier task may delete it)."""
    _tree_lines(ns, BASE_TREE + ('qdisc add dev e0 parent 10:2 handle 102: pfifo limit 20',
                                 'qdisc add dev e0 parent 1:20 handle 20: pfifo limit 30'))
    before = _dev_tree(ns, 'e0')
    task = {M: {'netns': ns, 'state': 'overridden', 'depth': 1,
                'config': [{'dev': 'e0', 'parent': '1:10', 'handle': '10:', 'kind': 'htb', 'default': '1'},
                           {'dev': 'e0', 'parent': '1:20', 'handle': '102:', 'kind': 'pfifo', 'limit': 20}]}}
    words = 'handle 102: is the handle of the qdisc at parent 10:2 of e0 too (one this task does not act on'
    check, = play(task, check=True)
    assert_no_traceback(check)
    assert not check.get('failed') and any(words in w for w in check.get('warnings') or []), check
    real, = play(task)
    assert_no_traceback(real)
    assert real.get('failed') and real['field'] == 'handle' and words in real['msg'] and not real.get('changed'), real
    assert _dev_tree(ns, 'e0') == before


def test_a_moved_qdisc_keeps_the_qdisc_in_the_class_of_a_tbf_under_it(ns, twin, play):
    """Found by a probe: the qdisc a user put in the one class of a tbf (or netem) under a moved qdisc was not read,
    so it was not made again: check mode's after still had it, the real run's did not, and the second run added it.
    It is read and made again now (also when an htb is replaced for its r2q)."""
    tree = tuple(line for line in BASE_TREE if 'handle 101:' not in line) + (
        'qdisc add dev e0 parent 10:1 handle 101: tbf rate 1mbit burst 10kb latency 10ms',
        'qdisc add dev e0 parent 101:1 handle 111: pfifo limit 7')
    for where in (ns, twin):
        _tree_lines(where, tree)
    config = [{'dev': 'e0', 'parent': '1:20', 'handle': '10:', 'kind': 'htb', 'default': '1'},
              {'dev': 'e0', 'parent': '10:1', 'handle': '101:', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10kb',
               'latency': '10ms'},
              {'dev': 'e0', 'parent': '101:1', 'handle': '111:', 'kind': 'pfifo', 'limit': 7}]
    task = {M: {'netns': ns, 'state': 'overridden', 'level': 'child', 'config': config}}
    real = printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    assert [c for c in real['commands'] if 'qdisc add dev e0 parent 101:1 handle 111: pfifo limit 7' in c], real
    assert 'qdisc pfifo 111: parent 101:1 limit 7p' in _dev_tree(ns, 'e0')[0]


def test_two_qdiscs_that_change_places_are_added_holder_first(ns, twin, play):
    """Found by a probe: 101: (an htb in a class of 10:) moves to 1:20, and 10: into 101:'s class 101:1. Listed
    10: first, the add of 10: came before the add of 101: it attaches to: check mode showed it, and the kernel
    refused it (ENOENT). The add of a qdisc in a class of a qdisc the task adds now comes after that one, in any
    order of the config."""
    tree = tuple(line for line in BASE_TREE if 'handle 101:' not in line) + (
        'qdisc add dev e0 parent 10:1 handle 101: htb', 'class add dev e0 parent 101: classid 101:1 htb rate 1mbit')
    for where in (ns, twin):
        _tree_lines(where, tree)
    config = [{'dev': 'e0', 'parent': '101:1', 'handle': '10:', 'kind': 'htb', 'default': '1'},
              {'dev': 'e0', 'parent': '1:20', 'handle': '101:', 'kind': 'htb'}]
    task = {M: {'netns': ns, 'state': 'overridden', 'level': 'child', 'config': config}}
    real = printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    assert not real.get('failed'), real
    qd = _dev_tree(ns, 'e0')[0]
    assert 'qdisc htb 101: parent 1:20 ' in qd and 'qdisc htb 10: parent 101:1 ' in qd, qd


def test_a_change_of_a_qdisc_made_again_comes_after_the_add_that_makes_it(ns, twin, play):
    """Found by a probe: a change of a qdisc in the tree of a qdisc that moves (made again under it) was sent before
    the add that makes it again, when the config listed it first, or when the move came later to follow its holder:
    check mode showed it, and the kernel refused it (ENOENT). It now comes after that add."""
    tree = tuple(line for line in BASE_TREE if 'handle 101:' not in line and 'filter' not in line) + (
        'qdisc add dev e0 parent 10:1 handle 101: htb', 'class add dev e0 parent 101: classid 101:1 htb rate 1mbit',
        'qdisc add dev e0 parent 10:2 handle 102: pfifo limit 20')
    for where in (ns, twin):
        _tree_lines(where, tree)
    config = [{'dev': 'e0', 'parent': '101:1', 'handle': '10:', 'kind': 'htb', 'default': '1'},
              {'dev': 'e0', 'parent': '10:2', 'handle': '102:', 'kind': 'pfifo', 'limit': 33},
              {'dev': 'e0', 'parent': '1:20', 'handle': '101:', 'kind': 'htb'}]
    task = {M: {'netns': ns, 'state': 'overridden', 'level': 'child', 'config': config}}
    real = printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    lines = [c.split(' ', 3)[3] for c in real['commands']]
    made = [i for i, line in enumerate(lines) if line.startswith('qdisc add dev e0 parent 10:2 handle 102: pfifo')]
    changed = [i for i, line in enumerate(lines) if line.startswith('qdisc change dev e0 parent 10:2 handle 102: pfifo')]
    assert len(made) == 1 and len(changed) == 1 and made[0] < changed[0], lines
    qd = _dev_tree(ns, 'e0')[0]
    assert 'qdisc htb 10: parent 101:1 ' in qd and 'qdisc pfifo 102: parent 10:2 limit 33p' in qd, qd
    # listed with the change first, a move alone
    for where in (ns, twin):
        for line in ('qdisc del dev e0 root', *tree):
            sh('tc', '-n', where, *line.split())
    task = {M: {'netns': ns, 'state': 'overridden', 'level': 'child',
                'config': [config[1], dict(config[0], parent='1:20'), dict(config[2], parent='10:1')]}}
    printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    assert 'qdisc pfifo 102: parent 10:2 limit 33p' in _dev_tree(ns, 'e0')[0]


def test_a_qdisc_replaced_while_its_child_moves_out_deletes_the_child_first(ns, twin, play):
    """Found by a probe: 10: replaced for its default (deleted, made again with its tree) while 101: in its class
    moves out to 1:20. The delete of 10: came first and took 101: along, then the delete of 101: failed (ENOENT),
    which check mode had shown as fine; and the rollback, which made 10:'s tree again without 101: (the plan deleted
    it itself), lost 101:. A qdisc's delete now comes before the delete of any qdisc above it."""
    for where in (ns, twin):
        _tree_lines(where, BASE_TREE)
    config = [{'dev': 'e0', 'handle': '1:', 'kind': 'htb'},
              {'dev': 'e0', 'parent': '1:10', 'handle': '10:', 'kind': 'htb', 'default': '2'},
              {'dev': 'e0', 'parent': '1:20', 'handle': '101:', 'kind': 'pfifo', 'limit': 40}]
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': config}}
    real = printed_then_real(play, task, ns, twin, lambda where: _dev_tree(where, 'e0'))
    lines = [c.split(' ', 3)[3] for c in real['commands']]
    assert lines[:2] == ['qdisc del dev e0 parent 10:1 handle 101:', 'qdisc del dev e0 parent 1:10 handle 10:'], lines
    qd = _dev_tree(ns, 'e0')[0]
    assert 'qdisc pfifo 101: parent 1:20 limit 40p' in qd and 'qdisc htb 10: parent 1:10 r2q 10 default 0x2 ' in qd, qd

    # a refusal at the end of that plan (a second qdisc with one handle on e2, the module's own check of it turned
    # off): the rollback makes 10: with its tree and 101: in 10:1 again, as they were (before: 101: was lost)
    for line in ('qdisc del dev e0 root', *BASE_TREE):
        sh('tc', '-n', ns, *line.split())
    for line in ('qdisc add dev e2 root handle 5: htb', 'class add dev e2 parent 5: classid 5:1 htb rate 1mbit',
                 'class add dev e2 parent 5: classid 5:2 htb rate 1mbit'):
        sh('tc', '-n', ns, *line.split())
    before = _dev_tree(ns, 'e0'), _dev_tree(ns, 'e2')
    from conftest import collection_on_path, refused_in_process
    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_qdisc import TcQdisc

    class Unchecked(TcQdisc):
        def _handle_free(self, ctx, plan, after):
            return None

    late = [{'dev': 'e2', 'handle': '5:', 'kind': 'htb'},
            {'dev': 'e2', 'parent': '5:1', 'handle': '50:', 'kind': 'pfifo'},
            {'dev': 'e2', 'parent': '5:2', 'handle': '50:', 'kind': 'pfifo'}]
    r = refused_in_process(Unchecked(), {'netns': ns, 'state': 'overridden', 'dev': None, 'config': config + late})
    assert r.get('failed') and 'parent 5:2' in r['object'] and not r['rollback_failed'], r
    assert (_dev_tree(ns, 'e0'), _dev_tree(ns, 'e2')) == before


def tbf_buffers(ns):
    """{(dev, handle): (rate, the tbf's bucket in ticks)}: `tc -raw` prints the bucket's ticks in hex, in brackets
    after the burst (the burst it prints is cut to whole microseconds: two buckets may print alike)."""
    out = {}
    for q in tcj(ns, '-d', 'qdisc', 'show'):
        if q.get('kind') == 'tbf':
            raw = sh('tc', '-n', ns, '-d', '-raw', 'qdisc', 'show', 'dev', q['dev'], 'handle', q['handle'])
            out[(q['dev'], q['handle'])] = (q['options'].get('rate'), re.findall(r'burst \S+ mpu \S+ \[([0-9a-f]+)\]', raw))
    return out


def test_the_command_of_a_tbf_made_again_makes_its_bucket(ns, twin, play):
    """A tbf the kernel deletes along with an htb that is replaced is made again as it was (its bucket exactly): the
    command printed for it gave the size tc prints (cut to whole microseconds: burst 32767 for 32kb), and pasted into
    tc it made a smaller bucket. It gives the size that makes the bucket."""
    for where in (ns, twin):
        for cmd in ('qdisc add dev e0 root handle 1: htb default 10',
                    'class add dev e0 parent 1: classid 1:1 htb rate 10mbit ceil 20mbit',
                    'class add dev e0 parent 1:1 classid 1:12 htb rate 2mbit quantum 3000',
                    'qdisc add dev e0 parent 1:12 handle 12: tbf rate 300kbps burst 32kb limit 50kb'):
            sh('tc', '-n', where, *cmd.split())
    before = tbf_buffers(ns)
    assert before == {('e0', '12:'): (300000, ['001a0aaa'])}, before  # (1706666 ticks)
    task = {M: {'netns': ns, 'dev': 'e0', 'config': [{'dev': 'e0', 'handle': '1:', 'kind': 'htb', 'default': '10',
                                                      'r2q': 20}]}}
    real = printed_then_real(play, task, ns, twin, tbf_buffers)
    assert any(c.endswith('qdisc add dev e0 parent 1:12 handle 12: tbf rate 2400000bit burst 32768 limit 51200')
               for c in real['commands']), real['commands']
    assert tbf_buffers(ns) == before
