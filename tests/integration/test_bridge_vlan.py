# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_vlan on the host kernel: without bridge VLAN filtering the module says what the kernel
lacks (the states themselves are tested under UML, test_bridge_vlan_uml.py)."""

import gzip

from conftest import assert_no_traceback, bridgej, sh

M = 'edgenet.linux.bridge_vlan'


def has_vlan_filtering():
    with gzip.open('/proc/config.gz', 'rt') as f:
        return 'CONFIG_BRIDGE_VLAN_FILTERING=y' in f.read()


def test_host_kernel_without_vlan_filtering_is_named(netns, play):
    sh('ip', '-n', netns, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    sh('ip', '-n', netns, 'link', 'set', 'v0', 'master', 'br0')
    task = {M: {'netns': netns, 'config': [{'dev': 'v0', 'vlans': [{'vid': '10-12'}]}]}}
    check, real = play([dict(task, check_mode=True), task])
    for r in (check, real):
        assert_no_traceback(r)
    assert check['changed'] and check['commands'] == ['bridge -n %s vlan add dev v0 vid 10-12' % netns]
    if has_vlan_filtering():
        assert not real.get('failed') and real['changed'], real
    else:
        assert real.get('failed') and 'CONFIG_BRIDGE_VLAN_FILTERING' in real['msg'], real
        assert real['object'] == 'bridge_vlan dev v0' and bridgej(netns, 'vlan', 'show') == []
