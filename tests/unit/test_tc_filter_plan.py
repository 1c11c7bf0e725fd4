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


class _Config(object):
    def __init__(self, config):
        self.params = {'config': config, 'state': 'merged'}
        self.check_mode = True


def _flowers(*items):
    """The config elements ``items`` (flower filters at ingress of e1, protocol ip, prio 1 unless given) and their
    normal form, as the engine makes it."""
    config = [dict({'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 1, 'kind': 'flower',
                    'actions': [{'kind': 'gact', 'action': 'drop'}]}, **item) for item in items]
    res = TcFilter()
    return config, [res.normalize(dict(c), _Config(config)) for c in config]


TCP80 = {'match': {'ip_proto': 'tcp', 'dport': 80}}
PASS = [{'kind': 'gact', 'action': 'pass'}]


@pytest.mark.parametrize('items,kernel,verbs,named,other', [
    # two new filters, another handle and other actions, one key
    ([TCP80, dict(TCP80, actions=PASS)], [], ['add', 'add'], 'config[1] (filter flower prio 1 handle 0x2',
     'config[0] (filter flower prio 1 handle 0x1'),
    # the TOS under 0xfc is dscp, a prefix's host bits are not part of the key: the same key spelled otherwise
    ([{'match': {'dscp': 4, 'dst': '198.18.1.0/24'}},
      {'match': {'tos': '0x10/0xfc', 'dst': '198.18.1.7/24'}, 'handle': '9'}], [], ['add', 'add'],
     'config[1] (filter flower prio 1 handle 0x9', 'config[0] (filter flower prio 1 handle 0x1'),
    # one on the host, the other new with another handle
    ([dict(TCP80, handle='0x2')], [TCP80], ['add'], 'config[0] (filter flower prio 1 handle 0x2',
     'filter flower prio 1 handle 0x1 dev e1 parent ingress (which the task keeps)'),
    # the host's filter changes away from the key only after the add is sent (config order is send order)
    ([dict(TCP80, handle='0x2'), {'match': {'ip_proto': 'tcp', 'dport': 81}, 'handle': '0x1'}], [TCP80],
     ['add', 'change'], 'config[0] (filter flower prio 1 handle 0x2', 'config[1] (filter flower prio 1 handle 0x1'),
    # no match at all: the empty key
    ([{}, {'actions': PASS}], [], ['add', 'add'], 'config[1] (filter flower prio 1 handle 0x2',
     'config[0] (filter flower prio 1 handle 0x1'),
])
def test_two_flower_filters_of_one_key_in_one_prio_are_refused(items, kernel, verbs, named, other):
    """The kernel refuses a flower filter whose masked key another filter of its prio has (fl_ht_insert_unique:
    EEXIST); check mode predicted it. Refused first, naming the second filter and match."""
    config, objs = _flowers(*items)
    _c, kernel = _flowers(*kernel)
    res, ops, after = _plan(objs, kernel, verbs)
    with pytest.raises(EdgenetError) as info:
        res._check_flower_keys(_Config(config), ops, after)
    e = info.value
    assert e.field == 'match' and e.obj.startswith(named.partition('(')[2]), str(e)  # (the second filter)
    assert e.msg.startswith(named) and other in e.msg and 'EEXIST' in e.msg, e.msg


@pytest.mark.parametrize('items,kernel,verbs', [
    ([dict(TCP80, actions=PASS)], [TCP80], ['change']),  # a replace by the same handle, the same key
    ([{'match': {'dst': '198.18.1.0/25'}}], [{'match': {'dst': '198.18.1.0/24'}}], ['delete', 'add']),  # its mask
    ([TCP80, dict(TCP80, prio=2)], [], ['add', 'add']),  # another prio
    ([TCP80, {'match': {'ip_proto': 'tcp', 'dport': 81}}], [], ['add', 'add']),  # another value
    ([{'match': {'dst': '198.18.1.0/24'}}, {'match': {'dst': '198.18.1.0/25'}}], [], ['add', 'add']),  # another mask
    ([TCP80, {'match': {'ip_proto': 'udp', 'dport': 80}}], [], ['add', 'add']),  # another ip_proto
    # the host's filter changes away from the key before the add is sent
    ([{'match': {'ip_proto': 'tcp', 'dport': 81}}, dict(TCP80, handle='0x2')], [TCP80], ['change', 'add']),
    # the host's filter is deleted first (replaced): its key is free
    ([dict(TCP80, handle='0x2')], [TCP80], ['add']),
])
def test_flower_filters_of_other_keys_or_the_same_handle_are_planned(items, kernel, verbs):
    config, objs = _flowers(*items)
    _c, kernel = _flowers(*kernel)
    res, ops, after = _plan(objs, kernel, verbs[-1:] if verbs == ['add'] and kernel else verbs)
    if kernel and verbs == ['add']:  # (state replaced: the host's filter of the prio goes first)
        ops = [Op('delete', kernel[0], None)] + ops
        after = [o for o in after if o is not kernel[0] and res.key(o) != res.key(kernel[0])]
    res._check_flower_keys(_Config(config), ops, after)
