# -*- coding: utf-8 -*-
"""edgenet.linux.tc_class against a real kernel.

The oracle is `tc -d class show`: iproute2 6.1 prints HTB classes as text even with -j, so it is parsed
here (every field the module manages is on the one line tc prints per class).
"""

import ast
import json
import os
import re

import pytest
import yaml

from conftest import (HERE, apply_then_unchanged, assert_no_traceback, collection_on_path, merged_in_process,
                      ns_and_twin, printed_then_real, refused_in_process, sh)

M = 'edgenet.linux.tc_class'
Q = 'edgenet.linux.tc_qdisc'
UNITS = {'bit': 1, 'kbit': 1000, 'mbit': 1000000, 'gbit': 1000000000}


def _rate(text):
    m = re.match(r'^([0-9.]+)([A-Za-z]+)$', text)
    return int(round(float(m.group(1)) * UNITS[m.group(2).lower()]))


def _size(text):
    m = re.match(r'^([0-9]+)([KMG]?)b$', text)
    return int(m.group(1)) * {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3}[m.group(2)]


def classes(ns, dev):
    """{classid: {parent, rate, ceil, burst, cburst, prio, quantum, level}} from tc's text output."""
    out = {}
    for line in sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', dev).splitlines():
        if not line.startswith('class htb '):
            continue
        w = line.split()
        c = {'parent': w[w.index('parent') + 1] if 'parent' in w else 'root'}
        for f in ('rate', 'ceil'):
            c[f] = _rate(w[w.index(f) + 1])
        for f in ('burst', 'cburst'):
            c[f] = _size(w[w.index(f) + 1].split('/')[0])
        for f in ('prio', 'quantum', 'level'):
            if f in w:
                c[f] = int(w[w.index(f) + 1])
        out[w[2]] = c
    return out


def _devices(netns):
    sh('ip', '-n', netns, 'link', 'add', 'name', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    sh('ip', '-n', netns, 'link', 'set', 'e0', 'up')
    sh('ip', '-n', netns, 'link', 'set', 'e1', 'up')
    sh('tc', '-n', netns, 'qdisc', 'add', 'dev', 'e0', 'root', 'handle', '1:', 'htb', 'default', '20')
    sh('tc', '-n', netns, 'qdisc', 'add', 'dev', 'e1', 'root', 'handle', '2:', 'htb')
    return netns


ns, twin = ns_and_twin(_devices)


def _module_doc(name):
    """The module's DOCUMENTATION, EXAMPLES or RETURN text."""
    with open(os.path.join(HERE, '..', '..', 'plugins', 'modules', 'tc_class.py')) as f:
        tree = ast.parse(f.read())
    return next(n.value.value for n in tree.body
                if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', None) == name)


TREE = [
    {'dev': 'e0', 'classid': '1:1', 'parent': '1:', 'rate': '10mbit'},
    {'dev': 'e0', 'classid': '1:10', 'parent': '1:1', 'rate': '6mbit', 'ceil': '10mbit', 'prio': 1},
    {'dev': 'e0', 'classid': '1:20', 'parent': '1:1', 'rate': '1.5mbit', 'ceil': '10mbit', 'burst': '15kb',
     'cburst': 3000, 'prio': 2, 'quantum': 3000},
    {'dev': 'e0', 'classid': '1:21', 'parent': '1:20', 'rate': '100kbps'},
]


def test_tree_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': list(reversed(TREE))}}  # children first in config: the plan orders
    check = play([task], check=True)[0]
    assert classes(ns, 'e0') == {}
    apply, again = play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['changed'] and check['before'] == [] and 'diff' in check
    # parents before children
    order = [c.split()[10] for c in apply['commands']]
    assert sorted(order) == ['1:1', '1:10', '1:20', '1:21']
    assert order.index('1:1') < min(order.index('1:10'), order.index('1:20')) < order.index('1:21')
    assert apply['commands'][0] == 'tc -n %s class add dev e0 parent 1: classid 1:1 htb rate 10000000bit' % ns
    k = classes(ns, 'e0')
    assert k['1:1']['parent'] == 'root' and k['1:1']['rate'] == 10000000 and k['1:1']['ceil'] == 10000000
    assert k['1:10'] == dict(k['1:10'], parent='1:1', rate=6000000, ceil=10000000, prio=1, level=0)
    # tc prints quantum and prio of leaf classes only; the module's after (re-gathered) shows 1:20's quantum
    assert k['1:20']['rate'] == 1500000 and k['1:20']['level'] > 0 and k['1:10']['quantum'] == 75000
    assert k['1:21']['parent'] == '1:20' and k['1:21']['rate'] == 800000
    # the buckets: 15kb asked, the kernel keeps a time, tc prints the size that time buys (rounded down)
    assert 15300 <= k['1:20']['burst'] <= 15360 and 2990 <= k['1:20']['cburst'] <= 3000
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    after = dict((o['classid'], o) for o in apply['after'])
    assert after['1:20'] == {'dev': 'e0', 'classid': '1:20', 'parent': '1:1', 'kind': 'htb', 'rate': 1500000,
                             'ceil': 10000000, 'burst': 15360, 'cburst': 3000, 'prio': 2, 'quantum': 3000,
                             'overhead': 0}
    assert after['1:10']['quantum'] == 75000  # 6mbit / r2q 10, as the kernel computes it
    assert again['changed'] is False and again['commands'] == [] and again['before'] == apply['after']


def test_no_false_change_from_rounding(ns, play):
    """A correct tree never shows as changed: made by tc itself, and gathered output fed back."""
    for line in ('class add dev e0 parent 1: classid 1:1 htb rate 10mbit burst 15k',
                 'class add dev e0 parent 1:1 classid 1:10 htb rate 1.5mbit ceil 7777kbit cburst 4321',
                 'class add dev e0 parent 1:1 classid 1:11 htb rate 333kbit'):
        sh('tc', '-n', ns, *line.split())
    cfg = [{'dev': 'e0', 'classid': '1:1', 'parent': '1:', 'rate': '10mbit', 'burst': '15k'},
           {'dev': 'e0', 'classid': '1:10', 'parent': '1:1', 'rate': '1.5mbit', 'ceil': '7777kbit', 'cburst': 4321},
           {'dev': 'e0', 'classid': '1:11', 'parent': '1:1', 'rate': '333kbit'}]
    r = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}})[0]
    assert r['changed'] is False and r['commands'] == [], r
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    # the RETURN sample of a class has the keys of a gathered HTB class, no more, no fewer
    sample = yaml.safe_load(_module_doc('RETURN'))['before']['sample'][0]
    assert sorted(sample) == sorted(next(c for c in gathered if c['classid'] == '1:10'))
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': gathered}})[0]
    assert r['changed'] is False and r['commands'] == [], r


def test_rendered_commands_work_when_pasted(ns, play):
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': TREE}})[0]
    for line in r['rendered']:
        sh(*line.split())
    again = play({M: {'netns': ns, 'config': TREE}})[0]
    assert again['changed'] is False and again['commands'] == [], again


def test_change_in_place_and_overridden_deletes_children_first(ns, play):
    play({M: {'netns': ns, 'config': TREE}})
    cfg = [dict(TREE[0], rate='20mbit'), dict(TREE[1], ceil='20mbit', prio=3)]
    check = play({M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': cfg}}] * 2)
    assert check['after'] == real['after'] and check['commands'] == real['commands']
    assert [c.split(' ', 3)[3] for c in real['commands']] == [
        'class del dev e0 parent 1:20 classid 1:21',
        'class del dev e0 parent 1:1 classid 1:20',
        # an inner class keeps the quantum it got as a leaf (the kernel sets it for leaves only)
        'class change dev e0 parent 1: classid 1:1 htb rate 20000000bit quantum 125000',
        'class change dev e0 parent 1:1 classid 1:10 htb rate 6000000bit ceil 20000000bit prio 3',
    ]
    k = classes(ns, 'e0')
    assert set(k) == {'1:1', '1:10'} and k['1:1']['rate'] == 20000000 and k['1:10']['ceil'] == 20000000
    assert k['1:10']['prio'] == 3
    assert not again['changed'] and again['commands'] == []
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e0'}]}})[0]
    assert r['changed'] and classes(ns, 'e0') == {}
    assert [c.split()[-1] for c in r['commands']] == ['1:10', '1:1']


def tree(ns):
    return classes(ns, 'e0'), classes(ns, 'e1')


def test_change_and_delete_as_printed_make_the_same_state(ns, twin, play):
    """The commands of check-mode runs that change, add and delete classes (replaced, then deleted), pasted into
    tc on a twin namespace in the same state, make exactly what the real runs make."""
    for where in (ns, twin):
        play({M: {'netns': where, 'config': TREE}})
    cfg = [dict(TREE[1], rate='7mbit', burst='20kb'),  # changed in place
           {'dev': 'e0', 'classid': '1:20', 'parent': '1:1', 'rate': '1.5mbit'},  # options back to defaults
           {'dev': 'e0', 'classid': '1:30', 'parent': '1:1', 'rate': '1.5gbit', 'ceil': '2gbit'},  # new
           {'dev': 'e1', 'classid': '2:1', 'parent': '2:', 'rate': '100kbps', 'overhead': 24}]  # new, other dev
    for state, config in (('replaced', cfg), ('deleted', [{'dev': 'e0', 'classid': '1:21'}, {'dev': 'e1'}])):
        real = printed_then_real(play, {M: {'netns': ns, 'state': state, 'config': config}}, ns, twin, tree)
        verbs = sorted(c.split()[4] for c in real['commands'])
        assert verbs == (['add', 'add', 'change', 'change'] if state == 'replaced' else ['del', 'del']), verbs
    k = classes(ns, 'e0')
    assert k['1:10']['rate'] == 7000000 and k['1:30']['rate'] == 1500000000 and k['1:20']['rate'] == 1500000
    assert set(k) == {'1:1', '1:10', '1:20', '1:30'} and classes(ns, 'e1') == {}


def test_a_bucket_of_0_bytes_is_tcs_default(ns, twin, play):
    """burst 0 and cburst 0 are tc's default buckets, as on tc's command line (rate / HZ + 1600 bytes): a new class
    and a changed one get them, check mode predicts them, the printed commands pasted into tc on a twin make the same
    classes, and the same task again is no change. (The module used to send buckets of 0 ticks, which tc's command
    line does not make, and to report 0 in check mode.) At 40gbit and above tc's default is less than a microsecond,
    printed 0: given back, it is that bucket."""
    for where in (ns, twin):
        play({M: {'netns': where, 'config': TREE[:2]}})
    cfg = [dict(TREE[1], burst=0, cburst='0kb'),  # changed: back to the defaults
           {'dev': 'e0', 'classid': '1:30', 'parent': '1:1', 'rate': '1gbit', 'ceil': '2gbit', 'burst': 0},  # new
           {'dev': 'e0', 'classid': '1:40', 'parent': '1:1', 'rate': '40gbit', 'burst': 0, 'cburst': 0}]
    real = printed_then_real(play, {M: {'netns': ns, 'config': cfg}}, ns, twin, tree)
    assert not any(' burst 0' in c or ' cburst 0' in c for c in real['commands']), real['commands']
    # tc's own command line with burst 0 and cburst 0, on the twin: the same buckets
    sh('tc', '-n', twin, 'class', 'add', 'dev', 'e0', 'parent', '1:1', 'classid', '1:50', 'htb', 'rate', '1gbit',
       'ceil', '2gbit', 'burst', '0', 'cburst', '0')
    k, tc_made = classes(ns, 'e0'), classes(twin, 'e0')['1:50']
    assert (k['1:30']['burst'], k['1:30']['cburst']) == (tc_made['burst'], tc_made['cburst']) == (1375, 1250), k
    assert k['1:40']['burst'] == k['1:40']['cburst'] == 0, k
    mine = dict((c['classid'], c) for c in real['after'])
    assert (mine['1:30']['burst'], mine['1:30']['cburst'], mine['1:40']['burst']) == (1375, 1250, 0), mine


def test_child_rate_above_parent_ceil_warns(ns, play):
    cfg = [{'dev': 'e1', 'classid': '2:1', 'parent': 'root', 'rate': '1mbit'},
           {'dev': 'e1', 'classid': '2:10', 'parent': '2:1', 'rate': '2mbit'}]
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    assert r['changed'] and not r.get('failed')
    assert any('above the ceil of its parent' in w for w in r['warnings'])
    assert set(classes(ns, 'e1')) == {'2:1', '2:10'}


@pytest.mark.parametrize('item,field', [
    ({'dev': 'e0', 'classid': '1:5', 'parent': '1:99', 'rate': '1mbit'}, 'parent'),   # parent does not exist
    ({'dev': 'e0', 'classid': '3:5', 'parent': '3:', 'rate': '1mbit'}, 'classid'),    # no qdisc 3:
    ({'dev': 'e0', 'classid': '1:5', 'parent': '2:', 'rate': '1mbit'}, 'parent'),     # another tree
    ({'dev': 'e0', 'classid': '1:5', 'parent': '1:', 'rate': '1 zillion'}, 'rate'),
    ({'dev': 'e0', 'classid': '1:5', 'parent': '1:', 'rate': '2mbit', 'ceil': '1mbit'}, 'ceil'),
    ({'dev': 'e0', 'classid': '1:5', 'parent': '1:', 'rate': '1mbit', 'prio': 8}, 'prio'),
    ({'dev': 'e0', 'classid': '1:', 'parent': '1:', 'rate': '1mbit'}, 'classid'),
    ({'dev': 'e0', 'classid': '1:5', 'parent': '1:', 'rate': '1mbit', 'burst': 'lots'}, 'burst'),
    ({'dev': 'e0', 'classid': '1:5', 'parent': '1:'}, 'rate'),
    ({'dev': 'nope', 'classid': '1:5', 'parent': '1:', 'rate': '1mbit'}, 'dev'),
])
def test_bad_input_names_field_and_changes_nothing(ns, play, item, field):
    play({M: {'netns': ns, 'config': TREE[:1]}})
    before = classes(ns, 'e0')
    r = play({M: {'netns': ns, 'config': [TREE[1], item]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and r.get('field') == field, r
    assert classes(ns, 'e0') == before


def test_delete_parent_keeping_children_is_refused(ns, play):
    play({M: {'netns': ns, 'config': TREE[:2]}})
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e0', 'classid': '1:1'}]}})[0]
    assert r.get('failed') and r['field'] == 'classid' and '1:10' in r['msg']
    assert set(classes(ns, 'e0')) == {'1:1', '1:10'}
    # a move to another parent is a delete and an add: refused so, naming the parent (it named classid, and spoke of
    # a delete that the element did not ask for)
    move = {M: {'netns': ns, 'config': [{'dev': 'e0', 'classid': '1:2', 'parent': '1:', 'rate': '20mbit'},
                                        dict(TREE[0], parent='1:2')]}}
    for r in play(move, check=True) + play(move):
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'parent' and r['object'] == 'class 1:1 dev e0', r
        assert 'moving the class to parent 1:2 means deleting it and making it again there' in r['msg'], r
        assert 'while the class has children (1:10)' in r['msg'], r
    assert set(classes(ns, 'e0')) == {'1:1', '1:10'}


def test_htb_overhead(ns, play):
    """overhead is a class option (in both rate specs); tc prints it; changed in place; rendered lines work."""
    cfg = [{'dev': 'e1', 'classid': '2:1', 'parent': '2:', 'rate': '1mbit', 'overhead': 24},
           {'dev': 'e1', 'classid': '2:10', 'parent': '2:1', 'rate': '500kbit', 'ceil': '1mbit', 'overhead': 38}]
    task = {M: {'netns': ns, 'config': cfg}}
    check, apply, again = play([dict(task, check_mode=True), task, task])
    assert check['after'] == apply['after'] and check['commands'] == apply['commands'] and again['changed'] is False
    assert apply['commands'][0].endswith('htb rate 1000000bit overhead 24'), apply['commands']
    text = sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', 'e1')
    assert re.search(r'class htb 2:1 root .*rate 1Mbit overhead 24 ceil 1Mbit', text), text
    assert re.search(r'class htb 2:10 parent 2:1 .*rate 500Kbit overhead 38 ceil 1Mbit', text), text
    # back to no overhead: replaced fills the default (0) and changes in place
    r = play({M: {'netns': ns, 'state': 'replaced', 'config': [dict(cfg[1], overhead=None)]}})[0]
    assert [c.split()[4] for c in r['commands']] == ['change'] and r['after'][0]['overhead'] == 0, r['commands']
    assert [c['classid'] for c in r['after']] == ['2:10']  # replaced shows the class it names
    assert 'overhead' not in [ln for ln in sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', 'e1').splitlines()
                              if ' 2:10 ' in ln][0]
    # the rendered lines (with overhead) work when pasted on a fresh qdisc
    sh('tc', '-n', ns, 'qdisc', 'del', 'dev', 'e1', 'root')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e1', 'root', 'handle', '2:', 'htb')
    for line in play({M: {'netns': ns, 'state': 'rendered', 'config': cfg}})[0]['rendered']:
        sh(*line.split())
    r = play(task)[0]
    assert r['changed'] is False and r['commands'] == [], r['commands']


def _without_depth_check(ns, params):
    """The module's engine in this process, with the module's own check of HTB's depth limit turned off, so that
    the kernel's refusal of a ninth level ("tree is too deep") comes in the middle of a pipelined plan: a real
    refusal by the kernel, for the tests of the rollback. Returns the EdgenetError the run raised."""
    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_class import TcClass

    class Unchecked(TcClass):
        @staticmethod
        def _refuse_too_deep(obj, after_by, label):
            return None

    return refused_in_process(Unchecked(), dict({'netns': ns, 'state': 'merged', 'dev': None}, **params))


CHAIN = [{'dev': 'e0', 'classid': '1:%d' % i, 'parent': '1:%d' % (i - 1) if i > 1 else '1:', 'rate': '1mbit'}
         for i in range(1, 10)]


def test_a_ninth_level_is_refused_before_anything_is_sent(ns, play):
    """HTB refuses a class below its eighth level ("tree is too deep"). The module refuses it before anything is
    sent, in check mode too, naming the class and the path from the qdisc. Before, check mode showed the adds, and
    the real run failed in the kernel and rolled back."""
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '1mbit')
    before = classes(ns, 'e0')
    for check_mode in (True, False):
        r = play({M: {'netns': ns, 'config': CHAIN}}, check=check_mode)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['object'] == 'class 1:9 dev e0' and r['field'] == 'parent', r
        assert 'at most 8 levels' in r['msg'] and '1: -> 1:1 -> 1:2' in r['msg'] and '1:8 -> 1:9' in r['msg'], r
        assert not r.get('rolled_back') and classes(ns, 'e0') == before
    # eight levels are what the kernel takes (the oracle: its levels, 7 down to 0)
    apply_then_unchanged(play, {M: {'netns': ns, 'config': CHAIN[:8]}})
    assert [classes(ns, 'e0')['1:%d' % i]['level'] for i in range(1, 9)] == list(range(7, -1, -1))
    # a class moved under the eighth level (deleted and added: the kernel cannot move one) is refused as well
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:30', 'htb', 'rate', '1mbit')
    before = classes(ns, 'e0')
    r = play({M: {'netns': ns, 'config': [{'dev': 'e0', 'classid': '1:30', 'parent': '1:8', 'rate': '1mbit'}]}})[0]
    assert r.get('failed') and r['object'] == 'class 1:30 dev e0' and 'would be the 9th' in r['msg'], r
    assert classes(ns, 'e0') == before


def test_kernel_refusal_midway_rolls_back_the_whole_plan(ns):
    """A refusal that only the kernel makes, in the middle of the pipelined plan (the module's own depth check
    turned off, so that the kernel refuses the ninth level): the plan's first eight classes and the change on the
    other device, sent in the same batch, are undone (children first), and the kernel is as before; the error
    names the refused class and says what was rolled back."""
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e1', 'parent', '2:', 'classid', '2:5', 'htb', 'rate', '2mbit')
    before = (classes(ns, 'e0'), classes(ns, 'e1'))
    change = {'dev': 'e1', 'classid': '2:5', 'parent': '2:', 'rate': '3mbit'}
    r = _without_depth_check(ns, {'config': [change] + CHAIN})
    assert r['object'] == 'class 1:9 dev e0' and 'too deep' in r.get('extack', ''), r
    assert 'rolled back the 9 change(s) already made' in r['msg'], r['msg']
    assert r['rolled_back'][0].endswith('class del dev e0 parent 1:7 classid 1:8')
    assert [c for c in r['rolled_back'] if 'class change dev e1 parent 2: classid 2:5 htb rate 2000000bit' in c], r
    assert (classes(ns, 'e0'), classes(ns, 'e1')) == before


def test_elements_that_spell_a_class_as_gathered(ns, play):
    """State merged gathers first and takes an HTB class element whose fields parse to the kernel's values
    (classid, parent, rate and ceil in any unit tc takes, prio, quantum, overhead) as that class, without
    normalizing, settling or planning it (the engine's fast path: most of a 1,000-class re-check). It must behave
    as the normal path: nothing to change on a re-run (check mode too), the same errors for a duplicate and for a
    ceil below the rate, and a real change when a value differs."""
    cfg = [{'dev': 'e0', 'classid': '1:1', 'parent': 'root', 'rate': '10mbit'},
           {'dev': 'e0', 'classid': '1:10', 'parent': '1:1', 'rate': '1500kbit', 'ceil': '10Mbit', 'prio': 1},
           {'dev': 'e0', 'classid': '1:20', 'parent': '1:1', 'rate': '2mbit', 'quantum': 3000, 'kind': 'htb'}]
    apply_then_unchanged(play, {M: {'netns': ns, 'config': cfg}})
    before = classes(ns, 'e0')
    # the same values spelled otherwise: nothing to change, and none of these elements is normalized
    spelled = [dict(cfg[0], parent='FFFF:FFFF', rate='10000kbit'),
               dict(cfg[1], classid='1:0010', rate='1.5mbit', ceil='10000000bit', overhead=0),
               dict(cfg[2], parent='1:1', rate='250kbps')]
    for check_mode in (True, False):
        r, normalized, writes = merged_in_process('tc_class', ns, spelled, check_mode)
        assert not r['changed'] and r['commands'] == [] and writes == 0 and normalized == 0, r
    r = play({M: {'netns': ns, 'config': spelled}})[0]
    assert not r['changed'] and r['commands'] == [], r
    # duplicates: the same class twice as spelled; once so and once with a bucket (the normal path)
    for dup in ([cfg[1], cfg[1]], [cfg[1], dict(cfg[1], burst=before['1:10']['burst'])]):
        r = play({M: {'netns': ns, 'config': dup}})[0]
        assert_no_traceback(r)
        assert r['failed'] and 'duplicate key' in r['msg'] and 'config[0]' in r['msg'], r
    # a class the kernel holds with its ceil below its rate (tc makes it): restated, the normal path's error
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:1', 'classid', '1:5', 'htb', 'rate', '2mbit',
       'ceil', '1mbit')
    r = play({M: {'netns': ns, 'config': [{'dev': 'e0', 'classid': '1:5', 'parent': '1:1', 'rate': '2mbit',
                                           'ceil': '1mbit'}]}})[0]
    assert r['failed'] and r['field'] == 'ceil' and 'below rate' in r['msg'], r
    assert classes(ns, 'e0') == dict(before, **{'1:5': classes(ns, 'e0')['1:5']})
    # a value that differs is a change, made and then stable
    changed = {M: {'netns': ns, 'config': [dict(cfg[1], prio=2), dict(cfg[2], rate='3mbit')]}}
    r, r2 = play([changed, changed])
    assert r['changed'] and not r2['changed'] and len(r['commands']) == 2, (r, r2)
    k = classes(ns, 'e0')
    assert k['1:10']['prio'] == 2 and k['1:20']['rate'] == 3000000


def test_merged_change_keeps_the_kernels_buckets(ns, twin, play):
    """A merged element that leaves the buckets out keeps the kernel's buckets exactly. The size tc prints for a
    bucket is rounded down to whole microseconds: sent back as a size, it made each change of prio alone shrink
    the bucket by one more microsecond (15,360 bytes to 15,000 at 1gbit; 101,000 to 95,000, 90,000... at 40gbit),
    and check mode predicted a bucket the real run did not make. The printed commands make the same buckets."""
    cfg = [{'dev': 'e1', 'classid': '2:10', 'parent': '2:', 'rate': '1gbit', 'burst': '15k'},
           {'dev': 'e1', 'classid': '2:20', 'parent': '2:', 'rate': '40gbit', 'burst': 101000, 'cburst': 101000}]
    for where in (ns, twin):
        play({M: {'netns': where, 'config': cfg}})
    first = classes(ns, 'e1')
    assert first['2:10']['burst'] == 15125 and first['2:20']['burst'] == first['2:20']['cburst'] == 95000, first
    for prio in (1, 2, 3):
        task = {M: {'netns': ns, 'config': [{'dev': 'e1', 'classid': c, 'parent': '2:', 'prio': prio}
                                            for c in ('2:10', '2:20')]}}
        real = printed_then_real(play, task, ns, twin, lambda n: classes(n, 'e1'))
        assert real['changed'] and classes(ns, 'e1') == dict((c, dict(first[c], prio=prio)) for c in first)
        assert [(o['burst'], o['cburst']) for o in real['after']] == [(15125, 1375), (95000, 95000)], real['after']


def test_merged_rate_above_the_kernels_ceil(ns, play):
    """A merged element that raises the rate of a class above the ceil it has: a ceil at the rate (the one a
    class that names none gets) follows the rate; a ceil of its own is an error naming ceil, as a ceil below the
    rate is within one element. Before, the kernel was left with the ceil below the rate."""
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e1', 'parent', '2:', 'classid', '2:10', 'htb', 'rate', '10mbit')
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e1', 'parent', '2:', 'classid', '2:20', 'htb', 'rate', '10mbit',
       'ceil', '15mbit')
    task = {M: {'netns': ns, 'config': [{'dev': 'e1', 'classid': '2:10', 'parent': '2:', 'rate': '20mbit'}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert check['after'] == real['after'] and check['commands'] == real['commands'], (check, real)
    assert real['after'][0]['ceil'] == 20000000 and not again['changed'], (real, again)
    k = classes(ns, 'e1')
    assert k['2:10']['rate'] == k['2:10']['ceil'] == 20000000 and k['2:20']['ceil'] == 15000000, k
    before = classes(ns, 'e1')
    for item in ({'dev': 'e1', 'classid': '2:20', 'parent': '2:', 'rate': '20mbit'},  # above its own ceil
                 {'dev': 'e1', 'classid': '2:10', 'parent': '2:', 'ceil': '5mbit'}):  # below the kernel's rate
        for check_mode in (True, False):
            r = play({M: {'netns': ns, 'config': [item]}}, check=check_mode)[0]
            assert_no_traceback(r)
            assert r.get('failed') and r['field'] == 'ceil' and r['object'] == 'class %s dev e1' % item['classid'], r
            assert classes(ns, 'e1') == before


def test_merged_new_rate_of_a_default_bucket_gets_the_new_default(ns, play):
    """A merged element that changes only the rate of a class whose buckets are the default ones (tc's rate / HZ
    + mtu): the buckets become those a class made with the new rate gets, as a class tc makes with that rate has
    them (the oracle); check mode predicts what the real run reports. Before, the old size was sent at the new
    rate: the kernel made a third bucket, and check mode and the report each showed another."""
    for classid, rate in (('2:10', '1gbit'), ('2:30', '2gbit')):
        sh('tc', '-n', ns, 'class', 'add', 'dev', 'e1', 'parent', '2:', 'classid', classid, 'htb', 'rate', rate)
    task = {M: {'netns': ns, 'config': [{'dev': 'e1', 'classid': '2:10', 'parent': '2:', 'rate': '2gbit'}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert_no_traceback(real)
    assert check['after'] == real['after'] and check['commands'] == real['commands'], (check, real)
    assert not again['changed'], again
    k = classes(ns, 'e1')
    assert (k['2:10']['burst'], k['2:10']['cburst']) == (k['2:30']['burst'], k['2:30']['cburst']), k


def test_merged_change_keeps_link_layer_and_mpu(ns, play):
    """A class made by tc with a link layer and an mpu the module does not model (`linklayer atm mpu 64`): a merged
    change of another field keeps both (oracle: tc -d class show), and its command line names them."""
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e1', 'parent', '2:', 'classid', '2:10', 'htb', 'rate', '2mbit',
       'mpu', '64', 'linklayer', 'atm')
    line = [x for x in sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', 'e1').splitlines() if '2:10' in x][0]
    assert 'linklayer atm' in line and 'mpu 64b' in line, line
    task = {M: {'netns': ns, 'config': [{'dev': 'e1', 'classid': '2:10', 'parent': '2:', 'prio': 3}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert_no_traceback(real)
    assert real['changed'] and not again['changed'] and check['commands'] == real['commands'], (check, real)
    assert real['commands'][0].endswith('prio 3 mpu 64 linklayer atm'), real['commands']
    line = [x for x in sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', 'e1').splitlines() if '2:10' in x][0]
    assert 'prio 3' in line and 'linklayer atm' in line and 'mpu 64b' in line, line


def test_parent_cycle_is_refused(ns, play):
    """Classes that are each other's parents are refused before anything is sent. Before, the kernel made the
    first one sent a top-level class (its parent did not exist yet), and the next run failed."""
    cycle = [{'dev': 'e1', 'classid': '2:20', 'parent': '2:30', 'rate': '1mbit'},
             {'dev': 'e1', 'classid': '2:30', 'parent': '2:20', 'rate': '2mbit'}]
    three = [{'dev': 'e1', 'classid': '2:1', 'parent': '2:', 'rate': '5mbit'},
             dict(cycle[0], parent='2:40'), cycle[1], {'dev': 'e1', 'classid': '2:40', 'parent': '2:30',
                                                       'rate': '1mbit'}]
    for state, config in (('merged', cycle), ('overridden', three)):
        for check_mode in (True, False):
            r = play({M: {'netns': ns, 'state': state, 'config': config}}, check=check_mode)[0]
            assert_no_traceback(r)
            assert r.get('failed') and r['field'] == 'parent' and 'parent cycle' in r['msg'], r
            assert '2:20' in r['msg'] and '2:30' in r['msg'], r['msg']
            assert classes(ns, 'e1') == {}
    # an existing class moved under a new class of its own
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e1', 'parent', '2:', 'classid', '2:20', 'htb', 'rate', '1mbit')
    before = classes(ns, 'e1')
    r = play({M: {'netns': ns, 'config': cycle}})[0]
    assert r.get('failed') and r['field'] == 'parent' and 'parent cycle' in r['msg'], r
    assert classes(ns, 'e1') == before


def test_overridden_making_an_inner_class_a_leaf_converges(ns, play):
    """overridden deletes the children of an inner class, which makes it a leaf: its prio and quantum (which
    the kernel sets for leaves only) are set in the same run, so a second run changes nothing."""
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e1', 'parent', '2:', 'classid', '2:1', 'htb', 'rate', '10mbit',
       'prio', '2', 'quantum', '3000')
    sh('tc', '-n', ns, 'class', 'add', 'dev', 'e1', 'parent', '2:1', 'classid', '2:10', 'htb', 'rate', '2mbit')
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'e1',
                'config': [{'dev': 'e1', 'classid': '2:1', 'parent': '2:', 'rate': '10mbit'}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert check['after'] == real['after'] and check['commands'] == real['commands'], (check, real)
    assert [c.split(' ', 3)[3] for c in real['commands']] == [
        'class del dev e1 parent 2:1 classid 2:10', 'class change dev e1 parent 2: classid 2:1 htb rate 10000000bit']
    k = classes(ns, 'e1')
    assert set(k) == {'2:1'} and k['2:1']['level'] == 0 and k['2:1']['prio'] == 0 and k['2:1']['quantum'] == 125000
    assert real['after'][0]['prio'] == 0 and real['after'][0]['quantum'] == 125000, real['after']
    assert not again['changed'] and again['commands'] == [], again


def _qdiscs(ns, dev):
    return sorted((q['handle'], q.get('parent', 'root'), q['kind'])
                  for q in json.loads(sh('tc', '-n', ns, '-j', 'qdisc', 'show', 'dev', dev)))


def test_buckets_at_a_new_rate_as_check_mode_shows_them(ns, twin, play):
    """A bucket kept at a new rate (or ceil) is sent as its size at that rate, and the kernel reports it cut to whole
    microseconds there: check mode showed the old size (15360 where the kernel then had 15358). A size given at a
    ceil the element leaves out (merged keeps the kernel's) is compared at that ceil: the real run reported the
    kernel's 1512 for a given 1536, and check mode 1536. Check mode now predicts the real run, whose printed commands
    make the same classes on a twin, and the same task again is no change."""
    for where in (ns, twin):
        for line in ('class add dev e0 parent 1: classid 1:1 htb rate 100mbit',
                     'class add dev e0 parent 1:1 classid 1:20 htb rate 5mbit burst 15k cburst 3000'):
            sh('tc', '-n', where, *line.split())
    for cfg in ([{'dev': 'e0', 'classid': '1:20', 'parent': '1:1', 'rate': '7mbit', 'ceil': '7mbit'}],
                [{'dev': 'e0', 'classid': '1:1', 'parent': '1:', 'rate': '3mbit', 'burst': '1.5k', 'cburst': '1.5k'}]):
        real = printed_then_real(play, {M: {'netns': ns, 'config': cfg}}, ns, twin, tree)
        mine = [c for c in real['after'] if c['classid'] == cfg[0]['classid']][0]
        # (15360 and 3000 bytes at 7mbit: 17553 and 3428 us, as tc cuts them: 15358 and 2998 bytes)
        assert (mine['burst'], mine['cburst']) == ((15358, 2998) if 'ceil' in cfg[0] else (1536, 1536)), mine


def test_a_class_moved_with_a_new_child(ns, twin, play):
    """A class moved to another parent (deleted, then added) that gets its first child in the same task, and a tree
    turned around by overridden (1:10 to the top, 1:20 under it): the children come after the class. Both used to
    be refused as a delete of a class that keeps children. The printed commands make the same tree on a twin."""
    for where in (ns, twin):
        for line in ('class add dev e0 parent 1: classid 1:1 htb rate 100mbit',
                     'class add dev e0 parent 1:1 classid 1:10 htb rate 10mbit ceil 100mbit prio 1',
                     'class add dev e0 parent 1:1 classid 1:20 htb rate 5mbit'):
            sh('tc', '-n', where, *line.split())
    moved = [{'dev': 'e0', 'classid': '1:10', 'parent': '1:', 'rate': '10mbit', 'ceil': '100mbit', 'prio': 1},
             {'dev': 'e0', 'classid': '1:11', 'parent': '1:10', 'rate': '1mbit'}]
    printed_then_real(play, {M: {'netns': ns, 'dev': 'e0', 'config': moved}}, ns, twin, tree)
    k = classes(ns, 'e0')
    assert k['1:10']['parent'] == 'root' and k['1:11']['parent'] == '1:10', k
    turned = [{'dev': 'e0', 'classid': '1:10', 'parent': '1:', 'rate': '10mbit'},
              {'dev': 'e0', 'classid': '1:20', 'parent': '1:10', 'rate': '5mbit'}]
    printed_then_real(play, {M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': turned}}, ns, twin, tree)
    k = classes(ns, 'e0')
    assert set(k) == {'1:10', '1:20'} and k['1:20']['parent'] == '1:10', k


def test_a_filter_on_a_class_that_points_at_its_child(ns, play):
    """A filter attached to an inner class that points at a child of it: the plan deletes the child before its
    parent, while the filter (which goes with the parent) still holds the child, and the kernel refuses (EBUSY).
    Check mode passed it without a word and the real run failed in the kernel; now check mode warns and the real run
    refuses before anything is sent, naming the child (a filter on a class that points at a shallower one is deleted
    with its class first, and still passes: test_delete_of_a_class_a_filter_points_at)."""
    for line in ('class add dev e0 parent 1: classid 1:1 htb rate 10mbit',
                 'class add dev e0 parent 1:1 classid 1:10 htb rate 2mbit',
                 'filter add dev e0 parent 1:1 prio 3 protocol ip u32 match ip dst 198.18.0.77/32 flowid 1:10'):
        sh('tc', '-n', ns, *line.split())
    before = (classes(ns, 'e0'), _qdiscs(ns, 'e0'))
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': []}}
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert any('u32 filter (parent 1:1 prio 3) points at class 1:10 dev e0' in w for w in check['warnings']), check
    r = play(task)[0]
    assert_no_traceback(r)
    assert r.get('failed') and r['field'] == 'classid' and r['object'] == 'class 1:10 dev e0', r
    assert 'points at this class' in r['msg'] and not r.get('rolled_back'), r
    assert (classes(ns, 'e0'), _qdiscs(ns, 'e0')) == before


def test_delete_of_a_class_a_filter_points_at(ns, play):
    """A class that a filter points at cannot be deleted (the kernel: EBUSY, "class in use"): refused before
    anything is sent (check mode warns instead, assuming an earlier task deletes the filter). Before, the classes the plan deleted first were deleted and then
    re-added by the rollback without their leaf qdiscs, and the error claimed a complete rollback. A rollback
    that cannot restore a leaf qdisc (a later refusal) now says so."""
    for line in ('class add dev e0 parent 1: classid 1:1 htb rate 10mbit',
                 'class add dev e0 parent 1:1 classid 1:10 htb rate 2mbit ceil 5mbit prio 3',
                 'class add dev e0 parent 1:1 classid 1:20 htb rate 3mbit',
                 'qdisc add dev e0 parent 1:10 handle 10: pfifo limit 33',
                 'filter add dev e0 parent 1: prio 1 protocol ip u32 match ip dst 198.18.0.1/32 classid 1:20'):
        sh('tc', '-n', ns, *line.split())
    before = (classes(ns, 'e0'), _qdiscs(ns, 'e0'))
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'e0',
                'config': [{'dev': 'e0', 'classid': '1:1', 'parent': '1:', 'rate': '10mbit'}]}}
    # check mode assumes an earlier task of the play deletes the filter (the qos role's deleted run deletes the
    # filters first; its check run used to fail here while the real run succeeded), and says so
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert not check.get('failed') and check['changed'], check
    assert any('u32 filter (parent 1: prio 1) points at class 1:20 dev e0; this prediction assumes an earlier task'
               in w for w in check['warnings']), check
    assert (classes(ns, 'e0'), _qdiscs(ns, 'e0')) == before
    r = play(task)[0]
    assert_no_traceback(r)
    assert r.get('failed') and r['field'] == 'classid' and r['object'] == 'class 1:20 dev e0', r
    assert 'u32 filter (parent 1: prio 1) points at this class' in r['msg'] and not r.get('rolled_back'), r
    assert (classes(ns, 'e0'), _qdiscs(ns, 'e0')) == before
    # without the filter, a later refusal (a ninth level, with the module's own check of it turned off so that the
    # kernel refuses it) rolls back the delete of 1:10, and makes again what the kernel deleted with it: its pfifo
    # (with its limit) and the filter attached to the class (before, the rollback left the class with the kernel's
    # default qdisc and no filter)
    sh('tc', '-n', ns, 'filter', 'del', 'dev', 'e0', 'parent', '1:', 'prio', '1')
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:10', 'prio', '2', 'protocol', 'ip', 'u32', 'match',
       'ip', 'dst', '198.18.0.2/32', 'classid', '1:1')
    before = _tree(ns)
    r = _without_depth_check(ns, {'state': 'overridden', 'dev': 'e0', 'config': [TREE[2], CHAIN[8]] + CHAIN[:8]})
    assert r['object'] == 'class 1:9 dev e0' and 'too deep' in r.get('extack', ''), r
    assert 'rolled back the' in r['msg'] and 'cannot' not in r['msg'] and not r.get('rollback_lost'), r
    assert not r['rollback_failed'], r
    assert 'tc -n %s qdisc add dev e0 parent 1:10 handle 10: pfifo limit 33' % ns in r['rolled_back'], r
    assert _tree(ns) == before


def _filters(ns, dev, parent):
    """tc's text for the filters of one parent, without the ids of u32 hash tables (the kernel numbers the tables
    of a qdisc in the order they are made: a filter made again may get another) and of actions (a filter made again
    keeps its action's index; one pasted gets the first free one, and the kernel frees a deleted filter's actions
    a moment later)."""
    text = sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', dev, 'parent', parent)
    text = re.sub(r'\bindex [0-9]+ ref', 'index N ref', text)
    return re.sub(r'\b8[0-9a-f]{2}:', 'HT:', re.sub(r'key ht 8[0-9a-f]{2}', 'key ht HT', text))


def _tree(ns, dev='e0', parents=('1:', '1:1', '1:2', '1:10', '1:20', '20:', '20:1')):
    """The whole tc tree of ``dev`` as tc shows it: qdiscs (tc -j), classes (with parents), filters of ``parents``."""
    qdiscs = json.loads(sh('tc', '-n', ns, '-j', 'qdisc', 'show', 'dev', dev))
    for q in qdiscs:
        q.pop('refcnt', None)
        q.get('options', {}).pop('direct_packets_stat', None)
    tree = classes(ns, dev)
    present = list(tree) + [q['handle'] for q in qdiscs]
    return (sorted(qdiscs, key=lambda q: q['handle']), tree,
            dict((p, _filters(ns, dev, p)) for p in parents if p in present))


def _leafy_tree(ns):
    """1:1 and 1:2 on e0; 1:10 under 1:1 with a pfifo 10: and a filter of its own; 1:20 under 1:1 with an htb 20:,
    its class 20:1 with a bfifo, and a filter on 20: to 20:1 with a mirred action."""
    for line in ('class add dev e0 parent 1: classid 1:1 htb rate 10mbit',
                 'class add dev e0 parent 1: classid 1:2 htb rate 10mbit',
                 'class add dev e0 parent 1:1 classid 1:10 htb rate 2mbit ceil 5mbit prio 3',
                 'class add dev e0 parent 1:1 classid 1:20 htb rate 3mbit',
                 'qdisc add dev e0 parent 1:10 handle 10: pfifo limit 33',
                 'filter add dev e0 parent 1:10 prio 2 protocol ip u32 match ip dst 198.18.0.2/32 classid 1:1',
                 'qdisc add dev e0 parent 1:20 handle 20: htb default 1 r2q 5',
                 'class add dev e0 parent 20: classid 20:1 htb rate 1mbit burst 4k',
                 'qdisc add dev e0 parent 20:1 handle 21: bfifo limit 9000',
                 'filter add dev e0 parent 20: prio 1 protocol ip u32 match ip dst 198.18.0.3/32 classid 20:1 '
                 'action mirred egress redirect dev e1'):
        sh('tc', '-n', ns, *line.split())


def test_move_keeps_what_is_under_the_class(ns, twin, play):
    """A class moved to another parent is deleted and added again (the kernel cannot move one), and the kernel
    deletes its leaf qdisc with it, with everything under that qdisc and the filters attached to the class. They are
    made again right after the class, as they were: check mode shows those commands, pasted they make the same
    tree, and the real run leaves every qdisc, class option and filter as it was, under the new parent. Before, the
    task succeeded and they were gone."""
    for name in (ns, twin):
        _leafy_tree(name)
    before = _tree(ns)
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'classid': '1:10', 'parent': '1:2', 'rate': '2mbit',
                                         'ceil': '5mbit', 'prio': 3},
                                        {'dev': 'e0', 'classid': '1:20', 'parent': '1:2', 'rate': '3mbit'}]}}
    real = printed_then_real(play, task, ns, twin, _tree)
    commands = [c.replace('tc -n %s ' % ns, '') for c in real['commands']]
    assert commands[:2] == ['class del dev e0 parent 1:1 classid 1:10', 'class del dev e0 parent 1:1 classid 1:20']
    assert 'qdisc add dev e0 parent 1:10 handle 10: pfifo limit 33' in commands, commands
    assert 'qdisc add dev e0 parent 1:20 handle 20: htb default 1 r2q 5' in commands, commands
    assert [(o['classid'], o['parent']) for o in real['after']] == [('1:10', '1:2'), ('1:20', '1:2')]
    after = _tree(ns)
    assert after[0] == before[0] and after[2] == before[2], (before, after)  # every qdisc and filter, as it was
    # the moved classes as they were but for the parent; 1:1 is a leaf now, 1:2 an inner class
    assert [after[1][c] for c in ('1:10', '1:20', '20:1')] == [
        dict(before[1]['1:10'], parent='1:2'), dict(before[1]['1:20'], parent='1:2'), before[1]['20:1']]
    assert 'mirred' in before[2]['20:'] and 'c6120002' in before[2]['1:10'], before[2]


def test_move_of_a_class_with_a_qdisc_that_cannot_be_made_again_is_refused(ns, play):
    """A leaf qdisc of a kind whose dump is not known to be taken back as it was (here pfifo_head_drop) would be
    lost by a move: the move is refused before anything is sent, in both modes, naming the class, the field and the
    qdisc; the kernel is left as it was."""
    for line in ('class add dev e0 parent 1: classid 1:1 htb rate 10mbit',
                 'class add dev e0 parent 1: classid 1:2 htb rate 10mbit',
                 'class add dev e0 parent 1:1 classid 1:10 htb rate 2mbit',
                 'qdisc add dev e0 parent 1:10 handle 10: pfifo_head_drop limit 12'):
        sh('tc', '-n', ns, *line.split())
    before = _tree(ns)
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'classid': '1:10', 'parent': '1:2', 'rate': '2mbit'}]}}
    for check_mode in (True, False):
        r = play(task, check=check_mode)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['object'] == 'class 1:10 dev e0' and r['field'] == 'parent', r
        assert 'qdisc pfifo_head_drop 10: dev e0 parent 1:10' in r['msg'], r
        assert _tree(ns) == before


def test_the_first_child_of_a_leaf_class_takes_its_qdisc(ns, twin, play):
    """An htb leaf class that gets its first child becomes an inner class, and the kernel deletes its leaf qdisc (with
    everything under it), saying nothing. Both modes now say so (a warning naming the qdisc), check mode changes
    nothing and predicts the real run; and a refusal later in the same run rolls back to the tree as it was, the leaf
    qdisc included (made again after the child's delete). Before, the qdisc was gone for good, without a word."""
    for name in (ns, twin):
        _leafy_tree(name)
    before = _tree(ns)
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'classid': '1:100', 'parent': '1:10', 'rate': '1mbit'}]}}
    # a chain under it, one level too deep for htb (8): the kernel refuses its last class, after the others (the
    # module's own check of the depth turned off)
    chain = [{'dev': 'e0', 'classid': '1:%d' % i, 'parent': '1:%d' % (i - 1), 'rate': '1mbit'} for i in range(101, 107)]
    r = _without_depth_check(ns, {'config': task[M]['config'] + chain})
    assert r['object'] == 'class 1:106 dev e0' and 'too deep' in r.get('extack', ''), r
    assert not r.get('changed') and not r.get('rollback_failed') and not r.get('rollback_lost'), r
    assert _tree(ns) == before
    real = printed_then_real(play, task, ns, twin, _tree)
    warning = ('class 1:100 dev e0: its parent 1:10 gets its first child class, and the kernel deletes the leaf qdisc '
               'of a class that gets children, with everything under it: qdisc pfifo 10: dev e0 parent 1:10')
    assert warning in real['warnings'], real['warnings']
    after = _tree(ns)
    assert [q['handle'] for q in after[0]] == [h for h in (q['handle'] for q in before[0]) if h != '10:'], after[0]
    assert after[1]['1:10']['level'] > 0 and after[1]['1:100']['parent'] == '1:10'
    assert after[2] == before[2]  # the filters, also the one on 1:10 itself, as they were


def test_deleted_a_class_and_a_class_of_the_qdisc_in_it(ns, play):
    """state deleted with class 1:10 and class 10:1 of an htb 10: in 1:10: the kernel deletes 10: and 10:1 with
    1:10. Check mode predicted two deletes; the real run deleted 1:10, then failed on 10:1 (ENOENT) and rolled back.
    The delete of 1:10 now takes 10:1 along in both modes (no delete of its own; gone in after), and the real run
    does what check mode shows. tc -j is the oracle."""
    for line in ('class add dev e0 parent 1: classid 1:1 htb rate 10mbit',
                 'class add dev e0 parent 1:1 classid 1:10 htb rate 2mbit',
                 'qdisc add dev e0 parent 1:10 handle 10: htb',
                 'class add dev e0 parent 10: classid 10:1 htb rate 1mbit'):
        sh('tc', '-n', ns, *line.split())
    before = (classes(ns, 'e0'), _qdiscs(ns, 'e0'))
    task = {M: {'netns': ns, 'state': 'deleted',
                'config': [{'dev': 'e0', 'classid': '1:10'}, {'dev': 'e0', 'classid': '10:1'}]}}
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert (classes(ns, 'e0'), _qdiscs(ns, 'e0')) == before
    r = play(task)[0]
    assert_no_traceback(r)
    assert not r.get('failed'), r
    for field in ('changed', 'commands', 'before', 'after'):
        assert check[field] == r[field], (field, check[field], r[field])
    assert [c.split()[3:] for c in r['commands']] == [['class', 'del', 'dev', 'e0', 'parent', '1:1', 'classid',
                                                       '1:10']], r['commands']
    assert sorted(classes(ns, 'e0')) == ['1:1'], classes(ns, 'e0')
    assert [q['handle'] for q in json.loads(sh('tc', '-n', ns, '-j', 'qdisc', 'show', 'dev', 'e0'))] == ['1:']
    again = play(task)[0]
    assert not again.get('failed') and not again['changed'] and again['commands'] == [], again
