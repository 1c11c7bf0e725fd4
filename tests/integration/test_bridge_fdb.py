# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_fdb against a real kernel; the oracle is `bridge -j fdb show`.

Runs on the host kernel, which has no bridge VLANs, and (test_bridge_fdb_uml.py) under the user-mode Linux kernel,
which has them: there the kernel writes an entry of a bridge's table without a VLAN once more for every VLAN of the
port (VLAN 1 by default), and the expected entries (:func:`with_copies`) hold those too."""

import pytest

from conftest import (apply_then_unchanged, assert_no_traceback, check_assumes_then_real, check_real_again, bridgej,
                      ipj, kernel_fdb, own_macs, sh)

M = 'edgenet.linux.bridge_fdb'
ZERO = '00:00:00:00:00:00'


def vlans_of_devices(ns):
    """{dev: [vid, ...]} of every bridge port and bridge, from iproute2 (nothing on a kernel without bridge VLANs)."""
    out = {}
    for dev in bridgej(ns, 'vlan', 'show'):
        for v in dev.get('vlans', []):
            out.setdefault(dev['ifname'], []).extend(range(v['vlan'], v.get('vlanEnd', v['vlan']) + 1))
    return out


def with_copies(ns, keys):
    """``keys`` (of :func:`kernel_fdb`) and, for each entry of a bridge's table without a VLAN (a port's, or the
    bridge br0's own), the entry the kernel makes for each VLAN of the device."""
    vlans = vlans_of_devices(ns)
    out = set(keys)
    for dev, mac, vlan, dst, own in keys:
        if vlan is None and dst is None and (not own or dev == 'br0'):
            out.update((dev, mac, vid, None, own) for vid in vlans.get(dev, ()))
    return out


def snapshot(ns):
    return sorted((repr(k), repr(v)) for k, v in kernel_fdb(ns, learned=True).items())


@pytest.fixture
def ns(netns):
    def ip(*args):
        sh('ip', '-n', netns, *args)
    ip('link', 'add', 'br0', 'type', 'bridge')
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'local', '198.18.0.1', 'nolearning')
    ip('link', 'add', 'vx1', 'type', 'vxlan', 'external', 'dstport', '4790', 'local', '198.18.0.1')
    for dev in ('v0', 'vx0'):
        ip('link', 'set', dev, 'master', 'br0')
    for dev in ('br0', 'v0', 'v1', 'vx0', 'vx1'):
        ip('link', 'set', dev, 'up')
    return netns


CONFIG = [
    {'dev': 'v0', 'mac': '02:00:00:00:00:01', 'master': True, 'state': 'static'},
    {'dev': 'v0', 'mac': '02-00-00-00-00-02', 'master': True, 'state': 'static', 'sticky': True},
    {'dev': 'v0', 'mac': '02:00:00:00:00:03', 'master': True, 'extern_learn': True},
    {'dev': 'v0', 'mac': '02:00:00:00:00:04', 'master': True},
    {'dev': 'br0', 'mac': '02:00:00:00:00:05'},
    {'dev': 'vx0', 'mac': ZERO, 'dst': '198.18.0.2'},
    {'dev': 'vx0', 'mac': ZERO, 'dst': '198.18.0.3'},
    {'dev': 'vx0', 'mac': '02:00:00:00:00:06', 'dst': '198.18.0.4', 'vni': 200, 'port': 4800, 'state': 'static'},
    {'dev': 'vx0', 'mac': '02:00:00:00:00:07', 'dst': '198.18.0.7', 'vni': 100, 'port': 4789},
    {'dev': 'vx0', 'mac': '02:00:00:00:00:06', 'master': True, 'extern_learn': True},
    {'dev': 'vx1', 'mac': '02:00:00:00:00:08', 'dst': '198.18.0.8', 'vni': 300, 'src_vni': 300},
    {'dev': 'v1', 'mac': '02:00:00:00:00:09', 'self': True},
]
KEYS = {('v0', '02:00:00:00:00:01', None, None, False), ('v0', '02:00:00:00:00:02', None, None, False),
        ('v0', '02:00:00:00:00:03', None, None, False), ('v0', '02:00:00:00:00:04', None, None, False),
        ('br0', '02:00:00:00:00:05', None, None, True), ('vx0', ZERO, None, '198.18.0.2', True),
        ('vx0', ZERO, None, '198.18.0.3', True), ('vx0', '02:00:00:00:00:06', None, '198.18.0.4', True),
        ('vx0', '02:00:00:00:00:07', None, '198.18.0.7', True), ('vx0', '02:00:00:00:00:06', None, None, False),
        ('vx1', '02:00:00:00:00:08', None, '198.18.0.8', True), ('v1', '02:00:00:00:00:09', None, None, True)}


def test_merged_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    before = snapshot(ns)
    check = play([task], check=True)[0]
    assert snapshot(ns) == before  # check mode wrote nothing
    apply, again = play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
    assert not apply.get('failed'), apply
    assert check['changed'] and check['before'] == [] and 'diff' in check
    k = kernel_fdb(ns)
    assert set(k) == with_copies(ns, KEYS)
    assert k[('v0', '02:00:00:00:00:01', None, None, False)]['state'] == 'static'
    assert k[('v0', '02:00:00:00:00:02', None, None, False)]['flags'] == ['sticky']
    assert k[('v0', '02:00:00:00:00:03', None, None, False)]['flags'] == ['extern_learn']
    assert k[('v0', '02:00:00:00:00:04', None, None, False)]['state'] == 'permanent'
    assert k[('br0', '02:00:00:00:00:05', None, None, True)]['state'] == 'permanent'
    e = k[('vx0', '02:00:00:00:00:06', None, '198.18.0.4', True)]
    assert (e['vni'], e['port'], e['state']) == (200, 4800, 'static')
    e = k[('vx0', '02:00:00:00:00:07', None, '198.18.0.7', True)]
    assert 'vni' not in e and 'port' not in e  # the device's own: the kernel does not report them
    assert k[('vx1', '02:00:00:00:00:08', None, '198.18.0.8', True)]['src_vni'] == 300
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert apply['changed'] and again['changed'] is False and again['commands'] == []
    assert again['before'] == apply['after']
    assert ('bridge -n %s fdb append 00:00:00:00:00:00 dev vx0 dst 198.18.0.2 self permanent' % ns) \
        in apply['commands']
    assert {'dev': 'v0', 'mac': '02:00:00:00:00:01', 'self': False, 'master': True, 'state': 'static',
            'extern_learn': False, 'sticky': False} in apply['after']
    assert {'dev': 'br0', 'mac': '02:00:00:00:00:05', 'self': True, 'master': False, 'state': 'permanent',
            'extern_learn': False, 'sticky': False} in apply['after']


def test_merged_replaced_change_in_place(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dev': 'v0', 'mac': '02:00:00:00:00:01', 'master': True, 'sticky': True},
           {'dev': 'v0', 'mac': '02:00:00:00:00:04', 'master': True, 'state': 'static'},
           {'dev': 'vx0', 'mac': '02:00:00:00:00:06', 'dst': '198.18.0.4', 'vni': 201},
           {'dev': 'v0', 'mac': '02:00:00:00:00:03', 'master': True, 'extern_learn': False, 'state': 'static'}]
    check = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'config': cfg}}] * 2)
    assert not real.get('failed'), real
    assert real['changed'] and check['after'] == real['after'] and not again['changed']
    assert check['commands'] == real['commands']
    k = kernel_fdb(ns)
    assert k[('v0', '02:00:00:00:00:01', None, None, False)]['state'] == 'static'
    assert k[('v0', '02:00:00:00:00:01', None, None, False)]['flags'] == ['sticky']
    assert k[('v0', '02:00:00:00:00:04', None, None, False)]['state'] == 'static'
    e = k[('vx0', '02:00:00:00:00:06', None, '198.18.0.4', True)]
    assert (e['vni'], e['port'], e['state']) == (201, 4800, 'static')  # merged keeps port and state
    assert k[('v0', '02:00:00:00:00:03', None, None, False)]['state'] == 'static'
    assert k[('v0', '02:00:00:00:00:03', None, None, False)]['flags'] == []
    # replaced: unnamed fields return to their defaults
    cfg = [{'dev': 'vx0', 'mac': '02:00:00:00:00:06', 'dst': '198.18.0.4'},
           {'dev': 'v0', 'mac': '02:00:00:00:00:02', 'master': True}]
    check = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'replaced', 'config': cfg}}] * 2)
    assert real['changed'] and check['after'] == real['after'] and not again['changed']
    k = kernel_fdb(ns)
    e = k[('vx0', '02:00:00:00:00:06', None, '198.18.0.4', True)]
    assert 'vni' not in e and 'port' not in e and e['state'] == 'permanent'
    e = k[('v0', '02:00:00:00:00:02', None, None, False)]
    assert e['state'] == 'permanent' and e['flags'] == []
    assert set(k) == with_copies(ns, KEYS)


def test_overridden_keeps_kernel_and_learned_entries(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    # a learned entry: what the bridge learns from traffic looks like this
    sh('bridge', '-n', ns, 'fdb', 'add', '02:00:00:00:00:66', 'dev', 'v0', 'master', 'dynamic')
    kernel_own = [e for e in bridgej(ns, 'fdb', 'show') if e['mac'].startswith('33:33')
                  or e['mac'] in own_macs(ns).values()]
    assert kernel_own
    cfg = [{'dev': 'vx0', 'mac': ZERO, 'dst': '198.18.0.3'}]
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'vx0', 'config': cfg}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    k = kernel_fdb(ns, learned=True)
    assert set(k) == with_copies(ns, KEYS - {('vx0', ZERO, None, '198.18.0.2', True),
                                             ('vx0', '02:00:00:00:00:06', None, '198.18.0.4', True),
                                             ('vx0', '02:00:00:00:00:07', None, '198.18.0.7', True),
                                             ('vx0', '02:00:00:00:00:06', None, None, False)}
                                 | {('v0', '02:00:00:00:00:66', None, None, False)})
    # the whole namespace: learned entries and the kernel's own stay
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': [CONFIG[0]]}})[0]
    assert r['changed']
    assert set(kernel_fdb(ns, learned=True)) == with_copies(ns, {('v0', '02:00:00:00:00:01', None, None, False),
                                                                 ('v0', '02:00:00:00:00:66', None, None, False)})
    now = [e for e in bridgej(ns, 'fdb', 'show') if e['mac'].startswith('33:33')
           or e['mac'] in own_macs(ns).values()]
    assert sorted(map(repr, now)) == sorted(map(repr, kernel_own))
    # include_learned: the learned entry is shown with its age, and overridden flushes it
    g = play({M: {'netns': ns, 'state': 'gathered', 'include_learned': True}})[0]
    learned = [e for e in g['gathered'] if e['mac'] == '02:00:00:00:00:66']
    assert learned and learned[0]['state'] == 'dynamic' and isinstance(learned[0]['age'], int)
    r = play({M: {'netns': ns, 'state': 'overridden', 'include_learned': True, 'config': [CONFIG[0]]}})[0]
    assert r['changed'] and set(kernel_fdb(ns, learned=True)) == with_copies(
        ns, {('v0', '02:00:00:00:00:01', None, None, False)})


def test_deleted_by_match_and_all(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    task = {M: {'netns': ns, 'state': 'deleted',
                'config': [{'dev': 'vx0', 'dst': '198.18.0.2'}, {'dev': 'v0', 'state': 'static'}]}}
    check = play(task, check=True)[0]
    assert set(kernel_fdb(ns)) == with_copies(ns, KEYS)
    real, again = play([task, task])
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    assert ('bridge -n %s fdb del 00:00:00:00:00:00 dev vx0 dst 198.18.0.2 self' % ns) in real['commands']
    assert set(kernel_fdb(ns)) == with_copies(ns, KEYS) - with_copies(ns, {
        ('vx0', ZERO, None, '198.18.0.2', True), ('v0', '02:00:00:00:00:01', None, None, False),
        ('v0', '02:00:00:00:00:02', None, None, False)})
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['changed'] and kernel_fdb(ns) == {}
    assert any(e['mac'].startswith('33:33') for e in bridgej(ns, 'fdb', 'show'))


def test_gathered_feeds_back_and_rendered_commands_work(ns, play):
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': CONFIG}})[0]
    assert kernel_fdb(ns) == {}
    assert r['rendered'][0] == 'bridge -n %s fdb replace 02:00:00:00:00:01 dev v0 master static' % ns
    for line in r['rendered']:
        sh(*line.split())
    assert set(kernel_fdb(ns)) == with_copies(ns, KEYS)
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert not g['changed'] and len(g['gathered']) == len(with_copies(ns, KEYS))
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert r['changed'] is False, r['commands']
    # and what the module produces from CONFIG is what gathered shows
    play({M: {'netns': ns, 'state': 'deleted'}})
    assert kernel_fdb(ns) == {}
    applied = play({M: {'netns': ns, 'config': CONFIG}})[0]
    # also the entry that names the VXLAN device's own vni and port: the kernel neither keeps nor reports them
    assert applied['after'] == g['gathered']


@pytest.mark.parametrize('item, field, text', [
    ({'dev': 'nosuch0', 'mac': '02:00:00:00:00:01'}, 'dev', "device 'nosuch0' does not exist"),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:zz', 'master': True}, 'mac', 'not a MAC address'),
    ({'dev': 'v0', 'master': True}, 'mac', 'missing required field'),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:01', 'master': True, 'self': True}, 'master', 'either'),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:01', 'master': True, 'dst': '198.18.0.1'}, 'dst', 'VXLAN'),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:01', 'dst': '198.18.0.1'}, 'dst', 'needs a VXLAN device'),
    ({'dev': 'vx0', 'mac': '02:00:00:00:00:01'}, 'dst', 'needs dst'),
    ({'dev': 'vx0', 'mac': '02:00:00:00:00:01', 'dst': '198.18.0.1', 'src_vni': 5}, 'src_vni', 'external'),
    ({'dev': 'vx0', 'mac': '02:00:00:00:00:01', 'dst': '198.18.0.1', 'vni': 2 ** 24}, 'vni', 'out of range'),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:01', 'master': True, 'state': 'dynamic'}, 'state', 'include_learned'),
    ({'dev': 'v1', 'mac': '02:00:00:00:00:01', 'master': True}, 'master', 'not a bridge port'),
    ({'dev': 'br0', 'mac': '02:00:00:00:00:01', 'master': True}, 'master', 'self: true'),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:01', 'master': True, 'vlan': 5000}, 'vlan', 'out of range'),
    ({'dev': 'br0', 'mac': '02:00:00:00:00:01', 'state': 'static'}, 'state', 'takes only permanent entries'),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:01', 'master': True, 'sticky': True}, 'sticky', 'cannot be sticky'),
    # the kernel refuses the all-zero MAC in a bridge's table (EINVAL, no extended ACK): named before any write
    ({'dev': 'v0', 'mac': ZERO, 'master': True, 'state': 'static'}, 'mac', 'all-zero MAC'),
    # a plain device's own multicast entries are its multicast list, which gather leaves out: never converges
    ({'dev': 'v1', 'mac': '01:00:5e:01:02:03', 'self': True}, 'mac', 'multicast list'),
    ({'dev': 'v1', 'mac': '33:33:00:00:00:01', 'self': True}, 'mac', 'multicast list'),
    # one MAC (and VLAN) is one entry of a bridge's table, whichever port it names: only one could stay
    ([{'dev': 'v0', 'mac': '02:00:00:00:00:31', 'master': True, 'state': 'static'},
      {'dev': 'vx0', 'mac': '02:00:00:00:00:31', 'master': True, 'state': 'static'}], 'dev', 'keeps only one'),
    ([{'dev': 'br0', 'mac': '02:00:00:00:00:31'},
      {'dev': 'v0', 'mac': '02:00:00:00:00:31', 'master': True}], 'dev', 'keeps only one'),
    # and a unicast MAC has one destination in a VXLAN device's table
    ([{'dev': 'vx0', 'mac': '02:00:00:00:00:dd', 'dst': '198.18.0.7'},
      {'dev': 'vx0', 'mac': '02:00:00:00:00:dd', 'dst': '198.18.0.8'}], 'dst', 'keeps only one'),
])
def test_bad_input_names_the_field(ns, play, item, field, text):
    before = snapshot(ns)
    r = play({M: {'netns': ns, 'config': item if isinstance(item, list) else [item]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and text in r['msg'], r
    if field:
        assert r.get('field') == field, r
    assert snapshot(ns) == before


@pytest.mark.parametrize('item, field, text', [
    # (the kernel: EINVAL, no extended ACK; check mode had shown the entry)
    ({'dev': 'br0', 'mac': '02:00:00:00:00:23', 'state': 'static'}, 'state', "the bridge 'br0' takes only permanent"),
    ({'dev': 'v1', 'mac': '02:00:00:00:00:22', 'self': True, 'state': 'static'}, 'state',
     "of 'v1' takes only permanent entries"),
    # (the kernel answers these as done and drops the flag: changed on every run, check mode showed the flag)
    ({'dev': 'v1', 'mac': '02:00:00:00:00:21', 'self': True, 'extern_learn': True}, 'extern_learn',
     'keep no extern_learn flag'),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:41', 'master': True, 'extern_learn': True, 'sticky': True}, 'sticky',
     'keeps no sticky flag on an extern_learn entry'),
])
def test_what_the_kernel_refuses_or_drops_is_refused_in_check_mode_too(ns, play, item, field, text):
    before = snapshot(ns)
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'mac': '02:00:00:00:00:40', 'master': True, 'state': 'static'},
                                        item]}}
    for r in play(task, check=True) + play(task):
        assert_no_traceback(r)
        assert r.get('failed') and text in r['msg'] and r.get('field') == field, r
    assert snapshot(ns) == before


def test_an_entry_for_the_address_of_a_port_or_the_bridge_is_refused(ns, play):
    """The bridge keeps a local entry (permanent) for its own address and each port's, which gather leaves out. An
    entry for a port's address on another port took it over, and its rollback deleted it; one that named the local
    entry itself was planned on every run."""
    sh('ip', '-n', ns, 'link', 'set', 'vx1', 'master', 'br0')
    addr = dict((l['ifname'], l['address']) for l in ipj(ns, 'link', 'show'))

    def local():
        return sorted((e['mac'], e['ifname']) for e in bridgej(ns, 'fdb', 'show', 'br', 'br0')
                      if 'permanent' in e.get('state', '') and e['mac'] in addr.values() and not e.get('vlan'))
    before, kept = snapshot(ns), local()
    assert (addr['vx1'], 'vx1') in kept and (addr['v0'], 'v0') in kept
    for item, port in (({'dev': 'v0', 'mac': addr['vx1'], 'master': True, 'state': 'static'}, 'vx1'),
                       ({'dev': 'v0', 'mac': addr['v0'], 'master': True, 'state': 'permanent'}, 'v0'),
                       ({'dev': 'br0', 'mac': addr['br0']}, 'br0')):
        # (a bridge takes the smallest address of its ports: one of them may be the bridge's too)
        whose = "the bridge 'br0'" if item['mac'] == addr['br0'] else "port '%s'" % port
        task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'mac': '02:00:00:00:00:40', 'master': True,
                                             'state': 'static'}, item]}}
        for r in play(task, check=True) + play(task):
            assert_no_traceback(r)
            assert r.get('failed') and r.get('field') == 'mac' and 'is the address of %s' % whose in r['msg'], r
        assert snapshot(ns) == before and local() == kept


def test_elements_that_spell_an_entry_as_gathered(ns, play):
    """State merged gathers first and takes an element that spells an entry exactly as the kernel has it (dev,
    mac, self, master, state, vlan) as that entry, without normalizing or re-planning it (the engine's fast path:
    most of a 10,000-entry re-check). It must behave as the normal path: no change on a re-run (check mode too),
    the same error for a duplicate (both elements fast, or one fast and one spelled otherwise) and for self equal
    to master, and a real change when a field differs."""
    config = [
        {'dev': 'v0', 'mac': '02:00:00:00:00:11', 'master': True, 'state': 'static'},
        {'dev': 'br0', 'mac': '02:00:00:00:00:12'},
        {'dev': 'v1', 'mac': '02:00:00:00:00:13', 'self': True, 'state': 'permanent'},
        {'dev': 'v0', 'mac': '02:00:00:00:00:14', 'self': False, 'master': True},
    ]
    apply_then_unchanged(play, {M: {'netns': ns, 'config': config}})
    fdb = kernel_fdb(ns)
    assert fdb[('v0', '02:00:00:00:00:11', None, None, False)]['state'] == 'static'
    assert ('br0', '02:00:00:00:00:12', None, None, True) in fdb
    before = snapshot(ns)
    # duplicates: the same entry twice as gathered; once as gathered and once in another spelling
    for dup in ([config[0], config[0]],
                [config[0], {'dev': 'v0', 'mac': '02-00-00-00-00-11', 'master': True, 'state': 'static'}],
                [{'dev': 'br0', 'mac': '02:00:00:00:00:12', 'self': True}, config[1]]):
        r = play({M: {'netns': ns, 'config': dup}})[0]
        assert_no_traceback(r)
        assert r['failed'] and 'duplicate key' in r['msg'] and 'config[1]' in r['msg'] and 'config[0]' in r['msg'], r
    # self equal to master on an element that otherwise names an existing entry: the normal path's error
    r = play({M: {'netns': ns, 'config': [dict(config[3], self=True)]}})[0]
    assert_no_traceback(r)
    assert r['failed'] and r.get('field') == 'master' and r.get('object') == 'config[0]', r
    assert snapshot(ns) == before
    # a field that differs is a change (static -> permanent), made and then stable
    changed = {M: {'netns': ns, 'config': [dict(config[0], state='permanent')]}}
    r, r2 = play([changed, changed])
    assert r['changed'] and not r2['changed'], (r, r2)
    assert kernel_fdb(ns)[('v0', '02:00:00:00:00:11', None, None, False)]['state'] == 'permanent'


def test_an_entry_that_moves_to_another_port_is_reported_and_restored(ns, play):
    """The bridge keeps one entry per MAC and VLAN: an entry for a MAC another port holds moves it (as
    `bridge fdb replace` does). The task reports the entry it takes away (its delete in before, after, diff and
    commands), check mode says the same, and when a later element of the task fails, the rollback puts the
    moved entry back where it was."""
    sh('ip', '-n', ns, 'link', 'add', 'p2', 'type', 'veth', 'peer', 'name', 'p3')
    sh('ip', '-n', ns, 'link', 'set', 'p2', 'master', 'br0', 'up')
    sh('bridge', '-n', ns, 'fdb', 'replace', '02:00:00:00:00:aa', 'dev', 'v0', 'master', 'static')
    sh('bridge', '-n', ns, 'fdb', 'replace', '02:00:00:00:00:dd', 'dev', 'vx0', 'dst', '198.18.0.9', 'self')
    moved = [{'dev': 'p2', 'mac': '02:00:00:00:00:aa', 'master': True, 'state': 'static'},
             {'dev': 'vx0', 'mac': '02:00:00:00:00:dd', 'dst': '198.18.0.10'}]
    # the kernel refuses an IPv6 destination on an IPv4 VXLAN device: after the first two writes
    refused = _refused_by_the_kernel(ns, {'mac': '02:00:00:00:00:ee', 'dst': 'fd42:ed6e::9'})
    before = snapshot(ns)
    r = play({M: {'netns': ns, 'config': moved + [refused]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and 'rolled back' in r['msg'], r
    assert snapshot(ns) == before  # the moved entries are back on v0 and at 198.18.0.9
    task = {M: {'netns': ns, 'config': moved}}
    check = play(task, check=True, diff=True)[0]
    assert snapshot(ns) == before
    apply = play(task, diff=True)[0]
    vlans = vlans_of_devices(ns)  # (with bridge VLANs, the entry of each VLAN of the port moves too)
    for x in (check, apply):
        assert_no_traceback(x)
        assert x['changed']
        words = [c.split(ns + ' ', 1)[1] for c in x['commands']]
        deletes = 2 + len(vlans.get('v0', []))
        assert sorted(words[:deletes]) == ['fdb del 02:00:00:00:00:aa dev v0 master'] + [
            'fdb del 02:00:00:00:00:aa dev v0 vlan %d master' % vid for vid in vlans.get('v0', [])] + [
            'fdb del 02:00:00:00:00:dd dev vx0 dst 198.18.0.9 self'], words
        assert words[deletes:] == ['fdb replace 02:00:00:00:00:aa dev p2 master static',
                                   'fdb replace 02:00:00:00:00:dd dev vx0 dst 198.18.0.10 self permanent'] + [
            'fdb replace 02:00:00:00:00:aa dev p2 vlan %d master static' % vid for vid in vlans.get('p2', [])], words
        assert [(e['dev'], e['mac'], e.get('vlan')) for e in x['before']] == [
            ('v0', '02:00:00:00:00:aa', vid) for vid in [None] + vlans.get('v0', [])] + [
            ('vx0', '02:00:00:00:00:dd', None)], x['before']
        assert [(e['dev'], e['mac'], e.get('dst'), e.get('vlan')) for e in x['after']] == [
            ('p2', '02:00:00:00:00:aa', None, vid) for vid in [None] + vlans.get('p2', [])] + [
            ('vx0', '02:00:00:00:00:dd', '198.18.0.10', None)], x['after']
        headers = [d['before_header'] for d in x['diff']]
        assert any('dev v0' in h for h in headers) and any('198.18.0.9' in h for h in headers), headers
    assert check['after'] == apply['after'] and check['diff'] == apply['diff']
    k = kernel_fdb(ns)
    assert ('p2', '02:00:00:00:00:aa', None, None, False) in k
    assert [key for key in k if key[0] == 'v0' and key[1] == '02:00:00:00:00:aa'] == []
    assert [key for key in k if key[1] == '02:00:00:00:00:dd'] == [('vx0', '02:00:00:00:00:dd', None, '198.18.0.10',
                                                                    True)]
    again = play(task)[0]
    assert not again['changed'] and again['commands'] == []


def test_extern_learn_merged_onto_a_static_entry(ns, play):
    """merged with extern_learn: true and no state, onto a static entry of the bridge's table: the bridge keeps
    an extern_learn entry as dynamic, so the plan (check mode, commands, diff) says dynamic, as the kernel does."""
    sh('bridge', '-n', ns, 'fdb', 'replace', '02:00:00:00:00:01', 'dev', 'v0', 'master', 'static')
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'mac': '02:00:00:00:00:01', 'master': True,
                                         'extern_learn': True}]}}
    before = snapshot(ns)
    check = play(task, check=True, diff=True)[0]
    assert snapshot(ns) == before
    apply = play(task, diff=True)[0]
    for x in (check, apply):
        assert_no_traceback(x)
        assert x['changed'] and x['after'][0]['state'] == 'dynamic' and x['after'][0]['extern_learn'], x
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert check['diff'] == apply['diff']
    e = kernel_fdb(ns)[('v0', '02:00:00:00:00:01', None, None, False)]
    assert e['flags'] == ['extern_learn'] and e['state'] == ''
    again = play(task)[0]
    assert not again['changed'] and again['commands'] == []


def test_check_mode_assumes_a_port_an_earlier_task_makes(ns, play):
    """A play that enslaves a device with the link module, then adds an entry to the bridge's table for it:
    check mode (where the link task changed nothing) warns and predicts; the real run makes both."""
    tasks = [{'edgenet.linux.link': {'netns': ns, 'config': [{'ifname': 'v1', 'master': 'br0'}]}},
             {M: {'netns': ns, 'config': [{'dev': 'v1', 'mac': '02:00:00:00:00:81', 'master': True,
                                           'state': 'static'}]}}]
    check, real = check_assumes_then_real(play, tasks, lambda: snapshot(ns), "'v1' is not a bridge port: an entry")
    assert real['after'] == check['after'], (check, real)
    assert kernel_fdb(ns)[('v1', '02:00:00:00:00:81', None, None, False)]['state'] == 'static'


def test_vni_and_port_of_the_device_are_reported_as_gathered(ns, play):
    """A VXLAN entry that names the device's own vni and port (vx0: id 100, dstport 4789) is the entry without
    them: the kernel stores the device's values and reports neither. after (check mode and real run, the first
    run and the re-run) is what gathered and iproute2 show, and so is a change to the device's own VNI."""
    entry = {'dev': 'vx0', 'mac': '02:00:00:00:00:06', 'dst': '198.18.0.6'}
    task = {M: {'netns': ns, 'config': [dict(entry, vni=100, port=4789)]}}
    check = play(task, check=True)[0]
    first, again, _check = apply_then_unchanged(play, task)
    gathered = play({M: {'netns': ns, 'state': 'gathered', 'dev': 'vx0'}})[0]['gathered']
    shown = [dict(entry, self=True, master=False, state='permanent', extern_learn=False, sticky=False)]
    assert gathered == shown
    assert check['after'] == first['after'] == again['before'] == again['after'] == shown, (check, first, again)
    assert check['commands'] == first['commands'] == [
        'bridge -n %s fdb replace 02:00:00:00:00:06 dev vx0 dst 198.18.0.6 self permanent' % ns]
    e = kernel_fdb(ns)[('vx0', '02:00:00:00:00:06', None, '198.18.0.6', True)]
    assert 'vni' not in e and 'port' not in e, e
    # from another VNI and port back to the device's own: a change, shown as gathered shows it
    sh('bridge', '-n', ns, 'fdb', 'replace', '02:00:00:00:00:06', 'dev', 'vx0', 'dst', '198.18.0.6', 'vni', '200',
       'port', '4800', 'self', 'permanent')
    check = play(task, check=True)[0]
    first, again, _check = apply_then_unchanged(play, task)
    assert check['after'] == first['after'] == again['after'] == shown, (check, first)
    assert check['commands'] == first['commands']
    e = kernel_fdb(ns)[('vx0', '02:00:00:00:00:06', None, '198.18.0.6', True)]
    assert 'vni' not in e and 'port' not in e, e


@pytest.fixture
def vnifilter(ns):
    """vxf: a VXLAN device in external vnifilter mode (a port of br0, the single-VXLAN-device design) whose VNI
    list floods VNI 100 to 198.18.0.2 and VNIs 101-102 to 198.18.0.3 (the kernel makes an all-zero FDB entry
    for each of them), has VNI 200 without a remote, and a head-end entry of the user's own for VNI 100."""
    def run(*args):
        sh(*args)
    run('ip', '-n', ns, 'link', 'add', 'vxf', 'type', 'vxlan', 'external', 'vnifilter', 'local', '198.18.0.1',
        'dstport', '4791')
    run('ip', '-n', ns, 'link', 'set', 'vxf', 'master', 'br0', 'up')
    for vni, remote in (('100', '198.18.0.2'), ('101-102', '198.18.0.3')):
        run('bridge', '-n', ns, 'vni', 'add', 'dev', 'vxf', 'vni', vni, 'remote', remote)
    run('bridge', '-n', ns, 'vni', 'add', 'dev', 'vxf', 'vni', '200')
    run('bridge', '-n', ns, 'fdb', 'append', ZERO, 'dev', 'vxf', 'dst', '198.18.0.9', 'vni', '100', 'src_vni', '100',
        'self', 'permanent')
    return ns


def flood(ns):
    """The all-zero entries of vxf, as (dst, vni, src_vni, port; 0: the device's), from iproute2."""
    return sorted((e.get('dst'), e.get('vni'), e.get('src_vni'), e.get('port', 0))
                  for e in bridgej(ns, 'fdb', 'show', 'dev', 'vxf') if e['mac'] == ZERO)


KERNEL_FLOOD = [('198.18.0.2', 100, 100, 0), ('198.18.0.3', 101, 101, 0), ('198.18.0.3', 102, 102, 0)]


def test_flood_entries_of_a_vni_list_are_the_kernels(vnifilter, play):
    """The flood entries the kernel makes from the VNI list of a vnifilter device (bridge_vni's remote) are not
    shown, deleted by overridden or deleted, or written; the user's own head-end entries on the device are."""
    ns = vnifilter
    mine = {'dev': 'vxf', 'mac': ZERO, 'dst': '198.18.0.9', 'vni': 100, 'src_vni': 100, 'self': True,
            'master': False, 'state': 'permanent', 'extern_learn': False, 'sticky': False}
    assert flood(ns) == sorted(KERNEL_FLOOD + [('198.18.0.9', 100, 100, 0)])
    g = play({M: {'netns': ns, 'state': 'gathered', 'dev': 'vxf'}})[0]
    assert g['gathered'] == [mine], g
    # overridden with nothing for vxf: only the user's entry goes, in check mode and for real
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'vxf', 'config': []}}
    check = play(task, check=True)[0]
    assert flood(ns) == sorted(KERNEL_FLOOD + [('198.18.0.9', 100, 100, 0)])
    real, again = play([task, task])
    for r in (check, real):
        assert_no_traceback(r)
        assert r['changed'] and r['before'] == [mine] and r['after'] == [], r
        assert r['commands'] == ['bridge -n %s fdb del %s dev vxf dst 198.18.0.9 vni 100 src_vni 100 self'
                                 % (ns, ZERO)], r
    assert not again['changed'] and again['commands'] == [] and again['before'] == []
    assert flood(ns) == KERNEL_FLOOD
    # deleted, of the device and by the entry's fields: nothing of the kernel's is taken
    for config in ([], [{'dev': 'vxf', 'mac': ZERO, 'dst': '198.18.0.2'}]):
        r = play({M: {'netns': ns, 'state': 'deleted', 'dev': 'vxf', 'config': config}})[0]
        assert not r.get('failed') and not r['changed'] and r['commands'] == [], r
    assert flood(ns) == KERNEL_FLOOD
    # an element that spells a kernel's flood entry is refused (check mode too), naming it and dst
    kernels = {'dev': 'vxf', 'mac': ZERO, 'dst': '198.18.0.3', 'vni': 102, 'src_vni': 102}
    for check_mode in (True, False):
        r = play({M: {'netns': ns, 'config': [kernels]}}, check=check_mode)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r.get('field') == 'dst' and 'VNI 102' in r['msg'] and 'bridge_vni' in r['msg'], r
        assert '198.18.0.3' in r.get('object', ''), r
    assert flood(ns) == KERNEL_FLOOD
    # the user's own head-end entries on the device: another VTEP for a VNI of the list, and the kernel's VTEP at
    # another port, are managed as usual
    extra = [{'dev': 'vxf', 'mac': ZERO, 'dst': '198.18.0.4', 'vni': 100, 'src_vni': 100},
             {'dev': 'vxf', 'mac': ZERO, 'dst': '198.18.0.2', 'vni': 100, 'src_vni': 100, 'port': 5000}]
    first, _again, _check = apply_then_unchanged(play, {M: {'netns': ns, 'config': extra}})
    assert [(e['dst'], e.get('port')) for e in first['after']] == [('198.18.0.2', 5000), ('198.18.0.4', None)]
    assert flood(ns) == sorted(KERNEL_FLOOD + [('198.18.0.2', 100, 100, 5000), ('198.18.0.4', 100, 100, 0)])
    r = play({M: {'netns': ns, 'state': 'overridden', 'dev': 'vxf', 'config': []}})[0]
    assert r['changed'] and len(r['commands']) == 2 and flood(ns) == KERNEL_FLOOD, r
    # a multicast group on a device with a lower device: the kernel's entry goes via it
    sh('ip', '-n', ns, 'link', 'add', 'vxg', 'type', 'vxlan', 'external', 'vnifilter', 'local', '198.18.0.1',
       'dstport', '4792', 'dev', 'v1')
    sh('ip', '-n', ns, 'link', 'set', 'vxg', 'up')
    sh('bridge', '-n', ns, 'vni', 'add', 'dev', 'vxg', 'vni', '300', 'group', '239.1.1.1')
    assert [(e['dst'], e.get('viaIf')) for e in bridgej(ns, 'fdb', 'show', 'dev', 'vxg')] == [('239.1.1.1', 'v1')]
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert [e for e in g['gathered'] if e['dev'] in ('vxf', 'vxg')] == [], g


def test_a_dynamic_entry_needs_a_port_that_learns(ns, play):
    """br_fdb_add takes a dynamic entry only from a port in STP state learning or forwarding (EPERM otherwise; a
    port is disabled while its link is down). The real run refuses it before anything is sent, naming the entry
    and state; check mode warns that it assumes an earlier task brings the port up. A static entry on that port
    is taken. Once the port forwards (`bridge -j link show`), check mode and the real run agree."""
    import time

    sh('ip', '-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1')
    sh('ip', '-n', ns, 'link', 'set', 'w0', 'master', 'br0')  # w0 and w1 stay down: a disabled port
    mac = '02:00:00:00:00:71'
    task = {M: {'netns': ns, 'include_learned': True,
                'config': [{'dev': 'w0', 'mac': mac, 'master': True, 'state': 'dynamic'}]}}
    before = snapshot(ns)
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert not check.get('failed') and check['changed'], check
    assert any("'w0' is disabled" in w and 'assumes an earlier task of the play brings it up' in w
               for w in check.get('warnings', [])), check
    real = play(task)[0]
    assert_no_traceback(real)
    assert real.get('failed') and real.get('field') == 'state', real
    assert real.get('object') == 'bridge_fdb %s dev w0 master' % mac, real
    assert "'w0' is disabled" in real['msg'] and 'learning or forwarding' in real['msg'], real
    assert 'rolled back' not in real['msg'] and not real.get('failed_command'), real  # nothing was sent
    assert snapshot(ns) == before
    # a static entry is the port's whatever its state
    static = {M: {'netns': ns, 'config': [{'dev': 'w0', 'mac': '02:00:00:00:00:72', 'master': True,
                                           'state': 'static'}]}}
    r = play(static)[0]
    assert not r.get('failed') and r['changed'] and not r.get('warnings'), r
    # the port comes up (both ends of the veth): the bridge forwards on it, and the dynamic entry is taken
    sh('ip', '-n', ns, 'link', 'set', 'w0', 'up')
    sh('ip', '-n', ns, 'link', 'set', 'w1', 'up')
    for _attempt in range(100):
        if [p.get('state') for p in bridgej(ns, 'link', 'show', 'dev', 'w0')] == ['forwarding']:
            break
        time.sleep(0.05)
    check = play(task, check=True)[0]
    assert not check.get('warnings'), check
    real, again = play([task, task])
    assert_no_traceback(real)
    assert not real.get('failed') and real['changed'] and not again['changed'], (real, again)
    assert real['after'] == check['after'] and real['commands'] == check['commands'] and real['diff'] == check['diff']
    assert kernel_fdb(ns, learned=True)[('w0', mac, None, None, False)]['state'] == ''
    # changes of the dynamic entry (the kernel restarts its age) and to static (no age): check mode says what the
    # real run reads back (a first version kept the old age in a change's prediction, and an age in a static one)
    for change in ({'sticky': True}, {'state': 'static'}, {'state': 'dynamic', 'sticky': False}):
        task = {M: {'netns': ns, 'include_learned': True,
                    'config': [dict({'dev': 'w0', 'mac': mac, 'master': True}, **change)]}}
        check = play(task, check=True)[0]
        real, again = play([task, task])
        assert not real.get('failed') and real['changed'] and not again['changed'], (change, real, again)
        # (the before is the kernel's age at each run: seconds apart; the after is the same)
        assert real['after'] == check['after'] and real['commands'] == check['commands'], (change, check, real)
        assert [d['after'] for d in real['diff']] == [d['after'] for d in check['diff']], (change, check, real)
        assert [o.get('age') for o in real['after']] == ([None] if change.get('state') == 'static' else [0]), real


def test_src_vni_0_is_an_entry_without_one(ns, play):
    """src_vni 0 is what the kernel gives an entry made without one, and it never reports it: check mode showed it,
    the real run did not, and every run deleted and made the entry again."""
    task = {M: {'netns': ns, 'config': [{'dev': 'vx1', 'mac': '02:00:00:00:00:83', 'dst': '198.18.0.8',
                                        'src_vni': 0}]}}
    check_real_again(play, task)
    entries = [e for e in bridgej(ns, 'fdb', 'show', 'dev', 'vx1') if e['mac'] == '02:00:00:00:00:83']
    assert [(e.get('dst'), e.get('src_vni')) for e in entries] == [('198.18.0.8', None)], entries


def group(ns, dev):
    """{(dst, src_vni): (state, sorted flags)} of the all-zero MAC's destinations on a VXLAN device, from iproute2."""
    return dict(((e.get('dst'), e.get('src_vni')), (e['state'], sorted(set(e['flags']) - {'self'})))
                for e in bridgej(ns, 'fdb', 'show', 'dev', dev) if e['mac'] == ZERO and 'self' in e['flags'])


def zero(dev, dst, **fields):
    return dict({'dev': dev, 'mac': ZERO, 'dst': dst}, **fields)


def two_destinations(play, ns, dev='vx0', **fields):
    play({M: {'netns': ns, 'config': [zero(dev, '198.18.0.2', **fields), zero(dev, '198.18.0.3', **fields)]}})


def test_destinations_of_one_group_mac_with_different_states_are_refused(ns, play):
    """The destinations of the all-zero MAC of a VXLAN device are one kernel entry (per src_vni) with one state and
    one set of flags (a write of one sets them for all): a config that gives them different ones is refused before
    anything is sent, in check mode too, naming the element and the field. It never converged: the kernel showed
    the last write's state for all of them, and every run wrote the others again."""
    before = snapshot(ns)
    mixed = {M: {'netns': ns, 'config': [zero('vx0', '198.18.0.2', state='static'), zero('vx0', '198.18.0.3')]}}
    for check in (True, False):
        r = play(mixed, check=check)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['msg'].startswith('config[1] (') and "field 'state'" in r['msg'], r
        assert 'config[0] (' in r['msg'] and not r.get('failed_command'), r  # nothing was sent
        assert snapshot(ns) == before
    # counting the destinations the kernel keeps: merged leaves their state as it is
    two_destinations(play, ns)
    before = snapshot(ns)
    r = play({M: {'netns': ns, 'config': [zero('vx0', '198.18.0.2'), zero('vx0', '198.18.0.4', state='static')]}})[0]
    assert r.get('failed') and r['msg'].startswith('config[1] (') and "field 'state'" in r['msg'], r
    assert snapshot(ns) == before


def test_a_state_change_of_some_destinations_of_a_group_mac_is_shown_for_all(ns, play):
    """A change of the state of one destination of the all-zero MAC changes the others too (the kernel keeps one
    state for all): check mode, before, after, the diff and the commands show it, as the real run does it."""
    two_destinations(play, ns)
    assert group(ns, 'vx0') == {('198.18.0.2', None): ('permanent', []), ('198.18.0.3', None): ('permanent', [])}
    task = {M: {'netns': ns, 'state': 'replaced', 'config': [zero('vx0', '198.18.0.2', state='static')]}}
    before = snapshot(ns)
    check = play(task, check=True)[0]
    assert snapshot(ns) == before
    real, again = play([task, task])
    for x in (check, real):
        assert_no_traceback(x)
        assert x['changed'] and [(e['dst'], e['state']) for e in x['after']] == [('198.18.0.2', 'static'),
                                                                                 ('198.18.0.3', 'static')], x
        assert [e['dst'] for e in x['before']] == ['198.18.0.2', '198.18.0.3'], x
        assert x['commands'][-1] == 'bridge -n %s fdb append %s dev vx0 dst 198.18.0.3 self static' % (ns, ZERO), x
        assert any('198.18.0.3' in d['after_header'] and 'static' in d['after'] for d in x['diff']), x['diff']
    assert check['after'] == real['after'] and check['commands'] == real['commands'] and check['diff'] == real['diff']
    assert group(ns, 'vx0') == {('198.18.0.2', None): ('static', []), ('198.18.0.3', None): ('static', [])}
    assert not again['changed'] and again['commands'] == []


def _refused_by_the_kernel(ns, entry):
    """``entry`` on a new VXLAN device vxq, which reports no address: an IPv4 device (the kernel's default), which the
    module cannot tell from one made with `local ::` (IPv6), and so leaves the IPv6 dst of ``entry`` to the kernel,
    which refuses it (EAFNOSUPPORT). vxq sorts after the test's other devices: its write comes last."""
    sh('ip', '-n', ns, 'link', 'add', 'vxq', 'type', 'vxlan', 'id', '700', 'dstport', '4799')
    return dict(entry, dev='vxq')


def test_the_rollback_puts_the_state_of_a_group_macs_destinations_back(ns, play):
    """A new destination of another state, then a write the kernel refuses (an IPv6 destination on an IPv4 VXLAN
    device, EAFNOSUPPORT): the rollback deletes the new one and puts the state of the others back (the delete
    alone left them with the new state)."""
    two_destinations(play, ns, state='static')
    refused = _refused_by_the_kernel(ns, zero('vx0', 'fd42:ed6e::9'))
    before = snapshot(ns)
    r = play({M: {'netns': ns, 'config': [zero('vx0', '198.18.0.4', state='permanent'), refused]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and 'rolled back' in r['msg'] and 'fd42:ed6e::9' in r['msg'], r
    for dst in ('198.18.0.2', '198.18.0.3'):
        assert 'bridge -n %s fdb append %s dev vx0 dst %s self static' % (ns, ZERO, dst) in r['rolled_back'], r
    assert snapshot(ns) == before
    assert group(ns, 'vx0') == {('198.18.0.2', None): ('static', []), ('198.18.0.3', None): ('static', [])}


def test_extern_learn_on_some_destinations_of_a_group_mac(ns, play):
    """extern_learn on one destination of a group of an external VXLAN device: the kernel keeps the group's state
    and flags for an extern_learn write, so it never converged; it is refused in both modes, naming the element and
    extern_learn. Given for the whole group, each destination is made again, with it."""
    vni = {'src_vni': 10010}
    two_destinations(play, ns, dev='vx1', **vni)
    before = snapshot(ns)
    one = {M: {'netns': ns, 'config': [zero('vx1', '198.18.0.2', extern_learn=True, **vni)]}}
    for check in (True, False):
        r = play(one, check=check)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['msg'].startswith('config[0] (') and "field 'extern_learn'" in r['msg'], r
        assert '198.18.0.3' in r['msg'] and not r.get('failed_command'), r
        assert snapshot(ns) == before
    both = {M: {'netns': ns, 'config': [zero('vx1', dst, extern_learn=True, **vni)
                                        for dst in ('198.18.0.2', '198.18.0.3')]}}
    check = play(both, check=True)[0]
    real, again = play([both, both])
    assert_no_traceback(real)
    assert real['changed'] and check['after'] == real['after'] and check['commands'] == real['commands']
    assert not again['changed'] and again['commands'] == []
    assert group(ns, 'vx1') == {('198.18.0.2', 10010): ('permanent', ['extern_learn']),
                                ('198.18.0.3', 10010): ('permanent', ['extern_learn'])}


def test_a_destination_beside_a_kernels_flood_entry_keeps_its_state(vnifilter, play):
    """On a vnifilter device, a destination of the all-zero MAC for a VNI of the VNI list with a remote shares the
    entry of the kernel's flood entry (permanent, no flag; not shown): another state would change it along, out of
    sight, so it is refused in both modes, naming the element and state. A permanent one is managed as usual."""
    ns = vnifilter
    before = (flood(ns), snapshot(ns))
    static = {M: {'netns': ns, 'config': [{'dev': 'vxf', 'mac': ZERO, 'dst': '198.18.0.4', 'vni': 100,
                                           'src_vni': 100, 'state': 'static'}]}}
    for check in (True, False):
        r = play(static, check=check)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['msg'].startswith('config[0] (') and "field 'state'" in r['msg'], r
        assert 'VNI 100' in r['msg'] and '198.18.0.2' in r['msg'] and not r.get('failed_command'), r
        assert (flood(ns), snapshot(ns)) == before
    assert [e['state'] for e in bridgej(ns, 'fdb', 'show', 'dev', 'vxf') if e.get('dst') == '198.18.0.2'] == [
        'permanent']
    permanent = {M: {'netns': ns, 'config': [{'dev': 'vxf', 'mac': ZERO, 'dst': '198.18.0.4', 'vni': 100,
                                              'src_vni': 100}]}}
    apply_then_unchanged(play, permanent)
    assert flood(ns) == sorted(KERNEL_FLOOD + [('198.18.0.4', 100, 100, 0), ('198.18.0.9', 100, 100, 0)])


def test_a_dst_of_another_family_than_the_vxlan_device_is_refused(ns, play):
    """A VXLAN device's table takes destinations of the device's address family only (vxlan_fdb_add: EAFNOSUPPORT):
    an IPv6 dst on an IPv4 device (and the other way round) was predicted by check mode, then refused by the kernel.
    It is refused before anything is sent, in both modes, naming dst. The family is the device's remote or group,
    else its local address; a device that reports neither (none given, or made with `local ::`) is told by the
    destinations it has - the kernel took the IPv6 dst of the `local ::` device, which the module lets through."""
    def ip(*args):
        sh('ip', '-n', ns, *args)
    ip('link', 'add', 'vx6', 'type', 'vxlan', 'id', '600', 'dstport', '4791', 'local', 'fd42:ed6e::1')
    ip('link', 'add', 'vxa', 'type', 'vxlan', 'id', '601', 'dstport', '4792', 'local', '::')
    ip('link', 'add', 'vxn', 'type', 'vxlan', 'id', '602', 'dstport', '4793')
    fine = {'dev': 'vx0', 'mac': '02:00:00:00:00:61', 'dst': '198.18.0.61'}
    for entry, text in (
            ({'dev': 'vx0', 'mac': ZERO, 'dst': 'fd42:ed6e::2'},
             "dst fd42:ed6e::2 is an IPv6 address, and the VXLAN device 'vx0' is IPv4 (its local address 198.18.0.1)"),
            ({'dev': 'vx1', 'mac': '02:00:00:00:00:62', 'dst': 'fd42:ed6e::2', 'vni': 5, 'src_vni': 5},
             "the VXLAN device 'vx1' is IPv4 (its local address 198.18.0.1)"),
            ({'dev': 'vx6', 'mac': ZERO, 'dst': '198.18.0.2'},
             "dst 198.18.0.2 is an IPv4 address, and the VXLAN device 'vx6' is IPv6 (its local address "
             "fd42:ed6e::1)")):
        before = snapshot(ns)
        task = {M: {'netns': ns, 'config': [fine, entry]}}
        for r in play(task, check=True) + play(task):
            assert_no_traceback(r)
            assert r.get('failed') and r.get('field') == 'dst' and text in r['msg'], r
            assert 'EAFNOSUPPORT' in r['msg'] and 'errno' not in r, r
        assert snapshot(ns) == before
    # of the device's own family: made (vxa takes IPv6 and vxn IPv4, as the kernel's default would have it)
    ok = [{'dev': 'vx6', 'mac': ZERO, 'dst': 'fd42:ed6e::2'}, {'dev': 'vxa', 'mac': ZERO, 'dst': 'fd42:ed6e::3'},
          {'dev': 'vxn', 'mac': ZERO, 'dst': '198.18.0.3'}]
    check_real_again(play, {M: {'netns': ns, 'config': ok}})
    made = kernel_fdb(ns)
    for o in ok:
        assert (o['dev'], ZERO, None, o['dst'], True) in made, made
    # then the destinations they have tell the family of vxa and vxn, which report no address
    for entry, text in (({'dev': 'vxa', 'mac': ZERO, 'dst': '198.18.0.4'},
                         "'vxa' is IPv6 (the destinations it has, such as fd42:ed6e::3)"),
                        ({'dev': 'vxn', 'mac': ZERO, 'dst': 'fd42:ed6e::4'},
                         "'vxn' is IPv4 (the destinations it has, such as 198.18.0.3)")):
        before = snapshot(ns)
        task = {M: {'netns': ns, 'config': [entry]}}
        for r in play(task, check=True) + play(task):
            assert_no_traceback(r)
            assert r.get('failed') and r.get('field') == 'dst' and text in r['msg'], r
        assert snapshot(ns) == before
