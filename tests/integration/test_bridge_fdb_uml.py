# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_fdb on a kernel with bridge VLANs (CONFIG_BRIDGE_VLAN_FILTERING, as distribution kernels
have; the host kernel of the lab has not): the user-mode Linux guest. Runs under user-mode Linux only.

There every port and the bridge itself have VLANs (VLAN 1, the default_pvid, even with vlan_filtering off), and
an FDB entry written without a VLAN is written by the kernel once without a VLAN and once per VLAN of the port
(of the bridge, for its own entries), and deleted with all of them. The oracle is `bridge -j fdb show`."""

import pytest

from conftest import assert_no_traceback, kernel_fdb, sh

M = 'edgenet.linux.bridge_fdb'
X = '02:00:00:00:00:01'
Y = '02:00:00:00:00:02'
pytestmark = pytest.mark.uml


@pytest.fixture
def ns(netns):
    for args in (('link', 'add', 'br0', 'type', 'bridge'), ('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'),
                 ('link', 'set', 'v0', 'master', 'br0'), ('link', 'set', 'br0', 'up'), ('link', 'set', 'v0', 'up')):
        sh('ip', '-n', netns, *args)
    sh('bridge', '-n', netns, 'vlan', 'add', 'dev', 'v0', 'vid', '10')
    return netns


def entries(ns, dev='v0', mac=X):
    """{vlan (None: the entry without one): (state, sorted flags)} of ``mac`` on ``dev``, from iproute2."""
    return dict((k[2], (e['state'], sorted(e['flags']))) for k, e in kernel_fdb(ns).items()
                if k[0] == dev and k[1] == mac)


def snapshot(ns):
    return sorted((repr(k), repr(v)) for k, v in kernel_fdb(ns, learned=True).items())


def check_then_real(play, ns, task, changed=True):
    """check mode (which writes nothing), then the real run: the same after, commands and diff; then a re-run of
    both that changes nothing. Returns the real run."""
    before = snapshot(ns)
    check = play(task, check=True)[0]
    assert snapshot(ns) == before, 'check mode wrote to the kernel'
    real, again, again_check = play([task, task, dict(task, check_mode=True)])
    for r in (check, real, again, again_check):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert real['changed'] is changed and check['changed'] is changed, (check, real)
    assert check['after'] == real['after'], (check['after'], real['after'])
    assert check['commands'] == real['commands'], (check['commands'], real['commands'])
    assert check.get('diff') == real.get('diff')
    for r in (again, again_check):
        assert r['changed'] is False and r['commands'] == [], r
    return real


def vlans_of(objs, mac=X, dev='v0'):
    return sorted(o.get('vlan', 0) for o in objs if o['mac'] == mac and o['dev'] == dev)


def test_an_entry_without_a_vlan_is_the_kernels_set(ns, play):
    """An element without a VLAN stands for what the kernel makes of it: the entry and one per VLAN of the port.
    Check mode predicts them, a re-run and overridden keep them, a port VLAN added later gets its entry, a change
    keeps a VLAN's own element as config gives it, overridden without the entry keeps the VLAN entries config
    lists, and deleted takes them all; every step as check mode predicted, and a re-run changes nothing."""
    entry = {'dev': 'v0', 'mac': X, 'master': True, 'state': 'static'}
    real = check_then_real(play, ns, {M: {'netns': ns, 'config': [entry]}})
    assert entries(ns) == {None: ('static', []), 1: ('static', []), 10: ('static', [])}
    assert vlans_of(real['after']) == [0, 1, 10], real['after']
    # overridden with the same config: the copies are the entry's own, kept
    check_then_real(play, ns, {M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': [entry]}},
                    changed=False)
    # the bridge's own entry: one per VLAN of the bridge (VLAN 1)
    own = {'dev': 'br0', 'mac': Y}
    real = check_then_real(play, ns, {M: {'netns': ns, 'config': [own]}})
    assert entries(ns, 'br0', Y) == {None: ('permanent', []), 1: ('permanent', [])}
    assert vlans_of(real['after'], Y, 'br0') == [0, 1]
    # a VLAN the port gets later: merged makes its entry, as the kernel would for the entry written again
    sh('bridge', '-n', ns, 'vlan', 'add', 'dev', 'v0', 'vid', '20')
    real = check_then_real(play, ns, {M: {'netns': ns, 'config': [entry]}})
    assert real['commands'] == ['bridge -n %s fdb replace %s dev v0 vlan 20 master static' % (ns, X)]
    assert entries(ns) == {None: ('static', []), 1: ('static', []), 10: ('static', []), 20: ('static', [])}
    # a change of the entry writes its copies too; VLAN 10's own element keeps VLAN 10 as it gives it
    config = [dict(entry, sticky=True), {'dev': 'v0', 'mac': X, 'vlan': 10, 'master': True, 'state': 'static'}]
    real = check_then_real(play, ns, {M: {'netns': ns, 'config': config}})
    assert entries(ns) == {None: ('static', ['sticky']), 1: ('static', ['sticky']), 10: ('static', []),
                           20: ('static', ['sticky'])}
    assert ('bridge -n %s fdb replace %s dev v0 vlan 10 master static' % (ns, X)) in real['commands'], real
    # overridden with only VLAN 10's entry: the entry without a VLAN goes (and the kernel takes its copies with it);
    # VLAN 10's is made again right after it
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'v0',
                'config': [{'dev': 'v0', 'mac': X, 'vlan': 10, 'master': True, 'state': 'static'}]}}
    real = check_then_real(play, ns, task)
    assert entries(ns) == {10: ('static', [])}
    assert vlans_of(real['after']) == [10] and vlans_of(real['before']) == [0, 1, 10, 20], real
    # gathered, fed back to overridden: nothing to change
    sh('bridge', '-n', ns, 'fdb', 'replace', Y, 'dev', 'v0', 'master', 'static')
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    assert vlans_of(gathered, Y) == [0, 1, 10, 20], gathered
    check_then_real(play, ns, {M: {'netns': ns, 'state': 'overridden', 'config': gathered}}, changed=False)
    # deleted by dev and MAC: every VLAN's entry
    real = check_then_real(play, ns, {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0', 'mac': Y}]}})
    assert entries(ns, mac=Y) == {} and entries(ns) == {10: ('static', [])}
    assert vlans_of(real['before'], Y) == [0, 1, 10, 20] and vlans_of(real['after'], Y) == [], real


def test_a_refusal_restores_the_copies(ns, play):
    """A task whose last write the kernel refuses rolls back the change of an entry without a VLAN, and with it each
    VLAN's entry as it was: VLAN 10's own flags too. The refusal: an entry of a VXLAN device pointing at a nexthop
    group that does not exist (br_fdb_add hands it to the VXLAN device, which answers "Nexthop id does not exist";
    the module does not read nexthop objects)."""
    sh('bridge', '-n', ns, 'fdb', 'add', X, 'dev', 'v0', 'master', 'static')
    sh('bridge', '-n', ns, 'fdb', 'replace', X, 'dev', 'v0', 'vlan', '10', 'master', 'static', 'sticky')
    for args in (('link', 'add', 'vx9', 'type', 'vxlan', 'id', '9', 'dstport', '4789', 'local', '198.18.0.1',
                  'nolearning'), ('link', 'set', 'vx9', 'up')):
        sh('ip', '-n', ns, *args)
    before = snapshot(ns)
    assert entries(ns) == {None: ('static', []), 1: ('static', []), 10: ('static', ['sticky'])}
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'mac': X, 'master': True, 'state': 'permanent'},
                                        {'dev': 'vx9', 'mac': Y, 'self': True, 'nhid': 99}]}}
    check = play(task, check=True)[0]
    assert not check.get('failed') and vlans_of(check['after']) == [0, 1, 10], check
    real = play(task)[0]
    assert_no_traceback(real)
    assert real.get('failed') and 'rolled back' in real['msg'] and real.get('field') == 'nhid', real
    assert real['failed_command'][0].startswith('bridge -n %s fdb ' % ns), real
    assert '%s dev vx9 nhid 99 self' % Y in real['failed_command'][0], real
    assert snapshot(ns) == before


def test_an_entry_of_a_vlan_the_port_lacks(ns, play):
    """br_fdb_add refuses an entry of a VLAN its device lacks (EINVAL, no extack): the real run refuses it before
    anything is sent, naming the entry and vlan; check mode warns that it assumes an earlier task of the play adds
    the VLAN, and predicts what the real run then does. The bridge's own entries need the bridge's own VLANs."""
    before = snapshot(ns)
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'mac': Y, 'vlan': 99, 'master': True, 'state': 'static'}]}}
    r = play(task)[0]
    assert_no_traceback(r)
    assert r.get('failed') and r.get('field') == 'vlan' and 'VLAN 99 is not a VLAN of v0' in r['msg'], r
    assert r.get('object') == 'bridge_fdb %s dev v0 vlan 99 master' % Y, r
    assert 'rolled back' not in r['msg'] and not r.get('failed_command'), r  # nothing was sent
    check = play(task, check=True)[0]
    assert not check.get('failed') and check['changed'], check
    assert any('VLAN 99 is not a VLAN of v0' in w and 'bridge_vlan' in w for w in check.get('warnings', [])), check
    assert snapshot(ns) == before
    # the play's earlier task (here: iproute2) adds the VLAN: the real run does what that check run predicted
    sh('bridge', '-n', ns, 'vlan', 'add', 'dev', 'v0', 'vid', '99')
    real = check_then_real(play, ns, task)
    assert real['after'] == check['after'] and real['commands'] == check['commands'], (check, real)
    assert entries(ns, mac=Y) == {99: ('static', [])}
    # the bridge's own table: VLAN 10 is a VLAN of its port v0, not of the bridge (it has VLAN 1)
    own = {M: {'netns': ns, 'config': [{'dev': 'br0', 'mac': Y, 'self': True, 'vlan': 10}]}}
    r = play(own)[0]
    assert r.get('failed') and r.get('field') == 'vlan' and 'VLAN 10 is not a VLAN of br0' in r['msg'], r
    check_then_real(play, ns, {M: {'netns': ns, 'config': [{'dev': 'br0', 'mac': Y, 'self': True, 'vlan': 1}]}})
    assert entries(ns, 'br0', Y) == {1: ('permanent', [])}


def test_an_element_and_an_implied_entry_of_one_identity_are_refused(ns, play):
    """An element for another port with a VLAN whose entry the element without a VLAN makes: only one can stay."""
    for args in (('link', 'add', 'p2', 'type', 'veth', 'peer', 'name', 'p3'), ('link', 'set', 'p2', 'master', 'br0')):
        sh('ip', '-n', ns, *args)
    before = snapshot(ns)
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'mac': X, 'master': True, 'state': 'static'},
                                        {'dev': 'p2', 'mac': X, 'vlan': 1, 'master': True, 'state': 'static'}]}}
    for check_mode in (True, False):
        r = play(task, check=check_mode)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r.get('field') == 'dev' and 'one object to the kernel' in r['msg'], r
        assert 'the entry the kernel makes for VLAN 1 of the element without a VLAN' in r['msg'], r['msg']
    assert snapshot(ns) == before


def test_an_entry_of_a_vlan_the_port_lost_is_refused(ns, play):
    """The kernel keeps the static entry of a VLAN removed from its port (it flushes only learned entries), and
    before Linux 6.13 refuses to delete it while the port lacks the VLAN (EINVAL): check mode predicted the delete,
    the real run failed and rolled back. Both modes now refuse it up front, naming the entry and vlan and saying
    how to delete it; an element without a VLAN leaves it alone (it is no longer one of the port's VLANs)."""
    release = sh('uname', '-r').strip()
    assert tuple(int(x) for x in release.split('.')[:2]) < (6, 13), (
        'this test needs a kernel before 6.13, as the UML guest is: %s' % release)
    sh('bridge', '-n', ns, 'fdb', 'add', X, 'dev', 'v0', 'master', 'static')
    sh('bridge', '-n', ns, 'vlan', 'del', 'dev', 'v0', 'vid', '10')
    assert entries(ns) == {None: ('static', []), 1: ('static', []), 10: ('static', [])}
    before = snapshot(ns)
    for task in ({M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': []}},
                 {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0', 'vlan': 10}]}}):
        for check_mode in (True, False):
            r = play(task, check=check_mode)[0]
            assert_no_traceback(r)
            assert r.get('failed') and r.get('field') == 'vlan' and 'no longer has' in r['msg'], r
            assert r.get('object') == 'bridge_fdb %s dev v0 vlan 10 master' % X, r
            assert 'add VLAN 10' in r['msg'] and 'rolled back' not in r['msg'], r
        assert snapshot(ns) == before
    # the element without a VLAN is the entry and VLAN 1's: nothing to change, and the stale entry stays
    check_then_real(play, ns, {M: {'netns': ns, 'config': [{'dev': 'v0', 'mac': X, 'master': True,
                                                           'state': 'static'}]}}, changed=False)
    # the workaround the message gives
    sh('bridge', '-n', ns, 'vlan', 'add', 'dev', 'v0', 'vid', '10')
    real = check_then_real(play, ns, {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0', 'vlan': 10}]}})
    assert entries(ns) == {None: ('static', []), 1: ('static', [])}, real
