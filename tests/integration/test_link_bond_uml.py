# -*- coding: utf-8 -*-
"""edgenet.linux.link and what the bonding driver does on its own: the MTU and address of ports as they join and
leave a bond and as the bond's MTU changes, and the bond options it takes only in some modes or only while the
bond is down. Runs under user-mode Linux only (the host kernel has no bonding)."""

import json

import pytest

from conftest import assert_no_traceback, ipj

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


def macs(k, *names):
    return [k[n]['address'] for n in names]


def perm(link):
    return link['linkinfo']['info_slave_data']['perm_hwaddr']


def test_a_ports_mac_address_is_the_one_its_bond_gives_it(netns, play):
    """The kernel gives a port the MAC address of its bond as it joins (bond_enslave), and every port the bond's new
    address (bond_set_mac_address); a bond with the kernel's random address takes its first port's instead; and a bond
    whose last port leaves gets a random one. Check mode showed the ports' old addresses, an address given to a port
    was set before the join (so the kernel kept it as the port's own, perm_hwaddr) and then again by the next run, and
    a bond given an address lost it with its last port. Now the prediction is the kernel's, an address of a port that
    is not the one the bond gives it is refused, and a second run changes nothing."""
    for i in range(1, 3):
        ipj(netns, 'link', 'add', 'd%d' % i, 'address', '02:00:00:00:0a:0%d' % i, 'type', 'dummy')
    make = [{'ifname': 'b0', 'kind': 'bond', 'bond': {'mode': 'balance-rr'}, 'state': 'up'},
            {'ifname': 'd0', 'kind': 'dummy', 'address': '02:00:00:00:0a:00', 'master': 'b0'},  # (b0's first port)
            {'ifname': 'd1', 'master': 'b0'}]
    refused = [{'ifname': 'd2', 'master': 'b0', 'address': '02:00:00:00:0a:02'}]
    # (the address the bond gives it: not sent, the kernel keeps the port's own for its release)
    moved = [{'ifname': 'b0', 'address': '02:00:00:00:0b:00'},
             {'ifname': 'd2', 'master': 'b0', 'address': '02:00:00:00:0b:00'}]
    out = [{'ifname': 'b0', 'kind': 'bond', 'bond': {'mode': 'balance-rr'}, 'address': '02:00:00:00:0b:00',
            'state': 'up'}] + [{'ifname': 'd%d' % i, 'kind': 'dummy'} for i in range(3)]

    def steps(config, **kw):
        task = {M: dict({'netns': netns, 'config': config}, **kw)}
        return [dict(task, check_mode=True), task, task, oracle(netns)]
    results = play(steps(make) + [dict(steps(refused)[0]), steps(refused)[1], oracle(netns)] + steps(moved) +
                   steps(out, state='replaced'))
    for r in results:
        assert_no_traceback(r)
    made, (crefused, rrefused, krefused), rest = results[:4], results[4:7], results[7:]
    for check, real, again, _k in [made] + [rest[i:i + 4] for i in range(0, len(rest), 4)]:
        assert not real.get('failed'), real.get('msg')
        assert check['commands'] == real['commands'], (check['commands'], real['commands'])
        assert check['after'] == real['after'], (check['after'], real['after'])
        assert again['changed'] is False and again['commands'] == [], again['commands']
    k = by_name(made[3])
    assert macs(k, 'b0', 'd0', 'd1') == ['02:00:00:00:0a:00'] * 3, k
    assert (perm(k['d0']), perm(k['d1'])) == ('02:00:00:00:0a:00', '02:00:00:00:0a:01')
    for r in (crefused, rrefused):
        assert r['failed'] and 'link d2' in r['msg'] and "field 'address'" in r['msg'], r
        assert 'b0' in r['msg'] and '02:00:00:00:0a:00' in r['msg'], r['msg']
    assert 'master' not in by_name(krefused)['d2'] and by_name(krefused)['d2']['address'] == '02:00:00:00:0a:02'
    check, real, _again, k = rest[:4]
    assert real['commands'] == ['ip -n %s link set b0 address 02:00:00:00:0b:00' % netns,
                                'ip -n %s link set d2 master b0' % netns], real['commands']
    k = by_name(k)
    assert macs(k, 'b0', 'd0', 'd1', 'd2') == ['02:00:00:00:0b:00'] * 4, k
    assert perm(k['d2']) == '02:00:00:00:0a:02'
    # out of the bond, each port has its own address again; the bond, without ports, has a random one, and is set
    # the address its element gives again
    check, real, _again, k = rest[4:]
    assert real['commands'][-1] == 'ip -n %s link set b0 address 02:00:00:00:0b:00' % netns, real['commands']
    k = by_name(k)
    assert macs(k, 'b0', 'd0', 'd1', 'd2') == ['02:00:00:00:0b:00', '02:00:00:00:0a:00', '02:00:00:00:0a:01',
                                               '02:00:00:00:0a:02'], k
    assert not any('master' in k[n] for n in ('d0', 'd1', 'd2'))


def test_where_a_bond_leaves_its_ports_their_mac_addresses(netns, play):
    """In mode balance-alb the kernel gives only the active port (the first to join) the bond's address, and the
    others keep their own; in mode active-backup with fail_over_mac active (set outside this module) every port keeps
    its own and the bond takes the active port's. An address given to such a port is set before the join and kept.
    When the active port leaves, the other one becomes active and gets the bond's address. Check mode predicts each
    address as the real run makes it, and a second run changes nothing."""
    ipj(netns, 'link', 'add', 'bf', 'type', 'bond', 'mode', 'active-backup', 'fail_over_mac', 'active')
    for name, mac in (('f0', '0d:00'), ('f1', '0d:01')):
        ipj(netns, 'link', 'add', name, 'address', '02:00:00:00:' + mac, 'type', 'dummy')
    config = [{'ifname': 'ba', 'kind': 'bond', 'bond': {'mode': 'balance-alb'}, 'address': '02:00:00:00:0c:00'},
              {'ifname': 'e0', 'kind': 'dummy', 'master': 'ba'},
              {'ifname': 'e1', 'kind': 'dummy', 'address': '02:00:00:00:0c:01', 'master': 'ba'},
              {'ifname': 'f0', 'master': 'bf'},
              {'ifname': 'f1', 'master': 'bf', 'address': '02:00:00:00:0d:11'}]
    task = {M: {'netns': netns, 'config': config}}
    # the active port leaves: the other one becomes active and gets the bond's address
    out = {M: {'netns': netns, 'config': [{'ifname': 'e0', 'kind': 'dummy'}], 'state': 'replaced'}}
    results = play([dict(task, check_mode=True), task, task, oracle(netns), dict(out, check_mode=True), out, out,
                    oracle(netns)])
    for r in results:
        assert_no_traceback(r)
    for check, real, again, _k in (results[:4], results[4:]):
        assert not real.get('failed'), real.get('msg')
        assert check['commands'] == real['commands'], (check['commands'], real['commands'])
        assert check['after'] == real['after'], (check['after'], real['after'])
        assert again['changed'] is False and again['commands'] == [], again['commands']
    k = by_name(results[3])
    assert macs(k, 'ba', 'e0', 'e1') == ['02:00:00:00:0c:00', '02:00:00:00:0c:00', '02:00:00:00:0c:01'], k
    assert macs(k, 'bf', 'f0', 'f1') == ['02:00:00:00:0d:00', '02:00:00:00:0d:00', '02:00:00:00:0d:11'], k
    assert perm(k['f1']) == '02:00:00:00:0d:11'
    e0 = perm(k['e0'])
    k = by_name(results[7])
    assert macs(k, 'ba', 'e0', 'e1') == ['02:00:00:00:0c:00', e0, '02:00:00:00:0c:00'], k


def test_a_rolled_back_release_gives_the_port_its_own_mac_and_mtu_again(netns, play):
    """A task takes a port out of its bond and fails later: the rollback puts the port back. It sent the MTU and MAC
    address the port had in the bond before the join, which the kernel then kept as the port's own (perm_hwaddr, and
    the MTU it gives back on release). Now the port joins first and the bond gives it its MTU and address: a later
    release gives the port its own address and MTU."""
    ipj(netns, 'link', 'add', 'r0', 'mtu', '9000', 'type', 'bond', 'mode', 'active-backup')
    for name, mac in (('p0', '0e:00'), ('p1', '0e:01')):
        ipj(netns, 'link', 'add', name, 'address', '02:00:00:00:' + mac, 'type', 'dummy')
        ipj(netns, 'link', 'set', name, 'master', 'r0')
    ipj(netns, 'link', 'set', 'r0', 'up')
    ipj(netns, 'link', 'add', 'old0', 'type', 'vxlan', 'id', '7', 'dstport', '4789')
    fail = {M: {'netns': netns, 'state': 'replaced', 'config': [
        {'ifname': 'p1', 'kind': 'dummy', 'mtu': 1500, 'state': 'up'},  # (out of the bond: its own MTU, up)
        {'ifname': 'vx7', 'vxlan': {'id': 7, 'dstport': 4789}}]}}  # (the kernel refuses it: EEXIST)
    release = {'command': 'ip -n %s link set p1 nomaster' % netns}
    results = play([fail, oracle(netns), release, oracle(netns)])
    for r in results:
        assert_no_traceback(r)
    failed, k, released, kr = results
    assert failed['failed'] and 'link vx7' in failed['msg'] and 'rolled back' in failed['msg'], failed
    k = by_name(k)
    p1, r0 = k['p1'], k['r0']
    assert (p1.get('master'), p1['mtu'], p1['address'], 'UP' in p1['flags']) == ('r0', 9000, r0['address'], True)
    assert not released.get('failed'), released
    # (what the kernel keeps as the port's own: the address it shows, and the MTU it gives back on release)
    after = by_name(kr)['p1']
    assert (perm(p1), 'master' in after, after['address'], after['mtu']) == \
        ('02:00:00:00:0e:01', False, '02:00:00:00:0e:01', 1500), (p1, after)
    assert failed['rolled_back'] == ['ip -n %s link set p1 down' % netns,
                                     'ip -n %s link set p1 master r0' % netns], failed['rolled_back']


def test_a_port_given_state_down_is_down_in_its_bond(netns, play):
    """A bond opens a device as it joins it (bond_enslave), after the state of the same request: a port given state
    down ended up, shown up by check mode and the real run, and every later run set it down again. Now a step after
    the join sets it down: check mode predicts it, iproute2 shows it down in its bond, and a second run changes
    nothing. A port that was up is taken down before it joins (the bond refuses a port that is up) and stays down. In a
    bond that moves its active port and MAC addresses away from a failed link (balance-alb, with miimon), state down is
    refused. A re-created bond takes its ports back: those given state down are set down again."""
    ipj(netns, 'link', 'add', 'edgfAp2', 'address', '02:00:00:00:0f:02', 'type', 'dummy')
    ipj(netns, 'link', 'set', 'edgfAp2', 'up')
    config = [{'ifname': 'edgfAb0', 'kind': 'bond', 'bond': {'mode': 'active-backup'},
               'address': '02:00:00:00:0f:00', 'state': 'up'},
              {'ifname': 'edgfAp0', 'kind': 'dummy', 'master': 'edgfAb0', 'state': 'down'},
              {'ifname': 'edgfAp1', 'kind': 'dummy', 'master': 'edgfAb0'},
              {'ifname': 'edgfAp2', 'kind': 'dummy', 'master': 'edgfAb0', 'state': 'down'}]
    task = {M: {'netns': netns, 'config': config}}
    replaced = {M: {'netns': netns, 'config': config, 'state': 'replaced'}}
    # in mode balance-alb (miimon 100) a port that is down is a failed link: the bond makes another port active and
    # moves MAC addresses, which is not predicted: refused before anything is sent
    alb = {M: {'netns': netns, 'config': [
        {'ifname': 'edgfAb1', 'kind': 'bond', 'bond': {'mode': 'balance-alb'}, 'state': 'up'},
        {'ifname': 'edgfAp3', 'kind': 'dummy', 'master': 'edgfAb1', 'state': 'down'}]}}
    # made again in another mode, the bond takes its ports back and opens them: those given state down are set down
    rr = {M: {'netns': netns, 'recreate': True, 'config': [dict(config[0], bond={'mode': 'balance-rr'})] + config[1:]}}
    results = play([dict(task, check_mode=True), task, task, replaced, alb, oracle(netns),
                    dict(rr, check_mode=True), rr, rr, oracle(netns)])
    for r in results:
        assert_no_traceback(r)
    check, real, again, same, refused, k = results[:6]
    crr, rrr, arr, krr = results[6:]
    assert not rrr.get('failed'), rrr.get('msg')
    assert crr['commands'] == rrr['commands'] and crr['after'] == rrr['after'], (crr['commands'], rrr['commands'])
    assert arr['changed'] is False and arr['commands'] == [], arr['commands']
    krr = by_name(krr)
    assert [('UP' in krr[n]['flags'], krr[n].get('master')) for n in ('edgfAp0', 'edgfAp1', 'edgfAp2')] == \
        [(False, 'edgfAb0'), (True, 'edgfAb0'), (False, 'edgfAb0')], krr
    assert refused['failed'] and 'link edgfAp3' in refused['msg'] and "field 'state'" in refused['msg'], refused
    assert 'edgfAb1' not in by_name(k) and 'edgfAp3' not in by_name(k)
    assert not real.get('failed'), real.get('msg')
    assert check['commands'] == real['commands'], (check['commands'], real['commands'])
    assert check['after'] == real['after'], (check['after'], real['after'])
    for r in (again, same):
        assert r['changed'] is False and r['commands'] == [], r['commands']
    after = dict((o['ifname'], o) for o in real['after'])
    assert [after[n]['state'] for n in ('edgfAp0', 'edgfAp1', 'edgfAp2')] == ['down', 'up', 'down'], after
    k = by_name(k)
    for name, up in (('edgfAp0', False), ('edgfAp1', True), ('edgfAp2', False)):
        assert k[name].get('master') == 'edgfAb0' and ('UP' in k[name]['flags']) is up, (name, k[name])
        assert k[name]['address'] == '02:00:00:00:0f:00', (name, k[name])
    assert perm(k['edgfAp2']) == '02:00:00:00:0f:02'


def test_state_down_is_refused_for_a_port_of_a_bond_that_watches_its_ports_by_arp(netns, play):
    """A bond made outside the module (which does not set ARP monitoring) in mode active-backup with fail_over_mac
    and arp_interval, miimon 0, fails a port over when it goes down as one with miimon does: a port given state down
    in it is refused before anything is sent, naming state and arp_interval (it was taken: only miimon was read).
    Without ARP monitoring, the same task is taken, and the port is down in its bond (iproute2)."""
    ipj(netns, 'link', 'add', 'edgfRb0', 'type', 'bond', 'mode', 'active-backup', 'fail_over_mac', 'active',
        'miimon', '0', 'arp_interval', '100', 'arp_ip_target', '198.18.0.9')
    ipj(netns, 'link', 'add', 'edgfRb1', 'type', 'bond', 'mode', 'active-backup', 'fail_over_mac', 'active',
        'miimon', '0')

    def task(bond, port):
        return {M: {'netns': netns, 'config': [{'ifname': port, 'kind': 'dummy', 'master': bond, 'state': 'down'}]}}
    results = play([dict(task('edgfRb0', 'edgfRp0'), check_mode=True), task('edgfRb0', 'edgfRp0'), oracle(netns),
                    task('edgfRb1', 'edgfRp1'), task('edgfRb1', 'edgfRp1'), oracle(netns)])
    for r in results:
        assert_no_traceback(r)
    check, real, k, taken, again, k2 = results
    for r in (check, real):
        assert r['failed'] and "field 'state'" in r['msg'] and 'arp_interval 100' in r['msg'], r
    k = by_name(k)
    assert 'edgfRp0' not in k and k['edgfRb0']['linkinfo']['info_data']['arp_interval'] == 100, k
    assert not taken.get('failed') and taken['changed'], taken.get('msg')
    assert again['changed'] is False and again['commands'] == [], again['commands']
    k2 = by_name(k2)
    assert k2['edgfRp1'].get('master') == 'edgfRb1' and 'UP' not in k2['edgfRp1']['flags'], k2['edgfRp1']
