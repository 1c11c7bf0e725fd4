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
