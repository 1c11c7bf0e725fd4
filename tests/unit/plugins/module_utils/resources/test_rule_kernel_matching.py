# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rule.validate against the kernel's own matching (net/core/fib_rules.c), without a kernel: the order of
deletes (rule_find deletes the first rule of the priority that has the request's attributes) and the adds
the kernel would refuse as duplicates (rule_exists). The host integration tests prove the same on a kernel."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources.rule import Rule


def rule(priority, **fields):
    obj = {'priority': priority, 'family': 4, 'action': 'lookup', 'table': 5, 'l3mdev': False}
    obj.update(fields)
    return obj


def resource(kernel):
    """A Rule whose last gather saw ``kernel`` (rules in the kernel's list order)."""
    res = Rule()
    for obj in kernel:
        res._dump_order[res.key(obj)] = (len(res._dump_order), obj)
    return res


PLAIN, IIF = rule(160), rule(160, iif='v0')


def test_the_more_specific_delete_goes_first_whatever_the_plan_order():
    res = resource([IIF, PLAIN])
    plan = [Op('delete', PLAIN, None), Op('delete', IIF, None)]
    res.validate(None, plan, [])
    assert [op.before for op in plan] == [IIF, PLAIN]
    res = resource([PLAIN, IIF])
    plan = [Op('delete', PLAIN, None), Op('delete', IIF, None)]
    res.validate(None, plan, [])
    assert [op.before for op in plan] == [PLAIN, IIF]  # already right: left as it is


def test_a_delete_that_would_remove_a_kept_rule_is_refused():
    res = resource([IIF, PLAIN])
    with pytest.raises(EdgenetError) as e:
        res.validate(None, [Op('delete', PLAIN, None)], [])
    assert "that is 'rule priority 160 iif v0 (IPv4)', which stays" in str(e.value)
    assert e.value.obj == 'rule priority 160 (IPv4)' and e.value.field == 'priority'
    # other tables, actions or priorities do not match the request
    for other in (rule(160, iif='v0', table=6), rule(160, iif='v0', action='blackhole'), rule(161, iif='v0')):
        res = resource([other, PLAIN])
        res.validate(None, [Op('delete', PLAIN, None)], [])


def test_unmanaged_rules_are_wildcard_victims_too():
    tos = rule(171, unmanaged='tos 0x04')
    res = resource([tos, rule(171)])
    with pytest.raises(EdgenetError) as e:
        res.validate(None, [Op('delete', rule(171), None)], [])
    assert 'tos 0x04' in str(e.value)


@pytest.mark.parametrize('existing, new, refused', [
    (rule(180, **{'from': '198.18.0.0/24'}), rule(180), True),  # no from in the new rule: any from matches
    (rule(180), rule(180, **{'from': '198.18.0.0/24'}), False),  # the new rule's from is compared
    (rule(180, **{'from': '198.18.0.0/24'}, unmanaged='not'), rule(180, **{'from': '198.18.0.0/24'}), True),
    (rule(180, unmanaged='tos 0x04'), rule(180), True),
    (rule(180, ipproto='tcp', unmanaged='dport 22'), rule(180), False),  # compared exactly
    (rule(180, ipproto='tcp', unmanaged='dport 22'), rule(180, ipproto='tcp'), False),
    (rule(180, ipproto='tcp'), rule(180), False),  # the IP protocol is compared exactly
    (rule(180), rule(180, ipproto='tcp'), False),
    (rule(180, ipproto='tcp'), rule(180, ipproto='udp'), False),
    (rule(180, ipproto='tcp'), rule(180, ipproto='tcp'), True),
    (rule(180, iif='v0'), rule(180), False),  # iif compared exactly
    (rule(180, table=6), rule(180), False),
    (rule(180, protocol='static'), rule(180), False),  # another protocol: compared exactly
    (rule(180), rule(180, protocol='openr'), False),
    (rule(180, protocol='openr'), rule(180, protocol='openr'), True),
    (rule(180, fwmark=7, fwmask=2 ** 32 - 1), rule(180), False),
])
def test_adds_the_kernel_counts_as_duplicates(existing, new, refused):
    res = resource([existing])
    plan = [Op('add', None, new)]
    if refused:
        with pytest.raises(EdgenetError) as e:
            res.validate(None, plan, [])
        assert 'EEXIST' in str(e.value) and e.value.obj == res.label(new)
    else:
        res.validate(None, plan, [])


def test_an_add_after_the_delete_of_its_twin_is_fine_and_two_adds_can_clash():
    old = rule(180, **{'from': '198.18.0.0/24'})
    res = resource([old])
    res.validate(None, [Op('delete', old, None), Op('add', None, rule(180))], [])
    res = resource([])
    with pytest.raises(EdgenetError):
        res.validate(None, [Op('add', None, rule(180, **{'from': '198.18.0.0/24'})), Op('add', None, rule(180))], [])


def test_a_delete_names_its_protocol_and_one_without_matches_any():
    """rule_find compares the protocol only when the request has one (a rule without one cannot be named
    exactly: its delete matches a rule of any protocol listed before it)."""
    openr, plain = rule(190, protocol='openr'), rule(190)
    res = resource([plain, openr])
    res.validate(None, [Op('delete', openr, None)], [])  # names proto openr: the plain rule does not match
    res.validate(None, [Op('delete', plain, None)], [])  # the first rule of 190 is the plain one itself
    res = resource([openr, plain])
    with pytest.raises(EdgenetError) as e:
        res.validate(None, [Op('delete', plain, None)], [])
    assert "that is 'rule priority 190 proto openr (IPv4)', which stays" in str(e.value)
    plan = [Op('delete', plain, None), Op('delete', openr, None)]
    res.validate(None, plan, [])
    assert [op.before for op in plan] == [openr, plain]


def test_a_new_rule_of_protocol_kernel_is_refused_but_a_default_rule_may_come_back():
    """A rule made with protocol kernel would be the kernel's to the module (never changed or deleted); one of the
    kernel's default rules, deleted by hand, comes back as the kernel made it."""
    with pytest.raises(EdgenetError) as e:
        resource([]).validate(None, [Op('add', None, rule(191, protocol='kernel'))], [])
    assert e.value.field == 'protocol' and "protocol 'kernel'" in str(e.value)
    main = rule(32766, table='main', protocol='kernel')
    resource([]).validate(None, [Op('add', None, main)], [])
    assert Rule().protected(main) and Rule().protected(rule(32766, table='main'))
    assert not Rule().protected(rule(32766, table='main', protocol='static'))


def test_a_delete_names_its_ip_protocol_and_one_without_matches_any():
    """rule_find compares the IP protocol only when the request has one, as the fwmark."""
    tcp, plain = rule(192, ipproto='tcp'), rule(192)
    res = resource([plain, tcp])
    res.validate(None, [Op('delete', tcp, None)], [])
    res = resource([tcp, plain])
    with pytest.raises(EdgenetError) as e:
        res.validate(None, [Op('delete', plain, None)], [])
    assert "that is 'rule priority 192 ipproto tcp (IPv4)', which stays" in str(e.value)
