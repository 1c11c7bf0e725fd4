# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The link resource's pure planning parts: what a change sends for what it drops, the one destination of a
vxlan, the lower device of a macvlan on a macvlan, and the fields the kernel cannot change in place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources.link import Link

VX = {'ifname': 'vx1', 'kind': 'vxlan', 'state': 'down', 'mtu': 1450, 'txqlen': 1000,
      'vxlan': {'id': 100, 'local': '198.18.0.1', 'remote': '198.18.0.2', 'dev': 'v0', 'dstport': 4789,
                'learning': True, 'external': False}}


def vx(**nested):
    return dict(VX, vxlan=dict((k, v) for k, v in dict(VX['vxlan'], **nested).items() if v is not None))


def ctx(**params):
    return Context(dict({'state': 'merged', 'recreate': False, 'netns': None}, **params))


@pytest.mark.parametrize('before, after, sent', [
    (vx(), vx(local=None, remote=None), {'local': '0.0.0.0', 'remote': '0.0.0.0'}),
    (vx(local='fd42:ed6e::1', remote='fd42:ed6e::2'), vx(local=None, remote=None), {'local': '::', 'remote': '::'}),
    (vx(remote=None, group='239.1.1.1'), vx(remote=None), {'remote': '0.0.0.0'}),
    (vx(), vx(remote=None, group='239.1.1.1'), {'group': '239.1.1.1'}),
    (vx(), vx(), {}),
])
def test_a_change_clears_the_vxlan_addresses_it_drops(before, after, sent):
    assert Link._kind_changes(after, before) == sent


def test_render_of_a_cleared_destination_is_pasteable():
    op = Op('change', vx(), vx(local=None, remote=None))
    assert Link().render(ctx(), op) == ['ip link set vx1 type vxlan local 0.0.0.0 remote 0.0.0.0']


@pytest.mark.parametrize('top, left', [({'group': '239.1.1.1'}, {'group': '239.1.1.1'}),
                                       ({'remote': '198.18.0.9'}, {'remote': '198.18.0.9'})])
def test_merged_destination_replaces_the_other(top, left):
    base = vx(remote=None, group='239.1.1.9') if 'remote' in top else vx()
    out = Link().overlay(base, {'ifname': 'vx1', 'vxlan': top})
    assert dict((k, v) for k, v in out['vxlan'].items() if k in ('remote', 'group')) == left


def test_a_change_with_no_command_is_refused():
    res = Link()
    res._unsendable(ctx(), Op('change', vx(), vx(local=None)))  # sent: the zero address
    with pytest.raises(EdgenetError) as e:  # a difference no command makes: refused, not reported as done
        res._unsendable(ctx(), Op('change', vx(), dict(vx(), ghost=1)))
    assert e.value.field == 'ghost' and 'cannot be made in place' in e.value.msg


@pytest.mark.parametrize('have, target, field', [
    (vx(), vx(remote='fd42:ed6e::2', local='fd42:ed6e::1'), 'vxlan.local'),
    (dict(VX, kind='macvlan', vxlan=None, macvlan={'link': 'v0', 'mode': 'bridge'}),
     dict(VX, kind='macvlan', vxlan=None, macvlan={'link': 'v0', 'mode': 'passthru'}), 'macvlan.mode'),
])
def test_fields_the_kernel_cannot_change_in_place(have, target, field):
    with pytest.raises(EdgenetError) as e:
        Link().plan_change(have, target, ctx())
    assert e.value.field == field and 'recreate' in e.value.msg
    ops = Link().plan_change(have, target, ctx(recreate=True))
    assert [op.action for op in ops] == ['delete', 'add']


def test_a_macvlan_on_a_macvlan_is_on_its_lower_device():
    res = Link()
    res._want = {'mv0': {'ifname': 'mv0', 'kind': 'macvlan', 'macvlan': {'link': 'v0'}}}
    res._have = {'v0': {'ifname': 'v0', 'kind': 'veth'}}
    mv1 = {'ifname': 'mv1', 'kind': 'macvlan', 'macvlan': {'link': 'mv0', 'mode': 'vepa'}}
    assert res._real_lower(mv1)['macvlan'] == {'link': 'v0', 'mode': 'vepa'}
    assert res._real_lower(dict(mv1, macvlan={'link': 'v0'})) == dict(mv1, macvlan={'link': 'v0'})


# -- the MAC addresses of bonds and their ports (the kernel's side: tests/integration/test_link_bond_uml.py) --------
def _bond(name, mode='balance-rr', mac='02:00:00:00:0b:00', **fields):
    return dict({'ifname': name, 'kind': 'bond', 'mtu': 1500, 'address': mac, 'state': 'up', 'txqlen': 1000,
                 'bond': {'mode': mode, 'miimon': 0, 'lacp_rate': 'slow', 'xmit_hash_policy': 'layer2'}}, **fields)


def _dummy(name, mac, **fields):
    return dict({'ifname': name, 'kind': 'dummy', 'mtu': 1500, 'address': mac, 'state': 'down', 'txqlen': 1000},
                **fields)


def _port(name, bond, mac, **fields):
    return _dummy(name, mac, master=bond, state='up', **fields)


def _planned(monkeypatch, have, config, state='merged', perm=None, fom=None, active=None, recreate=False):
    """(plan, {ifname: predicted object}, context) of a task on the gathered ``have`` (no kernel)."""
    from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import Engine

    monkeypatch.setattr(_kconfig, 'refuse', lambda *a, **k: None)  # (the host kernel has no bonding)
    res = Link()
    c = ctx(state=state, config=config, recreate=recreate)
    eng = Engine(res, c)
    want = eng.normalize_config(config)
    res._have = dict((o['ifname'], o) for o in have)
    res._perm, res._fom, res._active = perm or {}, fom or {}, active or {}
    plan = eng.plan(state, want, have)
    after = eng.simulate(have, plan, ordered=False)
    res.validate(c, plan, after)
    return plan, dict((o['ifname'], o) for o in after), c, res


def test_a_port_moved_to_another_bond_joins_it_with_its_own_mac_and_mtu(monkeypatch):
    """Out of one bond (its own address and MTU back) and into another, which gives it its address and MTU: the join
    sends neither, and the rollback of the release only makes the port join the first bond again."""
    have = [_bond('a0', mtu=9000), _bond('b0', mac='02:00:00:00:0c:00', mtu=4000),
            _port('d0', 'a0', '02:00:00:00:0b:00', mtu=9000), _port('d1', 'a0', '02:00:00:00:0b:00', mtu=9000),
            _port('d2', 'b0', '02:00:00:00:0c:00', mtu=4000)]
    plan, after, c, res = _planned(monkeypatch, have, [{'ifname': 'd1', 'master': 'b0'}],
                                   perm={'d0': '02:00:00:00:0a:00', 'd1': '02:00:00:00:0a:01'})
    lines = [line for op in plan for line in res.render(c, op)]
    assert lines == ['ip link set d1 nomaster down', 'ip link set d1 master b0'], lines
    assert (after['d1']['address'], after['d1']['mtu'], after['d1']['state']) == ('02:00:00:00:0c:00', 4000, 'up')
    assert res.render(c, plan[0].inverse()) == ['ip link set d1 master a0']
    assert res.render(c, plan[1].inverse()) == ['ip link set d1 nomaster down']


def test_a_port_of_a_deleted_bond_that_joins_another_gets_that_ones_mac(monkeypatch):
    have = [_bond('a0'), _bond('b0', mac='02:00:00:00:0c:00'), _port('d0', 'a0', '02:00:00:00:0b:00')]
    config = [_bond('b0', mac='02:00:00:00:0c:00'), {'ifname': 'd0', 'kind': 'dummy', 'master': 'b0'}]
    plan, after, c, res = _planned(monkeypatch, have, config, state='overridden', perm={'d0': '02:00:00:00:0a:00'})
    lines = [line for op in plan for line in res.render(c, op)]
    assert lines == ['ip link set d0 nomaster down', 'ip link del a0', 'ip link set d0 master b0'], lines
    assert after['d0']['address'] == '02:00:00:00:0c:00' and 'a0' not in after


def test_the_last_port_out_leaves_a_random_address_and_the_first_one_in_gives_its_own(monkeypatch):
    """A bond whose address the task does not give gets a random one (unknown) as its last port leaves, and the
    first port to join a bond with a random address gives it its own."""
    have = [_bond('a0'), _port('d0', 'a0', '02:00:00:00:0b:00'), _dummy('d1', '02:00:00:00:0a:01'),
            _bond('b0', mac='02:00:00:00:0e:0e')]
    config = [{'ifname': 'd0', 'kind': 'dummy'},
              {'ifname': 'd1', 'kind': 'dummy', 'master': 'b0', 'address': '02:00:00:00:0a:01'}]
    plan, after, _c, _res = _planned(monkeypatch, have, config, state='replaced', perm={'d0': '02:00:00:00:0a:00'})
    assert 'address' not in after['a0'] and after['d0']['address'] == '02:00:00:00:0a:00'
    assert after['b0']['address'] == after['d1']['address'] == '02:00:00:00:0a:01'


def test_a_port_given_an_address_the_bond_does_not_give_it_is_refused(monkeypatch):
    have = [_bond('a0'), _port('d0', 'a0', '02:00:00:00:0b:00'), _dummy('d1', '02:00:00:00:0a:01')]
    for config in ([{'ifname': 'd1', 'master': 'a0', 'address': '02:00:00:00:0a:01'}],
                   [{'ifname': 'd0', 'address': '02:00:00:00:0a:00'}]):  # (the kernel would take it, until ...)
        with pytest.raises(EdgenetError) as e:
            _planned(monkeypatch, have, config)
        assert e.value.field == 'address' and 'a0' in e.value.msg and '02:00:00:00:0b:00' in e.value.msg, e.value
    _planned(monkeypatch, have, [{'ifname': 'd1', 'master': 'a0', 'address': '02:00:00:00:0b:00'}])
    plan, _after, _c, _res = _planned(monkeypatch, have, [{'ifname': 'd0', 'address': '02:00:00:00:0a:00'}],
                                      state='deleted')  # (a selector that matches nothing)
    assert plan == []


def test_the_active_port_of_a_balance_alb_bond_gets_its_address_and_the_others_keep_theirs(monkeypatch):
    """When the active port leaves, the only other one becomes active and gets the bond's address; of several others,
    which one does is not known (left out, as a random address)."""
    mode = 'balance-alb'
    have = [_bond('a0', mode), _port('d0', 'a0', '02:00:00:00:0b:00'), _port('d1', 'a0', '02:00:00:00:0a:01'),
            _port('d2', 'a0', '02:00:00:00:0a:02')]
    perm = {'d0': '02:00:00:00:0a:00', 'd1': '02:00:00:00:0a:01', 'd2': '02:00:00:00:0a:02'}
    _plan, after, _c, _res = _planned(monkeypatch, have, [{'ifname': 'd0', 'kind': 'dummy'}], state='replaced',
                                      perm=perm, active={'a0': 'd0'})
    assert after['d0']['address'] == '02:00:00:00:0a:00' and 'address' not in after['d1'] and \
        'address' not in after['d2']
    _plan, after, _c, _res = _planned(monkeypatch, have[:3], [{'ifname': 'd0', 'kind': 'dummy'}], state='replaced',
                                      perm=perm, active={'a0': 'd0'})
    assert after['d1']['address'] == '02:00:00:00:0b:00'
    _planned(monkeypatch, have, [{'ifname': 'd1', 'address': '02:00:00:00:0a:11'}], perm=perm, active={'a0': 'd0'})
    with pytest.raises(EdgenetError) as e:
        _planned(monkeypatch, have, [{'ifname': 'd0', 'address': '02:00:00:00:0a:00'}], perm=perm,
                 active={'a0': 'd0'})
    assert e.value.field == 'address' and 'active port' in e.value.msg


def test_a_new_address_of_an_active_backup_bond_with_fail_over_mac_is_refused(monkeypatch):
    have = [_bond('a0', 'active-backup')]
    with pytest.raises(EdgenetError) as e:
        _planned(monkeypatch, have, [{'ifname': 'a0', 'address': '02:00:00:00:0b:01'}], fom={'a0': 'follow'})
    assert e.value.field == 'address' and 'fail_over_mac follow' in e.value.msg
    _planned(monkeypatch, have, [{'ifname': 'a0', 'address': '02:00:00:00:0b:01'}])


def test_a_port_given_state_down_is_set_down_after_it_joins(monkeypatch):
    """The bond opens a device as it joins (bond_enslave), after the state of the same request: a port given state
    down is set down by a step after the join (a device that is up, down before it too: the bond refuses it up), so
    the second run changes nothing. The kernel's side: tests/integration/test_link_bond_uml.py."""
    have = [_bond('a0', 'active-backup'), _dummy('d1', '02:00:00:00:0a:01', state='up')]
    config = [{'ifname': 'd0', 'kind': 'dummy', 'master': 'a0', 'state': 'down'},
              {'ifname': 'd1', 'kind': 'dummy', 'master': 'a0', 'state': 'down'}]
    plan, after, c, res = _planned(monkeypatch, have, config)
    lines = [line for op in plan for line in res.render(c, op)]
    assert lines == ['ip link add d0 master a0 type dummy', 'ip link set d0 down', 'ip link set d1 down',
                     'ip link set d1 master a0', 'ip link set d1 down'], lines
    assert (after['d0']['state'], after['d1']['state']) == ('down', 'down'), after
    assert [res.render(c, op.inverse()) for op in plan[-2:]] == [['ip link set d1 nomaster'], ['ip link set d1 up']]
    done = [_bond('a0', 'active-backup'), _dummy('d0', '02:00:00:00:0b:00', master='a0'),
            _dummy('d1', '02:00:00:00:0b:00', master='a0')]
    for state in ('merged', 'replaced'):
        plan, _after, _c, _res = _planned(monkeypatch, done, config, state=state, perm={'d1': '02:00:00:00:0a:01'})
        assert plan == [], plan
    # a recreated bond takes its ports back and opens them: set down again
    config = [{'ifname': 'a0', 'kind': 'bond', 'bond': {'mode': 'balance-rr'}, 'address': '02:00:00:00:0b:00',
               'state': 'up'}, {'ifname': 'd1', 'state': 'down'}]
    plan, after, c, res = _planned(monkeypatch, done, config, recreate=True)
    lines = [line for op in plan for line in res.render(c, op)]
    assert lines[-2:] == ['ip link set d1 master a0', 'ip link set d1 down'], lines
    assert (after['d0']['state'], after['d1']['state']) == ('up', 'down'), after
    # (a vrf does not open its ports: nothing more after the rejoin)
    vrf = {'ifname': 'v0', 'kind': 'vrf', 'mtu': 65575, 'address': '02:00:00:00:0c:00', 'state': 'up', 'txqlen': 1000,
           'vrf': {'table': 10}}
    have = [vrf, _dummy('d0', '02:00:00:00:0a:00', master='v0')]
    config = [dict(vrf, vrf={'table': 20}), {'ifname': 'd0', 'state': 'down'}]
    plan, after, c, res = _planned(monkeypatch, have, config, recreate=True)
    lines = [line for op in plan for line in res.render(c, op)]
    assert lines[-1] == 'ip link set d0 master v0' and after['d0']['state'] == 'down', lines


def test_a_port_given_state_down_in_a_bond_that_moves_its_active_port_is_refused(monkeypatch):
    """A port that is down is a failed link to a bond that monitors links: in modes balance-tlb and balance-alb (and
    active-backup with fail_over_mac) the bond then makes another port active and moves MAC addresses."""
    have = [_bond('a0', 'balance-alb', bond={'mode': 'balance-alb', 'miimon': 100, 'lacp_rate': 'slow',
                                             'xmit_hash_policy': 'layer2'})]
    with pytest.raises(EdgenetError) as e:
        _planned(monkeypatch, have, [{'ifname': 'd0', 'kind': 'dummy', 'master': 'a0', 'state': 'down'}])
    assert e.value.field == 'state' and 'miimon 100' in e.value.msg and 'balance-alb' in e.value.msg, e.value
    _planned(monkeypatch, [_bond('a0', 'balance-alb')], [{'ifname': 'd0', 'kind': 'dummy', 'master': 'a0',
                                                          'state': 'down'}])
