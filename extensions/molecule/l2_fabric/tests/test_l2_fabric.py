# -*- coding: utf-8 -*-
"""testinfra, over SSH into each lab host (VTEP): the kernel shows the fabric converge.yml asked the role for,
and a client in each VLAN reaches the other host's client in the same VLAN across the VXLAN.

Every command is one SSH round trip through Ansible, which is slow under user-mode Linux: the oracles are
read in one command per host (the `kernel` fixture) and each test checks its part."""

import json

import pytest

VLANS = {10: 10010, 20: 10020}
SUBNETS = {10: '198.19.253', 20: '198.19.254'}
ORACLES = ('ip -j -d link show', 'ip -j -4 address show dev lab0', 'bridge -j vlan show',
           'bridge -j vlan tunnelshow', 'bridge -j vni show', 'bridge -j fdb show dev vxlan0')
MARK = '@@edgenet-oracle@@'


@pytest.fixture(scope='module')
def kernel(host):
    """{oracle command: its parsed JSON}, all read in one SSH command."""
    out = host.check_output(' ; '.join('echo %s; %s' % (MARK, cmd) for cmd in ORACLES))
    parts = out.split(MARK + '\n')[1:]
    assert len(parts) == len(ORACLES), out
    return {cmd: json.loads(text) if text.strip() else [] for cmd, text in zip(ORACLES, parts)}


def index(host):
    return int(host.ansible.get_variables()['l2fabric_index'])


def lab_address(kernel):
    """This host's lab (underlay) address: its VTEP address."""
    return kernel['ip -j -4 address show dev lab0'][0]['addr_info'][0]['local']


def test_links(host, kernel):
    links = {link['ifname']: link for link in kernel['ip -j -d link show']}
    br = links['br0']
    assert br['linkinfo']['info_kind'] == 'bridge' and 'UP' in br['flags']
    assert br['linkinfo']['info_data']['vlan_filtering'] == 1
    assert br['linkinfo']['info_data']['vlan_default_pvid'] == 0
    vx = links['vxlan0']
    data = vx['linkinfo']['info_data']
    assert vx['linkinfo']['info_kind'] == 'vxlan' and vx['master'] == 'br0' and 'UP' in vx['flags']
    assert data['external'] is True and data['vnifilter'] is True and data['learning'] is False
    assert data['local'] == lab_address(kernel) and data['link'] == 'lab0' and data['port'] == 4789
    assert vx['linkinfo']['info_slave_data']['vlan_tunnel'] is True
    for vid in VLANS:
        acc, cli = links['acc%d' % vid], links['cli%d' % vid]
        assert acc['master'] == 'br0' and 'LOWER_UP' in acc['flags'] and 'master' not in cli
        assert acc['linkinfo']['info_kind'] == cli['linkinfo']['info_kind'] == 'veth'


def test_vlans(kernel):
    vlans = {d['ifname']: [(v['vlan'], sorted(v.get('flags', []))) for v in d['vlans']]
             for d in kernel['bridge -j vlan show']}
    assert vlans == {'vxlan0': [(10, []), (20, [])],
                     'acc10': [(10, ['Egress Untagged', 'PVID'])],
                     'acc20': [(20, ['Egress Untagged', 'PVID'])]}


def test_vlan_tunnels_and_vnis(kernel):
    tunnels = {d['ifname']: [(t['vlan'], t['tunid']) for t in d['tunnels']]
               for d in kernel['bridge -j vlan tunnelshow']}
    assert tunnels == {'vxlan0': sorted(VLANS.items())}
    assert kernel['bridge -j vni show'] == [
        {'ifname': 'vxlan0', 'vnis': [{'vni': vni} for vni in sorted(VLANS.values())]}]


def test_head_end_replication(host, kernel):
    # tools/lab gives host I the address .(10+I) of the lab /24: the other VTEP is .(10+3-I)
    net, last = lab_address(kernel).rsplit('.', 1)
    assert int(last) == 10 + index(host)
    peer = '%s.%d' % (net, 10 + 3 - index(host))
    her = [e for e in kernel['bridge -j fdb show dev vxlan0'] if e['mac'] == '00:00:00:00:00:00']
    assert sorted((e.get('dst'), e.get('src_vni'), e['flags']) for e in her) == [
        (peer, vni, ['self']) for vni in sorted(VLANS.values())], her


def test_ping_across_the_vxlan(host):
    """The client of each VLAN reaches the other host's client of that VLAN, through the VXLAN device."""
    other = 3 - index(host)
    stats = 'ip -j -s link show dev vxlan0'
    pings = ' && '.join('ping -n -q -c 3 -i 0.2 -W 2 -I cli%d %s.%d' % (vid, SUBNETS[vid], other) for vid in VLANS)
    out = host.run('%s; echo %s; %s; echo "%s rc=$?"; %s' % (stats, MARK, pings, MARK, stats))
    before, pinged, rest = out.stdout.split(MARK)
    status, after = rest.split('\n', 1)
    assert status.strip() == 'rc=0', pinged + out.stderr
    tx = [json.loads(text)[0]['stats64']['tx']['packets'] for text in (before, after)]
    assert tx[1] > tx[0], tx
