# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_fdb: entries pointing at FDB nexthop groups (nhid), VXLAN entries with via, and FDB vlan
entries on the host kernel (no bridge VLAN filtering: the kernel refuses them); the oracle is `bridge -j fdb show`.

The collection does not manage nexthop objects: the tests make them with `ip nexthop ... fdb`."""

import pytest

from conftest import assert_no_traceback, bridgej, diff_side, kernel_fdb, sh

M = 'edgenet.linux.bridge_fdb'
ZERO = '00:00:00:00:00:00'


def fdb(ns, dev):
    """{(mac, dst): entry} of a VXLAN device's own entries."""
    return dict(((e['mac'], e.get('dst')), e) for e in bridgej(ns, 'fdb', 'show', 'dev', dev) if 'self' in e['flags']
                and not (e['mac'].startswith('33:33') or e['mac'].startswith('01:00:5e')))


@pytest.fixture
def ns(netns):
    def ip(*args):
        sh('ip', '-n', netns, *args)
    ip('link', 'add', 'br0', 'type', 'bridge')
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    ip('link', 'set', 'v0', 'master', 'br0')
    ip('link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1')
    ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'local', '198.18.0.1', 'nolearning')
    ip('link', 'add', 'vx2', 'type', 'vxlan', 'id', '200', 'dstport', '4790', 'local', '198.18.0.1', 'nolearning')
    for dev in ('br0', 'v0', 'v1', 'u0', 'u1', 'vx0', 'vx2'):
        ip('link', 'set', dev, 'up')
    ip('nexthop', 'add', 'id', '1', 'via', '198.18.0.2', 'fdb')
    ip('nexthop', 'add', 'id', '2', 'via', '198.18.0.3', 'fdb')
    ip('nexthop', 'add', 'id', '10', 'group', '1/2', 'fdb')
    ip('nexthop', 'add', 'id', '11', 'group', '1', 'fdb')
    return netns


CONFIG = [
    {'dev': 'vx0', 'mac': ZERO, 'nhid': 10},
    {'dev': 'vx0', 'mac': '02:00:00:00:00:01', 'nhid': 10, 'state': 'static'},
    {'dev': 'vx2', 'mac': ZERO, 'dst': '198.18.0.9', 'via': 'u0'},
    {'dev': 'vx2', 'mac': '02:00:00:00:00:02', 'dst': '198.18.0.8', 'via': 'u0', 'vni': 300},
]


def test_nhid_and_via_entries(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    check = play(task, check=True)[0]
    assert check['changed'] and fdb(ns, 'vx0') == {} and fdb(ns, 'vx2') == {}
    real, again = play([task, task])
    assert_no_traceback(real)
    assert real['changed'] and not again['changed'] and again['commands'] == []
    assert check['after'] == real['after'] and check['commands'] == real['commands']
    assert 'nhid: 10' in diff_side(real, 'after')
    assert real['commands'] == [
        'bridge -n %s fdb add 00:00:00:00:00:00 dev vx0 nhid 10 self permanent' % ns,
        'bridge -n %s fdb replace 02:00:00:00:00:01 dev vx0 nhid 10 self static' % ns,
        'bridge -n %s fdb append 00:00:00:00:00:00 dev vx2 dst 198.18.0.9 via u0 self permanent' % ns,
        'bridge -n %s fdb replace 02:00:00:00:00:02 dev vx2 dst 198.18.0.8 vni 300 via u0 self permanent' % ns]
    k = fdb(ns, 'vx0')
    assert k[(ZERO, None)]['nhid'] == 10 and k[(ZERO, None)]['state'] == 'permanent'
    assert k[('02:00:00:00:00:01', None)]['nhid'] == 10 and k[('02:00:00:00:00:01', None)]['state'] == 'static'
    k = fdb(ns, 'vx2')
    assert k[(ZERO, '198.18.0.9')]['viaIf'] == 'u0'
    assert k[('02:00:00:00:00:02', '198.18.0.8')]['viaIf'] == 'u0' and k[('02:00:00:00:00:02', '198.18.0.8')]['vni'] == 300
    assert {'dev': 'vx0', 'mac': ZERO, 'self': True, 'master': False, 'state': 'permanent', 'extern_learn': False,
            'sticky': False, 'nhid': 10} in real['after']
    # gathered feeds back
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert r['changed'] is False and r['commands'] == []
    # another group: the kernel replaces no nexthop entry of the all-zero MAC, so delete then add
    change = {M: {'netns': ns, 'config': [{'dev': 'vx0', 'mac': ZERO, 'nhid': 11},
                                          {'dev': 'vx0', 'mac': '02:00:00:00:00:01', 'nhid': 11}]}}
    check = play(change, check=True)[0]
    real, again = play([change, change])
    assert real['commands'] == [
        'bridge -n %s fdb del 00:00:00:00:00:00 dev vx0 nhid 10 self' % ns,
        'bridge -n %s fdb del 02:00:00:00:00:01 dev vx0 nhid 10 self' % ns,
        'bridge -n %s fdb add 00:00:00:00:00:00 dev vx0 nhid 11 self permanent' % ns,
        'bridge -n %s fdb replace 02:00:00:00:00:01 dev vx0 nhid 11 self static' % ns], real['commands']
    assert check['after'] == real['after'] and not again['changed']
    k = fdb(ns, 'vx0')
    assert k[(ZERO, None)]['nhid'] == 11 and k[('02:00:00:00:00:01', None)]['nhid'] == 11
    # via changes: delete then add; deleted by match
    r = play({M: {'netns': ns, 'config': [{'dev': 'vx2', 'mac': ZERO, 'dst': '198.18.0.9', 'via': 'u1'}]}})[0]
    assert r['changed'] and fdb(ns, 'vx2')[(ZERO, '198.18.0.9')]['viaIf'] == 'u1'
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'vx0'}, {'via': 'u1'}]}})[0]
    assert r['changed'] and fdb(ns, 'vx0') == {} and set(fdb(ns, 'vx2')) == {('02:00:00:00:00:02', '198.18.0.8')}


def test_vlan_entry_refused_without_bridge_vlan_filtering(ns, play):
    """The host kernel has no bridge VLAN filtering: it refuses an FDB entry with a VLAN in a bridge's table (EINVAL,
    no extack), and the module says so before anything is sent, in both modes (check mode too: no task of a play
    can give the kernel bridge VLANs)."""
    before = kernel_fdb(ns)  # not the kernel's own entries, which come and go (multicast, learned)
    cfg = [{'dev': 'v0', 'mac': '02:00:00:00:00:05', 'master': True, 'state': 'static'},
           {'dev': 'v0', 'mac': '02:00:00:00:00:06', 'master': True, 'state': 'static', 'vlan': 10}]
    for check in (True, False):
        r = play({M: {'netns': ns, 'config': cfg}}, check=check)[0]
        assert r['failed'] and "field 'vlan'" in r['msg'] and 'CONFIG_BRIDGE_VLAN_FILTERING' in r['msg'], r['msg']
        assert 'rolled back' not in r['msg'] and not r.get('failed_command'), r  # nothing was sent
        assert_no_traceback(r)
        assert kernel_fdb(ns) == before
    # the bridge's own table likewise; a VXLAN device's own entries take no VLAN from the bridge (not checked)
    r = play({M: {'netns': ns, 'config': [{'dev': 'br0', 'mac': '02:00:00:00:00:07', 'self': True, 'vlan': 10}]}},
             check=True)[0]
    assert r['failed'] and "field 'vlan'" in r['msg'] and 'CONFIG_BRIDGE_VLAN_FILTERING' in r['msg'], r['msg']
    assert kernel_fdb(ns) == before


@pytest.mark.parametrize('item, field, text', [
    ({'dev': 'vx0', 'mac': ZERO, 'nhid': 10, 'dst': '198.18.0.2'}, 'dst', 'nexthop group'),
    ({'dev': 'vx0', 'mac': ZERO, 'nhid': 10, 'vni': 5}, 'vni', 'nexthop group'),
    ({'dev': 'vx0', 'mac': ZERO, 'nhid': 0}, 'nhid', 'out of range'),
    ({'dev': 'v0', 'mac': '02:00:00:00:00:07', 'master': True, 'nhid': 10}, 'nhid', 'VXLAN'),
    ({'dev': 'v1', 'mac': '02:00:00:00:00:07', 'self': True, 'nhid': 10}, 'nhid', 'needs a VXLAN device'),
    ({'dev': 'vx0', 'mac': '02:00:00:00:00:07', 'nhid': 1}, 'nhid', 'not a multipath group'),
    ({'dev': 'vx0', 'mac': '02:00:00:00:00:07', 'nhid': 99}, 'nhid', 'exthop'),
    ({'dev': 'vx2', 'mac': ZERO, 'dst': '198.18.0.9', 'via': 'nosuch0'}, 'via', 'does not exist'),
])
def test_bad_input(ns, play, item, field, text):
    before = kernel_fdb(ns)  # not the kernel's own entries, which come and go (multicast, learned)
    r = play({M: {'netns': ns, 'config': [{'dev': 'vx2', 'mac': ZERO, 'dst': '198.18.0.5'}, item]}})[0]
    assert r['failed'] and text in r['msg'] and ("field '%s'" % field) in r['msg'], r['msg']
    assert_no_traceback(r)
    assert kernel_fdb(ns) == before


def test_external_vxlan_one_table_per_src_vni(ns, play):
    """An external VXLAN device keeps one FDB table per VNI: the same MAC and dst once per src_vni."""
    sh('ip', '-n', ns, 'link', 'add', 'vxe', 'type', 'vxlan', 'external', 'dstport', '4791', 'local', '198.18.0.1')
    cfg = [{'dev': 'vxe', 'mac': ZERO, 'dst': '198.18.0.2', 'src_vni': vni} for vni in (10010, 10020)]
    task = {M: {'netns': ns, 'config': cfg}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert real['commands'] == ['bridge -n %s fdb append 00:00:00:00:00:00 dev vxe dst 198.18.0.2 src_vni %d self '
                                'permanent' % (ns, vni) for vni in (10010, 10020)]
    assert check['after'] == real['after'] and not again['changed'] and again['commands'] == []
    assert sorted(e['src_vni'] for e in bridgej(ns, 'fdb', 'show', 'dev', 'vxe')) == [10010, 10020]
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'vxe', 'src_vni': 10010}]}})[0]
    assert r['commands'] == ['bridge -n %s fdb del 00:00:00:00:00:00 dev vxe dst 198.18.0.2 src_vni 10010 self' % ns]
    assert [e['src_vni'] for e in bridgej(ns, 'fdb', 'show', 'dev', 'vxe')] == [10020]


@pytest.mark.parametrize('config, named, field', [
    ([{'dev': 'vx0', 'mac': ZERO, 'dst': '198.18.0.3'}, {'dev': 'vx0', 'mac': ZERO, 'nhid': 10}], 1, 'nhid'),
    ([{'dev': 'vx0', 'mac': ZERO, 'nhid': 10}, {'dev': 'vx0', 'mac': ZERO, 'dst': '198.18.0.3'}], 1, 'dst'),
])
def test_nhid_and_dst_entries_of_one_mac_are_refused(ns, play, config, named, field):
    """The kernel keeps for the all-zero MAC of a VXLAN device either a nexthop group or a list of destinations: it
    refuses the nhid entry beside a dst (EEXIST, after check mode said it would work) and takes a dst appended to an
    nhid entry as done without adding it (changed on every run). Both are refused before anything is sent, in check
    mode too, naming the element and the field; also when the kernel already holds the other kind."""
    before = kernel_fdb(ns)
    for check in (True, False):
        r = play({M: {'netns': ns, 'config': config}}, check=check)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['msg'].startswith('config[%d] (' % named), r
        assert "field '%s'" % field in r['msg'] and not r.get('failed_command'), r  # nothing was sent
        assert kernel_fdb(ns) == before
    # the kernel holds the other kind: the element is refused alike
    play({M: {'netns': ns, 'config': [config[0]]}})
    before = kernel_fdb(ns)
    for check in (True, False):
        r = play({M: {'netns': ns, 'config': [config[1]]}}, check=check)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['msg'].startswith('config[0] (') and "field '%s'" % field in r['msg'], r
        assert 'the kernel holds' in r['msg'] and not r.get('failed_command'), r
        assert kernel_fdb(ns) == before
    # one kind for the other, in one task: overridden deletes the one, then adds the other
    task = {M: {'netns': ns, 'dev': 'vx0', 'state': 'overridden', 'config': [config[1]]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert_no_traceback(real)
    assert real['changed'] and check['after'] == real['after'] and check['commands'] == real['commands']
    assert not again['changed'] and again['commands'] == []
    assert list(fdb(ns, 'vx0')) == [(ZERO, config[1].get('dst'))]
