# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_port on a kernel older than one of its options: the user-mode Linux guest's 6.1, which has
no IFLA_BRPORT_MAB (Linux 6.2 added it). Runs under user-mode Linux only (make test-uml).

The oracle is `bridge -j -d link show` (its ``locked`` member; iproute2 6.1 has no mab) and the kernel's own dump:
a kernel ignores a port attribute newer than itself without a word, so only its absence from the dump tells."""

import pytest

from conftest import assert_no_traceback, bridgej, sh

M = 'edgenet.linux.bridge_port'
pytestmark = pytest.mark.uml


def test_an_option_the_kernel_lacks_is_refused(netns, play):
    """mab: true on 6.1 was sent, answered as done and ignored: check mode and the real run predicted mab on, the
    kernel kept none of it, and every run changed it again. It is now refused in both modes, naming the field,
    and nothing of the task is written; mab: false (what such a kernel has) is no change."""
    ns = netns
    release = sh('uname', '-r').strip()
    assert tuple(int(x) for x in release.split('.')[:2]) < (6, 2), (
        'this test needs a kernel without IFLA_BRPORT_MAB (before 6.2), as the UML guest is: %s' % release)
    for args in (('link', 'add', 'br0', 'type', 'bridge'), ('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'),
                 ('link', 'set', 'v0', 'master', 'br0'), ('link', 'set', 'br0', 'up'), ('link', 'set', 'v0', 'up')):
        sh('ip', '-n', ns, *args)

    def port():
        return [p for p in bridgej(ns, '-d', 'link', 'show') if p['ifname'] == 'v0'][0]
    before = port()
    on = {M: {'netns': ns, 'config': [{'dev': 'v0', 'locked': True, 'mab': True}]}}
    off = {M: {'netns': ns, 'config': [{'dev': 'v0', 'mab': False}]}}
    check, real, same, gathered = play([dict(on, check_mode=True), on, off, {M: {'netns': ns, 'state': 'gathered'}}])
    for r in (check, real, same, gathered):
        assert_no_traceback(r)
    for r in (check, real):
        assert r.get('failed') and r.get('field') == 'mab', r
        assert 'does not have the bridge port option mab' in r['msg'] and 'Linux 6.2' in r['msg'], r['msg']
    assert port() == before and before.get('locked') is False, before  # locked (known to 6.1) was not sent either
    assert not same.get('failed') and same['changed'] is False and same['commands'] == [], same
    assert [p['mab'] for p in gathered['gathered'] if p['dev'] == 'v0'] == [False]
