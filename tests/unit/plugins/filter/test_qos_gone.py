# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The qos role's qos_gone filter: the qdiscs that earlier tc_qdisc calls delete (check mode's gone_qdiscs). The role
uses it through ansible-playbook in tests/integration/test_role_qos.py
(test_overridden_check_mode_leaves_out_what_an_earlier_qdisc_call_takes_along), which compares check mode with the
real run on a kernel."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.edgenet.linux.plugins.filter.qos_gone import FilterModule, qos_gone


def _q(dev, handle, kind='htb'):
    return {'dev': dev, 'handle': handle, 'kind': kind}


def test_the_qdiscs_in_before_and_not_in_after_in_call_order_each_once():
    top = {'changed': True, 'before': [_q('e0', '1:'), _q('e0', '2:', 'prio'), _q('e1', '1:')],
           'after': [_q('e0', '1:'), _q('e1', '1:', 'hfsc')]}  # (e1 1: changes its kind: replaced, not gone)
    depth1 = {'changed': True, 'before': [_q('e0', '10:', 'fq_codel'), _q('e0', '2:', 'prio')],
              'after': [_q('e0', '20:', 'fq_codel')]}
    assert qos_gone([top, depth1]) == [{'dev': 'e0', 'handle': '2:'}, {'dev': 'e0', 'handle': '10:'}]


def test_a_qdisc_kept_on_another_device_is_still_gone_on_its_own():
    assert qos_gone([{'before': [_q('e0', '1:')], 'after': [_q('e1', '1:')]}]) == [{'dev': 'e0', 'handle': '1:'}]


def test_skipped_and_absent_calls_add_nothing():
    skipped = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}
    only_before = {'before': [_q('e0', '1:')]}  # (not a tc_qdisc result: both lists or nothing)
    assert qos_gone([{}, skipped, only_before]) == []
    assert qos_gone([]) == []
    assert qos_gone(None) == []


def test_a_qdisc_without_handle_adds_nothing():
    assert qos_gone([{'before': [{'dev': 'e0', 'kind': 'noqueue'}], 'after': []}]) == []


@pytest.mark.parametrize('results, message', [
    ('e0 1:', 'takes a list of registered tc_qdisc results, got str'),
    ({'before': [], 'after': []}, 'takes a list of registered tc_qdisc results, got dict'),
    (['x'], 'the result [0] is not a registered result'),
    ([{}, {'before': 'e0 1:', 'after': []}], 'the before of the result [1] is not a list of qdiscs'),
    ([{'before': [], 'after': None}], 'the after of the result [0] is not a list of qdiscs'),
    ([{'before': ['e0 1:'], 'after': []}], 'before[0] of the result [0] is not a qdisc'),
])
def test_what_is_not_a_list_of_results_is_refused_naming_it(results, message):
    with pytest.raises(AnsibleFilterError, match=r'^qos_gone: .*' + message.replace('[', r'\[').replace(']', r'\]')):
        qos_gone(results)


def test_the_filter_is_registered_by_its_name():
    assert FilterModule().filters() == {'qos_gone': qos_gone}
