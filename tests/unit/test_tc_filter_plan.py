# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How tc_filter plans a change of a filter, on in-memory objects (no kernel): a replace where the kernel takes one,
a delete and an add where it refuses a replace (the kernel's side: tests/integration/test_tc_filter_uml.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

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
