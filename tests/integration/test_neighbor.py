# -*- coding: utf-8 -*-
"""edgenet.linux.neighbor against a real kernel; the oracle is `ip -j neigh show` (nud all, and proxy)."""

import time

import pytest

from conftest import (apply_then_unchanged, assert_no_traceback, check_assumes_ipv6_then_real,
                      check_assumes_then_real, collection_on_path, diff_side, ipj, refused_in_process, sh,
                      without_ipv6)

M = 'edgenet.linux.neighbor'


def kernel_neigh(ns):
    """{(dev, dst, proxy): entry} for every entry the module may own (no kernel multicast/noarp entries)."""
    out = {}
    for n in ipj(ns, 'neigh', 'show', 'nud', 'all'):
        if n['dev'] == 'lo' or n['dst'].startswith('ff02:') or n.get('lladdr', '').startswith('33:33'):
            continue
        out[(n['dev'], n['dst'], False)] = n
    for n in ipj(ns, 'neigh', 'show', 'proxy'):
        out[(n['dev'], n['dst'], True)] = n
    return out


def snapshot(ns):
    """Every entry but the IPv6 multicast ones the kernel adds and drops by itself (MLD, DAD)."""
    return sorted((k, repr(v)) for k, v in kernel_neigh(ns).items())


@pytest.fixture
def ns(netns):
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    sh('ip', '-n', netns, 'link', 'set', 'v0', 'up')
    sh('ip', '-n', netns, 'link', 'set', 'v1', 'up')
    # A reachable entry ages to stale after 15-45 s by default, which could happen between the check-mode
    # run and the real run of one test and make their (truthful) before/after differ: hold it for an hour.
    # The aging test sets its own short time.
    for dev in ('v0', 'v1'):
        for fam in ('ipv4', 'ipv6'):
            sh('ip', 'netns', 'exec', netns, 'sysctl', '-qw',
               'net.%s.neigh.%s.base_reachable_time_ms=3600000' % (fam, dev))
    return netns


CONFIG = [
    {'dev': 'v0', 'dst': '198.18.0.2', 'lladdr': '02:00:00:00:00:02'},
    {'dev': 'v0', 'dst': 'fd42:ed6e:0::2', 'lladdr': '02:00:00:00:00:0A', 'router': True},
    {'dev': 'v0', 'dst': '198.18.0.5', 'proxy': True},
    {'dev': 'v1', 'dst': 'fd42:ed6e::5', 'proxy': True},
    {'dev': 'v1', 'dst': '198.18.1.7', 'lladdr': '02-00-00-00-00-07', 'state': 'noarp'},
    {'dev': 'v1', 'dst': '198.18.1.8', 'lladdr': '02:00:00:00:00:08', 'state': 'reachable'},
]
KEYS = {('v0', '198.18.0.2', False), ('v0', 'fd42:ed6e::2', False), ('v0', '198.18.0.5', True),
        ('v1', 'fd42:ed6e::5', True), ('v1', '198.18.1.7', False), ('v1', '198.18.1.8', False)}


def test_merged_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    before = snapshot(ns)
    check = play([task], check=True)[0]
    assert snapshot(ns) == before  # check mode wrote nothing
    apply, again = play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
    # the kernel's own multicast entries are not in the view
    assert check['changed'] and check['before'] == [] and 'diff' in check
    k = kernel_neigh(ns)
    assert set(k) == KEYS
    assert k[('v0', '198.18.0.2', False)]['state'] == ['PERMANENT']
    assert k[('v0', '198.18.0.2', False)]['lladdr'] == '02:00:00:00:00:02'
    assert 'router' in k[('v0', 'fd42:ed6e::2', False)]
    assert k[('v0', 'fd42:ed6e::2', False)]['lladdr'] == '02:00:00:00:00:0a'
    assert k[('v1', '198.18.1.7', False)]['state'] == ['NOARP']
    assert k[('v1', '198.18.1.8', False)]['state'][0] in ('REACHABLE', 'STALE')
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert apply['changed'] and '198.18.0.2' in diff_side(apply, 'after') and '198.18' not in diff_side(apply, 'before')
    assert again['changed'] is False and again['commands'] == [] and again['before'] == apply['after']
    assert apply['after'][0] == {'dev': 'v0', 'dst': '198.18.0.2', 'proxy': False, 'lladdr': '02:00:00:00:00:02',
                                 'state': 'permanent', 'router': False}
    assert {'dev': 'v0', 'dst': '198.18.0.5', 'proxy': True} in apply['after']


def test_reachable_entry_stays_idempotent_when_it_ages_to_stale(ns, play):
    # Reachable time is random in [base/2, 3*base/2] = [2 s, 6 s]; the entry goes to STALE (not DELAY,
    # then PROBE and FAILED for a neighbour that never answers) when it was last used more than
    # delay_first_probe_time (1 s) before that.
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.neigh.v1.base_reachable_time_ms=4000',
       'net.ipv4.neigh.v1.delay_first_probe_time=1')
    cfg = [{'dev': 'v1', 'dst': '198.18.1.8', 'lladdr': '02:00:00:00:00:08', 'state': 'reachable'}]
    play({M: {'netns': ns, 'config': cfg}})
    deadline = time.time() + 30
    while kernel_neigh(ns)[('v1', '198.18.1.8', False)]['state'] != ['STALE']:
        assert time.time() < deadline, 'the entry never became stale'
        time.sleep(0.5)
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    assert r['changed'] is False and r['before'][0]['state'] == 'stale'
    # a new lladdr is a change, and it is sent with the wanted state
    cfg[0]['lladdr'] = '02:00:00:00:00:09'
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    assert r['changed'] and r['commands'] == [
        'ip -n %s neigh replace 198.18.1.8 lladdr 02:00:00:00:00:09 dev v1 nud reachable protocol static' % ns]
    assert kernel_neigh(ns)[('v1', '198.18.1.8', False)]['lladdr'] == '02:00:00:00:00:09'


def test_learned_entries_are_invisible_and_kept(ns, play):
    # a dynamic entry without protocol is what the kernel learns by ARP/NDP
    sh('ip', '-n', ns, 'neigh', 'add', '198.18.0.66', 'lladdr', '02:00:00:00:00:66', 'dev', 'v0', 'nud', 'stale')
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert g['gathered'] == []
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['changed'] is False and ('v0', '198.18.0.66', False) in kernel_neigh(ns)
    # asking for the same address takes the learned entry over (replace, not EEXIST)
    r = play({M: {'netns': ns, 'config': [{'dev': 'v0', 'dst': '198.18.0.66', 'lladdr': '02:00:00:00:00:67'}]}})[0]
    assert not r.get('failed'), r
    assert kernel_neigh(ns)[('v0', '198.18.0.66', False)]['state'] == ['PERMANENT']


def test_merged_changes_lladdr_state_router_in_place(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dev': 'v0', 'dst': '198.18.0.2', 'lladdr': '02:00:00:00:00:22', 'state': 'noarp'},
           {'dev': 'v0', 'dst': 'fd42:ed6e::2', 'router': False}]
    check = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'config': cfg}}] * 2)
    assert real['changed'] and check['after'] == real['after'] and not again['changed']
    assert real['commands'] == [
        'ip -n %s neigh replace 198.18.0.2 lladdr 02:00:00:00:00:22 dev v0 nud noarp protocol static' % ns,
        'ip -n %s neigh replace fd42:ed6e::2 lladdr 02:00:00:00:00:0a dev v0 nud permanent protocol static' % ns]
    k = kernel_neigh(ns)
    assert k[('v0', '198.18.0.2', False)]['state'] == ['NOARP']
    assert k[('v0', '198.18.0.2', False)]['lladdr'] == '02:00:00:00:00:22'
    assert 'router' not in k[('v0', 'fd42:ed6e::2', False)]


def test_replaced_resets_unnamed_fields(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dev': 'v0', 'dst': 'fd42:ed6e::2', 'lladdr': '02:00:00:00:00:0a'},
           {'dev': 'v1', 'dst': '198.18.1.7', 'lladdr': '02:00:00:00:00:07'}]
    check = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'replaced', 'config': cfg}}] * 2)
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    k = kernel_neigh(ns)
    assert 'router' not in k[('v0', 'fd42:ed6e::2', False)]
    assert k[('v1', '198.18.1.7', False)]['state'] == ['PERMANENT']
    assert set(k) == KEYS  # replaced leaves other entries alone


def test_overridden_in_scope_only_and_keeps_kernel_entries(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    multicast = [n for n in ipj(ns, 'neigh', 'show', 'nud', 'all') if n['dst'].startswith('ff02:')]
    assert multicast  # the kernel made some: they must survive
    cfg = [{'dev': 'v0', 'dst': '198.18.0.9', 'lladdr': '02:00:00:00:00:09'}]
    check = play({M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': cfg}}] * 2)
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    assert set(kernel_neigh(ns)) == {('v0', '198.18.0.9', False), ('v1', 'fd42:ed6e::5', True),
                                     ('v1', '198.18.1.7', False), ('v1', '198.18.1.8', False)}
    # whole namespace
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': [CONFIG[2]]}})[0]
    assert r['changed'] and set(kernel_neigh(ns)) == {('v0', '198.18.0.5', True)}
    # the kernel keeps adding multicast entries on its own (router solicitations after DAD), so the
    # proof is that every entry it had made before is still there, not that the set is unchanged
    after = {(n['dev'], n['dst']) for n in ipj(ns, 'neigh', 'show', 'nud', 'all')}
    assert {(n['dev'], n['dst']) for n in multicast} <= after


def test_deleted_by_match_and_all(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0', 'dst': '198.18.0.5'}, {'dev': 'v1'}]}}
    check = play(task, check=True)[0]
    assert set(kernel_neigh(ns)) == KEYS
    real, again = play([task, task])
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    assert ('ip -n %s neigh del proxy 198.18.0.5 dev v0' % ns) in real['commands']
    assert set(kernel_neigh(ns)) == {('v0', '198.18.0.2', False), ('v0', 'fd42:ed6e::2', False)}
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['changed'] and kernel_neigh(ns) == {}
    assert any(n['dst'].startswith('ff02:') for n in ipj(ns, 'neigh', 'show', 'nud', 'all'))


def test_gathered_feeds_back_and_rendered_commands_work(ns, play):
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': CONFIG}})[0]
    assert kernel_neigh(ns) == {}
    assert r['rendered'][0] == 'ip -n %s neigh replace 198.18.0.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent ' \
        'protocol static' % ns
    for line in r['rendered']:
        sh(*line.split())
    assert set(kernel_neigh(ns)) == KEYS
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert not g['changed'] and len(g['gathered']) == 6
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert r['changed'] is False, r['commands']
    # and gathered == what the module itself produces from CONFIG
    sh('ip', '-n', ns, 'neigh', 'flush', 'all')
    for n in ipj(ns, 'neigh', 'show', 'proxy'):
        sh('ip', '-n', ns, 'neigh', 'del', 'proxy', n['dst'], 'dev', n['dev'])
    applied = play({M: {'netns': ns, 'config': CONFIG}})[0]
    assert applied['after'] == g['gathered']


@pytest.mark.parametrize('item, field, text', [
    ({'dev': 'nosuch0', 'dst': '198.18.0.1', 'lladdr': '02:00:00:00:00:01'}, 'dev', "device 'nosuch0' does not exist"),
    ({'dev': 'v0', 'dst': '198.18.0.300', 'lladdr': '02:00:00:00:00:01'}, 'dst', 'not an IP address'),
    ({'dev': 'v0', 'dst': '198.18.0.1'}, 'lladdr', 'lladdr is required'),
    ({'dev': 'v0', 'lladdr': '02:00:00:00:00:01'}, 'dst', 'missing required field'),
    ({'dev': 'v0', 'dst': '198.18.0.1', 'lladdr': '02:00:00:00:00:zz'}, 'lladdr', 'not a link-layer address'),
    ({'dev': 'v0', 'dst': '198.18.0.1', 'lladdr': '02:00:00:00:00:01', 'router': True}, 'router', 'only for IPv6'),
    ({'dev': 'v0', 'dst': '198.18.0.1', 'proxy': True, 'lladdr': '02:00:00:00:00:01'}, 'lladdr', 'proxy entry'),
    ({'dev': 'v0', 'dst': '198.18.0.1', 'proxy': True, 'state': 'noarp'}, 'state', 'proxy entry'),
    ({'dev': 'v0', 'dst': '0.0.0.0', 'lladdr': '02:00:00:00:00:01'}, 'dst', 'cannot be a neighbour'),
    # the kernel cuts a longer address to the device's 6 bytes: never idempotent
    ({'dev': 'v0', 'dst': '198.18.0.1', 'lladdr': '02:00:00:00:00:01:02:03'}, 'lladdr', 'are 6 bytes'),
    # the kernel files a loopback device's neighbours under 0.0.0.0: never found again
    ({'dev': 'lo', 'dst': '198.18.1.250', 'lladdr': '02:00:00:00:00:01'}, 'dev', 'loopback'),
])
def test_bad_input_is_refused_and_kernel_untouched(ns, play, item, field, text):
    before = snapshot(ns)
    # the good item first: nothing may be applied when a later item is bad
    good = {'dev': 'v1', 'dst': '198.18.9.1', 'lladdr': '02:00:00:00:00:91'}
    r = play({M: {'netns': ns, 'config': [good, item]}})[0]
    assert r['failed'] and text in r['msg'] and ("field '%s'" % field) in r['msg'], r['msg']
    assert_no_traceback(r)
    assert snapshot(ns) == before


def test_bad_state_choice_and_duplicates_refused(ns, play):
    r1 = play({M: {'netns': ns, 'config': [{'dev': 'v0', 'dst': '198.18.0.1', 'lladdr': '02:00:00:00:00:01',
                                            'state': 'failed'}]}})[0]
    assert r1['failed'] and 'state' in r1['msg'] and 'permanent' in r1['msg']
    r2 = play({M: {'netns': ns, 'config': [CONFIG[0], dict(CONFIG[0], lladdr='02:00:00:00:00:03')]}})[0]
    assert r2['failed'] and 'duplicate key' in r2['msg'] and 'config[1]' in r2['msg']
    for r in (r1, r2):
        assert_no_traceback(r)
    assert kernel_neigh(ns) == {}


def _without_ipv6_check(ns, params):
    """The module's engine in this process, with the module's own check of IPv6 on an entry's device turned off, so
    that the kernel's refusal of an IPv6 entry on a device with IPv6 disabled comes in the middle of a pipelined
    plan: a real refusal by the kernel, for the tests of the rollback. The run's failed result."""
    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.neighbor import Neighbor

    class Unchecked(Neighbor):
        def _refuse_without_ipv6(self, ctx, obj, off):
            return None

    return refused_in_process(Unchecked(), dict({'netns': ns, 'state': 'merged', 'dev': None}, **params))


def test_transaction_rolls_back(ns):
    """The kernel refuses an IPv6 entry on a device with IPv6 disabled; the earlier entries are undone."""
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    before = snapshot(ns)
    cfg = [{'dev': 'v0', 'dst': '198.18.3.1', 'lladdr': '02:00:00:00:03:01'},
           {'dev': 'v1', 'dst': '198.18.3.2', 'lladdr': '02:00:00:00:03:02'},
           {'dev': 'v1', 'dst': 'fd42:ed6e:3::3', 'lladdr': '02:00:00:00:03:03'}]
    r = _without_ipv6_check(ns, {'config': cfg})
    assert r['failed'] and 'neighbor fd42:ed6e:3::3 dev v1' in r['msg'] and 'errno' in r['msg'], r
    assert 'rolled back the 2 change(s)' in r['msg']
    assert snapshot(ns) == before


def test_rollback_of_a_delete_makes_the_entry_as_it_was(ns):
    """An entry that the plan deleted comes back, in a rollback, as it was: with no protocol when it had none
    (the module writes its own entries with protocol static), and with its protocol when it had one. The kernel's
    refusal of an IPv6 entry on a device with IPv6 disabled names the field (dev) and says why."""
    sh('ip', '-n', ns, 'neigh', 'add', '198.18.31.50', 'lladdr', '02:00:00:00:00:50', 'dev', 'v0')
    sh('ip', '-n', ns, 'neigh', 'add', '198.18.31.51', 'lladdr', '02:00:00:00:00:51', 'dev', 'v0', 'protocol', 'zebra')
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    before = snapshot(ns)
    cfg = [{'dev': 'v0', 'dst': '198.18.31.1', 'lladdr': '02:00:00:00:00:01'},
           {'dev': 'v1', 'dst': 'fd42:ed6e:3::41', 'lladdr': '02:00:00:00:00:41'}]
    r = _without_ipv6_check(ns, {'state': 'overridden', 'config': cfg})
    assert r['failed'] and 'rolled back the 3 change(s)' in r['msg'], r
    assert "field 'dev'" in r['msg'] and 'IPv6 is disabled' in r['msg'], r['msg']
    entries = kernel_neigh(ns)
    assert 'protocol' not in entries[('v0', '198.18.31.50', False)], entries
    assert entries[('v0', '198.18.31.51', False)].get('protocol') == 'zebra', entries
    assert snapshot(ns) == before
    assert not [c for c in r['rolled_back'] if '198.18.31.50' in c and 'protocol' in c], r['rolled_back']
    assert [c for c in r['rolled_back'] if '198.18.31.51' in c and 'protocol zebra' in c], r['rolled_back']


def test_rollback_of_a_change_restores_an_entry_without_protocol(ns):
    """The rollback of a change of an entry that had no protocol (``ip neigh add`` without one, or a daemon's
    extern_learn entry) left it with the ``protocol static`` of the change: the undo was a replace without
    NDA_PROTOCOL, and the kernel keeps an entry's protocol unless a request carries a non-zero one (a replace with
    NDA_PROTOCOL 0 keeps it too). The undo of such a change is now a delete and an add without protocol: the entry
    is as `ip neigh show` showed it before, and rolled_back says both steps."""
    sh('ip', '-n', ns, 'neigh', 'add', '198.18.32.60', 'lladdr', '02:00:00:00:00:60', 'dev', 'v0')
    sh('ip', '-n', ns, 'neigh', 'add', '198.18.32.61', 'lladdr', '02:00:00:00:00:61', 'dev', 'v0', 'protocol', 'zebra')
    sh('ip', '-n', ns, 'neigh', 'add', '198.18.32.62', 'lladdr', '02:00:00:00:00:62', 'dev', 'v0', 'nud', 'noarp',
       'extern_learn')
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    before = snapshot(ns)
    shown = dict((n['dst'], n) for n in ipj(ns, 'neigh', 'show', 'dev', 'v0') if n['dst'].startswith('198.18.32.'))
    assert 'protocol' not in shown['198.18.32.60'] and 'protocol' not in shown['198.18.32.62'], shown
    cfg = [{'dev': 'v0', 'dst': '198.18.32.60', 'lladdr': '02:00:00:00:00:6a'},
           {'dev': 'v0', 'dst': '198.18.32.61', 'lladdr': '02:00:00:00:00:6b'},
           {'dev': 'v0', 'dst': '198.18.32.62', 'lladdr': '02:00:00:00:00:6c', 'state': 'noarp'},
           {'dev': 'v1', 'dst': 'fd42:ed6e:3::42', 'lladdr': '02:00:00:00:00:42'}]
    r = _without_ipv6_check(ns, {'config': cfg})
    shown_after = dict((n['dst'], n) for n in ipj(ns, 'neigh', 'show', 'dev', 'v0')
                       if n['dst'].startswith('198.18.32.'))
    assert shown_after == shown, (shown_after, shown)
    assert snapshot(ns) == before
    assert r['failed'] and 'rolled back the 3 change(s)' in r['msg'] and 'in 5 command(s)' in r['msg'], r['msg']
    assert r['rollback_failed'] == [], r
    p = 'ip -n %s neigh ' % ns
    assert r['rolled_back'] == [
        p + 'del 198.18.32.62 dev v0',
        p + 'replace 198.18.32.62 lladdr 02:00:00:00:00:62 dev v0 nud noarp extern_learn',
        p + 'replace 198.18.32.61 lladdr 02:00:00:00:00:61 dev v0 nud permanent protocol zebra',
        p + 'del 198.18.32.60 dev v0',
        p + 'replace 198.18.32.60 lladdr 02:00:00:00:00:60 dev v0 nud permanent'], r['rolled_back']


def test_ipv6_entries_on_a_device_without_ipv6_are_refused_first(ns, play):
    """The kernel refuses an IPv6 entry on a device with IPv6 disabled (disable_ipv6, set in the task's namespace),
    and an IPv6 entry or proxy entry on one without IPv6 at all (an MTU below 1280 removes it). Check mode predicted
    such an entry as a success, and the real run failed in the kernel and rolled back. The real run now refuses it
    before anything is sent, naming the entry and dev. Check mode, which runs no earlier task of the play, warns
    with the same words that its prediction assumes an earlier task sets disable_ipv6 to 0 or raises the MTU, and
    predicts the entry made, as it does for a device an earlier task makes (it refused it, so the --check of a play
    whose earlier task gives the device IPv6 failed where the real play succeeds). A proxy entry on a device with
    IPv6 disabled, which the kernel takes, is made."""
    without_ipv6(ns)
    # (iproute2 prints the addrgenmode of a device's IPv6 part: v2 has none)
    assert [('inet6_addr_gen_mode' in ipj(ns, '-d', 'link', 'show', d)[0]) for d in ('v1', 'v2')] == [True, False]
    before = snapshot(ns)
    good = {'dev': 'v0', 'dst': '198.18.4.1', 'lladdr': '02:00:00:00:04:01'}
    mtu = 'v2 has no IPv6 (the kernel removes it from a device whose MTU is below 1280; this one has 1000); the ' \
          'kernel refuses an IPv6 %s on it'
    raise_mtu = 'raises the MTU of v2 to 1280 or more'
    for items, label, why, assumed in (
            ([{'dev': 'v1', 'dst': 'fd42:ed6e:4::1', 'lladdr': '02:00:00:00:04:02'},
              {'dev': 'v1', 'dst': 'fd42:ed6e:4::4', 'lladdr': '02:00:00:00:04:06'}], 'neighbor fd42:ed6e:4::1 dev v1',
             'v1 has IPv6 disabled (net.ipv6.conf.v1.disable_ipv6 = 1); the kernel refuses an IPv6 neighbour entry '
             'on it (IPv6 is disabled on this device)', 'sets net.ipv6.conf.v1.disable_ipv6 = 0'),
            ([{'dev': 'v2', 'dst': 'fd42:ed6e:4::2', 'lladdr': '02:00:00:00:04:03'}], 'neighbor fd42:ed6e:4::2 dev v2',
             mtu % 'neighbour entry' + ' (IPv6 is disabled on this device)', raise_mtu),
            ([{'dev': 'v2', 'dst': 'fd42:ed6e:4::3', 'proxy': True}], 'neighbor proxy fd42:ed6e:4::3 dev v2',
             mtu % 'proxy entry' + ' (it cannot join the solicited-node multicast group)', raise_mtu)):
        task = {M: {'netns': ns, 'config': [good] + items}}
        check, real = play(task, check=True)[0], play(task)[0]
        for r in (check, real):
            assert_no_traceback(r)
        assert real.get('failed') and real['object'] == label and real['field'] == 'dev', real
        assert real['msg'] == "%s: field 'dev': %s" % (label, why), real['msg']
        assert 'rolled back' not in real['msg'] and not real.get('rolled_back'), real['msg']
        assert not check.get('failed') and check['changed'], check
        # (once per device: not for the second entry on v1)
        assert check['warnings'] == ['check mode: %s; this prediction assumes an earlier task of the play %s'
                                     % (real['msg'], assumed)], check
        assert len(check['commands']) == 1 + len(items), check
        assert snapshot(ns) == before
    # IPv4 entries on either, and a proxy entry on the device with IPv6 disabled, are the kernel's to take
    cfg = [{'dev': 'v1', 'dst': 'fd42:ed6e:4::5', 'proxy': True},
           {'dev': 'v2', 'dst': '198.18.4.2', 'lladdr': '02:00:00:00:04:04'},
           {'dev': 'v1', 'dst': '198.18.4.3', 'lladdr': '02:00:00:00:04:05'}]
    first, _again, _check = apply_then_unchanged(play, {M: {'netns': ns, 'config': cfg}})
    assert not first.get('warnings'), first
    assert set(kernel_neigh(ns)) - set(k for k, _v in before) == {
        ('v1', 'fd42:ed6e:4::5', True), ('v2', '198.18.4.2', False), ('v1', '198.18.4.3', False)}, first


def test_check_mode_assumes_an_earlier_task_gives_the_device_ipv6(ns, play):
    """A play that gives devices IPv6 (sets disable_ipv6 to 0 on one, raises the MTU of another with the link
    module) and then adds IPv6 entries on them: check mode, where those tasks changed nothing, warns and predicts
    what the real run then makes (it failed: the --check of the play failed where the play succeeds)."""
    without_ipv6(ns)
    cfg = [{'dev': 'v1', 'dst': 'fd42:ed6e:4::11', 'lladdr': '02:00:00:00:04:11'},
           {'dev': 'v2', 'dst': 'fd42:ed6e:4::12', 'proxy': True}]
    check_assumes_ipv6_then_real(play, ns, {M: {'netns': ns, 'config': cfg}}, lambda: snapshot(ns))
    got = kernel_neigh(ns)
    assert got[('v1', 'fd42:ed6e:4::11', False)]['lladdr'] == '02:00:00:00:04:11' and ('v2', 'fd42:ed6e:4::12', True) \
        in got, got


def test_check_mode_assumes_a_device_an_earlier_task_makes(ns, play):
    """A device that does not exist: check mode plans as if an earlier task of the play made it, and warns that
    it assumes so, as address, route, bridge_fdb and bridge_port do (the link task that would make it changes
    nothing in check mode). With that link task the real run makes the entry as predicted; without it the real
    run fails naming the device and changes nothing, which the check-mode warning said it would."""
    entry = {'dev': 'v9', 'dst': '198.18.0.12', 'lladdr': '02:00:00:00:00:12'}
    link = {'ifname': 'v9', 'kind': 'veth', 'veth': {'peer': 'v8'}, 'state': 'up'}
    tasks = [{'edgenet.linux.link': {'netns': ns, 'config': [link]}}, {M: {'netns': ns, 'config': [entry]}}]

    def state():
        return snapshot(ns), sorted(l['ifname'] for l in ipj(ns, 'link', 'show'))

    check, real = check_assumes_then_real(play, tasks, state, "device(s) v9 do not exist in network namespace '%s'"
                                          % ns)
    assert check['commands'] == real['commands'] == [
        'ip -n %s neigh replace 198.18.0.12 lladdr 02:00:00:00:00:12 dev v9 nud permanent protocol static' % ns]
    assert check['after'] == real['after']
    got = kernel_neigh(ns)[('v9', '198.18.0.12', False)]
    assert got['lladdr'] == '02:00:00:00:00:12' and 'PERMANENT' in got['state'], got
    # no task makes the device: the same warning in check mode, and the real run fails naming it
    task = {M: {'netns': ns, 'config': [dict(entry, dev='nope')]}}
    before = state()
    check, real = play(task, check=True)[0], play(task)[0]
    for r in (check, real):
        assert_no_traceback(r)
    assert check['changed'] and any("device(s) nope do not exist" in w and 'the real run fails' in w
                                    for w in check.get('warnings', [])), check
    assert real['failed'] and "device 'nope' does not exist" in real['msg'] and real['field'] == 'dev', real
    assert real['object'] == 'neighbor 198.18.0.12 dev nope'
    assert state() == before


def test_a_change_keeps_extern_learn(ns, play):
    """An entry a routing daemon learned from elsewhere carries NTF_EXT_LEARNED (``extern_learn``). A change is a
    replace, and a replace without the flag cleared it (the kernel then treats the entry as its own), while check
    mode showed only the change asked for. The flag is now kept, in the request and the command (pasted, it keeps
    it), and through a rollback."""
    sh('ip', '-n', ns, 'neigh', 'add', '198.18.9.5', 'lladdr', '02:00:00:00:09:05', 'dev', 'v0', 'nud', 'permanent',
       'extern_learn')

    def flags():
        return [(n['lladdr'], 'extern_learn' in n) for n in ipj(ns, 'neigh', 'show', '198.18.9.5')]  # (a key, no value)
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'dst': '198.18.9.5', 'lladdr': '02:00:00:00:09:55'}]}}
    check = play(task, check=True)[0]
    first, again = play([task, task])
    for r in (check, first, again):
        assert_no_traceback(r)
    assert check['commands'] == first['commands'] == [
        'ip -n %s neigh replace 198.18.9.5 lladdr 02:00:00:00:09:55 dev v0 nud permanent extern_learn protocol static'
        % ns], first['commands']
    assert not again['changed'] and 'extern_learn' not in diff_side(first, 'after')
    assert flags() == [('02:00:00:00:09:55', True)]
    # a refusal later in the batch: the rollback puts the entry back as it was, flag and all
    bad = [{'dev': 'v0', 'dst': '198.18.9.5', 'lladdr': '02:00:00:00:09:66'},
           {'dev': 'v0', 'dst': 'fd42:ed6e:9::5', 'lladdr': '02:00:00:00:09:07'}]
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v0.disable_ipv6=1')
    r = _without_ipv6_check(ns, {'config': bad})
    assert r['failed'] and 'rolled back' in r['msg'], r
    assert flags() == [('02:00:00:00:09:55', True)]


def test_a_daemons_dynamic_entry_is_shown_and_keeps_extern_learn(ns, play):
    """A reachable entry a routing daemon learned (extern_learn, no protocol) is the daemon's, not the kernel's: it is
    shown, and a change keeps its flag. It used to be passed over as learned by the kernel (before: none), and the
    change was sent without the flag, which cleared it."""
    sh('ip', '-n', ns, 'neigh', 'replace', '198.18.0.21', 'lladdr', '02:00:00:00:00:21', 'dev', 'v0', 'nud',
       'reachable', 'extern_learn')
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'dst': '198.18.0.21', 'lladdr': '02:00:00:00:00:23',
                                         'state': 'stale'}]}}
    check = play(task, check=True)[0]
    first, again = play([task, task])
    for r in (check, first, again):
        assert_no_traceback(r)
    assert [b['lladdr'] for b in check['before']] == ['02:00:00:00:00:21'], check
    assert check['commands'] == first['commands'] and first['commands'][0].endswith('extern_learn protocol static')
    assert not again['changed'], again
    entry = ipj(ns, 'neigh', 'show', '198.18.0.21')
    assert [(n['lladdr'], 'extern_learn' in n) for n in entry] == [('02:00:00:00:00:23', True)], entry


def test_devices_without_neighbour_entries_of_their_own(ns, play):
    """A tun device has no link-layer address: IPv6 drops the lladdr of its entries. IPv4 files every neighbour of a
    point-to-point device under 0.0.0.0, as on a loopback device. An entry for either was written anew on every run
    (never found again as written); it is now refused before anything is sent, naming the device."""
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun')
    sh('ip', '-n', ns, 'link', 'set', 'tun0', 'up')
    before = snapshot(ns)
    for dst in ('fd42:ed6e:2::3', '198.18.2.3'):
        task = {M: {'netns': ns, 'config': [{'dev': 'tun0', 'dst': dst, 'lladdr': '02:00:00:00:00:09'}]}}
        for r in (play(task, check=True)[0], play(task)[0]):
            assert_no_traceback(r)
            assert r.get('failed') and r['field'] == 'dev' and 'tun0' in r['object'], r
            assert 'no neighbour entries of its own' in r['msg'], r
    assert snapshot(ns) == before


def test_what_the_kernel_makes_on_a_device_with_arp_off_is_not_shown(ns, play):
    """A device with ARP off: the kernel makes a noarp entry with the device's own address for every address used on
    it. Those are the kernel's: not gathered, and overridden leaves them (it deleted them, traffic made them again,
    and every run changed). An entry of the module's own on that device is shown and managed."""
    sh('ip', '-n', ns, 'link', 'set', 'v1', 'arp', 'off')
    sh('ip', '-n', ns, 'addr', 'add', '198.18.1.1/24', 'dev', 'v1')
    sh('ip', 'netns', 'exec', ns, 'ping', '-c1', '-W1', '198.18.1.50', check=False)  # (no answer: none is needed)
    made = [n for n in ipj(ns, 'neigh', 'show', 'dev', 'v1', 'nud', 'all') if n['dst'] == '198.18.1.50']
    assert made and made[0]['state'] == ['NOARP'], made
    mine = {'dev': 'v1', 'dst': '198.18.1.60', 'lladdr': '02:00:00:00:01:60', 'state': 'noarp'}
    apply_then_unchanged(play, {M: {'netns': ns, 'config': [mine]}})
    gathered = play({M: {'netns': ns, 'state': 'gathered', 'dev': 'v1'}})[0]['gathered']
    assert [g['dst'] for g in gathered] == ['198.18.1.60'], gathered
    r = play({M: {'netns': ns, 'state': 'overridden', 'dev': 'v1', 'config': [mine]}})[0]
    assert_no_traceback(r)
    assert not r['changed'], r
    assert [n['dst'] for n in ipj(ns, 'neigh', 'show', 'dev', 'v1', 'nud', 'all') if n['dst'] == '198.18.1.50'] == ['198.18.1.50']


def test_an_element_of_another_device_than_option_dev_is_refused(ns, play):
    """A task scoped to one device (option dev) gathers only that device's entries: an element of another device
    was written on every run (changed each time), never seen again, and its real run's after left it out while
    check mode's showed it. It is refused now, naming dev, in check mode too; nothing is written. The same holds for
    every module with a dev option (the engine checks it)."""
    before = snapshot(ns)
    task = {M: {'netns': ns, 'dev': 'v0', 'config': [
        {'dev': 'v0', 'dst': '198.18.0.8', 'lladdr': '02:00:00:00:00:08'},
        {'dev': 'v1', 'dst': '198.18.1.9', 'lladdr': '02:00:00:00:00:09'}]}}
    for r in play(task, check=True) + play(task):
        assert_no_traceback(r)
        assert r['failed'] and "config[1]: field 'dev'" in r['msg'] and 'option dev' in r['msg'], r['msg']
    assert snapshot(ns) == before
    for module, item in (('edgenet.linux.tc_qdisc', {'dev': 'v1', 'parent': 'root', 'kind': 'fq_codel'}),
                         ('edgenet.linux.tc_class', {'dev': 'v1', 'classid': '1:1', 'parent': '1:', 'kind': 'htb',
                                                     'rate': '1mbit'}),
                         ('edgenet.linux.tc_filter', {'dev': 'v1', 'parent': '1:', 'protocol': 'ip', 'prio': 10,
                                                      'kind': 'u32', 'flowid': '1:10',
                                                      'match': {'dst': '198.18.1.1'}})):
        r, = play({module: {'netns': ns, 'dev': 'v0', 'config': [item]}}, check=True)
        assert_no_traceback(r)
        msg = r.get('msg', '')
        assert r['failed'] and 'config[0]' in msg and "field 'dev'" in msg and 'option dev' in msg, (module, msg)
