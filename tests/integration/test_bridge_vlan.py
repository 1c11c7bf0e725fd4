# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_vlan on the host kernel: without bridge VLAN filtering the module says what the kernel
lacks (the states themselves are tested under UML, test_bridge_vlan_uml.py)."""

import gzip

from conftest import assert_no_traceback, bridgej, ipj, sh

M = 'edgenet.linux.bridge_vlan'


def has_vlan_filtering(ns=None):
    """Whether the kernel has bridge VLAN filtering: its config, or else (no /proc/config.gz) what iproute2 shows
    of bridge ``br0`` in ``ns`` (the VLAN options are there only with the feature)."""
    try:
        with gzip.open('/proc/config.gz', 'rt') as f:
            return 'CONFIG_BRIDGE_VLAN_FILTERING=y' in f.read()
    except OSError:
        return 'vlan_protocol' in ipj(ns, '-d', 'link', 'show', 'br0')[0]['linkinfo']['info_data']


def test_host_kernel_without_vlan_filtering_is_named(netns, play):
    """Without bridge VLAN filtering, a VLAN write fails naming what the kernel lacks, in check mode too: check
    mode fails as the real run does (it predicted a change the real run could not make), and nothing is sent.
    A task that writes nothing does not fail. (With the feature, the same task simply works.)"""
    sh('ip', '-n', netns, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    sh('ip', '-n', netns, 'link', 'set', 'v0', 'master', 'br0')
    task = {M: {'netns': netns, 'config': [{'dev': 'v0', 'vlans': [{'vid': '10-12'}]}]}}
    before = bridgej(netns, 'vlan', 'show')
    check, real = play([dict(task, check_mode=True), task])
    for r in (check, real):
        assert_no_traceback(r)
    if has_vlan_filtering(netns):
        assert check['changed'] and check['commands'] == ['bridge -n %s vlan add dev v0 vid 10-12' % netns]
        assert not real.get('failed') and real['changed'] and real['commands'] == check['commands'], real
    else:
        assert before == []
        for r in (check, real):
            assert r.get('failed') and 'the kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)' in \
                r['msg'], r
            assert r['object'] == 'bridge_vlan dev v0' and r['field'] == 'vlans', r
        assert check['msg'] == real['msg']
        assert bridgej(netns, 'vlan', 'show') == []
        nothing = play({M: {'netns': netns, 'state': 'deleted'}}, check=True)[0]
        assert_no_traceback(nothing)
        assert not nothing.get('failed') and not nothing['changed'], nothing
