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
