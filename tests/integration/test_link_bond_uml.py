# -*- coding: utf-8 -*-
"""edgenet.linux.link and what the bonding driver does on its own: the MTU and address of ports as they join and
leave a bond and as the bond's MTU changes, and the bond options it takes only in some modes or only while the
bond is down. Runs under user-mode Linux only (the host kernel has no bonding)."""

import json

import pytest

from conftest import assert_no_traceback

M = 'edgenet.linux.link'
pytestmark = pytest.mark.uml


def nomac(objs):
    return [dict((k, v) for k, v in o.items() if k != 'address') for o in objs]


def oracle(netns):
    return {'command': 'ip -n %s -j -d link show' % netns}


def by_name(result):
    return dict((l['ifname'], l) for l in json.loads(result['stdout']))


def test_bond_ports_take_the_bond_mtu_and_get_their_own_back_on_release(netns, play):
    """A port takes its bond's MTU as it joins and as the bond's MTU changes; released (a change, the bond's delete), it
    is down with the MAC address it joined with, and the MTU a step of its own sets. A port given another MTU than
    its bond's is refused. Check mode predicts each step as the real run does it, and a second run changes nothing."""
    bad = [{'ifname': 'bond0', 'kind': 'bond', 'bond': {'mode': 'active-backup'}, 'state': 'up'},
           {'ifname': 'd0', 'kind': 'dummy', 'mtu': 9000, 'master': 'bond0'}]
    make = [{'ifname': 'bond0', 'kind': 'bond', 'bond': {'mode': 'active-backup'}, 'mtu': 9000, 'state': 'up'},
            {'ifname': 'd0', 'kind': 'dummy', 'master': 'bond0'},
            {'ifname': 'd1', 'kind': 'dummy', 'mtu': 9000, 'master': 'bond0'},
            {'ifname': 'd2', 'kind': 'dummy', 'master': 'bond0'}]
    mtu = [{'ifname': 'bond0', 'mtu': 4000}]
    recreate = [{'ifname': 'bond0', 'kind': 'bond', 'bond': {'mode': 'balance-rr'}, 'mtu': 2000}]
    release = [{'ifname': 'd2', 'kind': 'dummy', 'state': 'up'}]  # (replaced: out of the bond, MTU 1500)
    gone = [{'ifname': 'bond0'}]

    def steps(config, **kw):
        task = {M: dict({'netns': netns, 'config': config}, **kw)}
        return [dict(task, check_mode=True), task, task, oracle(netns)]
    results = play([{M: {'netns': netns, 'config': bad}}, oracle(netns)] + steps(make) + steps(mtu) +
                   steps(recreate, recreate=True) + steps(release, state='replaced') + steps(gone, state='deleted'))
    for r in results:
        assert_no_traceback(r)
    refused, k0 = results[:2]
    assert refused['failed'] and 'link d0' in refused['msg'] and "field 'mtu'" in refused['msg'], refused
    assert 'bond0' not in by_name(k0)
    rounds = [results[i:i + 4] for i in range(2, len(results), 4)]
    for check, real, again, _k in rounds:
        assert not real.get('failed'), real.get('msg')
        assert check['commands'] == real['commands'], (check['commands'], real['commands'])
        assert again['changed'] is False and again['commands'] == [], again['commands']
    (c, r, _a, k), (cm, rm, _am, km), (cr, rr, _ar, kr), (cl, rl, _al, kl), (cd, rd, _ad, kd) = rounds
    assert nomac(c['after']) == nomac(r['after'])
    k, km, kr, kl = by_name(k), by_name(km), by_name(kr), by_name(kl)
    assert [k[n]['mtu'] for n in ('bond0', 'd0', 'd1', 'd2')] == [9000] * 4
    assert [o['mtu'] for o in r['after'] if o['ifname'] in ('d0', 'd2')] == [9000, 9000], r['after']
    # the bond's MTU moves its ports'
    assert cm['after'] == rm['after'] and [km[n]['mtu'] for n in ('bond0', 'd0', 'd1', 'd2')] == [4000] * 4
    # made again with another mode and MTU: the ports rejoin it and take its MTU
    assert cr['after'] == rr['after'] and [kr[n]['mtu'] for n in ('bond0', 'd0', 'd1', 'd2')] == [2000] * 4
    assert all(kr[n].get('master') == 'bond0' for n in ('d0', 'd1', 'd2'))
    # out of the bond by a change: its own MAC, the MTU of the element (a step after the release), up as asked
    assert cl['after'] == rl['after'], (cl['after'], rl['after'])
    assert rl['commands'][-1] == 'ip -n %s link set d2 mtu 1500 up' % netns, rl['commands']
    perm = dict((n, kr[n]['linkinfo']['info_slave_data']['perm_hwaddr']) for n in ('d0', 'd1', 'd2'))
    d2 = kl['d2']
    assert ('master' not in d2, d2['mtu'], d2['address'], 'UP' in d2['flags']) == (True, 1500, perm['d2'], True)
    # the bond deleted: its ports are down, with their own MAC and the MTU they had in it
    assert cd['after'] == rd['after'], (cd['after'], rd['after'])
    for name in ('d0', 'd1'):
        port = by_name(kd)[name]
        assert 'master' not in port and port['mtu'] == 2000 and 'UP' not in port['flags'], port
        assert port['address'] == perm[name], (name, port)
    assert 'ip -n %s link set d1 mtu 2000' % netns in rd['commands'], rd['commands']


def test_bond_options_the_kernel_takes_only_in_a_mode_or_down_are_refused_first(netns, play):
    """lacp_rate is taken only in mode 802.3ad (EACCES) and only while the bond is down (EBUSY): such a task is refused
    before anything is sent, naming bond.lacp_rate; with state down in the same element the bond goes down first."""
    up = {M: {'netns': netns, 'config': [{'ifname': 'b4', 'kind': 'bond', 'state': 'up',
                                          'bond': {'mode': '802.3ad', 'miimon': 100}}]}}
    busy = {M: {'netns': netns, 'config': [{'ifname': 'b4', 'bond': {'miimon': 50, 'xmit_hash_policy': 'layer2+3',
                                                                     'lacp_rate': 'fast'}}]}}
    mode = {M: {'netns': netns, 'config': [{'ifname': 'bb', 'kind': 'bond', 'bond': {
        'mode': 'active-backup', 'lacp_rate': 'fast', 'xmit_hash_policy': 'layer3+4'}}]}}
    down = {M: {'netns': netns, 'config': [{'ifname': 'b4', 'state': 'down', 'bond': {'lacp_rate': 'fast'}}]}}
    results = play([up, dict(busy, check_mode=True), busy, dict(mode, check_mode=True), mode, oracle(netns),
                    dict(down, check_mode=True), down, down, oracle(netns)])
    for r in results:
        assert_no_traceback(r)
    made, cbusy, rbusy, cmode, rmode, k, cdown, rdown, again, kdown = results
    assert not made.get('failed'), made.get('msg')
    for r in (cbusy, rbusy):
        assert r['failed'] and 'link b4' in r['msg'] and "field 'bond.lacp_rate'" in r['msg'], r
        assert 'state down' in r['msg'], r['msg']
    for r in (cmode, rmode):
        assert r['failed'] and 'link bb' in r['msg'] and "field 'bond.lacp_rate'" in r['msg'], r
        assert '802.3ad' in r['msg'], r['msg']
    info = by_name(k)['b4']['linkinfo']['info_data']
    assert (info['miimon'], info['xmit_hash_policy'], info['ad_lacp_rate']) == (100, 'layer2', 'slow')
    assert 'bb' not in by_name(k)
    assert not rdown.get('failed'), rdown.get('msg')
    assert cdown['commands'] == rdown['commands'] == ['ip -n %s link set b4 down' % netns,
                                                      'ip -n %s link set b4 type bond lacp_rate fast' % netns]
    assert cdown['after'] == rdown['after'] and again['changed'] is False, again['commands']
    b4 = by_name(kdown)['b4']
    assert b4['linkinfo']['info_data']['ad_lacp_rate'] == 'fast' and 'UP' not in b4['flags']


def test_a_bond_made_in_a_mode_without_arp_monitoring_gets_miimon_100(netns, play):
    """The kernel starts MII monitoring at 100 ms for a bond made (or set) in mode 802.3ad, balance-tlb or balance-alb
    without miimon (bond_option_mode_set), and keeps a miimon given. Check mode predicted miimon 0 for such a bond, the
    real run reported 100, and replaced without miimon set it to 0. Now check mode, the real run and iproute2 agree,
    and a second run changes nothing."""
    config = [{'ifname': 'b1', 'kind': 'bond', 'bond': {'mode': '802.3ad'}},
              {'ifname': 'b2', 'kind': 'bond', 'bond': {'mode': 'balance-alb', 'miimon': 0}},
              {'ifname': 'b3', 'kind': 'bond', 'bond': {'mode': 'active-backup'}}]
    task = {M: {'netns': netns, 'config': config}}
    again = {M: {'netns': netns, 'config': config, 'state': 'replaced'}}
    results = play([dict(task, check_mode=True), task, again, oracle(netns)])
    for r in results:
        assert_no_traceback(r)
    check, real, second, k = results
    assert not real.get('failed'), real.get('msg')
    assert nomac(check['after']) == nomac(real['after']) and check['commands'] == real['commands']
    assert second['changed'] is False and second['commands'] == [], second['commands']
    miimon = dict((n, by_name(k)[n]['linkinfo']['info_data']['miimon']) for n in ('b1', 'b2', 'b3'))
    assert miimon == {'b1': 100, 'b2': 0, 'b3': 0}, miimon
    assert dict((o['ifname'], o['bond']['miimon']) for o in real['after']) == miimon
