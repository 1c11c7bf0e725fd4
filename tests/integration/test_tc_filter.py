# -*- coding: utf-8 -*-
"""edgenet.linux.tc_filter against the host kernel: u32 (IPv4 and IPv6 matches, flowid into HTB classes) and
mirred (redirect and mirror to an ifb device), every state, check mode, idempotence, bad input.

The oracle is `tc -d filter show`: iproute2 6.1's `tc -j` prints a u32 filter's keys as repeated "match" members
of one JSON object (only the last survives parsing), so the text form is parsed here; it prints each key exactly
as the kernel holds it ("match c6120000/ffffff00 at 12").
"""

import re

import pytest

from conftest import (apply_then_unchanged, assert_no_traceback, check_real_again, merged_in_process, ns_and_twin,
                      printed_then_real, sh)

M = 'edgenet.linux.tc_filter'


def filters(ns, dev, where=()):
    """{(protocol, pref, fh): {'kind', 'flowid', 'matches': [...], 'actions': [...]}} of the u32 nodes on dev."""
    out, cur = {}, None
    for line in sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', dev, *where).splitlines():
        w = line.split()
        if line.startswith('filter '):
            cur = None
            if 'fh' not in w or w[w.index('fh') + 1].endswith(':'):
                continue  # the prio's header line and its hash table
            fh = w[w.index('fh') + 1]
            flow = [x for x in w if x.endswith('flowid')]
            cur = {'kind': w[w.index('pref') + 2],
                   'flowid': w[w.index(flow[0]) + 1] if flow and w.index(flow[0]) + 1 < len(w) else None,
                   'matches': [], 'actions': []}
            out[(w[w.index('protocol') + 1], int(w[w.index('pref') + 1]), fh)] = cur
        elif cur is not None and w[:1] == ['match']:
            cur['matches'].append(' '.join(w[1:]))
        elif cur is not None and w[:2] == ['action', 'order']:
            cur['actions'].append(re.sub(r'^action order \d+: ', '', line.strip()))
    return out


def prios(ns, dev, where=()):
    text = sh('tc', '-n', ns, 'filter', 'show', 'dev', dev, *where)
    return sorted(set(int(m) for m in re.findall(r' pref (\d+) ', text)))


def _devices(netns):
    sh('ip', '-n', netns, 'link', 'add', 'name', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    sh('ip', '-n', netns, 'link', 'add', 'name', 'ifb0', 'type', 'ifb')
    for dev in ('e0', 'e1', 'ifb0'):
        sh('ip', '-n', netns, 'link', 'set', dev, 'up')
    for dev in ('e0', 'ifb0'):
        sh('tc', '-n', netns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '20')
        for minor in ('10', '20', '30'):
            sh('tc', '-n', netns, 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:' + minor, 'htb',
               'rate', '1mbit')
    sh('tc', '-n', netns, 'qdisc', 'add', 'dev', 'e1', 'clsact')
    return netns


ns, twin = ns_and_twin(_devices)


WEB = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32', 'flowid': '1:10',
       'match': {'src': '198.18.0.0/24', 'dst': '198.18.1.1', 'ip_proto': 'tcp', 'dport': 443, 'dscp': 46}}
DNS = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32', 'classid': '1:20',
       'match': {'ip_proto': 'udp', 'sport': 53, 'dport': 53, 'tos': '0x10/0xff'}}
V6 = {'dev': 'e0', 'parent': '1:', 'protocol': 'ipv6', 'prio': 20, 'kind': 'u32', 'classid': '1:30',
      'match': {'src': 'fd42:ed6e:1::/48', 'ip_proto': 'udp', 'dport': 4789, 'dscp': 10}}
MIRROR = {'dev': 'e0', 'parent': '1:', 'protocol': 'all', 'prio': 30, 'kind': 'u32', 'handle': '800::10',
          'classid': '1:30', 'match': {'keys': ['00000000/00000000 at 0']},
          'actions': [{'kind': 'mirred', 'action': 'mirror', 'dev': 'ifb0'}]}
TREE = [WEB, DNS, V6, MIRROR]


def test_u32_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': TREE}}
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert filters(ns, 'e0') == {} and prios(ns, 'e0') == []
    apply, again = play([task, task])
    for r in (check, apply, again):
        assert not r.get('failed'), r
    assert check['changed'] and check['before'] == [] and 'diff' in check
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    k = filters(ns, 'e0')
    ht = dict((pref, fh.split(':')[0]) for (_p, pref, fh) in k)
    assert k[('ip', 10, ht[10] + '::800')] == {
        'kind': 'u32', 'flowid': '1:10', 'actions': [],
        'matches': ['c6120000/ffffff00 at 12', 'c6120101/ffffffff at 16', '00060000/00ff0000 at 8',
                    '000001bb/0000ffff at 20', '00b80000/00fc0000 at 0']}
    assert k[('ip', 10, ht[10] + '::801')]['matches'] == ['00110000/00ff0000 at 8', '00350035/ffffffff at 20',
                                                          '00100000/00ff0000 at 0']
    assert k[('ip', 10, ht[10] + '::801')]['flowid'] == '1:20'
    assert k[('ipv6', 20, ht[20] + '::800')] == {
        'kind': 'u32', 'flowid': '1:30', 'actions': [],
        'matches': ['fd42ed6e/ffffffff at 8', '00010000/ffff0000 at 12', '00001100/0000ff00 at 4',
                    '000012b5/0000ffff at 40', '02800000/0fc00000 at 0']}
    mirror = k[('all', 30, ht[30] + '::10')]
    assert mirror['flowid'] == '1:30' and mirror['actions'] == ['mirred (Egress Mirror to device ifb0) pipe']
    after = dict((o['handle'] + '@%d' % o['prio'], o) for o in apply['after'])
    assert after['::800@10'] == {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'handle': '::800',
                                 'kind': 'u32', 'classid': '1:10',
                                 'match': {'src': '198.18.0.0/24', 'dst': '198.18.1.1/32', 'ip_proto': 'tcp',
                                           'dport': 443, 'dscp': 46}}
    assert after['::10@30']['actions'] == [{'kind': 'mirred', 'action': 'mirror', 'direction': 'egress',
                                            'dev': 'ifb0'}]
    assert 'match' not in after['::10@30']  # an all-zero key matches everything: the same as no match
    assert again['changed'] is False and again['commands'] == [] and again['before'] == apply['after']
    assert apply['commands'][0] == ('tc -n %s filter add dev e0 parent 1: protocol ip prio 10 handle ::800 u32 '
                                    'match ip src 198.18.0.0/24 match ip dst 198.18.1.1/32 match ip protocol 6 0xff '
                                    'match ip dport 443 0xffff match ip tos 0xb8 0xfc classid 1:10' % ns)


def test_rendered_commands_work_when_pasted(ns, play):
    """The rendered lines pasted on ifb0 give what the module makes on e0, key for key."""
    cfg = [dict(f, dev='ifb0', actions=[dict(a, dev='e1') for a in f.get('actions', [])]) for f in TREE]
    rendered = play({M: {'state': 'rendered', 'config': cfg}})[0]['rendered']
    assert len(rendered) == len(TREE) and all(line.startswith('tc filter add dev ifb0 ') for line in rendered)
    for line in rendered:
        sh('tc', '-n', ns, *line.split()[1:])
    play({M: {'netns': ns, 'config': [dict(f, actions=[dict(a, dev='e1') for a in f.get('actions', [])])
                                      for f in TREE]}})

    def same(dev):
        return dict(((p, pref, fh.split(':', 1)[1]), v) for (p, pref, fh), v in filters(ns, dev).items())
    pasted, made = same('ifb0'), same('e0')
    assert pasted == made and len(made) == 4
    again = play({M: {'netns': ns, 'config': cfg}})[0]
    assert again['changed'] is False and again['commands'] == [], again


#: the shapes of a big tree's u32 filters (TcFilter._templated): (the fields but dst, the dst's prefix length, tc's
#: words for them around the dst)
SHAPES = [
    ({'ip_proto': 'tcp', 'dport': 443}, 32, 'match ip dst %s match ip protocol 6 0xff match ip dport 443 0xffff'),
    ({'src': '198.18.0.0/15'}, 24, 'match ip src 198.18.0.0/15 match ip dst %s'),
    ({}, 32, 'match ip dst %s'),
    ({'ip_proto': 'udp', 'sport': 53, 'dport': 5353}, 28,
     'match ip dst %s match ip protocol 17 0xff match ip sport 53 0xffff match ip dport 5353 0xffff'),
    ({'dport': 80}, 32, 'match ip dst %s match ip dport 80 0xffff'),
    ({'src': '198.18.3.4/32', 'ip_proto': 'icmp'}, 16, 'match ip src 198.18.3.4/32 match ip dst %s match ip protocol 1 0xff'),
]


def test_u32_filters_of_many_shapes_are_what_tc_makes_of_them(ns, twin, play):
    """The u32 adds of a big tree are sent as the first add of their shape with the handle, classid and dst put in,
    and their commands likewise (TcFilter._templated). 300 filters of 6 shapes, interleaved, on 2 devices and 2 prios,
    with and without a classid: the module makes them in one namespace, and tc makes the same filters in the other from
    lines this test writes (tc -batch); tc -d filter show must print the same for both, the module's commands must
    be those lines, and check mode must have shown them."""
    config, lines, nodes = [], [], {}
    for i in range(300):
        fields, plen, words = SHAPES[i % len(SHAPES)]
        dev, prio = ('e0', 'ifb0')[(i // 2) % 2], 10 + (i // 3) % 2
        node = nodes[(dev, prio)] = nodes.get((dev, prio), 0x7FF) + 1
        mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        addr = (0xC6130000 + i * 0x01010101 * 37) & mask  # (198.19.0.0 on, spread over the mask)
        dst = '%d.%d.%d.%d/%d' % (addr >> 24, (addr >> 16) & 0xFF, (addr >> 8) & 0xFF, addr & 0xFF, plen)
        item = {'dev': dev, 'parent': '1:', 'protocol': 'ip', 'prio': prio, 'kind': 'u32',
                'match': dict(fields, dst=dst)}
        line = 'filter add dev %s parent 1: protocol ip prio %d handle ::%x u32 %s' % (dev, prio, node, words % dst)
        if i % 5:  # (every fifth without a classid: a node that classifies nothing)
            item['classid'] = '1:%d' % (10 * (1 + i % 3))
            line += ' classid ' + item['classid']
        config.append(item)
        lines.append(line)
    task = {M: {'netns': ns, 'config': config}}
    check, real, again = play([dict(task, check_mode=True), task, task], diff=False)
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    sh('tc', '-n', twin, '-batch', '-', input=''.join(line + '\n' for line in lines))
    assert sorted(real['commands']) == sorted('tc -n %s %s' % (ns, line) for line in lines)
    assert check['commands'] == real['commands'] and check['after'] == real['after']

    def made(name, dev):  # (the node of each handle: the hash table is the kernel's choice)
        return dict(((p, pref, fh.rsplit(':', 1)[1]), v) for (p, pref, fh), v in filters(name, dev).items())
    for dev in ('e0', 'ifb0'):
        ours, tcs = made(ns, dev), made(twin, dev)
        assert len(ours) == 150 and ours == tcs, [(k, ours.get(k), tcs.get(k)) for k in sorted(set(ours) | set(tcs))
                                                  if ours.get(k) != tcs.get(k)][:4]
    assert again['changed'] is False and again['commands'] == [], again


def test_filters_made_by_tc_never_show_as_changed(ns, play):
    for line in ('filter add dev e0 parent 1: protocol ip prio 10 u32 match ip dst 198.18.1.1/32 '
                 'match ip protocol 6 0xff match ip dport 443 0xffff match ip src 198.18.0.0/24 '
                 'match ip tos 0xb8 0xfc flowid 1:10',
                 'filter add dev e0 parent 1: protocol ip prio 10 u32 match u32 0x00400000 0x00ff0000 at 4 '
                 'flowid 1:20'):
        sh('tc', '-n', ns, *line.split())
    cfg = [dict(WEB, flowid='1:10'),
           {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32', 'flowid': '1:20',
            'match': {'keys': ['00400000/00ff0000 at 4']}}]
    r = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}})[0]
    assert r['changed'] is False and r['commands'] == [], r
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    assert [g['handle'] for g in gathered] == ['::800', '::801']
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': gathered}})[0]
    assert r['changed'] is False and r['commands'] == [], r


def test_replaced_overridden_deleted(ns, play):
    play({M: {'netns': ns, 'config': TREE}})
    ht = dict((pref, fh.split(':')[0]) for (_p, pref, fh) in filters(ns, 'e0'))
    # a new class: replaced in place (the kernel handle stays); new matches: deleted and re-added
    cfg = [dict(WEB, flowid='1:20'), dict(DNS, match={'ip_proto': 'udp', 'dport': 53}), V6, MIRROR]
    check = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'replaced', 'config': cfg}}] * 2)
    assert check['commands'] == real['commands'] and check['after'] == real['after']
    assert [c.split(' ', 3)[3] for c in real['commands']] == [
        'filter del dev e0 parent 1: protocol ip prio 10 handle %s::801 u32' % ht[10],
        'filter replace dev e0 parent 1: protocol ip prio 10 handle %s::800 u32 match ip src 198.18.0.0/24 '
        'match ip dst 198.18.1.1/32 match ip protocol 6 0xff match ip dport 443 0xffff match ip tos 0xb8 0xfc '
        'classid 1:20' % ht[10],
        'filter add dev e0 parent 1: protocol ip prio 10 handle ::801 u32 match ip protocol 17 0xff '
        'match ip dport 53 0xffff classid 1:20',
    ]
    k = filters(ns, 'e0')
    assert k[('ip', 10, ht[10] + '::800')]['flowid'] == '1:20'
    assert k[('ip', 10, ht[10] + '::801')]['matches'] == ['00110000/00ff0000 at 8', '00000035/0000ffff at 20']
    assert not again['changed'] and again['commands'] == []
    # overridden on e0 keeps only WEB; the prios left empty go away with their hash tables
    check = play({M: {'netns': ns, 'dev': 'e0', 'state': 'overridden', 'config': [WEB]}}, check=True)[0]
    real = play({M: {'netns': ns, 'dev': 'e0', 'state': 'overridden', 'config': [WEB]}})[0]
    assert check['commands'] == real['commands'] and check['after'] == real['after']
    assert [o['handle'] for o in real['after']] == ['::800'] and real['after'][0]['classid'] == '1:10'
    assert sorted(c.split(' ', 3)[3] for c in real['commands'] if ' del ' in c) == [
        'filter del dev e0 parent 1: protocol all prio 30 u32',
        'filter del dev e0 parent 1: protocol ip prio 10 handle %s::801 u32' % ht[10],
        'filter del dev e0 parent 1: protocol ipv6 prio 20 u32',
    ]
    assert prios(ns, 'e0') == [10] and list(filters(ns, 'e0')) == [('ip', 10, ht[10] + '::800')]
    # deleted with a selector, then everything
    play({M: {'netns': ns, 'config': [V6]}})
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e0', 'prio': 20}]}})[0]
    assert r['changed'] and prios(ns, 'e0') == [10]
    check = play({M: {'netns': ns, 'state': 'deleted', 'config': []}}, check=True)[0]
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': []}})[0]
    assert check['after'] == r['after'] == [] and check['commands'] == r['commands']
    assert prios(ns, 'e0') == [] and filters(ns, 'e0') == {}
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': []}})[0]
    assert not r['changed'] and r['commands'] == []


def test_changes_as_printed_make_the_same_state(ns, twin, play):
    """The commands of check-mode runs that replace, add, delete (one node, whole prios) and change filters in
    place, pasted into tc on a twin namespace in the same state, make exactly the filters the real runs make
    (tc is the oracle of the encoding too: an IPv6 destination, new here, is parsed by tc from the line)."""
    for where in (ns, twin):
        play({M: {'netns': where, 'config': TREE}})
    assert filters(ns, 'e0') == filters(twin, 'e0') and len(filters(ns, 'e0')) == 4
    v6 = dict(V6, match=dict(V6['match'], dst='fd42:ed6e:2::/64'))
    steps = [('replaced', [dict(WEB, flowid='1:20'), dict(DNS, match={'ip_proto': 'udp', 'dport': 53}), v6, MIRROR]),
             ('merged', [dict(MIRROR, classid='1:10')]),
             ('overridden', [v6]),
             ('deleted', [])]
    for state, config in steps:
        printed_then_real(play, {M: {'netns': ns, 'dev': 'e0', 'state': state, 'config': config}}, ns, twin,
                          lambda where: (filters(where, 'e0'), prios(where, 'e0')))
        if state == 'replaced':
            k = filters(ns, 'e0')
            node = [v for (p, _pref, _fh), v in k.items() if p == 'ipv6']
            assert len(node) == 1 and 'fd42ed6e/ffffffff at 24' in node[0]['matches'], node
            assert '00020000/ffffffff at 28' in node[0]['matches'], node
    assert filters(ns, 'e0') == {} and prios(ns, 'e0') == []


def test_mirred_on_clsact_ingress_and_egress(ns, play):
    cfg = [{'dev': 'e1', 'parent': 'ingress', 'prio': 1, 'kind': 'u32',
            'actions': [{'kind': 'mirred', 'action': 'redirect', 'dev': 'ifb0'}]},
           {'dev': 'e1', 'parent': 'egress', 'protocol': 'ip', 'prio': 2, 'kind': 'u32',
            'match': {'dst': '198.18.7.0/24'},
            'actions': [{'kind': 'mirred', 'action': 'mirror', 'direction': 'ingress', 'dev': 'ifb0'}]}]
    task = {M: {'netns': ns, 'dev': 'e1', 'state': 'overridden', 'config': cfg}}
    check = play(task, check=True)[0]
    assert prios(ns, 'e1', ('ingress',)) == []
    real, again = play([task, task])
    assert check['after'] == real['after'] and check['commands'] == real['commands'] and real['changed']
    assert real['commands'][0] == ('tc -n %s filter add dev e1 ingress protocol all prio 1 handle ::800 u32 '
                                   'match u32 0 0 action mirred egress redirect dev ifb0' % ns)
    ing = filters(ns, 'e1', ('ingress',))
    eg = filters(ns, 'e1', ('egress',))
    red = [v for (p, pref, _fh), v in ing.items() if pref == 1]
    assert len(red) == 1 and red[0]['actions'] == ['mirred (Egress Redirect to device ifb0) stolen']
    mir = [v for (p, pref, _fh), v in eg.items() if pref == 2]
    assert mir[0]['actions'] == ['mirred (Ingress Mirror to device ifb0) pipe']
    assert mir[0]['matches'] == ['c6120700/ffffff00 at 16']
    assert not again['changed'] and again['commands'] == []
    assert [(o['parent'], o['prio']) for o in real['after']] == [('egress', 2), ('ingress', 1)]


def test_kernel_refusal_names_the_missing_classifier_and_rolls_back(ns, play, monkeypatch):
    """The host kernel has no flower (KERNEL.md): the task fails naming it, before anything is sent (its
    configuration says so: test_kernel_lacks.py). Where the module cannot tell (no configuration to read), the
    kernel's refusal names it, and the u32 filter added first in the same task is removed again."""
    cfg = [WEB, {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 40, 'kind': 'flower', 'classid': '1:10',
                 'match': {'ip_proto': 'tcp', 'dport': 22}}]
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and 'CONFIG_NET_CLS_FLOWER' in r['msg'], r
    assert filters(ns, 'e0') == {} and prios(ns, 'e0') == []
    if 'errno' in r:
        return  # (a kernel whose configuration does not say: the refusal below is the kernel's)
    assert r['field'] == 'kind' and 'rolled back' not in r['msg'], r
    monkeypatch.setenv('EDGENET_KCONFIG', '')  # (no configuration: the kernel answers)
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and r['errno'] == 2 and 'CONFIG_NET_CLS_FLOWER' in r['msg'], r
    assert 'rolled back' in r['msg'] and filters(ns, 'e0') == {} and prios(ns, 'e0') == []


def test_two_flower_filters_of_one_key_in_one_prio_are_refused_first(ns, play):
    """Two flower filters of one prio with the same match key (the same fields, masks and masked values, spelled
    otherwise here): the kernel refuses the second (EEXIST) whatever its handle, classid or actions, which check mode
    predicted to work. Refused before anything is sent, in both modes, naming the second element and match (on a
    kernel without flower too: before the refusal for the missing classifier). The kernel's side, and a filter
    already on the host: test_tc_filter_uml.py."""
    one = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 40, 'kind': 'flower', 'classid': '1:10',
           'match': {'ip_proto': 'tcp', 'dport': 22, 'dst': '198.18.1.0/24', 'dscp': 4}}
    two = dict(one, handle='7', classid='1:20',
               match={'dport': 22, 'ip_proto': '6', 'dst': '198.18.1.9/24', 'tos': '0x10/0xfc'})
    for check in (True, False):
        r = play({M: {'netns': ns, 'config': [WEB, one, two]}}, check=check)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'match', r
        assert r['object'] == 'filter flower prio 40 handle 0x7 dev e0 parent 1:', r
        text = r['msg']
        assert 'EEXIST' in text and text.index('config[2] (filter flower prio 40 handle 0x7') < \
            text.index('would match on the same key as config[1] (filter flower prio 40 handle 0x1'), r
        assert filters(ns, 'e0') == {} and prios(ns, 'e0') == []


@pytest.mark.parametrize('item,field', [
    (dict(DNS, classid='1:99'), 'classid'),                                          # flowid names no class
    (dict(MIRROR, actions=[{'kind': 'mirred', 'action': 'redirect', 'dev': 'nope0'}]), 'actions[0].dev'),
    (dict(WEB, match={'src': '198.18.0.300/24'}), 'match.src'),                      # bad match syntax
    (dict(WEB, match={'src': 'fd42:ed6e::/64'}), 'match.src'),                        # IPv6 prefix, protocol ip
    (dict(WEB, match={'dscp': 64}), 'match.dscp'),
    (dict(WEB, match={'dst_mac': '02:00:00:00:00:01'}), 'match.dst_mac'),            # not a u32 field
    (dict(WEB, match={'keys': ['c6120000/ffffff00 at 13']}), 'match.keys'),
    (dict(WEB, handle='800:1:10'), 'handle'),
    (dict(WEB, parent='3:'), 'parent'),                                               # no qdisc 3:
    (dict(WEB, parent='1:99'), 'parent'),                                             # no class 1:99
    (dict(DNS, classid='1:99'), 'classid'),                  # no class 1:99 (its parent found for WEB before it)
    (dict(DNS, protocol='ipv6', match={}), 'prio'),                                   # prio 10 holds ip filters
    (dict(WEB, actions=[{'kind': 'gact', 'action': 'explode'}]), 'actions[0].action'),
    (dict(WEB, actions=[{'kind': 'police', 'rate': '1mbit'}]), 'actions[0].burst'),
    (dict((k, v) for k, v in WEB.items() if k != 'prio'), 'prio'),
    (dict(WEB, dev='nope0'), 'dev'),
])
def test_bad_input_names_field_and_changes_nothing(ns, play, item, field):
    play({M: {'netns': ns, 'config': [WEB]}})
    before = filters(ns, 'e0')
    r = play({M: {'netns': ns, 'config': [WEB, item]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and r.get('field') == field, r
    assert filters(ns, 'e0') == before


def test_check_mode_warns_of_each_class_and_qdisc_it_assumes(ns, play):
    """Check mode predicts a filter into a class or qdisc that is not there yet (an earlier task may make it), and
    says so for each filter: the second filter of a parent is checked like the first."""
    cfg = [WEB, dict(DNS, classid='1:99'), dict(V6, classid='1:98'), dict(DNS, parent='3:', classid='3:1'),
           dict(DNS, parent='1:97')]
    r = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    assert_no_traceback(r)
    assert not r.get('failed') and r['changed'], r
    text = ' '.join(r.get('warnings', []))
    for what in ('class 1:99 does not exist', 'class 1:98 does not exist', 'e0 has no qdisc 3:',
                 'class 1:97 does not exist'):
        assert what in text, (what, r.get('warnings'))
    assert filters(ns, 'e0') == {}
    # the real run refuses the second filter of the parent, naming its classid, and makes neither
    r = play({M: {'netns': ns, 'config': cfg[:2]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and r['field'] == 'classid' and '1:99' in r['msg'], r
    assert filters(ns, 'e0') == {}


def test_clsact_u32_same_prio_both_sides_is_refused(ns, play):
    cfg = [{'dev': 'e1', 'parent': side, 'prio': 5, 'kind': 'u32'} for side in ('ingress', 'egress')]
    # (check mode and the real run name the same filter, the first of the config: it was the first of a set, whose
    # order the two processes' hash seeds changed; found by a probe)
    check = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    for x in (check, r):
        assert x.get('failed') and x['field'] == 'prio' and 'share their hash tables' in x['msg'], x
        assert x['object'] == 'filter u32 prio 5 handle ::800 dev e1 parent ingress', x
    assert check['msg'] == r['msg']
    assert prios(ns, 'e1', ('ingress',)) == [] and prios(ns, 'e1', ('egress',)) == []
    # such prios that tc made are left as they are: a task about other filters of the device is not refused, and
    # the gathered filters given back are no change (it refused every task on the device but state deleted)
    for side, dst in (('ingress', '198.18.1.0/24'), ('egress', '198.18.2.0/24')):
        sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e1', side, 'protocol', 'ip', 'prio', '3', 'u32', 'match', 'ip',
           'dst', dst, 'classid', '1:1')
    other = {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 7, 'kind': 'u32', 'classid': '1:5'}
    apply_then_unchanged(play, {M: {'netns': ns, 'config': [other]}})
    gathered = play({M: {'netns': ns, 'state': 'gathered', 'dev': 'e1'}})[0]['gathered']
    assert sorted((g['parent'], g['prio']) for g in gathered) == [('egress', 3), ('ingress', 3), ('ingress', 7)]
    again = play({M: {'netns': ns, 'config': gathered}})[0]
    assert_no_traceback(again)
    assert not again.get('failed') and not again['changed'], again


def test_u32_actions_without_a_classid_run(ns, twin, play):
    """A u32 filter with actions and no classid: the kernel runs a node's actions only when its selector has tc's
    terminal flag, which tc sets for a classid or actions. The module set it for a classid alone, so its mirred
    filters without one never mirrored anything (the collection's own example). Its printed command, pasted into
    tc on a twin, makes the same filter, terminal flag and all (tc -d prints it)."""
    task = {M: {'netns': ns, 'config': [
        {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 1, 'kind': 'u32',
         'match': {'src': '198.18.0.0/24'}, 'actions': [{'kind': 'mirred', 'action': 'mirror', 'dev': 'ifb0'}]},
        {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 2, 'kind': 'u32', 'match': {'dst': '198.18.9.0/24'},
         'actions': [{'kind': 'mirred', 'action': 'redirect', 'dev': 'ifb0'}]}]}}
    printed_then_real(play, task, ns, twin, lambda where: (filters(where, 'e1', ('ingress',)), filters(where, 'e0')))
    for dev, where in (('e1', ('ingress',)), ('e0', ())):
        text = sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', dev, *where)
        assert ' terminal ' in text, text


def test_rollback_of_a_deleted_prio_makes_it_again(ns, play, monkeypatch):
    """The rollback of a plan that deleted a whole u32 prio re-adds its filters: the prio comes back with a new hash
    table, and the re-adds used to name the kernel's old one ("Handle specified hash table address mismatch":
    ROLLBACK INCOMPLETE, the filters lost)."""
    for prio, dst in (('5', '198.18.1.0/24'), ('7', '198.18.7.0/24'), ('7', '198.18.8.0/24')):
        sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', prio, 'u32',
           'match', 'ip', 'dst', dst, 'classid', '1:10')
    before = filters(ns, 'e0')
    monkeypatch.setenv('EDGENET_KCONFIG', '')  # (the module does not read the kernel's configuration: the kernel refuses)
    cfg = [{'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 5, 'kind': 'u32', 'classid': '1:20',
            'match': {'dst': '198.18.1.0/24'}},
           {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 9, 'kind': 'u32',
            'actions': [{'kind': 'gact', 'action': 'drop'}]}]  # no CONFIG_NET_ACT_GACT here: ENOENT
    r = play({M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': cfg}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and 'rolled back' in r['msg'] and 'ROLLBACK INCOMPLETE' not in r['msg'], r
    assert sum(' filter add dev e0 parent 1: protocol ip prio 7 handle ::80' in c for c in r['rolled_back']) == 2, r

    def nodes(found):  # (the prio made again has a new hash table: the kernel's choice)
        return dict(((proto, prio, fh.rsplit(':', 1)[1]), f) for (proto, prio, fh), f in found.items())
    assert nodes(filters(ns, 'e0')) == nodes(before) and len(before) == 3, r
    assert _u32_prios(ns, 'e0', '1:') == {5: 'ip', 7: 'ip'}


def test_u32_nodes_with_what_the_module_does_not_model(ns, play):
    """u32 nodes tc made with skip_hw, a variable offset or a nexthdr key: a change, which makes the node again from
    the request alone, is refused before anything is sent, naming what would go (skip_hw made the kernel refuse the
    replace; the others went without a word). Kept as gathered, they are no change. A raw key at a negative offset
    (into the link layer header) is gathered and given back."""
    base = ['tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip']
    sh(*base, 'prio', '41', 'u32', 'match', 'ip', 'dst', '198.18.4.0/24', 'classid', '1:10', 'skip_hw')
    sh(*base, 'prio', '42', 'u32', 'match', 'ip', 'dst', '198.18.5.0/24', 'offset', 'at', '0', 'mask', '0f00',
       'shift', '6', 'eat', 'classid', '1:10')
    sh(*base, 'prio', '43', 'u32', 'match', 'u32', '0x50', '0xffff', 'at', 'nexthdr+0', 'classid', '1:10')
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'all', 'prio', '44', 'u32', 'match',
       'u16', '0x0800', '0xffff', 'at', '-2', 'classid', '1:10')
    before = filters(ns, 'e0')
    gathered = play({M: {'netns': ns, 'state': 'gathered', 'dev': 'e0'}})[0]['gathered']
    again = play({M: {'netns': ns, 'config': gathered}})[0]
    assert_no_traceback(again)
    assert not again.get('failed') and not again['changed'], again
    by_prio = dict((g['prio'], g) for g in gathered)
    assert by_prio[44]['match'] == {'keys': ['00000800/0000ffff at -4']}, by_prio[44]
    for prio, what in ((41, 'skip_hw'), (42, 'offset'), (43, 'nexthdr')):
        for change in ({'classid': '1:20'}, {'match': {'dst': '198.18.6.0/24'}}):
            task = {M: {'netns': ns, 'config': [dict(by_prio[prio], **change)]}}
            for r in (play(task, check=True)[0], play(task)[0]):
                assert_no_traceback(r)
                assert r.get('failed') and 'does not model (%s' % what in r['msg'], (prio, r)
                assert r['field'] == list(change)[0] and 'prio %d' % prio in r['object'], r
    assert filters(ns, 'e0') == before
    moved = dict(by_prio[44], classid='1:20')  # (a raw key at a negative offset is the module's: changed)
    apply_then_unchanged(play, {M: {'netns': ns, 'config': [moved]}})


def _root_table(ns, dev, parent, prio):
    """The u32 hash table of a prio's own filters at one parent, as `tc filter get ... handle fff:` names it."""
    out = sh('tc', '-n', ns, 'filter', 'get', 'dev', dev, 'parent', parent, 'protocol', 'ip', 'prio', str(prio),
             'handle', 'fff:', 'u32')
    return re.search(r' fh ([0-9a-f]+):', out).group(1)


def test_filters_on_htb_classes(ns, play):
    """Filters attached to HTB classes are gathered (one dump per class), so a second run changes nothing.

    u32 keeps the hash tables of all the parents of one qdisc in one list, and the dump of a parent's prio lists
    every table of that prio: the qdisc's own (prio 10 below, at 1: and 1:10), and one made by tc with a
    divisor. Each parent must keep exactly the nodes of its own table."""
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '10', 'handle', '5:',
       'u32', 'divisor', '1')
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '10', 'handle',
       '5:0:1', 'u32', 'ht', '5:', 'match', 'ip', 'dst', '198.18.9.9/32', 'flowid', '1:30')
    web = dict((k, v) for k, v in WEB.items() if k != 'flowid')
    on_class = [dict(web, parent='1:10', classid='1:20'), dict(DNS, parent='1:10', classid='1:30'),
                dict(DNS, parent='1:20', prio=20, classid='1:30'),
                # a device after e0 (an HTB qdisc) in the gather: the re-gather after a real run reads it too
                {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 30, 'kind': 'u32',
                 'match': {'ip_proto': 'udp'}}]
    task = {M: {'netns': ns, 'config': [WEB] + on_class}}
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    apply, again = play([task, task])
    for r in (check, apply, again):
        assert not r.get('failed'), r
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert again['changed'] is False and again['commands'] == [] and again['before'] == apply['after'], again
    # the oracle: each parent's own table holds exactly its nodes (a parent's dump lists the nodes of every table
    # of the prios it has)
    nodes = {}
    for parent in ('1:', '1:10', '1:20'):
        nodes.update(filters(ns, 'e0', ('parent', parent)))
    pairs = (('1:', 10), ('1:10', 10), ('1:20', 20))
    own = dict((parent, _root_table(ns, 'e0', parent, prio)) for parent, prio in pairs)
    assert len(set(own.values())) == 3

    def flows(table, prio):
        return sorted((fh.split(':')[-1], v['flowid']) for (_p, pref, fh), v in nodes.items()
                      if pref == prio and fh.split(':')[0] == table)
    assert flows(own['1:'], 10) == [('800', '1:10')]
    assert flows(own['1:10'], 10) == [('800', '1:20'), ('801', '1:30')]
    assert flows(own['1:20'], 20) == [('800', '1:30')]
    assert flows('5', 10) == [('1', '1:30')]  # tc's own table: left alone, never gathered
    got = sorted((o['parent'], o['prio'], o['handle'], o['classid'])
                 for o in play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered'] if o['dev'] == 'e0')
    assert got == [('1:', 10, '::800', '1:10'), ('1:10', 10, '::800', '1:20'), ('1:10', 10, '::801', '1:30'),
                   ('1:20', 20, '::800', '1:30')]
    # overridden with the class filters only: the qdisc's filter goes (with its prio: it was the prio's last
    # managed filter), the class filters stay
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': on_class}})[0]
    assert r['changed'] and r['commands'] == ['tc -n %s filter del dev e0 parent 1: protocol ip prio 10 u32' % ns], r
    assert prios(ns, 'e0', ('parent', '1:')) == []
    nodes = {}
    for parent in ('1:10', '1:20'):
        nodes.update(filters(ns, 'e0', ('parent', parent)))
    assert flows(own['1:10'], 10) == [('800', '1:20'), ('801', '1:30')]
    assert flows(own['1:20'], 20) == [('800', '1:30')]
    again = play({M: {'netns': ns, 'state': 'overridden', 'config': on_class}})[0]
    assert again['changed'] is False and again['commands'] == [], again


def test_filter_on_a_class_of_a_classless_qdisc_is_refused(ns, play):
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e1', 'root', 'handle', '2:', 'tbf', 'rate', '1mbit', 'burst', '10k',
       'latency', '50ms')
    r = play({M: {'netns': ns, 'config': [dict(WEB, dev='e1', parent='2:1', classid='2:1')]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and r['field'] == 'parent' and 'tbf' in r['msg'], r
    assert prios(ns, 'e1') == []


def test_what_a_parent_qdisc_cannot_take_is_refused_before_anything_is_sent(ns, play):
    """Three parents the kernel refuses, or worse, that check mode had shown as fine: an egress filter on a device
    whose ingress qdisc is plain ingress (the kernel put it on the one ingress block, where it acts on the packets
    that arrive; its after said ingress, and a second run failed), an ingress filter on a device without an ingress
    or clsact qdisc (Parent Qdisc doesn't exists), and a filter on a qdisc without a classifier (a tbf: Class
    doesn't support blocks). Each is refused now, naming parent, before the good filter before it is sent; check
    mode, where an earlier task may make or replace the qdisc, warns once instead."""
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'ingress')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e1', 'root', 'handle', '2:', 'tbf', 'rate', '1mbit', 'burst', '10k',
       'latency', '50ms')
    mirror = {'kind': 'u32', 'protocol': 'ip', 'prio': 5, 'match': {'dst': '198.18.9.9/32'},
              'actions': [{'kind': 'mirred', 'action': 'mirror', 'dev': 'e1'}]}
    for bad, text in ((dict(mirror, dev='e0', parent='egress'), 'has no egress hook'),
                      (dict(mirror, dev='ifb0', parent='ingress'), 'has no ingress or clsact qdisc'),
                      (dict(mirror, dev='e1', parent='2:'), 'a tbf qdisc takes no filters')):
        task = {M: {'netns': ns, 'config': [WEB, bad, dict(bad, prio=6)]}}
        check, = play(task, check=True)
        assert_no_traceback(check)
        said = [w for w in check.get('warnings') or [] if text in w]
        assert not check.get('failed') and len(said) == 1 and 'earlier task' in said[0], check
        real, = play(task)
        assert_no_traceback(real)
        assert real['failed'] and real['field'] == 'parent' and text in real['msg'], real
        assert 'rolled_back' not in real or real['rolled_back'] == [], real  # (nothing was sent to roll back)
        assert prios(ns, 'e0') == [] and prios(ns, 'e0', ('ingress',)) == [] and prios(ns, 'e1') == [], real
        assert prios(ns, 'ifb0', ('ingress',)) == []
    # what each parent does take: an ingress filter on the ingress qdisc, an egress one on clsact
    ok = {M: {'netns': ns, 'config': [dict(mirror, dev='e0', parent='ingress'),
                                      dict(mirror, dev='e1', parent='egress')]}}
    check, = play(ok, check=True)
    assert not check.get('warnings'), check
    apply_then_unchanged(play, ok)
    assert prios(ns, 'e0', ('ingress',)) == [5] and prios(ns, 'e1', ('egress',)) == [5]


def test_elements_that_spell_a_filter_as_gathered(ns, play):
    """State merged gathers first and takes a u32 element without a handle whose fields and match (addresses,
    protocol, ports, DSCP) are the kernel's canonical values as that filter, without normalizing or planning it
    (the engine's fast path: most of a 1,000-filter re-check). The element still takes its position in its prio,
    which numbers the handles: elements spelled otherwise in between must not shift the others. It must behave as
    the normal path: nothing to change on a re-run (check mode too), duplicates found, and a real change when a
    value differs."""
    def u32(i, **match):
        return {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32', 'classid': '1:10',
                'match': dict({'dst': '198.19.0.%d/32' % i, 'ip_proto': 'tcp', 'dport': 443}, **match)}

    cfg = [u32(1), u32(2), u32(3, dscp=46), u32(4)]
    apply_then_unchanged(play, {M: {'netns': ns, 'config': cfg}})
    before = filters(ns, 'e0')
    assert sorted(fh for _p, _prio, fh in before) == ['800::800', '800::801', '800::802', '800::803']
    # the second and fourth spelled otherwise (the normal path), the first and third as the kernel has them
    mixed = [cfg[0], u32(2, dst='198.19.0.2', ip_proto='6'), cfg[2], dict(u32(4), flowid='1:10', classid=None)]
    for check_mode in (True, False):
        r, normalized, writes = merged_in_process('tc_filter', ns, mixed, check_mode)
        assert not r['changed'] and r['commands'] == [] and writes == 0 and normalized == 2, r
    for config in (mixed, cfg):
        r = play({M: {'netns': ns, 'config': config}}, check=True)[0]
        assert not r['changed'] and r['commands'] == [], r
    # duplicates: explicitly the handle the position gives
    r = play({M: {'netns': ns, 'config': [cfg[0], dict(cfg[1], handle='::800')]}})[0]
    assert_no_traceback(r)
    assert r['failed'] and 'duplicate key' in r['msg'], r
    assert filters(ns, 'e0') == before
    # a value that differs is a change of that node only, made and then stable
    changed = {M: {'netns': ns, 'config': [cfg[0], u32(2, dport=8443), cfg[2], cfg[3]]}}
    r, r2 = play([changed, changed])
    assert r['changed'] and not r2['changed'], (r, r2)
    assert all('::801' in c for c in r['commands']), r['commands']
    after = filters(ns, 'e0')
    assert after[('ip', 10, '800::801')]['matches'] != before[('ip', 10, '800::801')]['matches']
    assert [k for k in after if after[k] != before[k]] == [('ip', 10, '800::801')]


def test_raw_keys_that_spell_fields_are_idempotent(ns, play):
    """Raw keys are normalized the way gather decodes the kernel's keys: a key that spells a field (a prefix, the
    protocol, ports, DSCP) is that field, and what spells none stays a raw key. Check mode predicts the real run's
    after, and a second run changes nothing (it deleted and re-added the filters every time)."""
    def u32(prio, keys, protocol='ip'):
        return {'dev': 'e0', 'parent': '1:', 'protocol': protocol, 'prio': prio, 'kind': 'u32', 'classid': '1:10',
                'match': {'keys': keys}}

    cfg = [u32(13, ['c6120000/ffffff00 at 12']),  # the docs' example: src 198.18.0.0/24
           # dport 80; ip_proto tcp merged with a TTL match (the TTL stays raw); DSCP 46
           u32(14, ['00000050/0000ffff at 20', '40060000/ffff0000 at 8', '00b80000/00fc0000 at 0']),
           # an IPv6 /32 source and ip_proto udp
           u32(15, ['fd42ed6e/ffffffff at 8', '00001100/0000ff00 at 4'], 'ipv6')]
    task = {M: {'netns': ns, 'config': cfg}}
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert prios(ns, 'e0') == []
    first, again, _check = apply_then_unchanged(play, task)
    assert check['commands'] == first['commands'] and check['after'] == first['after'], (check, first)
    assert [o['match'] for o in first['after']] == [
        {'src': '198.18.0.0/24'},
        {'ip_proto': 'tcp', 'dport': 80, 'dscp': 46, 'keys': ['40000000/ff000000 at 8']},
        {'src': 'fd42:ed6e::/32', 'ip_proto': 'udp'}]
    k = filters(ns, 'e0')
    assert sorted(tuple(v['matches']) for v in k.values()) == sorted([
        ('c6120000/ffffff00 at 12',),
        ('40060000/ffff0000 at 8', '00000050/0000ffff at 20', '00b80000/00fc0000 at 0'),
        ('fd42ed6e/ffffffff at 8', '00001100/0000ff00 at 4')]), k
    # the same filters given by their fields are the same filters
    named = [dict(c, match=o['match']) for c, o in zip(cfg, first['after'])]
    r = play({M: {'netns': ns, 'config': named}})[0]
    assert not r['changed'] and r['commands'] == [], r


def _u32_prios(ns, dev, parent):
    """{pref: protocol} of the u32 prios at one parent, empty ones included (`tc filter show` lists each prio's
    hash table even when it holds no filter)."""
    text = sh('tc', '-n', ns, 'filter', 'show', 'dev', dev, 'parent', parent)
    return dict((int(pref), proto) for proto, pref in re.findall(r'filter protocol (\S+) pref (\d+) u32', text))


def test_rollback_of_a_new_prio_leaves_no_empty_prio(ns, play, monkeypatch):
    """A refused filter rolls back the u32 filters the task added; a prio the task created goes with them, hash
    table and all, also when the qdisc keeps other u32 prios (the kernel then keeps an empty prio: the module
    could not see it, and a later filter of another protocol at that prio was refused). A prio that was there
    before keeps its table."""
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '5', 'u32', 'match',
       'ip', 'dst', '198.18.0.9/32', 'classid', '1:10')
    refused = {'dev': 'e1', 'parent': 'egress', 'prio': 7, 'kind': 'u32',
               'actions': [{'kind': 'gact', 'action': 'drop'}]}  # no CONFIG_NET_ACT_GACT here: ENOENT
    monkeypatch.setenv('EDGENET_KCONFIG', '')  # (the module does not read the kernel's configuration: the kernel refuses)

    def u32(prio, dst, **extra):
        return dict({'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': prio, 'kind': 'u32', 'classid': '1:10',
                     'match': {'dst': dst}}, **extra)

    cases = [
        # one filter in a new prio
        [u32(6, '198.18.0.11/32'), refused],
        # two in a new prio, the first of them refused (the second made the prio); and one more in prio 5
        [u32(6, '198.18.0.11/32', actions=refused['actions']), u32(6, '198.18.0.12/32'),
         u32(5, '198.18.0.13/32', handle='::900'), u32(6, '198.18.0.14/32')],
    ]
    for cfg in cases:
        before = (filters(ns, 'e0'), _u32_prios(ns, 'e0', '1:'))
        r = play({M: {'netns': ns, 'config': cfg}})[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['errno'] == 2 and 'rolled back' in r['msg'], r
        assert 'ROLLBACK INCOMPLETE' not in r['msg'], r
        assert (filters(ns, 'e0'), _u32_prios(ns, 'e0', '1:')) == before == (before[0], {5: 'ip'}), r
        assert any(c.endswith('filter del dev e0 parent 1: protocol ip prio 6 u32') for c in r['rolled_back']), r
    # prio 6 is free for any protocol
    v6 = {'dev': 'e0', 'parent': '1:', 'protocol': 'ipv6', 'prio': 6, 'kind': 'u32', 'classid': '1:10',
          'match': {'dst': 'fd42:ed6e::1/128'}}
    apply_then_unchanged(play, {M: {'netns': ns, 'config': [v6]}})
    assert _u32_prios(ns, 'e0', '1:') == {5: 'ip', 6: 'ipv6'}


def test_replacing_a_prio_protocol_removes_the_old_prio(ns, play):
    """A prio's filters replaced by filters of another protocol (or classifier): the delete of the old prio's last
    u32 filter takes the prio, so the new filters can be added there (the kernel refused them with the old, empty
    prio still in place when another u32 prio kept the qdisc's hash tables)."""
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '5', 'u32', 'match',
       'ip', 'dst', '198.18.0.9/32', 'classid', '1:10')
    keep = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    old = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 6, 'kind': 'u32', 'classid': '1:10',
           'match': {'dst': '198.18.0.11/32'}}
    play({M: {'netns': ns, 'config': [old]}})
    new = dict(old, protocol='ipv6', match={'dst': 'fd42:ed6e::1/128'})
    task = {M: {'netns': ns, 'dev': 'e0', 'state': 'overridden', 'config': keep + [new]}}
    check = play(task, check=True)[0]
    first, _again, _check = apply_then_unchanged(play, task)
    assert not first.get('failed') and check['commands'] == first['commands'], (check, first)
    assert first['commands'][0].endswith('filter del dev e0 parent 1: protocol ip prio 6 u32'), first['commands']
    assert check['after'] == first['after']
    assert _u32_prios(ns, 'e0', '1:') == {5: 'ip', 6: 'ipv6'}


def test_an_empty_u32_prio_left_by_tc_is_named_before_anything_is_sent(ns, play):
    """An empty u32 prio (its last filter deleted by handle with tc while another u32 prio keeps the qdisc's hash
    tables) is no filter: not gathered, and left alone by deleted and overridden. A filter of another protocol at
    that prio was predicted to work by check mode and refused by the kernel (Protocol mismatch): it is now refused
    in check mode and for real, naming the prio and the command that deletes it; u32 filters of its protocol go
    into it."""
    tc = ('tc', '-n', ns, 'filter')
    sh(*tc, 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '5', 'u32', 'match', 'ip', 'dst',
       '198.18.0.9/32', 'classid', '1:10')
    sh(*tc, 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '6', 'u32', 'match', 'ip', 'dst',
       '198.18.0.10/32', 'classid', '1:10')
    text = sh(*tc, 'show', 'dev', 'e0', 'prio', '6')
    handle = re.search(r'fh (\w+::\w+) ', text).group(1)
    sh(*tc, 'del', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '6', 'handle', handle, 'u32')
    assert _u32_prios(ns, 'e0', '1:') == {5: 'ip', 6: 'ip'}
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert [f['prio'] for f in g['gathered'] if f['dev'] == 'e0'] == [5]
    v6 = {'dev': 'e0', 'parent': '1:', 'protocol': 'ipv6', 'prio': 6, 'kind': 'u32', 'classid': '1:10',
          'match': {'dst': 'fd42:ed6e::1/128'}}
    before = filters(ns, 'e0')
    for check_mode in (True, False):
        r = play({M: {'netns': ns, 'config': [v6]}}, check=check_mode)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'prio' and 'empty u32 prio of protocol ip' in r['msg'], r
        assert 'tc -n %s filter del dev e0 parent 1: protocol ip prio 6 u32' % ns in r['msg'], r['msg']
        assert 'errno' not in r, r  # (said before anything is sent, not by the kernel)
    assert filters(ns, 'e0') == before
    # the command it names clears the way
    sh(*tc, 'del', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '6', 'u32')
    apply_then_unchanged(play, {M: {'netns': ns, 'config': [v6]}})
    assert _u32_prios(ns, 'e0', '1:') == {5: 'ip', 6: 'ipv6'}
    # and a u32 filter of the empty prio's own protocol goes into it
    sh(*tc, 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '7', 'u32', 'match', 'ip', 'dst',
       '198.18.0.12/32', 'classid', '1:10')
    text = sh(*tc, 'show', 'dev', 'e0', 'prio', '7')
    sh(*tc, 'del', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '7', 'handle',
       re.search(r'fh (\w+::\w+) ', text).group(1), 'u32')
    v4 = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 7, 'kind': 'u32', 'classid': '1:10',
          'match': {'dst': '198.18.0.13/32'}}
    apply_then_unchanged(play, {M: {'netns': ns, 'config': [v4]}})


def test_a_change_that_would_drop_what_the_module_does_not_model_is_refused(ns, play):
    """A change of a filter replaces it whole in the kernel: its actions are made from the request alone. An action
    with what the module does not model (here a cookie on a mirred action; also a random gact, a police peak rate,
    a flower key such as enc_key_id...) lost it without a word, and check mode showed only the change asked for. Such
    a change is now refused before anything is sent, in both modes, naming the filter, the field and what would go;
    a delete of the filter is still done, and the other filters of the task are left as they were."""
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '40', 'u32', 'match',
       'ip', 'dst', '198.18.4.0/24', 'classid', '1:10', 'action', 'mirred', 'egress', 'mirror', 'dev', 'ifb0',
       'cookie', 'a1b2c3')
    before = filters(ns, 'e0')
    cookie = [line for line in sh('tc', '-n', ns, 'filter', 'show', 'dev', 'e0').splitlines() if 'cookie' in line]
    assert cookie, before
    cfg = [dict(WEB), {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 40, 'kind': 'u32', 'classid': '1:20',
                       'match': {'dst': '198.18.4.0/24'},
                       'actions': [{'kind': 'mirred', 'action': 'mirror', 'dev': 'ifb0'}]}]
    task = {M: {'netns': ns, 'config': cfg}}
    for r in (play(task, check=True)[0], play(task)[0]):
        assert_no_traceback(r)
        assert r.get('failed') and not r.get('changed'), r
        assert r['object'] == 'filter u32 prio 40 handle ::800 dev e0 parent 1:' and r['field'] == 'classid', r
        assert 'does not model (action 1 (mirred) cookie)' in r['msg'], r
    assert filters(ns, 'e0') == before  # (WEB, new, was not made either)
    # a change of its match (u32 keeps a node's selector on replace: a delete, then an add) is refused the same way
    task = {M: {'netns': ns, 'config': [dict(cfg[1], classid='1:10', match={'dst': '198.18.5.0/24'})]}}
    for r in (play(task, check=True)[0], play(task)[0]):
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'match' and 'action 1 (mirred) cookie' in r['msg'], r
    assert filters(ns, 'e0') == before
    # the same filter, as it is (no change): fine; and a delete of it is done
    same = dict(cfg[1], classid='1:10')
    first = play({M: {'netns': ns, 'config': [same]}})[0]
    assert not first.get('failed') and not first['changed'], first
    first, _again, _check = apply_then_unchanged(play, {M: {'netns': ns, 'state': 'deleted', 'config': [same]}})
    assert 40 not in prios(ns, 'e0')


def node_line(ns, fh):
    """tc's line of the u32 node ``fh`` on e0 (`*flowid` and `terminal` show the selector's terminal flag)."""
    lines = [line for line in sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', 'e0').splitlines()
             if ' fh %s ' % fh in line + ' ']
    assert len(lines) == 1, lines
    return lines[0]


def test_a_classid_or_actions_added_to_or_taken_from_a_u32_node_make_it_again(ns, play):
    """The kernel keeps a u32 node's selector on replace, its terminal flag too, which tc sets for a classid or
    actions: a classid added by a replace was shown and never classified (no `*flowid`), actions added were never
    run (and every run sent the replace again), and a classid taken away left the node ending classification. A
    change of the flag is a delete and an add, and gather shows a node's classid only with the flag."""
    plain = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32',
             'match': {'dst': '198.18.1.0/24'}}
    steps = [(dict(plain, classid='1:10'), 'merged', '*flowid 1:10'),
             (plain, 'replaced', None),
             (dict(plain, actions=[{'kind': 'mirred', 'action': 'mirror', 'dev': 'ifb0'}]), 'merged', 'terminal')]
    play({M: {'netns': ns, 'config': [plain]}})
    assert 'flowid' not in node_line(ns, '800::800') and 'terminal' not in node_line(ns, '800::800')
    for cfg, state, flag in steps:
        task = {M: {'netns': ns, 'state': state, 'config': [cfg]}}
        _check, real, _again = check_real_again(play, task)
        assert [c.split()[4] for c in real['commands']] == ['del', 'add'], real['commands']
        line = node_line(ns, '800::800')
        if flag is None:
            assert 'flowid' not in line and 'terminal' not in line, line
        else:
            assert flag in line, line
        assert [(o.get('classid'), [a['kind'] for a in o.get('actions', [])]) for o in real['after']] == [
            (cfg.get('classid'), [a['kind'] for a in cfg.get('actions', [])])], real['after']


def test_a_replaced_u32_node_that_kept_its_flag_is_not_shown_with_a_classid(ns, play):
    """A node that a replace (by tc, or by this module before) left without the terminal flag but with a classid
    never classifies: gathered, it was shown with the classid, so a config that gives it never changed it."""
    base = ['tc', '-n', ns, 'filter']
    sh(*base + ['add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '10', 'u32', 'match', 'ip', 'dst',
                '198.18.1.0/24'])
    sh(*base + ['replace', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '10', 'handle', '800::800', 'u32',
                'match', 'ip', 'dst', '198.18.1.0/24', 'classid', '1:10'])
    assert '*flowid' not in node_line(ns, '800::800') and 'flowid 1:10' in node_line(ns, '800::800')
    g = play({M: {'netns': ns, 'state': 'gathered', 'dev': 'e0'}})[0]
    assert [o.get('classid') for o in g['gathered']] == [None], g['gathered']
    cfg = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32', 'classid': '1:10',
           'match': {'dst': '198.18.1.0/24'}}
    real, again = play([{M: {'netns': ns, 'config': [cfg]}}] * 2)
    assert real['changed'] and not again['changed'], (real, again)
    assert '*flowid 1:10' in node_line(ns, '800::800')


def test_deleting_the_last_managed_node_keeps_the_hash_tables_tc_made(ns, play):
    """overridden (or deleted) of a prio's last node deleted the whole prio: with the qdisc's last u32 prio go all
    its hash tables, so a table tc made (handle 5:, divisor 256) and its nodes, which the module neither shows nor
    manages, vanished without a word in the diff. The node alone goes."""
    base = ['tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '10']
    sh(*base + ['handle', '5:', 'u32', 'divisor', '256'])
    sh(*base + ['handle', '5:7:', 'u32', 'ht', '5:7:', 'match', 'ip', 'dst', '198.18.1.7/32', 'flowid', '1:10'])
    sh(*base + ['u32', 'match', 'ip', 'dst', '198.18.2.0/24', 'flowid', '1:20'])
    kept = dict((k, v) for k, v in filters(ns, 'e0').items() if k[2].startswith('5:'))
    assert list(kept) == [('ip', 10, '5:7:800')], filters(ns, 'e0')
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'e0', 'config': []}}
    _check, real, _again = check_real_again(play, task)
    assert real['commands'] == [
        'tc -n %s filter del dev e0 parent 1: protocol ip prio 10 handle 800::800 u32' % ns], real['commands']
    assert [o['handle'] for o in real['before']] == ['::800'] and real['after'] == []
    assert filters(ns, 'e0') == kept, filters(ns, 'e0')


def test_a_derived_handle_skips_the_handles_given_before_it(ns, play):
    """A filter without a handle after one with ::800 in the same prio was derived ::800 too, and every state
    refused the config as a duplicate (the gathered filters, which carry handles, with one appended). It gets the
    handle the kernel gives it, the lowest no filter before it has: ::801."""
    first = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32', 'handle': '::800',
             'classid': '1:10', 'match': {'dst': '198.18.1.0/24'}}
    second = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32', 'classid': '1:20',
              'match': {'dst': '198.18.2.0/24'}}
    task = {M: {'netns': ns, 'config': [first, second]}}
    rendered = play({M: {'state': 'rendered', 'config': [first, second]}})[0]
    assert not rendered.get('failed'), rendered
    assert ['handle ::801' in line for line in rendered['rendered']] == [False, True], rendered['rendered']
    first_run, again = play([task, task])
    assert not first_run.get('failed') and not again['changed'], (first_run, again)
    got = filters(ns, 'e0')
    assert sorted((fh.split(':')[-1], v['flowid']) for (_p, _pref, fh), v in got.items()) == [
        ('800', '1:10'), ('801', '1:20')], got


def test_deleted_selectors_without_kind_take_every_spelling_of_a_handle(ns, play):
    """A selector without kind compared its handle as text: 800::801 (as tc prints it) and 1 or 0x01 (a bpf
    filter's 0x1) selected nothing, silently; and a bpf selector never matched (Ansible's None suboptions)."""
    play({M: {'netns': ns, 'config': [WEB, DNS]}})
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e0', 'handle': '800::801'}]}}
    check = play(task, check=True)[0]
    real = play(task)[0]
    assert check['commands'] == real['commands'] == [
        'tc -n %s filter del dev e0 parent 1: protocol ip prio 10 handle 800::801 u32' % ns], real
    assert [k[2] for k in filters(ns, 'e0')] == ['800::800']


def test_a_rollback_that_cannot_make_a_filter_again_whole_says_so(ns, play, monkeypatch):
    """The rollback of a delete makes the filter again from what the module models: a filter tc made with an action
    cookie came back without it, and the result said "rolled back", as if nothing was lost. It says ROLLBACK
    INCOMPLETE, naming the filter and what it lost."""
    monkeypatch.setenv('EDGENET_KCONFIG', '')  # (the kernel itself refuses gact, part way through the apply)
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '10', 'u32', 'match',
       'ip', 'dst', '198.18.4.0/24', 'classid', '1:10', 'action', 'mirred', 'egress', 'mirror', 'dev', 'ifb0',
       'cookie', 'a1b2c3')
    refused = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 20, 'kind': 'u32',
               'match': {'dst': '198.18.1.0/24'}, 'actions': [{'kind': 'gact', 'action': 'drop'}]}
    r = play({M: {'netns': ns, 'dev': 'e0', 'state': 'overridden', 'config': [refused]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and 'ROLLBACK INCOMPLETE' in r['msg'], r
    assert [f for f in r['rollback_failed'] if 'handle ::800' in f and 'cookie' in f], r['rollback_failed']
    assert list(filters(ns, 'e0')) == [('ip', 10, '800::800')]  # (made again, without the cookie)


def test_gathered_filters_whose_mirred_device_is_gone_feed_back_as_no_change(ns, play):
    """A mirred action whose target device was deleted is gathered with dev null; fed back (overridden), the module
    refused it ("a mirred action needs dev"). It is no change; a filter the task writes still needs dev."""
    sh('ip', '-n', ns, 'link', 'add', 'ifb9', 'type', 'ifb')
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'parent', '1:', 'protocol', 'ip', 'prio', '10', 'u32', 'match',
       'ip', 'dst', '198.18.4.0/24', 'classid', '1:10', 'action', 'mirred', 'egress', 'mirror', 'dev', 'ifb9')
    sh('ip', '-n', ns, 'link', 'del', 'ifb9')
    gathered = play({M: {'netns': ns, 'state': 'gathered', 'dev': 'e0'}})[0]['gathered']
    assert [a.get('dev', 'missing') for a in gathered[0]['actions']] == [None], gathered
    before = filters(ns, 'e0')
    fed, new = play([{M: {'netns': ns, 'dev': 'e0', 'state': 'overridden', 'config': gathered}},
                     {M: {'netns': ns, 'config': [dict(gathered[0], prio=20, handle=None)]}}])
    for r in (fed, new):
        assert_no_traceback(r)
    assert not fed.get('failed') and not fed['changed'] and fed['commands'] == [], fed
    assert new.get('failed') and new['field'] == 'actions[0].dev' and 'needs dev' in new['msg'], new
    assert filters(ns, 'e0') == before


def test_u32_keys_up_to_what_the_kernel_takes(ns, play):
    """The kernel takes up to 255 keys in one u32 filter (the selector's key count is a byte); check mode predicted
    success for more, and the real run failed with an internal error (a struct.error: "ubyte format requires 0 <=
    number <= 255"). More than 255 is refused before anything is sent, naming match.keys. Up to 255 is made (tc makes
    at most 128, so such a filter's command line cannot be run with tc: both modes warn so), gathered back key for
    key, and gathered output fed back is no change."""
    def raw(n):
        return ['%08x/ffffffff at %d' % (0x01000000 + i, 64 + 4 * i) for i in range(n)]

    def u32(n, prio):
        return {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': prio, 'kind': 'u32', 'classid': '1:10',
                'match': {'keys': raw(n)}}
    before = filters(ns, 'e0')
    for n in (256, 300):
        for check in (True, False):
            r = play({M: {'netns': ns, 'config': [u32(n, 3)]}}, check=check)[0]
            assert_no_traceback(r)
            assert r.get('failed') and r['field'] == 'match.keys' and 'at most 255' in r['msg'], r
    assert filters(ns, 'e0') == before
    task = {M: {'netns': ns, 'config': [u32(255, 3), u32(100, 4)]}}
    check, real, again = check_real_again(play, task)
    for res in (check, real):
        warned = [w for w in res.get('warnings', []) if 'tc takes at most 128' in w]
        assert len(warned) == 1 and 'filter u32 prio 3 handle ::800 dev e0 parent 1:' in warned[0], res
        assert 'makes 255 u32 keys' in warned[0], warned
    made = filters(ns, 'e0')
    mine = dict((pref, f) for (_p, pref, _fh), f in made.items())
    assert mine[3]['matches'] == raw(255) and mine[3]['flowid'] == '1:10'
    assert len(mine[4]['matches']) == 100
    rendered = play({M: {'state': 'rendered', 'config': [u32(255, 3)]}})[0]
    assert [w for w in rendered.get('warnings', []) if 'cannot be run with tc' in w], rendered
    gathered = [g for g in play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered'] if g['prio'] in (3, 4)]
    assert len(gathered[0]['match']['keys']) == 255, gathered
    fed = play({M: {'netns': ns, 'config': gathered}})[0]
    assert fed['changed'] is False and fed['commands'] == [] and filters(ns, 'e0') == made, fed
