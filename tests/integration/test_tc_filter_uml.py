# -*- coding: utf-8 -*-
"""edgenet.linux.tc_filter with what the host kernel lacks (user-mode Linux only): flower, matchall, fw, basic
classifiers; gact, police, skbedit, vlan actions; the u32 mark match (CONFIG_CLS_U32_MARK).

One playbook does everything (UML runs Python 3-4x slower): check mode, apply, again, the rendered commands
pasted on another device, replaced, gathered, overridden, deleted - with `tc` snapshots taken by command tasks
between the steps. Oracles: `tc -j filter show` (flower, matchall, fw, basic print valid JSON in iproute2 6.1)
and `tc -d filter show` for u32.
"""

import json
import re

import pytest

from conftest import assert_no_traceback, collection_on_path, refused_in_process, settled, sh

M = 'edgenet.linux.tc_filter'
pytestmark = pytest.mark.uml

FLOWER_V4 = {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 1, 'kind': 'flower',
             'match': {'src': '198.18.0.0/24', 'ip_proto': 'tcp', 'dport': 22, 'dscp': 10},
             'actions': [{'kind': 'gact', 'action': 'drop'}]}
FLOWER_VLAN = {'dev': 'e1', 'parent': 'ingress', 'protocol': '802.1q', 'prio': 2, 'kind': 'flower',
               'match': {'vlan_id': 100, 'vlan_prio': 3, 'vlan_ethtype': 'ip', 'dst_mac': '02:00:5e:00:00:01'},
               'actions': [{'kind': 'vlan', 'action': 'pop'}, {'kind': 'gact', 'action': 'pass'}]}
FLOWER_V6 = {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ipv6', 'prio': 7, 'kind': 'flower',
             'match': {'src': 'fd42:ed6e::/64', 'ip_proto': 'udp', 'sport': 53},
             'actions': [{'kind': 'mirred', 'action': 'redirect', 'dev': 'ifb0'}]}
POLICE = {'dev': 'e1', 'parent': 'egress', 'prio': 3, 'kind': 'matchall',
          'actions': [{'kind': 'police', 'rate': '1mbit', 'burst': '10k', 'exceed': 'drop'}]}
FW = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 4, 'kind': 'fw', 'classid': '1:10',
      'match': {'mark': '0x5/0xff'},
      'actions': [{'kind': 'skbedit', 'priority': '1:20', 'mark': 7, 'queue_mapping': 0}]}
BASIC = {'dev': 'e0', 'parent': '1:', 'prio': 5, 'kind': 'basic', 'classid': '1:20',
         'actions': [{'kind': 'vlan', 'action': 'push', 'id': 200, 'protocol': '802.1ad', 'priority': 4}]}
U32_MARK = {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 6, 'kind': 'u32', 'classid': '1:10',
            'match': {'dst': '198.18.9.0/24', 'mark': '0x9'}}
ALL = [FLOWER_V4, FLOWER_VLAN, FLOWER_V6, POLICE, FW, BASIC, U32_MARK]


def _cmd(ns, *args):
    return {'ansible.builtin.command': {'argv': ['tc', '-n', ns] + list(args)}}


def test_tc_filter_full_kernel(netns, play):
    ns = netns

    def ip(*args):
        sh('ip', '-n', ns, *args)
    ip('link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    ip('link', 'add', 'e2', 'type', 'veth', 'peer', 'name', 'e3')
    ip('link', 'add', 'ifb0', 'type', 'ifb')
    for dev in ('e0', 'e1', 'e2', 'e3', 'ifb0'):
        ip('link', 'set', dev, 'up')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'root', 'handle', '1:', 'htb')
    for minor in ('10', '20'):
        sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:' + minor, 'htb', 'rate',
           '1mbit')
    for dev in ('e1', 'e3'):
        sh('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'clsact')

    task = {M: {'netns': ns, 'config': ALL}}
    changed = [dict(FLOWER_V4, actions=[{'kind': 'gact', 'action': 'pass'}]),
               dict(POLICE, actions=[dict(POLICE['actions'][0], rate='2mbit', conform='pipe')])]
    sample = [dict(f, dev='e3') for f in (FLOWER_V4, FLOWER_VLAN, POLICE)]
    tasks = [
        dict(task, check_mode=True),                                                         # 0
        _cmd(ns, 'filter', 'show', 'dev', 'e1', 'ingress'),                                  # 1
        task,                                                                                # 2
        task,                                                                                # 3
        _cmd(ns, '-j', 'filter', 'show', 'dev', 'e1', 'ingress'),                            # 4
        _cmd(ns, 'filter', 'show', 'dev', 'e1', 'egress'),                                   # 5
        _cmd(ns, 'filter', 'show', 'dev', 'e0'),                                             # 6
        _cmd(ns, '-d', 'filter', 'show', 'dev', 'e0'),                                       # 7
        dict({M: {'state': 'rendered', 'config': sample}}, register='rendered'),             # 8
        {'ansible.builtin.command': {'argv': "{{ ['tc', '-n', '%s'] + item.split()[1:] }}" % ns},
         'loop': '{{ rendered.rendered }}'},                                                 # 9
        _cmd(ns, '-j', 'filter', 'show', 'dev', 'e3', 'ingress'),                            # 10
        _cmd(ns, 'filter', 'show', 'dev', 'e3', 'egress'),                                   # 11
        {M: {'netns': ns, 'dev': 'e3', 'config': sample}},                                   # 12
        dict({M: {'netns': ns, 'state': 'replaced', 'config': changed}}, check_mode=True),   # 13
        {M: {'netns': ns, 'state': 'replaced', 'config': changed}},                          # 14
        _cmd(ns, 'filter', 'show', 'dev', 'e1', 'egress'),                                   # 15
        {M: {'netns': ns, 'dev': 'e1', 'state': 'gathered'}},                                # 16
        dict({M: {'netns': ns, 'dev': 'e1', 'state': 'overridden', 'config': [FLOWER_V6]}}, check_mode=True),  # 17
        {M: {'netns': ns, 'dev': 'e1', 'state': 'overridden', 'config': [FLOWER_V6]}},       # 18
        _cmd(ns, '-j', 'filter', 'show', 'dev', 'e1', 'ingress'),                            # 19
        _cmd(ns, 'filter', 'show', 'dev', 'e1', 'egress'),                                   # 20
        # bad input: the vlan push needs an id; a flower port needs tcp/udp/sctp - nothing is sent
        {M: {'netns': ns, 'config': [dict(BASIC, actions=[{'kind': 'vlan', 'action': 'push'}])]}},  # 21
        {M: {'netns': ns, 'config': [dict(FLOWER_V4, match={'dport': 22})]}},                # 22
        dict({M: {'netns': ns, 'state': 'deleted', 'config': []}}, check_mode=True),         # 23
        {M: {'netns': ns, 'state': 'deleted', 'config': []}},                                # 24
        _cmd(ns, 'filter', 'show', 'dev', 'e0'),                                             # 25
        _cmd(ns, 'filter', 'show', 'dev', 'e1', 'ingress'),                                  # 26
        _cmd(ns, 'filter', 'show', 'dev', 'e3', 'egress'),                                   # 27
    ]
    r = play(tasks)
    for i, res in enumerate(r):
        assert_no_traceback(res)
        assert i in (21, 22) or not res.get('failed'), (i, res)
    check, empty, apply, again = r[0], r[1], r[2], r[3]
    assert check['changed'] and empty['stdout'] == ''
    assert apply['changed'] and check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert again['changed'] is False and again['commands'] == [] and again['before'] == apply['after']
    after = dict(((o['dev'], o['prio']), o) for o in apply['after'])
    assert after[('e1', 3)]['actions'] == [{'kind': 'police', 'rate': 1000000, 'burst': 10240, 'exceed': 'drop',
                                            'conform': 'pass'}]
    assert after[('e1', 1)]['handle'] == '0x1' and after[('e0', 4)]['handle'] == '0x5'
    assert after[('e0', 6)]['match'] == {'dst': '198.18.9.0/24', 'mark': '0x9'}

    # the kernel, through tc's own JSON
    ing = dict((f['pref'], f) for f in json.loads(r[4]['stdout']) if 'options' in f)
    keys = ing[1]['options']['keys']
    assert keys == dict(keys, eth_type='ipv4', ip_proto='tcp', src_ip='198.18.0.0/24', dst_port=22)
    assert ing[1]['options']['actions'][0]['kind'] == 'gact'
    assert ing[1]['options']['actions'][0]['control_action']['type'] == 'drop'
    vkeys = ing[2]['options']['keys']
    assert vkeys['vlan_id'] == 100 and vkeys['vlan_prio'] == 3 and vkeys['dst_mac'] == '02:00:5e:00:00:01'
    assert [a['kind'] for a in ing[2]['options']['actions']] == ['vlan', 'gact']
    assert ing[2]['options']['actions'][0]['vlan_action'] == 'pop'
    assert ing[7]['options']['keys']['src_ip'] == 'fd42:ed6e::/64'
    assert ing[7]['options']['actions'][0]['to_dev'] == 'ifb0'
    # iproute2 6.1 leaves police's rate out of its JSON and prints fw options as text inside it: text oracle here
    eg = r[5]['stdout']
    assert 'pref 3 matchall' in eg and re.search(r'police 0x[0-9a-f]+ rate 1Mbit burst 10Kb mtu \S+ action drop ', eg), eg
    e0 = r[6]['stdout']
    assert 'pref 4 fw chain 0 handle 0x5/0xff classid 1:10' in e0, e0
    assert 'skbedit queue_mapping 0 priority 1:20 mark 7 pipe' in e0, e0
    assert 'pref 5 basic chain 0 handle 0x1 flowid 1:20' in e0, e0
    assert re.search(r'vlan +push id 200 protocol 802.1ad priority 4 pipe', e0), e0
    assert 'mark 0x0009 0xffffffff' in r[7]['stdout'] and 'match c6120900/ffffff00 at 16' in r[7]['stdout']

    # the rendered commands, pasted, make what the module made (e3 against e1)
    def strip(out):
        return [dict((k, v) for k, v in f.items()) for f in json.loads(out)]
    assert len(r[8]['rendered']) == 3
    pasted_in = strip(r[10]['stdout'])
    made_in = [f for f in strip(r[4]['stdout']) if f.get('pref') in (1, 2)]
    assert _norm(pasted_in) == _norm(made_in)
    assert _text(r[11]['stdout']) == _text(r[5]['stdout']) and 'police' in r[11]['stdout']
    assert r[12]['changed'] is False and r[12]['commands'] == [], r[12]

    # replaced: flower in place (replace), matchall deleted and re-added (no replace)
    rcheck, rreal = r[13], r[14]
    assert rcheck['commands'] == rreal['commands'] and rcheck['after'] == rreal['after']
    verbs = [c.split()[4] for c in rreal['commands']]
    assert verbs == ['del', 'replace', 'add'], rreal['commands']
    assert re.search(r'police 0x[0-9a-f]+ rate 2Mbit burst 10Kb mtu \S+ action drop/pipe ', r[15]['stdout']), r[15]
    gathered = r[16]['gathered']
    assert [(g['parent'], g['prio']) for g in gathered] == [('egress', 3), ('ingress', 1), ('ingress', 2),
                                                            ('ingress', 7)]
    ocheck, oreal = r[17], r[18]
    assert ocheck['commands'] == oreal['commands'] and ocheck['after'] == oreal['after']
    assert [o['prio'] for o in oreal['after']] == [7]
    assert [f['pref'] for f in json.loads(r[19]['stdout']) if 'options' in f] == [7]
    assert r[20]['stdout'] == ''
    assert r[21]['failed'] and r[21]['field'] == 'actions[0].id', r[21]
    assert r[22]['failed'] and r[22]['field'] == 'match.dport', r[22]
    dcheck, dreal = r[23], r[24]
    assert dcheck['commands'] == dreal['commands'] and dcheck['after'] == dreal['after'] == []
    assert r[25]['stdout'] == r[26]['stdout'] == r[27]['stdout'] == ''


def _norm(filters):
    """tc JSON without what differs between two devices or runs (action index, stats, in_hw_count)."""
    out = []
    for f in filters:
        f = json.loads(json.dumps(f))
        for act in f.get('options', {}).get('actions', []):
            for k in ('index', 'ref', 'bind', 'stats', 'installed', 'last_used', 'firstused', 'expires',
                      'not_in_hw', 'used_hw_stats'):
                act.pop(k, None)
        out.append(f)
    return out


def _text(out):
    """tc's text without the action index (each device's police gets its own)."""
    return [re.sub(r'police 0x[0-9a-f]+', 'police', line) for line in out.splitlines()
            if not line.strip().startswith(('ref ', 'index '))]


def test_a_rollback_sends_a_police_bucket_back_as_the_kernel_had_it(netns, play):
    """The rollback of a refused task replaces a filter whose police action it changed with the filter as the kernel
    had it: its police bucket is sent as the kernel's own ticks, not as the size the gather read (cut to whole
    microseconds: at 999mbit, 64k is 65309 bytes in the kernel, and the size read back made 65184). The module now
    refuses first every refusal of the full kernel it knows of, so the engine runs in this process with the check of
    flower keys turned off: the kernel's own refusal of a second flower filter of one key (EEXIST) comes after the
    police change in the pipelined plan, which the kernel has applied by then and the engine rolls back."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    sh('ip', '-n', ns, 'link', 'set', 'e0', 'up')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'clsact')
    police = {'kind': 'police', 'rate': '999mbit', 'burst': '64k', 'exceed': 'drop'}
    every = {'dev': 'e0', 'parent': 'ingress', 'protocol': 'all', 'prio': 1, 'kind': 'matchall', 'actions': [police]}
    some = {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 2, 'kind': 'flower',
            'match': {'src': '198.18.5.0/24'}, 'actions': [police, {'kind': 'gact', 'action': 'pass'}]}
    base = {M: {'netns': ns, 'config': [every, some]}}
    r = play([base])[0]
    assert_no_traceback(r)
    assert r['changed'] and not r.get('failed'), r

    def show():
        return _police(sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', 'e0', 'ingress'))
    made = show()
    assert sorted(made) == [1, 2] and 'rate 999Mbit burst 65309b ' in made[1] and \
        'rate 999Mbit burst 65309b ' in made[2], made

    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter

    class Unchecked(TcFilter):
        def _check_flower_keys(self, ctx, plan, after):
            return None

    dup = {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 3, 'kind': 'flower',
           'match': {'dst': '198.18.7.0/24'}, 'actions': [{'kind': 'gact', 'action': 'drop'}]}
    failed = refused_in_process(Unchecked(), {'netns': ns, 'state': 'merged', 'dev': None, 'config': [
        dict(every, actions=[dict(police, rate='500mbit')]), dict(some, actions=[dict(police, burst='32k')]),
        dict(dup, handle='0x1'), dict(dup, handle='0x2', actions=[{'kind': 'gact', 'action': 'pass'}])]})
    # (matchall has no replace: its change is a delete and an add)
    assert 'rolled back the 4 change(s)' in failed['msg'] and not failed['rollback_failed'], failed
    assert failed['failed_command'] == ['tc -n %s filter add dev e0 ingress protocol ip prio 3 handle 0x2 flower '
                                        'dst_ip 198.18.7.0/24 action gact pass' % ns], failed
    # the flower filter replaced back, the matchall one made again: their commands give the bucket as a size that tc
    # makes the kernel's ticks of (65435 bytes, not the 65309 read)
    back = [c.split(' filter ')[1].split()[0] for c in failed['rolled_back'] if ' police ' in c]
    assert back == ['replace', 'add'] and all(' police rate 999000000bit burst 65435 ' in c for c in failed[
        'rolled_back'] if ' police ' in c), failed['rolled_back']
    assert settled(show, made) == made
    again = play([base])[0]
    assert again['changed'] is False and again['commands'] == [], again


def test_a_flower_change_that_would_drop_a_key_is_refused(netns, play):
    """A replaced flower filter is made from the request alone: one with a key the module does not model (indev,
    ip_flags) or a flag (skip_hw) lost it on a change, and check mode did not say so. Such a change is refused in
    both modes, naming what would go; the filters the module models fully still change in place (the test above)."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    for dev in ('e0', 'e1'):
        sh('ip', '-n', ns, 'link', 'set', dev, 'up')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e1', 'clsact')
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e1', 'ingress', 'protocol', 'ip', 'prio', '1', 'flower', 'skip_hw',
       'indev', 'e1', 'ip_flags', 'frag', 'dst_ip', '198.18.3.0/24', 'action', 'gact', 'drop')
    before = sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', 'e1', 'ingress')
    change = {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 1, 'kind': 'flower',
              'match': {'dst': '198.18.3.0/24'}, 'actions': [{'kind': 'gact', 'action': 'pass'}]}
    task = {M: {'netns': ns, 'config': [change]}}
    r = play([dict(task, check_mode=True), task, {M: {'netns': ns, 'state': 'gathered'}}])
    for res in r[:2]:
        assert_no_traceback(res)
        assert res.get('failed') and res['field'] == 'actions' and res['object'] == \
            'filter flower prio 1 handle 0x1 dev e1 parent ingress', res
        assert 'does not model (indev, ip_flags, skip_hw)' in res['msg'], res
    assert r[2]['gathered'][0]['match'] == {'dst': '198.18.3.0/24'}, r[2]
    assert sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', 'e1', 'ingress') == before


def _flower_keys(out):
    """{(pref, handle): flower keys} of `tc -j filter show` output."""
    return dict(((f['pref'], f['options']['handle']), f['options']['keys']) for f in json.loads(out)
                if 'options' in f)


def _predicted_then_done(check, real, again):
    """Check mode predicted the real run (commands and after), which changed the filter by a delete and an add,
    and a second run changes nothing."""
    for res in (check, real, again):
        assert_no_traceback(res)
        assert not res.get('failed'), res
    assert check['changed'] and real['changed'], (check, real)
    assert check['commands'] == real['commands'] and check['after'] == real['after'], (check, real)
    assert [c.split()[4] for c in real['commands']] == ['del', 'add'], real['commands']
    assert again['changed'] is False and again['commands'] == [] and again['before'] == real['after'], again


def test_a_flower_mask_change_is_a_delete_and_an_add(netns, play):
    """flower refuses a replace whose mask (the keys matched on, a prefix length) differs from the old filter's
    (fl_check_assign_mask: EINVAL): check mode predicted a replace that the real run then failed. Such a change
    deletes and re-adds the filter, in both modes; a prio's other flower filters (with masks of their own) stay."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    for dev in ('e0', 'e1'):
        sh('ip', '-n', ns, 'link', 'set', dev, 'up')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e1', 'clsact')
    drop = [{'kind': 'gact', 'action': 'drop'}]
    first = {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 1, 'kind': 'flower',
             'match': {'dst': '198.18.1.0/24'}, 'actions': drop}
    second = dict(first, match={'src': '198.18.2.0/24'}, actions=[{'kind': 'gact', 'action': 'pass'}])
    full = dict(first, prio=3, match={'dscp': 46, 'dst': '198.18.1.0/24', 'ip_proto': 'sctp', 'sport': 7})
    shorter = {M: {'netns': ns, 'config': [dict(first, match={'dst': '198.18.1.0/25'})]}}
    more = {M: {'netns': ns, 'config': [dict(first, match={'dst': '198.18.1.0/25', 'ip_proto': 'udp'})]}}
    fewer = {M: {'netns': ns, 'state': 'replaced', 'config': [dict(full, match={'dst': '198.18.1.0/24'})]}}
    show = _cmd(ns, '-j', 'filter', 'show', 'dev', 'e1', 'ingress')
    r = play([
        {M: {'netns': ns, 'config': [first, second, full]}},                     # 0
        dict(shorter, check_mode=True), shorter, shorter, show,                  # 1-4: a shorter prefix
        dict(more, check_mode=True), more, more, show,                           # 5-8: a key more
        dict(fewer, check_mode=True), fewer, fewer, show,                        # 9-12: keys fewer (replaced)
    ])
    assert_no_traceback(r[0])
    assert r[0]['changed'] and not r[0].get('failed'), r[0]
    _predicted_then_done(*r[1:4])
    kernel = _flower_keys(r[4]['stdout'])
    assert kernel[(1, 1)] == {'eth_type': 'ipv4', 'dst_ip': '198.18.1.0/25'}, kernel
    assert kernel[(1, 2)] == {'eth_type': 'ipv4', 'src_ip': '198.18.2.0/24'}, kernel
    _predicted_then_done(*r[5:8])
    kernel = _flower_keys(r[8]['stdout'])
    assert kernel[(1, 1)] == {'eth_type': 'ipv4', 'ip_proto': 'udp', 'dst_ip': '198.18.1.0/25'}, kernel
    assert kernel[(1, 2)] == {'eth_type': 'ipv4', 'src_ip': '198.18.2.0/24'}, kernel
    _predicted_then_done(*r[9:12])
    kernel = _flower_keys(r[12]['stdout'])
    assert kernel[(3, 1)] == {'eth_type': 'ipv4', 'dst_ip': '198.18.1.0/24'}, kernel
    assert sorted(kernel) == [(1, 1), (1, 2), (3, 1)], kernel
    acts = dict(((f['pref'], f['options']['handle']), [a['control_action']['type'] for a in f['options']['actions']])
                for f in json.loads(r[12]['stdout']) if 'options' in f)
    assert acts == {(1, 1): ['drop'], (1, 2): ['pass'], (3, 1): ['drop']}, acts


def test_flower_filters_of_one_key_in_one_prio_are_refused_first(netns, play):
    """The kernel keeps one flower filter per masked key in a prio (fl_ht_insert_unique: EEXIST for another, whatever
    its handle): check mode predicted the add that the real run then failed. Refused before anything is sent, in
    both modes, naming the second filter and match: two new filters, or a new one with the key of one the host has.
    A replace by the filter's own handle keeps its key (its actions change), and a filter that changes away from a
    key before another is added with it is sent in that order (config order): both work."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e1', 'clsact')
    first = {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 1, 'kind': 'flower',
             'match': {'ip_proto': 'tcp', 'dport': 80}, 'actions': [{'kind': 'gact', 'action': 'drop'}]}
    same = dict(first, match={'ip_proto': '6', 'dport': 80}, actions=[{'kind': 'gact', 'action': 'pass'}])
    both = {M: {'netns': ns, 'config': [first, same]}}
    later = {M: {'netns': ns, 'config': [dict(same, handle='5')]}}
    replace = {M: {'netns': ns, 'config': [dict(first, actions=same['actions'])]}}
    moved = {M: {'netns': ns, 'config': [dict(first, match={'ip_proto': 'tcp', 'dport': 81}), dict(first, handle='5')]}}
    show = _cmd(ns, '-j', 'filter', 'show', 'dev', 'e1', 'ingress')
    r = play([
        dict(both, check_mode=True), both, show,                                 # 0-2: two new, one key
        {M: {'netns': ns, 'config': [first]}},                                   # 3
        dict(later, check_mode=True), later, show,                               # 4-6: a new one, the host's key
        dict(replace, check_mode=True), replace, replace,                        # 7-9: the same handle, other actions
        dict(moved, check_mode=True), moved, moved, show,                        # 10-13: the key moves to handle 5
    ])
    for res in r:
        assert_no_traceback(res)
    for res in r[0:2]:
        assert res.get('failed') and res['field'] == 'match' and 'EEXIST' in res['msg'], res
        assert res['object'] == 'filter flower prio 1 handle 0x2 dev e1 parent ingress', res
        assert 'config[1] (filter flower prio 1 handle 0x2' in res['msg'], res
        assert 'the same key as config[0] (filter flower prio 1 handle 0x1' in res['msg'], res
    assert json.loads(r[2]['stdout']) == [], r[2]
    assert not r[3].get('failed') and r[3]['changed'], r[3]
    for res in r[4:6]:
        assert res.get('failed') and res['field'] == 'match' and 'EEXIST' in res['msg'], res
        assert res['object'] == 'filter flower prio 1 handle 0x5 dev e1 parent ingress', res
        assert 'handle 0x1 dev e1 parent ingress (which the task keeps)' in res['msg'], res
    assert sorted(_flower_keys(r[6]['stdout'])) == [(1, 1)], r[6]
    check, real, again = r[7:10]
    for res in (check, real, again):
        assert not res.get('failed'), res
    assert check['commands'] == real['commands'] and [c.split()[4] for c in real['commands']] == ['replace'], real
    assert again['changed'] is False, again
    check, real, again = r[10:13]
    for res in (check, real, again):
        assert not res.get('failed'), res
    assert check['commands'] == real['commands'] and check['after'] == real['after'], (check, real)
    assert again['changed'] is False, again
    kernel = dict((h, dict((k, str(v)) for k, v in keys.items())) for h, keys in _flower_keys(r[13]['stdout']).items())
    assert kernel == {(1, 1): {'eth_type': 'ipv4', 'ip_proto': 'tcp', 'dst_port': '81'},
                      (1, 5): {'eth_type': 'ipv4', 'ip_proto': 'tcp', 'dst_port': '80'}}, kernel


def test_fw_filters_of_one_prio_keep_one_mask(netns, play):
    """The kernel keeps one mark mask per fw prio (fw_change: EINVAL for a filter whose mask is not the prio's
    head mask). A plan that would leave two masks in one prio - two new filters, or a change of one filter of
    several - failed in the real run after check mode predicted it: it is refused before anything is sent, in
    both modes, naming the element and match.mark. A mask change of every fw filter of a prio (one, or all) is a
    delete and an add: deleting the prio's last filter removes the prio, and the new mask is then its mask."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'root', 'handle', '1:', 'htb')
    for minor in ('10', '20'):
        sh('tc', '-n', ns, 'class', 'add', 'dev', 'e0', 'parent', '1:', 'classid', '1:' + minor, 'htb', 'rate',
           '1mbit')
    one = {'dev': 'e0', 'parent': '1:', 'prio': 9, 'kind': 'fw', 'classid': '1:10', 'match': {'mark': '0x1/0xff'}}
    two = dict(one, classid='1:20', match={'mark': '0x2'})
    mixed = {M: {'netns': ns, 'config': [one, two]}}
    pair = [one, dict(two, match={'mark': '0x2/0xff'})]
    half = {M: {'netns': ns, 'config': [dict(one, match={'mark': '0x1/0xf'})]}}
    both = {M: {'netns': ns, 'config': [dict(f, match={'mark': f['match']['mark'].replace('0xff', '0xf')})
                                        for f in pair]}}
    alone = dict(FW, prio=4)
    narrower = {M: {'netns': ns, 'config': [dict(alone, match={'mark': '0x5/0xf'})]}}
    third = {M: {'netns': ns, 'config': [dict(one, classid='1:20', match={'mark': '0x3'})]}}
    show = _cmd(ns, 'filter', 'show', 'dev', 'e0')
    r = play([
        dict(mixed, check_mode=True), mixed, show,                               # 0-2: two masks, both new
        {M: {'netns': ns, 'config': pair}},                                      # 3
        dict(half, check_mode=True), half, show,                                 # 4-6: one filter of two changes
        dict(both, check_mode=True), both, both, show,                           # 7-10: both change
        {M: {'netns': ns, 'config': [alone]}},                                   # 11
        dict(narrower, check_mode=True), narrower, narrower, show,               # 12-15: the prio's only filter
        dict(third, check_mode=True), third, show,                               # 16-18: a new one, another mask
    ])
    for res in r:
        assert_no_traceback(res)
    rule = 'the kernel keeps one mark mask per fw prio'
    for res in r[0:2]:
        assert res.get('failed') and res['field'] == 'match.mark', res
        assert res['object'] == 'filter fw prio 9 handle 0x2 dev e0 parent 1:', res
        assert res['msg'].count('config[1]') == 1 and rule in res['msg'] and 'config[0]' in res['msg'], res
    assert r[2]['stdout'] == '', r[2]
    assert not r[3].get('failed') and r[3]['changed'], r[3]
    for res in r[4:6]:
        assert res.get('failed') and res['field'] == 'match.mark', res
        assert res['object'] == 'filter fw prio 9 handle 0x1 dev e0 parent 1:', res
        assert 'config[0]' in res['msg'] and rule in res['msg'] and 'handle 0x2' in res['msg'], res
    kept = r[6]['stdout']
    assert 'handle 0x1/0xff classid 1:10' in kept and 'handle 0x2/0xff classid 1:20' in kept, kept
    check, real, again = r[7:10]
    for res in (check, real, again):
        assert not res.get('failed'), res
    assert check['commands'] == real['commands'] and check['after'] == real['after'], (check, real)
    assert [c.split()[4] for c in real['commands']] == ['del', 'del', 'add', 'add'], real['commands']
    assert again['changed'] is False and again['commands'] == [] and again['before'] == real['after'], again
    now = r[10]['stdout']
    assert 'pref 9 fw chain 0 handle 0x1/0xf classid 1:10' in now, now
    assert 'pref 9 fw chain 0 handle 0x2/0xf classid 1:20' in now, now
    assert not r[11].get('failed') and r[11]['changed'], r[11]
    _predicted_then_done(*r[12:15])
    now = r[15]['stdout']
    assert 'pref 4 fw chain 0 handle 0x5/0xf classid 1:10' in now, now
    assert 'skbedit queue_mapping 0 priority 1:20 mark 7 pipe' in now, now
    for res in r[16:18]:
        assert res.get('failed') and res['field'] == 'match.mark', res
        assert res['object'] == 'filter fw prio 9 handle 0x3 dev e0 parent 1:', res
        assert 'config[0]' in res['msg'] and rule in res['msg'], res
    assert r[18]['stdout'] == now


def _police(out):
    """{pref: the police line (its index and counters left out)} of `tc -d filter show` text."""
    found, pref = {}, None
    for line in out.splitlines():
        m = re.search(r' pref (\d+) ', line)
        if line.startswith('filter ') and m:
            pref = int(m.group(1))
        elif ' police ' in line and pref is not None:
            found[pref] = re.sub(r'police 0x[0-9a-f]+ ', 'police ', line.strip())
    return found


def test_a_police_bucket_comes_back_exactly(netns, play):
    """The kernel keeps a police bucket as a time in ticks, and reports a size cut to whole microseconds. The module
    sent the size it read back whenever it sent a police action the kernel already had - the rollback of a refused
    task, a replace of the filter for another field (gathered output fed back with one change), and tc_qdisc's
    commands for the filters it makes again - and so made a smaller bucket than the kernel had (at 999mbit, tc
    showed 65184 bytes where 64k gave 65309): the next run with the config found the filter changed, and deleted and
    made it again (a moment without policing). The kernel's own ticks are sent, and the commands give a burst tc
    turns into them. (The refused task below no longer reaches its rollback: the module now refuses its second flower
    filter of one key before anything is sent, and no other refusal of the full kernel is left unforeseen to take
    its place; test_a_rollback_sends_a_police_bucket_back_as_the_kernel_had_it reaches it in this process.)
    Also: a vlan push or modify of id 4095 (act_vlan refuses it, ERANGE) is refused before anything
    is sent, naming the action's id."""
    ns = netns

    def ip(*args):
        sh('ip', '-n', ns, *args)
    for a, b in (('e0', 'e1'), ('e2', 'e3')):
        ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b)
    for dev in ('e0', 'e1', 'e2', 'e3'):
        ip('link', 'set', dev, 'up')
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'e0', 'clsact')
    for dev in ('e2', 'e3'):
        sh('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '10')
        sh('tc', '-n', ns, 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10mbit')
    police = {'kind': 'police', 'rate': '999mbit', 'burst': '64k', 'exceed': 'drop'}
    every = {'dev': 'e0', 'parent': 'ingress', 'protocol': 'all', 'prio': 1, 'kind': 'matchall', 'actions': [police]}
    some = {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 2, 'kind': 'flower',
            'match': {'src': '198.18.5.0/24'}, 'actions': [police, {'kind': 'gact', 'action': 'pass'}]}
    classify = {'dev': 'e2', 'parent': '1:', 'protocol': 'ip', 'prio': 1, 'kind': 'flower', 'classid': '1:10',
                'match': {'ip_proto': 'udp'}, 'actions': [police]}
    base = {M: {'netns': ns, 'config': [every, some, classify]}}
    dup = {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 3, 'kind': 'flower',
           'match': {'dst': '198.18.7.0/24'}, 'actions': [{'kind': 'gact', 'action': 'drop'}]}
    refused = {M: {'netns': ns, 'config': [
        dict(every, actions=[dict(police, rate='500mbit')]), dict(dup, handle='0x1'),
        # (a second flower filter of the same key in one prio: the kernel refuses it, EEXIST, and the module refuses it
        # before anything is sent, naming the element and match)
        dict(dup, handle='0x2', actions=[{'kind': 'gact', 'action': 'pass'}])]}}
    show = _cmd(ns, '-d', 'filter', 'show', 'dev', 'e0', 'ingress')
    r = play([base, show, refused, show, base, {M: {'netns': ns, 'dev': 'e0', 'state': 'gathered'}}])
    for res in r:
        assert_no_traceback(res)
    assert r[0]['changed'] and not r[0].get('failed'), r[0]
    made = _police(r[1]['stdout'])
    assert sorted(made) == [1, 2] and 'rate 999Mbit burst 65309b ' in made[1], made
    assert r[2].get('failed') and r[2].get('field') == 'match', r[2]
    assert 'config[2]' in '%s %s' % (r[2].get('object'), r[2]['msg']), r[2]
    assert 'errno' not in r[2] and not r[2].get('rolled_back'), r[2]  # (nothing was sent)
    assert _police(r[3]['stdout']) == made, (r[3]['stdout'], made)
    assert r[4]['changed'] is False and r[4]['commands'] == [], r[4]
    gathered = dict((g['prio'], g) for g in r[5]['gathered'])
    assert gathered[2]['actions'][0] == {'kind': 'police', 'rate': 999000000, 'burst': 65309, 'exceed': 'drop',
                                         'conform': 'pass'}, gathered

    # gathered output fed back with one change: the filter is replaced, its police bucket kept
    again = dict(gathered[2], actions=[gathered[2]['actions'][0], {'kind': 'gact', 'action': 'drop'}])
    fed = {M: {'netns': ns, 'config': [again]}}
    r2q = {'edgenet.linux.tc_qdisc': {'netns': ns, 'config': [
        {'dev': 'e2', 'handle': '1:', 'kind': 'htb', 'default': 10, 'r2q': 20}]}}
    e2 = _cmd(ns, '-d', 'filter', 'show', 'dev', 'e2', 'parent', '1:')
    vlan = {'dev': 'e0', 'parent': 'egress', 'protocol': 'ip', 'prio': 4, 'kind': 'flower',
            'match': {'ip_proto': 'icmp'}, 'actions': [{'kind': 'gact', 'action': 'pipe'},
                                                       {'kind': 'vlan', 'action': 'push', 'id': 4095}]}
    bad = [{M: {'netns': ns, 'config': [vlan]}},
           {M: {'netns': ns, 'config': [dict(vlan, actions=[{'kind': 'vlan', 'action': 'modify', 'id': 4095}])]}}]
    good = {M: {'netns': ns, 'config': [dict(vlan, actions=[{'kind': 'vlan', 'action': 'push', 'id': 4094}])]}}
    r = play([dict(fed, check_mode=True), fed, show, base, show, base, e2,                   # 0-6
              dict(r2q, check_mode=True), r2q, e2,                                           # 7-9
              dict(bad[0], check_mode=True), bad[0], dict(bad[1], check_mode=True), bad[1],  # 10-13
              _cmd(ns, 'filter', 'show', 'dev', 'e0', 'egress'), good,                       # 14-15
              _cmd(ns, '-j', 'filter', 'show', 'dev', 'e0', 'egress')])                      # 16
    for res in r:
        assert_no_traceback(res)
    check, real = r[0], r[1]
    assert real['changed'] and not real.get('failed'), real
    assert check['commands'] == real['commands'] and check['after'] == real['after'], (check, real)
    assert [c.split()[4] for c in real['commands']] == ['replace'], real['commands']
    assert 'action police rate 999000000bit burst 65435 ' in real['commands'][0], real['commands']
    assert _police(r[2]['stdout']) == made, (r[2]['stdout'], made)
    # the config again (gact pass): the same replace back, the bucket kept; then nothing to change
    assert [c.split()[4] for c in r[3]['commands']] == ['replace'], r[3]['commands']
    assert _police(r[4]['stdout']) == made, (r[4]['stdout'], made)
    assert r[5]['changed'] is False and r[5]['commands'] == [], r[5]
    r = r[2:]
    # tc_qdisc makes the filter again under the new htb (as the kernel had it), and its command, pasted, makes the
    # same bucket
    qcheck, qreal = r[5], r[6]
    assert qreal['changed'] and qcheck['commands'] == qreal['commands'], (qcheck, qreal)
    lines = [c for c in qreal['commands'] if ' filter add dev e2 ' in c]
    assert len(lines) == 1 and ' burst 65435 ' in lines[0], qreal['commands']
    assert _police(r[7]['stdout']) == _police(r[4]['stdout']) and 'burst 65309b' in _police(r[4]['stdout'])[1]
    sh(*lines[0].replace(' dev e2 ', ' dev e3 ').split())
    assert _police(sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', 'e3', 'parent', '1:')) == \
        _police(r[7]['stdout'])
    # vlan id 4095: refused in both modes, before anything is sent
    for i, res in zip((8, 9, 10, 11), r[8:12]):
        assert res.get('failed') and res['field'] == 'actions[%d].id' % (1 if i < 10 else 0), res
        assert '0 to 4094' in res['msg'] and 'errno' not in res, res
    assert r[12]['stdout'] == ''
    assert r[13]['changed'] and not r[13].get('failed'), r[13]
    acts = [f['options']['actions'] for f in json.loads(r[14]['stdout']) if 'options' in f]
    assert [a.get('id') for a in acts[0] if a['kind'] == 'vlan'] == [4094], acts
