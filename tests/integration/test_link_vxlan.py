# -*- coding: utf-8 -*-
"""edgenet.linux.link, VXLAN vnifilter (the single-VXLAN-device design) against the host kernel (6.18 has it);
the oracle is `ip -j -d link`."""

import pytest

from conftest import assert_no_traceback, diff_side, ipj, sh

M = 'edgenet.linux.link'
VX = {'ifname': 'vxlan0', 'kind': 'vxlan', 'state': 'up',
      'vxlan': {'external': True, 'vnifilter': True, 'local': '198.18.0.1', 'dstport': 4789, 'learning': False}}


def info(ns, dev):
    for link in ipj(ns, '-d', 'link', 'show'):
        if link['ifname'] == dev:
            return link['linkinfo']['info_data']
    return None


def nomac(objs):
    return [dict((k, v) for k, v in o.items() if k != 'address') for o in objs]


def test_vnifilter_create_idempotent_gather_and_delete(netns, play):
    task = {M: {'netns': netns, 'config': [VX]}}
    check = play(task, check=True)[0]
    assert check['changed'] and info(netns, 'vxlan0') is None  # check mode left the kernel alone
    real, again = play([task, task])
    assert real['changed'] and not again['changed'] and again['commands'] == []
    assert real['commands'] == ['ip -n %s link add vxlan0 up type vxlan local 198.18.0.1 dstport 4789 nolearning '
                                'external vnifilter' % netns]
    assert nomac(check['after']) == nomac(real['after'])
    assert 'vnifilter: true' in diff_side(real, 'after') and 'vnifilter: true' in diff_side(check, 'after')
    d = info(netns, 'vxlan0')
    assert d['vnifilter'] is True and d['external'] is True and d['port'] == 4789
    g = play({M: {'netns': netns, 'state': 'gathered'}})[0]
    vx = [o for o in g['gathered'] if o['ifname'] == 'vxlan0'][0]
    assert vx['vxlan'] == {'local': '198.18.0.1', 'dstport': 4789, 'learning': False, 'external': True,
                           'vnifilter': True}
    # gathered feeds back unchanged, also with state replaced
    r = play({M: {'netns': netns, 'state': 'replaced', 'config': [vx]}})[0]
    assert r['changed'] is False and r['commands'] == []
    # a plain external device reports no vnifilter; `vnifilter: false` matches it
    sh('ip', '-n', netns, 'link', 'add', 'vx1', 'type', 'vxlan', 'external', 'dstport', '4790')
    assert 'vnifilter' not in info(netns, 'vx1')
    off = {'ifname': 'vx1', 'vxlan': {'external': True, 'vnifilter': False, 'dstport': 4790}}
    r = play({M: {'netns': netns, 'config': [off]}})[0]
    assert r['changed'] is False and r['commands'] == [], r
    assert [o for o in r['after'] if o['ifname'] == 'vx1'][0]['vxlan']['vnifilter'] is False
    r = play({M: {'netns': netns, 'state': 'deleted', 'config': [{'ifname': 'vxlan0'}]}})[0]
    assert r['changed'] and info(netns, 'vxlan0') is None


def test_vnifilter_cannot_change_in_place_but_recreate_can(netns, play):
    sh('ip', '-n', netns, 'link', 'add', 'vxlan0', 'type', 'vxlan', 'external', 'dstport', '4789', 'local',
       '198.18.0.1', 'nolearning')
    task = {M: {'netns': netns, 'config': [VX]}}
    r = play(task)[0]
    assert r['failed'] and "field 'vxlan.vnifilter'" in r['msg'] and 'recreate' in r['msg'], r['msg']
    assert_no_traceback(r)
    assert 'vnifilter' not in info(netns, 'vxlan0')
    task[M]['recreate'] = True
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert real['commands'][0] == 'ip -n %s link del vxlan0' % netns
    assert real['commands'][1].endswith('external vnifilter'), real['commands']
    assert nomac(check['after']) == nomac(real['after']) and not again['changed']
    assert info(netns, 'vxlan0')['vnifilter'] is True
    # and back off: replaced without vnifilter means the default (off), a re-creation again
    plain = {'ifname': 'vxlan0', 'kind': 'vxlan', 'state': 'up',
             'vxlan': {'external': True, 'local': '198.18.0.1', 'dstport': 4789, 'learning': False}}
    r = play({M: {'netns': netns, 'state': 'replaced', 'recreate': True, 'config': [plain]}})[0]
    assert r['changed'] and 'vnifilter' not in info(netns, 'vxlan0')


@pytest.mark.parametrize('opts, field, text', [
    ({'vnifilter': True, 'dstport': 4789}, 'vxlan.vnifilter', 'needs external'),
    ({'vnifilter': True, 'external': False, 'dstport': 4789}, 'vxlan.vnifilter', 'needs external'),
    ({'vnifilter': True, 'external': True, 'id': 100}, 'vxlan.external', 'mutually exclusive'),
    ({'vnifilter': True, 'external': True, 'dstport': 0}, 'vxlan.dstport', 'out of range'),
    ({'vnifilter': True, 'external': True, 'local': '198.18.0.300'}, 'vxlan.local', ''),
    ({'vnifilter': True, 'external': True, 'group': '198.18.0.2'}, 'vxlan.group', 'not a multicast'),
])
def test_vnifilter_bad_input(netns, play, opts, field, text):
    before = ipj(netns, '-d', 'link', 'show')
    r = play({M: {'netns': netns, 'config': [{'ifname': 'ok0', 'kind': 'ifb'},
                                             {'ifname': 'vxlan0', 'kind': 'vxlan', 'vxlan': opts}]}})[0]
    assert r['failed'] and ("field '%s'" % field) in r['msg'] and text in r['msg'], r['msg']
    assert_no_traceback(r)
    assert ipj(netns, '-d', 'link', 'show') == before


def test_deleted_with_the_whole_config_deletes_the_device(netns, play):
    """state=deleted with the element that made the device (a nested vxlan with fewer fields than the kernel
    reports, a master, a state): the device is deleted. The nested option used to be compared whole, so the
    task reported ok and kept the device (the interfaces role's deleted run left its VXLAN ports behind)."""
    br = {'ifname': 'br0', 'kind': 'bridge', 'state': 'up'}
    vx = {'ifname': 'vx100', 'kind': 'vxlan', 'master': 'br0', 'state': 'up',
          'vxlan': {'id': 100, 'local': '198.18.0.11', 'dstport': 4789, 'learning': False}}
    assert play({M: {'netns': netns, 'config': [br, vx]}})[0]['changed']
    gone = {M: {'netns': netns, 'state': 'deleted', 'config': [vx]}}
    check = play(gone, check=True)[0]
    assert check['changed'] and info(netns, 'vx100') is not None  # check mode left the kernel alone
    real, again = play([gone, gone])
    assert real['changed'] and real['commands'] == ['ip -n %s link del vx100' % netns], real['commands']
    assert info(netns, 'vx100') is None and not again['changed']
    assert nomac(check['after']) == nomac(real['after'])
    # a selector whose nested field differs keeps the device, and says why
    sh('ip', '-n', netns, 'link', 'add', 'vx7', 'type', 'vxlan', 'id', '7', 'dstport', '4789', 'local', '198.18.0.11')
    r = play({M: {'netns': netns, 'state': 'deleted', 'config': [{'ifname': 'vx7', 'vxlan': {'id': 8}}]}})[0]
    assert not r['changed'] and info(netns, 'vx7') is not None
    assert r['warnings'] == ['link vx7 is kept: state=deleted deletes an object only when every field given '
                             'matches, and its vxlan.id is 7, not 8'], r


def vx_data(ns, dev):
    d = info(ns, dev)
    return dict((k, v) for k, v in d.items() if k in ('id', 'local', 'remote', 'group', 'local6', 'remote6', 'group6',
                                                      'link'))


def check_then_real(play, task):
    """Check mode, then the real run, then a re-run: the check changes nothing, predicts the real run's
    commands and after, and the re-run changes nothing."""
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['changed'] and real['changed'] and check['commands'] == real['commands'], (check, real)
    assert nomac(check['after']) == nomac(real['after'])
    assert not again['changed'] and again['commands'] == [] and again['before'] == again['after'], again
    return check, real


@pytest.mark.parametrize('local, remote, zero', [('198.18.0.1', '198.18.0.2', '0.0.0.0'),
                                                 ('fd42:ed6e::1', 'fd42:ed6e::2', '::')])
def test_replaced_removes_remote_and_local(netns, play, local, remote, zero):
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    full = {'ifname': 'vx1', 'kind': 'vxlan',
            'vxlan': {'id': 100, 'local': local, 'remote': remote, 'dstport': 4789, 'dev': 'v0'}}
    play({M: {'netns': netns, 'config': [full]}})
    assert set(vx_data(netns, 'vx1')) >= {'local', 'remote'} or set(vx_data(netns, 'vx1')) >= {'local6', 'remote6'}
    bare = {'ifname': 'vx1', 'kind': 'vxlan', 'vxlan': {'id': 100, 'dstport': 4789, 'dev': 'v0'}}
    check, real = check_then_real(play, {M: {'netns': netns, 'state': 'replaced', 'config': [bare]}})
    assert real['commands'] == ['ip -n %s link set vx1 type vxlan local %s remote %s' % (netns, zero, zero)]
    assert vx_data(netns, 'vx1') == {'id': 100, 'link': 'v0'}
    vx = [o for o in real['after'] if o['ifname'] == 'vx1'][0]['vxlan']
    assert 'remote' not in vx and 'local' not in vx


def test_replaced_removes_a_group_and_merged_remote_replaces_group(netns, play):
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    sh('ip', '-n', netns, 'link', 'add', 'vx1', 'type', 'vxlan', 'id', '100', 'remote', '198.18.0.3', 'dstport',
       '4789', 'dev', 'v0')
    # merged remote -> group: the kernel keeps one destination, and so does the prediction
    to_group = {'ifname': 'vx1', 'vxlan': {'group': '239.1.1.1'}}
    check, real = check_then_real(play, {M: {'netns': netns, 'config': [to_group]}})
    assert vx_data(netns, 'vx1') == {'id': 100, 'group': '239.1.1.1', 'link': 'v0'}
    for r in (check, real):
        vx = [o for o in r['after'] if o['ifname'] == 'vx1'][0]['vxlan']
        assert vx['group'] == '239.1.1.1' and 'remote' not in vx, r['after']
    # and group -> remote
    check_then_real(play, {M: {'netns': netns, 'config': [{'ifname': 'vx1', 'vxlan': {'remote': '198.18.0.4'}}]}})
    assert vx_data(netns, 'vx1') == {'id': 100, 'remote': '198.18.0.4', 'link': 'v0'}
    sh('ip', '-n', netns, 'link', 'set', 'vx1', 'type', 'vxlan', 'group', '239.1.1.1', 'dev', 'v0')
    bare = {'ifname': 'vx1', 'kind': 'vxlan', 'vxlan': {'id': 100, 'dstport': 4789, 'dev': 'v0'}}
    check, real = check_then_real(play, {M: {'netns': netns, 'state': 'replaced', 'config': [bare]}})
    assert real['commands'] == ['ip -n %s link set vx1 type vxlan remote 0.0.0.0' % netns]
    assert vx_data(netns, 'vx1') == {'id': 100, 'link': 'v0'}


def test_address_family_change_needs_recreate(netns, play):
    sh('ip', '-n', netns, 'link', 'add', 'vx1', 'type', 'vxlan', 'id', '100', 'remote', '198.18.0.3', 'local',
       '198.18.0.1', 'dstport', '4789')
    before = ipj(netns, '-d', 'link', 'show')
    task = {M: {'netns': netns, 'config': [{'ifname': 'vx1', 'vxlan': {'remote': 'fd42:ed6e::2'}}]}}
    for check in (True, False):
        r = play(task, check=check)[0]
        assert r['failed'] and "field 'vxlan.local'" in r['msg'] and 'same address family' in r['msg'], r['msg']
        assert_no_traceback(r)
    v6 = {'ifname': 'vx1', 'kind': 'vxlan', 'vxlan': {'id': 100, 'remote': 'fd42:ed6e::2', 'dstport': 4789}}
    task = {M: {'netns': netns, 'state': 'replaced', 'config': [v6]}}
    r = play(task)[0]
    assert r['failed'] and "field 'vxlan.remote'" in r['msg'] and 'IPv4' in r['msg'] and 'recreate' in r['msg'], r
    assert_no_traceback(r)
    assert ipj(netns, '-d', 'link', 'show') == before
    task[M]['recreate'] = True
    check_then_real(play, task)
    assert vx_data(netns, 'vx1') == {'id': 100, 'remote6': 'fd42:ed6e::2'}


@pytest.mark.parametrize('remote, limit', [(None, 1450), ('fd42:ed6e::2', 1430)])
def test_mtu_above_the_lower_device_limit_is_refused(netns, play, remote, limit):
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    vx = {'ifname': 'vx2', 'vxlan': {'id': 9, 'dev': 'v0'}, 'mtu': limit + 1}
    if remote:
        vx['vxlan']['remote'] = remote
    before = ipj(netns, '-d', 'link', 'show')
    for check in (True, False):
        r = play({M: {'netns': netns, 'config': [vx]}}, check=check)[0]
        assert r['failed'] and "field 'mtu'" in r['msg'] and str(limit) in r['msg'] and 'v0' in r['msg'], r['msg']
        assert_no_traceback(r)
    assert ipj(netns, '-d', 'link', 'show') == before
    # the limit itself is taken; and an existing one is refused a larger MTU too (the kernel: EINVAL)
    vx['mtu'] = limit
    check_then_real(play, {M: {'netns': netns, 'config': [vx]}})
    assert [l['mtu'] for l in ipj(netns, 'link', 'show', 'vx2')] == [limit]
    r = play({M: {'netns': netns, 'config': [{'ifname': 'vx2', 'mtu': limit + 1}]}})[0]
    assert r['failed'] and "field 'mtu'" in r['msg'] and str(limit) in r['msg'], r['msg']
    # a larger lower device in the same task raises the limit
    r = play({M: {'netns': netns, 'config': [{'ifname': 'v0', 'mtu': 9000}, {'ifname': 'vx2', 'mtu': 8000}]}})[0]
    assert not r.get('failed') and [l['mtu'] for l in ipj(netns, 'link', 'show', 'vx2')] == [8000], r


@pytest.mark.parametrize('vxlan, field', [
    ({'id': 7, 'group': '239.1.1.1', 'dstport': 4789}, 'vxlan.group'),
    ({'id': 7, 'group': 'ff0e::7', 'dstport': 4789}, 'vxlan.group'),
    ({'id': 7, 'local': 'fe80::1', 'dstport': 4789}, 'vxlan.local'),
])
def test_multicast_group_without_dev_is_refused_before_anything_is_sent(netns, play, vxlan, field):
    """The kernel refuses a vxlan whose destination is multicast (a group, IPv4 or IPv6) without a lower device
    (vxlan_config_validate: "Local interface required for multicast remote destination", EINVAL), on create and on
    a change, and so one whose local address is IPv6 link-local. Check mode predicted both, and the real run failed
    naming kind or vxlan; now both refuse first, naming the field, on the device as the task leaves it."""
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    before = ipj(netns, '-d', 'link', 'show')
    new = {M: {'netns': netns, 'config': [{'ifname': 'ok0', 'kind': 'ifb'},
                                          {'ifname': 'vxg', 'kind': 'vxlan', 'vxlan': vxlan}]}}
    for check in (True, False):
        r = play(new, check=check)[0]
        assert r['failed'] and ("link vxg" in r['msg']) and ("field '%s'" % field) in r['msg'] and \
            'vxlan.dev' in r['msg'], r['msg']
        assert_no_traceback(r)
    assert ipj(netns, '-d', 'link', 'show') == before
    # with a dev, the kernel takes it
    check_then_real(play, {M: {'netns': netns, 'config': [{'ifname': 'vxg', 'kind': 'vxlan',
                                                           'vxlan': dict(vxlan, dev='v0')}]}})
    # a change that gives a device without dev a multicast group: the final object is checked
    sh('ip', '-n', netns, 'link', 'add', 'vxn', 'type', 'vxlan', 'id', '8', 'dstport', '4789')
    if 'group' in vxlan:
        before = ipj(netns, '-d', 'link', 'show')
        change = {M: {'netns': netns, 'config': [{'ifname': 'vxn', 'vxlan': {'group': vxlan['group']}}]}}
        for check in (True, False):
            r = play(change, check=check)[0]
            assert r['failed'] and "link vxn" in r['msg'] and "field 'vxlan.group'" in r['msg'], r['msg']
            assert_no_traceback(r)
        assert ipj(netns, '-d', 'link', 'show') == before
