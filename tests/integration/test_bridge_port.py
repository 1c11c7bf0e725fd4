# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_port against a real kernel; the oracle is `bridge -j -d link show`."""

import pytest

from conftest import assert_no_traceback, bridgej, check_assumes_then_real, sh

M = 'edgenet.linux.bridge_port'
FLAGS = ('learning', 'flood', 'mcast_flood', 'bcast_flood', 'hairpin', 'isolated', 'neigh_suppress',
         'vlan_tunnel', 'guard', 'root_block', 'locked')


def ports(ns):
    return dict((p['ifname'], p) for p in bridgej(ns, '-d', 'link', 'show'))


def snapshot(ns):
    return sorted((k, repr(v)) for k, v in ports(ns).items())


@pytest.fixture
def ns(netns):
    def ip(*args):
        sh('ip', '-n', netns, *args)
    ip('link', 'add', 'br0', 'type', 'bridge')
    ip('link', 'add', 'br1', 'type', 'bridge')
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    ip('link', 'add', 'v2', 'type', 'veth', 'peer', 'name', 'v3')
    ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'local', '198.18.0.1')
    for dev, br in (('v0', 'br0'), ('vx0', 'br0'), ('v2', 'br1')):
        ip('link', 'set', dev, 'master', br)
    for dev in ('br0', 'br1', 'v0', 'v1', 'v2', 'v3', 'vx0'):
        ip('link', 'set', dev, 'up')
    return netns


CONFIG = [
    {'dev': 'v0', 'learning': False, 'flood': False, 'hairpin': True, 'isolated': True, 'cost': 200,
     'priority': 5, 'guard': True, 'root_block': True, 'mcast_flood': False, 'bcast_flood': False},
    {'dev': 'vx0', 'neigh_suppress': True, 'vlan_tunnel': True, 'locked': True, 'mab': True, 'state': 'disabled'},
]


def test_merged_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    before = snapshot(ns)
    check = play([task], check=True)[0]
    assert snapshot(ns) == before
    apply, again = play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
    assert not apply.get('failed'), apply
    p = ports(ns)
    assert (p['v0']['learning'], p['v0']['flood'], p['v0']['hairpin'], p['v0']['isolated']) == (False, False, True, True)
    assert (p['v0']['cost'], p['v0']['priority'], p['v0']['guard'], p['v0']['root_block']) == (200, 5, True, True)
    assert (p['v0']['mcast_flood'], p['v0']['bcast_flood']) == (False, False)
    assert (p['vx0']['neigh_suppress'], p['vx0']['vlan_tunnel'], p['vx0']['locked']) == (True, True, True)
    assert p['vx0']['state'] == 'disabled'
    assert p['v2']['learning'] is True and p['v2']['isolated'] is False
    assert check['changed'] and 'diff' in check and check['after'] == apply['after']
    assert check['commands'] == apply['commands'] == [
        'bridge -n %s link set dev v0 learning off flood off mcast_flood off bcast_flood off hairpin on isolated on '
        'guard on root_block on cost 200 priority 5' % ns,
        'bridge -n %s link set dev vx0 neigh_suppress on vlan_tunnel on locked on mab on' % ns,
        'bridge -n %s link set dev vx0 state disabled' % ns]  # (the state in a request of its own: see below)
    assert again['changed'] is False and again['commands'] == [] and again['before'] == apply['after']
    assert [o['dev'] for o in apply['after']] == ['v0', 'vx0']  # merged shows the ports it names, not v2
    # iproute2 6.1 does not print mab: the re-gathered after (a fresh dump) is the witness
    assert apply['after'][1]['mab'] is True and apply['after'][0]['mab'] is False


def test_replaced_resets_and_overridden_deleted_touch_nothing(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dev': 'v0', 'isolated': True}]
    check = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'replaced', 'config': cfg}}] * 2)
    assert real['changed'] and check['after'] == real['after'] and not again['changed']
    p = ports(ns)['v0']
    assert p['isolated'] is True and p['learning'] is True and p['hairpin'] is False and p['priority'] == 32
    assert p['cost'] == 200  # volatile: kept unless named
    assert ports(ns)['vx0']['neigh_suppress'] is True  # not named: untouched
    before = snapshot(ns)
    for state in ('overridden', 'deleted'):
        r = play({M: {'netns': ns, 'state': state, 'config': [{'dev': 'v2'}] if state == 'overridden' else []}})[0]
        assert r['changed'] is False and r['commands'] == [], r
    assert snapshot(ns) == before
    g = play({M: {'netns': ns, 'state': 'gathered', 'master': 'br1'}})[0]
    assert [o['dev'] for o in g['gathered']] == ['v2']


def test_a_port_of_another_bridge_than_option_master_is_named_so(ns, play):
    """With option master br1, an element for v0 (a port of br0) was refused as "not a bridge port (enslave it
    first)". It is refused as a port of the other bridge, naming both, and check mode warns the same words."""
    before = snapshot(ns)
    task = {M: {'netns': ns, 'master': 'br1', 'config': [{'dev': 'v0', 'isolated': True}]}}
    check, real = play(task, check=True)[0], play(task)[0]
    assert snapshot(ns) == before
    for r in (check, real):
        assert_no_traceback(r)
    words = "bridge_port v0: field 'dev': 'v0' is a port of bridge 'br0', not of 'br1' (option master"
    assert real.get('failed') and words in real['msg'], real
    assert not check.get('failed') and any(words in w for w in check.get('warnings', [])), check
    assert 'not a bridge port' not in real['msg'] + ''.join(check.get('warnings', []))


def test_deleted_with_config_reports_the_ports_it_matches(ns, play):
    """state=deleted never touches a port; with a config it reported no port at all (before and after empty),
    while without one it reports every port in scope. It reports the ports its config matches, unchanged."""
    play({M: {'netns': ns, 'config': CONFIG}})
    before = snapshot(ns)
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0'}, {'isolated': False}]}}
    check, real = play(task, check=True)[0], play(task)[0]
    gathered = dict((o['dev'], o) for o in play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered'])
    for r in (check, real):
        assert_no_traceback(r)
        assert r['changed'] is False and r['commands'] == [] and 'diff' not in r, r
        # v0 by name; vx0 and v2 are not isolated
        assert r['before'] == r['after'] == [gathered['v0'], gathered['v2'], gathered['vx0']], r
    assert snapshot(ns) == before


def test_gathered_feeds_back_and_rendered_commands_work(ns, play):
    # without mab: iproute2 6.1 (the oracle's version) has no mab keyword
    cfg = [dict((k, v) for k, v in c.items() if k != 'mab') for c in CONFIG]
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': cfg}})[0]
    assert not any('mab' in line for line in r['rendered'])
    for line in r['rendered']:
        sh(*line.split())
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    v0 = [o for o in g['gathered'] if o['dev'] == 'v0'][0]
    assert v0['learning'] is False and v0['cost'] == 200 and v0['hairpin'] is True
    r = play({M: {'netns': ns, 'state': 'replaced', 'config': g['gathered']}})[0]
    assert r['changed'] is False, r['commands']


@pytest.mark.parametrize('item, field, text', [
    ({'dev': 'nosuch0', 'learning': False}, 'dev', "device 'nosuch0' does not exist"),
    ({'dev': 'v1', 'learning': False}, 'dev', 'not a bridge port'),
    ({'dev': 'br0', 'learning': False}, 'dev', 'not a bridge port'),
    ({'dev': 'v0', 'cost': 0}, 'cost', 'out of range'),
    ({'dev': 'v0', 'priority': 64}, 'priority', 'out of range'),
    ({'dev': 'v0', 'mab': True, 'learning': False}, 'mab', 'needs learning'),
    ({'learning': False}, 'dev', 'missing required field'),
    # STP off (the fixture's bridges): the kernel puts a blocking port back to forwarding at once
    ({'dev': 'v0', 'state': 'blocking'}, 'state', 'needs user-space STP'),
    ({'dev': 'v2', 'state': 'learning'}, 'state', 'needs user-space STP'),
])
def test_bad_input_names_the_field(ns, play, item, field, text):
    before = snapshot(ns)
    r = play({M: {'netns': ns, 'config': [item]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and text in r['msg'], r
    assert r.get('field') == field, r
    assert snapshot(ns) == before


def test_kernel_refusal_is_reported_and_rolled_back(ns, play):
    # a port whose link is down: the kernel refuses a state other than disabled (ENETDOWN); the first port's change
    # is undone
    sh('ip', '-n', ns, 'link', 'set', 'v3', 'down')  # (v2's link goes down)
    before = snapshot(ns)
    r = play({M: {'netns': ns, 'config': [{'dev': 'v0', 'isolated': True}, {'dev': 'v2', 'state': 'forwarding'}]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and 'bridge_port v2' in r['msg'] and r.get('field') == 'state', r
    assert 'rolled back the 1 change(s)' in r['msg'], r
    assert snapshot(ns) == before


@pytest.mark.parametrize('item', [{'dev': 'v2', 'state': 'disabled'},
                                  {'dev': 'v2', 'hairpin': True, 'state': 'blocking'}])
def test_a_state_under_kernel_stp_is_refused_before_anything_is_sent(ns, play, item):
    """Kernel STP owns the port states: the kernel refuses any state change then (br_set_port_state: EBUSY). Check
    mode showed the change without a word, and the real run failed in the kernel. Now the real run refuses it before
    anything is sent, naming the field, and check mode warns (an earlier task of the play may turn STP off); a play
    whose link task turns STP off first then does it."""
    sh('ip', '-n', ns, 'link', 'set', 'br1', 'type', 'bridge', 'stp_state', '1')
    before = snapshot(ns)
    task = {M: {'netns': ns, 'config': [item]}}
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert not check.get('failed') and check['changed'], check
    assert any("bridge 'br1' runs kernel STP" in w and 'EBUSY' in w for w in check.get('warnings', [])), check
    r = play(task)[0]
    assert_no_traceback(r)
    assert r.get('failed') and r.get('field') == 'state' and 'bridge_port v2' in r['msg'], r
    assert "bridge 'br1' runs kernel STP" in r['msg'] and not r.get('rolled_back') and not r.get('commands'), r
    assert snapshot(ns) == before
    # a port of a bridge without kernel STP is not held back; nor is the same state on an STP bridge (no change)
    same = {M: {'netns': ns, 'config': [{'dev': 'v2', 'state': ports(ns)['v2']['state']}]}}
    r = play(same)[0]
    assert not r.get('failed') and not r['changed'], r
    if item['state'] == 'disabled':  # (blocking needs user-space STP: stp_state 2)
        off = {'edgenet.linux.link': {'netns': ns, 'config': [{'ifname': 'br1', 'bridge': {'stp_state': False}}]}}
        check_assumes_then_real(play, [off, task], lambda: snapshot(ns), "bridge 'br1' runs kernel STP")
        assert ports(ns)['v2']['state'] == 'disabled'


def test_a_refused_state_leaves_the_options_of_the_same_task_as_they_were(ns, play):
    """The kernel applies a request's options before it refuses its state (EBUSY under kernel STP, ENETDOWN on a port
    that is down): sent together, a refusal left hairpin on and learning off, with nothing rolled back. The state now
    goes in a request of its own, after the options, whose change the rollback undoes."""
    sh('ip', '-n', ns, 'link', 'set', 'v3', 'down')  # (v2's link goes down)
    before = snapshot(ns)
    # (EBUSY under kernel STP is refused before anything is sent: test_a_state_under_kernel_stp_...)
    for item, code in (({'dev': 'v2', 'isolated': True, 'state': 'forwarding'}, 'ENETDOWN'),):
        task = {M: {'netns': ns, 'config': [item]}}
        check = play(task, check=True)[0]
        r = play(task)[0]
        assert_no_traceback(r)
        assert len(check['commands']) == 2 and check['commands'][1].endswith(' state %s' % item['state']), check
        assert r.get('failed') and r.get('field') == 'state' and code in r['msg'], r
        assert 'rolled back the 1 change(s)' in r['msg'] and len(r['rolled_back']) == 1, r
        assert snapshot(ns) == before


def test_mab_needs_a_locked_port_in_check_mode_too(ns, play):
    """The kernel takes MAB only on a locked port ("Bridge port must be locked and have learning enabled when MAB is
    enabled"); check mode had shown the change."""
    before = snapshot(ns)
    for config, field in (([{'dev': 'vx0', 'mab': True}], 'mab'), ([{'dev': 'vx0', 'locked': False}], 'locked')):
        if field == 'locked':  # (iproute2 6.1 has no mab word: the module sets it)
            assert not play({M: {'netns': ns, 'config': [{'dev': 'vx0', 'locked': True, 'mab': True}]}})[0].get('failed')
            before = snapshot(ns)
        task = {M: {'netns': ns, 'config': config}}
        for r in play(task, check=True) + play(task):
            assert_no_traceback(r)
            assert r['failed'] and 'needs a locked port' in r['msg'] and r.get('field') == field, r
        assert snapshot(ns) == before


def test_check_mode_assumes_a_port_an_earlier_task_makes(ns, play):
    """A play that enslaves v1 with the link module, then sets its port flags: check mode (where the link task
    changed nothing) warns and predicts; the real run makes both, as predicted."""
    tasks = [{'edgenet.linux.link': {'netns': ns, 'config': [{'ifname': 'v1', 'master': 'br0'}]}},
             {M: {'netns': ns, 'config': [{'dev': 'v1', 'learning': False}]}}]
    check, real = check_assumes_then_real(play, tasks, lambda: snapshot(ns), "'v1' is not a bridge port (enslave it first")
    assert ports(ns)['v1']['learning'] is False
    assert [o['learning'] for o in real['after']] == [o['learning'] for o in check['after']] == [False]
