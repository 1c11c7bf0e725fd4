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
