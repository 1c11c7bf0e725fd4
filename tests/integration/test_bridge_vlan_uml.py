# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_vlan (needs bridge VLAN filtering and VLAN tunnels: user-mode Linux only).

The oracles are `bridge -j vlan show` and `bridge -j vlan tunnelshow`. Two tests: three playbook runs, then a
refusal midway on the bulk path and on the per-op path."""


import pytest

from conftest import assert_no_traceback, bridgej, collection_on_path, refused_in_process, sh

M = 'edgenet.linux.bridge_vlan'
pytestmark = pytest.mark.uml


def vlans(ns):
    """{dev: {vid: flags}} from the oracle (one entry per VID, or ranges with vlanEnd)."""
    out = {}
    for dev in bridgej(ns, 'vlan', 'show'):
        for v in dev['vlans']:
            for vid in range(v['vlan'], v.get('vlanEnd', v['vlan']) + 1):
                out.setdefault(dev['ifname'], {})[vid] = sorted(v.get('flags', []))
    return out


def states(ns):
    out = {}
    for dev in bridgej(ns, '-d', 'vlan', 'show'):
        for v in dev['vlans']:
            for vid in range(v['vlan'], v.get('vlanEnd', v['vlan']) + 1):
                if v.get('state', 'forwarding') != 'forwarding':
                    out[(dev['ifname'], vid)] = v['state']
    return out


def tunnels(ns):
    out = {}
    for dev in bridgej(ns, 'vlan', 'tunnelshow'):
        for t in dev['tunnels']:
            for i in range(t.get('vlanEnd', t['vlan']) - t['vlan'] + 1):
                out.setdefault(dev['ifname'], {})[t['vlan'] + i] = t['tunid'] + i
    return out


PU = ['Egress Untagged', 'PVID']
CONFIG = [
    {'dev': 'v0', 'vlans': [{'vid': 1, 'pvid': True, 'untagged': True}, {'vid': '10-20'}, {'vid': 30, 'untagged': True, 'state': 'blocking'}]},
    {'dev': 'v2', 'vlans': [{'vid': 40, 'pvid': True, 'untagged': True}]},
    {'dev': 'br0', 'vlans': [{'vid': 1, 'pvid': True, 'untagged': True}, {'vid': 10}]},
    {'dev': 'vx0', 'vlans': [{'vid': '100-102'}, {'vid': 200}],
     'tunnels': [{'vid': '100-102', 'vni': '1100-1102'}, {'vid': 200, 'vni': 5000}]},
]


def test_bridge_vlan_states(netns, play):
    ns = netns

    def ip(*args):
        sh('ip', '-n', ns, *args)
    ip('link', 'add', 'br0', 'type', 'bridge', 'vlan_filtering', '1')
    ip('link', 'add', 'br1', 'type', 'bridge', 'vlan_filtering', '1')
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    ip('link', 'add', 'v2', 'type', 'veth', 'peer', 'name', 'v3')
    ip('link', 'add', 'vx0', 'type', 'vxlan', 'external', 'dstport', '4789', 'local', '198.18.0.1')
    for dev, br in (('v0', 'br0'), ('v2', 'br0'), ('vx0', 'br0'), ('v1', 'br1')):
        ip('link', 'set', dev, 'master', br)
    sh('bridge', '-n', ns, 'link', 'set', 'dev', 'vx0', 'vlan_tunnel', 'on')
    for dev in ('br0', 'br1', 'v0', 'v1', 'v2', 'v3', 'vx0'):
        ip('link', 'set', dev, 'up')
    start = vlans(ns)
    assert start['v2'] == {1: PU}

    # --- run 1: merged in check mode, merged, again, gathered
    task = {M: {'netns': ns, 'config': CONFIG}}
    check, apply, again, gathered = play([dict(task, check_mode=True), task, task,
                                          {M: {'netns': ns, 'state': 'gathered'}}])
    for r in (check, apply, again, gathered):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['changed'] and check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert 'diff' in apply and again['changed'] is False and again['commands'] == []
    k = vlans(ns)
    assert k['v0'] == dict([(1, PU), (30, ['Egress Untagged'])] + [(v, []) for v in range(10, 21)])
    assert k['v2'] == {1: ['Egress Untagged'], 40: PU}  # merged keeps VLAN 1; the new pvid moves
    assert k['br0'] == {1: PU, 10: []} and k['vx0'] == {1: PU, 100: [], 101: [], 102: [], 200: []}
    assert tunnels(ns) == {'vx0': {100: 1100, 101: 1101, 102: 1102, 200: 5000}}
    assert states(ns) == {('v0', 30): 'blocking'}
    v0 = [o for o in apply['after'] if o['dev'] == 'v0'][0]
    assert v0 == {'dev': 'v0', 'vlans': [{'vid': 1, 'pvid': True, 'untagged': True, 'state': 'forwarding'},
                                         {'vid': '10-20', 'pvid': False, 'untagged': False, 'state': 'forwarding'},
                                         {'vid': 30, 'pvid': False, 'untagged': True, 'state': 'blocking'}],
                  'tunnels': []}
    assert ('bridge -n %s vlan set dev v0 vid 30 state blocking' % ns) in apply['commands']
    assert ('bridge -n %s vlan add dev vx0 vid 100-102 tunnel_info id 1100-1102' % ns) in apply['commands']
    assert ('bridge -n %s vlan add dev br0 vid 10 self' % ns) in apply['commands']
    # merged shows the devices it names (br1 and v1 are not)
    named = set(c['dev'] for c in CONFIG)
    assert set(o['dev'] for o in apply['after']) == named and {'br1', 'v1'} & named == set()
    assert [o for o in gathered['gathered'] if o['dev'] in named] == apply['after']

    # --- run 2: replaced (check and real), overridden on br0's scope, bad input
    rep = {M: {'netns': ns, 'state': 'replaced', 'config': [
        {'dev': 'v0', 'vlans': [{'vid': '12-14', 'untagged': True}, {'vid': 15, 'pvid': True, 'state': 'learning'}]},
        {'dev': 'vx0', 'vlans': [{'vid': '100-101'}], 'tunnels': [{'vid': 100, 'vni': 1100}]}]}}
    ovr = {M: {'netns': ns, 'state': 'overridden', 'master': 'br0', 'config': [
        {'dev': 'v0', 'vlans': [{'vid': '12-14', 'untagged': True}, {'vid': 15, 'pvid': True, 'state': 'learning'}]},
        {'dev': 'vx0', 'vlans': [{'vid': '100-101'}], 'tunnels': [{'vid': 100, 'vni': 1100}]},
        {'dev': 'br0', 'vlans': [{'vid': 1, 'pvid': True, 'untagged': True}]}]}}
    bad = [
        ({'dev': 'v0', 'vlans': [{'vid': '10-5000'}]}, 'vlans', 'out of range'),
        ({'dev': 'v0', 'vlans': [{'vid': '10-12', 'pvid': True}]}, 'vlans', 'cannot be the pvid'),
        ({'dev': 'v0', 'vlans': [{'vid': 5, 'pvid': True}, {'vid': 6, 'pvid': True}]}, 'vlans', 'more than one pvid'),
        ({'dev': 'v0', 'vlans': [{'vid': '5-7'}, {'vid': 6}]}, 'vlans', 'given twice'),
        ({'dev': 'v0', 'vlans': []}, 'vlans', 'empty'),
        ({'dev': 'v3', 'vlans': [{'vid': 5}]}, 'dev', 'neither a bridge nor a bridge port'),
        ({'dev': 'nosuch0', 'vlans': [{'vid': 5}]}, 'dev', 'does not exist'),
        ({'dev': 'vx0', 'vlans': [{'vid': 5}], 'tunnels': [{'vid': '5-6', 'vni': 7}]}, 'tunnels', 'differ in length'),
        ({'dev': 'vx0', 'vlans': [{'vid': 5}], 'tunnels': [{'vid': 6, 'vni': 7}]}, 'tunnels', 'not in'),
        ({'dev': 'v0', 'vlans': [{'vid': 'ten'}]}, 'vlans', 'not a number'),
    ]
    results = play([dict(rep, check_mode=True), rep, rep] + [{M: {'netns': ns, 'config': [b[0]]}} for b in bad]
                   + [dict(ovr, check_mode=True), ovr, ovr])
    rcheck, rreal, ragain = results[:3]
    ocheck, oreal, oagain = results[-3:]
    for r in results:
        assert_no_traceback(r)
    assert not rreal.get('failed') and not oreal.get('failed'), (rreal, oreal)
    assert rcheck['after'] == rreal['after'] and rreal['changed'] and ragain['changed'] is False
    for r, (item, field, text) in zip(results[3:-3], bad):
        assert r.get('failed') and text in r['msg'] and r.get('field') == field, (item, r)
    assert ocheck['after'] == oreal['after'] and oreal['changed'] and oagain['changed'] is False
    k = vlans(ns)
    assert k['v0'] == {12: ['Egress Untagged'], 13: ['Egress Untagged'], 14: ['Egress Untagged'], 15: ['PVID']}
    assert k['vx0'] == {100: [], 101: []} and tunnels(ns) == {'vx0': {100: 1100}}
    assert 'v2' not in k and k['br0'] == {1: PU}
    assert k['v1'] == {1: PU}  # br1's port: out of scope
    assert states(ns) == {('v0', 15): 'learning'}
    assert [o['dev'] for o in oreal['after']] == ['br0', 'v0', 'vx0']

    # --- run 3: deleted, rendered (the commands are pasted afterwards)
    dele = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'vx0'}, {'dev': 'v1'}]}}
    rend = {M: {'netns': ns, 'state': 'rendered', 'config': [CONFIG[1], CONFIG[3]]}}
    dcheck, dreal, dagain, rendered = play([dict(dele, check_mode=True), dele, dele, rend])
    for r in (dcheck, dreal, dagain, rendered):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert dcheck['after'] == dreal['after'] and dreal['changed'] and dagain['changed'] is False
    k = vlans(ns)
    assert 'vx0' not in k and 'v1' not in k and tunnels(ns) == {}
    for line in rendered['rendered']:
        sh(*line.split())
    k = vlans(ns)
    assert k['v2'] == {40: PU} and k['vx0'] == {100: [], 101: [], 102: [], 200: []}
    assert tunnels(ns) == {'vx0': {100: 1100, 101: 1101, 102: 1102, 200: 5000}}


def _racing(ns, params):
    """The module's engine in this process, state and config from ``params``, with another program turning vx1's
    vlan_tunnel off between the module's checks and its writes: the result of the refused run."""
    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.bridge_vlan import BridgeVlan

    class Racing(BridgeVlan):
        def validate(self, ctx, plan, after):
            super(Racing, self).validate(ctx, plan, after)
            sh('bridge', '-n', ns, 'link', 'set', 'dev', 'vx1', 'vlan_tunnel', 'off')

    return refused_in_process(Racing(), dict({'state': 'merged', 'master': None}, **params))


def test_refusal_midway_rolls_back(netns, play):
    """A kernel refusal after several applied requests undoes all of them: on the bulk path (a replaced plan, each
    change split into steps) and op by op (an overridden plan deleting a port with a VLAN in STP state learning,
    whose undo is two requests). Between the module's checks and its writes, another program turns vx1's
    vlan_tunnel off (a real race, run by the resource's own validate hook here), so the kernel refuses its tunnel
    (EINVAL) each time; the module's own check of it (a port without vlan_tunnel) is passed before."""
    ns = netns

    def ip(*args):
        sh('ip', '-n', ns, *args)

    def br(*args):
        sh('bridge', '-n', ns, 'vlan', *args)
    ip('link', 'add', 'br0', 'type', 'bridge', 'vlan_filtering', '1')
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    ip('link', 'add', 'v2', 'type', 'veth', 'peer', 'name', 'v3')
    ip('link', 'add', 'vx0', 'type', 'vxlan', 'external', 'dstport', '4789', 'local', '198.18.0.1')
    ip('link', 'add', 'vx1', 'type', 'vxlan', 'external', 'dstport', '4790', 'local', '198.18.0.1')
    for dev in ('v0', 'v2', 'vx0', 'vx1'):
        ip('link', 'set', dev, 'master', 'br0')
    for dev in ('vx0', 'vx1'):
        sh('bridge', '-n', ns, 'link', 'set', 'dev', dev, 'vlan_tunnel', 'on')
    for dev in ('br0', 'v0', 'v1', 'v2', 'v3', 'vx0', 'vx1'):
        ip('link', 'set', dev, 'up')
    br('add', 'dev', 'v0', 'vid', '10-20')
    br('add', 'dev', 'v0', 'vid', '30', 'untagged')
    br('set', 'dev', 'v0', 'vid', '30', 'state', 'blocking')
    br('add', 'dev', 'vx0', 'vid', '100-102')
    br('add', 'dev', 'vx0', 'vid', '100-102', 'tunnel_info', 'id', '1100-1102')
    br('add', 'dev', 'v2', 'vid', '40')
    br('set', 'dev', 'v2', 'vid', '40', 'state', 'learning')
    before = (vlans(ns), states(ns), tunnels(ns))

    def project(data):
        """{(dev, vid): (flags, state)} of a `bridge -j -d vlan show` output."""
        return dict(((d['ifname'], vid), (sorted(v.get('flags', [])), v.get('state', 'forwarding')))
                    for d in data for v in d['vlans'] for vid in range(v['vlan'], v.get('vlanEnd', v['vlan']) + 1))
    raw = project(bridgej(ns, '-d', 'vlan', 'show'))
    assert before[1] == {('v0', 30): 'blocking', ('v2', 40): 'learning'} and before[2] == {
        'vx0': {100: 1100, 101: 1101, 102: 1102}}, before

    pu = {'vid': 1, 'pvid': True, 'untagged': True}
    vx1 = {'dev': 'vx1', 'vlans': [pu, {'vid': 50}], 'tunnels': [{'vid': 50, 'vni': 5050}]}
    rep = {M: {'netns': ns, 'state': 'replaced', 'config': [
        {'dev': 'v0', 'vlans': [{'vid': '12-14', 'untagged': True}, {'vid': 15, 'pvid': True, 'state': 'learning'}]},
        {'dev': 'vx0', 'vlans': [{'vid': '100-101'}, {'vid': 300}], 'tunnels': [{'vid': 100, 'vni': 1100},
                                                                                {'vid': 300, 'vni': 3300}]},
        vx1]}}
    ovr = {M: {'netns': ns, 'state': 'overridden', 'master': 'br0', 'config': [
        {'dev': 'br0', 'vlans': [pu]},
        {'dev': 'v0', 'vlans': [pu, {'vid': '10-20'}, {'vid': 30, 'untagged': True, 'state': 'blocking'}]},
        {'dev': 'vx0', 'vlans': [pu, {'vid': '100-102'}], 'tunnels': [{'vid': '100-102', 'vni': '1100-1102'}]},
        vx1]}}
    rep_r = _racing(ns, rep[M])
    after_rep = bridgej(ns, '-d', 'vlan', 'show')
    sh('bridge', '-n', ns, 'link', 'set', 'dev', 'vx1', 'vlan_tunnel', 'on')
    ovr_r = _racing(ns, ovr[M])
    for r, steps in ((rep_r, 9), (ovr_r, 2)):
        assert r.get('failed') and 'bridge_vlan dev vx1' in r['msg'] and r.get('field') == 'tunnels', r
        assert 'rolled back the %d change(s)' % steps in r['msg'] and not r['rollback_failed'], r['msg']
        assert r['failed_command'] == ['bridge -n %s vlan add dev vx1 vid 50 tunnel_info id 5050' % ns], r
    assert ('bridge -n %s vlan add dev v2 vid 40' % ns) in ovr_r['rolled_back'], ovr_r['rolled_back']
    assert ('bridge -n %s vlan set dev v2 vid 40 state learning' % ns) in ovr_r['rolled_back'], ovr_r['rolled_back']
    assert project(after_rep) == raw  # the state between the two tasks
    assert (vlans(ns), states(ns), tunnels(ns)) == before


def test_what_the_kernel_refuses_of_a_device_and_merged_flags(netns, play):
    """Found by a probe:
    - the VLANs right after the PVID, of its flags and STP state, are read with that state (the kernel's VLAN dump
      sends them in the PVID's entry without their range): before, they were read as forwarding, and every run
      set their state again;
    - a VLAN-to-VNI map on a port without vlan_tunnel or on a bridge's own VLANs, and a VLAN's STP state under kernel
      STP, are refused before anything is sent (check mode warns where an earlier task may fix the port);
    - more tunnels than the kernel can report in one attribute are refused, in check mode too (before: a Python
      error in the real run);
    - merged keeps the PVID, untagged flag and state of a listed VLAN that the element leaves out."""
    ns = netns

    def ip(*args):
        sh('ip', '-n', ns, *args)
    ip('link', 'add', 'br0', 'type', 'bridge', 'vlan_filtering', '1')
    ip('link', 'add', 'br1', 'type', 'bridge', 'vlan_filtering', '1', 'stp_state', '1')
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    ip('link', 'add', 'v2', 'type', 'veth', 'peer', 'name', 'v3')
    ip('link', 'add', 'vx0', 'type', 'vxlan', 'external', 'dstport', '4789', 'local', '198.18.0.1')
    ip('link', 'add', 'vx1', 'type', 'vxlan', 'external', 'dstport', '4790', 'local', '198.18.0.1')
    for dev, br in (('v0', 'br0'), ('vx0', 'br0'), ('vx1', 'br0'), ('v2', 'br1')):
        ip('link', 'set', dev, 'master', br)
    sh('bridge', '-n', ns, 'link', 'set', 'dev', 'vx0', 'vlan_tunnel', 'on')
    for dev in ('br0', 'br1', 'v0', 'v1', 'v2', 'v3', 'vx0', 'vx1'):
        ip('link', 'set', dev, 'up')

    # the VLANs after the PVID
    task = {M: {'netns': ns, 'state': 'replaced', 'config': [
        {'dev': 'v0', 'vlans': [{'vid': 15, 'pvid': True, 'state': 'blocking'}, {'vid': '16-17', 'state': 'blocking'}]}]}}
    check, r, again = play([dict(task, check_mode=True), task, task])
    for x in (check, r, again):
        assert_no_traceback(x)
    assert r['changed'] and check['after'] == r['after'] and not again['changed'], again
    assert {'vid': '16-17', 'pvid': False, 'untagged': False, 'state': 'blocking'} in r['after'][0]['vlans'], r
    # (the oracle, once the PVID moves away and 15-17 are one range of the dump)
    sh('bridge', '-n', ns, 'vlan', 'add', 'dev', 'v0', 'vid', '14', 'pvid')
    assert dict((k, v) for k, v in states(ns).items() if k[0] == 'v0') == {
        ('v0', 15): 'blocking', ('v0', 16): 'blocking', ('v0', 17): 'blocking'}

    # merged keeps what a listed VLAN leaves out: 14 stays the PVID, 15 its state
    before = (vlans(ns), states(ns))
    r = play({M: {'netns': ns, 'config': [{'dev': 'v0', 'vlans': [{'vid': 14}, {'vid': 15}, {'vid': 18}]}]}})[0]
    assert_no_traceback(r)
    assert r['changed'] and r['commands'] == ['bridge -n %s vlan add dev v0 vid 18' % ns], r
    assert vlans(ns)['v0'] == dict(list(before[0]['v0'].items()) + [(18, [])]) and states(ns) == before[1]

    # tunnels where the kernel takes none, STP state under kernel STP
    before = (vlans(ns), states(ns), tunnels(ns))
    for config, dev, field, text in (
            ([{'dev': 'vx1', 'vlans': [{'vid': 50}], 'tunnels': [{'vid': 50, 'vni': 5050}]}], 'vx1', 'tunnels',
             'vx1 has no vlan_tunnel'),
            ([{'dev': 'br0', 'vlans': [{'vid': 1, 'pvid': True, 'untagged': True}, {'vid': 50}],
               'tunnels': [{'vid': 50, 'vni': 5050}]}], 'br0', 'tunnels', 'a bridge maps no VLAN to a VNI'),
            ([{'dev': 'v2', 'vlans': [{'vid': 60, 'state': 'blocking'}]}], 'v2', 'vlans', 'runs kernel STP')):
        task = {M: {'netns': ns, 'config': config}}
        check, r = play([dict(task, check_mode=True), task])
        for x in (check, r):
            assert_no_traceback(x)
        assert r.get('failed') and r['object'] == 'bridge_vlan dev %s' % dev and r['field'] == field, r
        assert text in r['msg'] and not r.get('rolled_back'), r
        if dev == 'br0':
            assert check.get('failed') and text in check['msg'], check
        else:  # (an earlier task of the play may turn vlan_tunnel on, or kernel STP off)
            assert not check.get('failed') and any(text in w for w in check['warnings']), check
        assert (vlans(ns), states(ns), tunnels(ns)) == before

    # more single tunnels than one attribute of the kernel's report holds (28 bytes each)
    many = {'dev': 'vx0', 'vlans': [{'vid': '1-2400'}],
            'tunnels': [{'vid': v, 'vni': 10 * v} for v in range(1, 2401)]}
    for check_mode in (True, False):
        r = play({M: {'netns': ns, 'config': [many]}}, check=check_mode)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'tunnels' and 'at most 64 KiB' in r['msg'], r
        assert (vlans(ns), states(ns), tunnels(ns)) == before
