# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How tc_filter plans a change of a filter, on in-memory objects (no kernel): a replace where the kernel takes one,
a delete and an add where it refuses a replace (the kernel's side: tests/integration/test_tc_filter_uml.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter

FLOWER = {'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 1, 'handle': '0x1', 'kind': 'flower',
          'actions': [{'kind': 'gact', 'action': 'drop'}]}


def _verbs(have, target):
    return [op.action for op in TcFilter().plan_change(have, target, None)]


@pytest.mark.parametrize('old,new', [
    ({'dst': '198.18.1.0/24'}, {'dst': '198.18.1.0/25'}),  # a prefix length
    ({'dst': '198.18.1.0/24'}, {'dst': '198.18.1.0/24', 'ip_proto': 'udp'}),  # a key more
    ({'dscp': 46, 'dst': '198.18.1.0/24', 'ip_proto': 'sctp', 'sport': 7}, {'dst': '198.18.1.0/24'}),  # keys fewer
    ({'dscp': 46}, {'tos': '0xb8/0xff'}),  # the TOS mask
    ({'src': '198.18.1.0/24'}, {'dst': '198.18.1.0/24'}),  # another key
])
def test_a_flower_mask_change_is_a_delete_and_an_add(old, new):
    """flower refuses a replace that changes the filter's mask (fl_check_assign_mask: EINVAL)."""
    assert _verbs(dict(FLOWER, match=old), dict(FLOWER, match=new)) == ['delete', 'add']


@pytest.mark.parametrize('old,new', [
    ({'dst': '198.18.1.0/24'}, {'dst': '198.18.2.0/24'}),  # a value under the same mask
    ({'ip_proto': 'tcp', 'dport': 22}, {'ip_proto': 'udp', 'dport': 53}),  # tcp and udp ports are one key
    ({'dscp': 46}, {'tos': '0x10/0xfc'}),  # dscp is the TOS under 0xfc
])
def test_a_flower_value_change_is_a_replace(old, new):
    assert _verbs(dict(FLOWER, match=old), dict(FLOWER, match=new)) == ['change']
    assert _verbs(dict(FLOWER, match=old), dict(FLOWER, match=old, actions=[])) == ['change']


FW = {'dev': 'e0', 'parent': '1:', 'protocol': 'all', 'prio': 9, 'kind': 'fw', 'classid': '1:10'}


def _fw(handle, mark, **fields):
    return dict(FW, handle=handle, match={'mark': mark}, **fields)


class _Ctx(object):
    def __init__(self, *config):
        self.params = {'config': [dict(FW, prio=obj['prio'], match={'mark': obj['match']['mark']}) for obj in config]}


def test_a_fw_mask_change_is_a_delete_and_an_add():
    """The kernel refuses a fw filter whose mask is not its prio's (fw_set_parms: EINVAL), a replaced one too."""
    assert _verbs(_fw('0x5', '0x5/0xff'), _fw('0x5', '0x5/0xf')) == ['delete', 'add']
    assert _verbs(_fw('0x5', '0x5/0xff'), _fw('0x5', '0x5')) == ['delete', 'add']
    assert _verbs(_fw('0x5', '0x5/0xff'), _fw('0x5', '0x5/0xff', classid='1:20')) == ['change']


def _plan(config, kernel, expect):
    """The plan of state merged (deletes first, as Engine.order) and the filters after it."""
    res = TcFilter()
    have = dict((res.key(h), h) for h in kernel)
    ops = []
    for obj in config:
        old = have.get(res.key(obj))
        if old != obj:
            ops.extend([Op('add', None, obj)] if old is None else res.plan_change(old, obj, None))
    ops = [op for op in ops if op.action == 'delete'] + [op for op in ops if op.action != 'delete']
    after = dict(have)
    for op in ops:
        if op.action == 'delete':
            after.pop(res.key(op.before))
        else:
            after[res.key(op.after)] = op.after
    assert [op.action for op in ops] == expect
    return res, ops, list(after.values())


@pytest.mark.parametrize('config,kernel,verbs,named,other', [
    # two new filters of one prio with two masks
    ([_fw('0x1', '0x1/0xff'), _fw('0x2', '0x2')], [], ['add', 'add'], 'config[1] (filter fw prio 9 handle 0x2',
     'config[0] (filter fw prio 9 handle 0x1'),
    # a mask change of one filter of two: the other keeps the prio's mask
    ([_fw('0x1', '0x1/0xf')], [_fw('0x1', '0x1/0xff'), _fw('0x2', '0x2/0xff')], ['delete', 'add'],
     'config[0] (filter fw prio 9 handle 0x1', 'filter fw prio 9 handle 0x2 dev e0 parent 1: (which the task keeps)'),
    # a new filter with another mask than the prio's
    ([_fw('0x3', '0x3')], [_fw('0x1', '0x1/0xf')], ['add'], 'config[0] (filter fw prio 9 handle 0x3',
     'filter fw prio 9 handle 0x1 dev e0 parent 1: (which the task keeps)'),
])
def test_two_fw_masks_in_one_prio_are_refused(config, kernel, verbs, named, other):
    res, ops, after = _plan(config, kernel, verbs)
    with pytest.raises(EdgenetError) as info:
        res._check_fw_masks(_Ctx(*config), ops, after)
    e = info.value
    assert e.field == 'match.mark' and e.obj == res.label(config[-1] if len(config) > 1 else config[0]), str(e)
    assert e.msg.startswith(named) and other in e.msg and 'the kernel keeps one mark mask per fw prio' in e.msg, e.msg


@pytest.mark.parametrize('config,kernel,verbs', [
    ([_fw('0x5', '0x5/0xf')], [_fw('0x5', '0x5/0xff')], ['delete', 'add']),  # the prio's only filter
    ([_fw('0x1', '0x1/0xf'), _fw('0x2', '0x2/0xf')], [_fw('0x1', '0x1/0xff'), _fw('0x2', '0x2/0xff')],
     ['delete', 'delete', 'add', 'add']),  # every filter of the prio
    ([_fw('0x3', '0x3/0xf')], [_fw('0x1', '0x1/0xf')], ['add']),  # the prio's mask
    ([_fw('0x3', '0x3'), dict(_fw('0x1', '0x1/0xf'), prio=8)], [dict(_fw('0x1', '0x1/0xf'), prio=8)],
     ['add']),  # another prio, another mask
])
def test_one_fw_mask_per_prio_is_planned(config, kernel, verbs):
    res, ops, after = _plan(config, kernel, verbs)
    res._check_fw_masks(_Ctx(*config), ops, after)
