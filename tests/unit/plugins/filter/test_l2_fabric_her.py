# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The l2_fabric role's l2_fabric_her filter: head-end replication entries towards the other VTEPs. (The role's
own variables use it through ansible-playbook in tests/integration/test_l2_fabric.py, test_site.py and the
fleet tests, which read the entries back with `bridge -j fdb show`.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.edgenet.linux.plugins.filter.l2_fabric_her import FilterModule, l2_fabric_her

VTEPS = ['198.18.0.3', '198.18.0.1', '198.18.0.2']
Z = '00:00:00:00:00:00'


def test_vlan_aware_one_entry_per_vlan_and_other_vtep_in_order():
    vlans = [{'vid': 10, 'vni': 1010}, {'vid': 20, 'vni': '1020'}]  # (a number as a string, as Jinja's int reads it)
    assert l2_fabric_her(VTEPS, '198.18.0.1', 'vx0', vlans) == [
        {'dev': 'vx0', 'mac': Z, 'dst': '198.18.0.3', 'src_vni': 1010},
        {'dev': 'vx0', 'mac': Z, 'dst': '198.18.0.2', 'src_vni': 1010},
        {'dev': 'vx0', 'mac': Z, 'dst': '198.18.0.3', 'src_vni': 1020},
        {'dev': 'vx0', 'mac': Z, 'dst': '198.18.0.2', 'src_vni': 1020}]


def test_single_vni_one_entry_per_other_vtep_without_src_vni():
    for vni in (5000, '5000'):
        assert l2_fabric_her(VTEPS, '198.18.0.2', 'vx5000', [], vni) == [
            {'dev': 'vx5000', 'mac': Z, 'dst': '198.18.0.3'},
            {'dev': 'vx5000', 'mac': Z, 'dst': '198.18.0.1'}]
    # the VLANs are not used by a single-VNI fabric (the role refuses them before this runs)
    assert l2_fabric_her(VTEPS, '198.18.0.2', 'vx1', [{'vid': 1, 'vni': 7}], 1) == [
        {'dev': 'vx1', 'mac': Z, 'dst': '198.18.0.3'}, {'dev': 'vx1', 'mac': Z, 'dst': '198.18.0.1'}]


def test_nothing_to_replicate_to():
    assert l2_fabric_her(['198.18.0.1'], '198.18.0.1', 'vx0', [{'vid': 10, 'vni': 1010}]) == []
    assert l2_fabric_her(None, '198.18.0.1', 'vx0', [{'vid': 10, 'vni': 1010}]) == []
    assert l2_fabric_her(VTEPS, '198.18.0.1', 'vx0', []) == []  # a VLAN-aware fabric without VLANs
    assert l2_fabric_her(VTEPS, '198.18.0.1', 'vx0', None, 0) == []
    # a host that is not a VTEP of the list replicates to all of them
    assert [e['dst'] for e in l2_fabric_her(VTEPS, '198.18.0.9', 'vx0', [], 9)] == VTEPS


@pytest.mark.parametrize('args, text', [
    (('198.18.0.1', '198.18.0.1', 'vx0', []), 'must be a list of addresses, got str'),
    ((VTEPS, '198.18.0.1', 'vx0', [{'vid': 10}]), r'l2_fabric_vlans\[0\] must be a dict with vni'),
    ((VTEPS, '198.18.0.1', 'vx0', ['10']), r'l2_fabric_vlans\[0\] must be a dict with vni'),
    ((VTEPS, '198.18.0.1', 'vx0', [{'vid': 10, 'vni': 'ten'}]), r"l2_fabric_vlans\[0\].vni must be a number, got 'ten'"),
    ((VTEPS, '198.18.0.1', 'vx0', [], 'five'), "vni must be a number, got 'five'"),
    ((VTEPS, '198.18.0.1', 'vx0', [], 'inf'), "vni must be a number, got 'inf'"),
    (({'a': '198.18.0.1'}, '198.18.0.1', 'vx0', []), 'must be a list of addresses, got dict'),
    ((['198.18.0.1', None], '198.18.0.1', 'vx0', [], 5), r'VTEP \[1\] must be an IPv4 or IPv6 address, got None'),
    ((['198.18.0.1', 'leaf2'], '198.18.0.1', 'vx0', [], 5), r"VTEP \[1\] must be an IPv4 or IPv6 address, got 'leaf2'"),
])
def test_bad_input_names_the_field(args, text):
    with pytest.raises(AnsibleFilterError, match=text):
        l2_fabric_her(*args)


def test_registered():
    assert FilterModule().filters() == {'l2_fabric_her': l2_fabric_her}


def test_a_vtep_listed_twice_gets_one_entry():
    assert l2_fabric_her(['198.18.0.2', '198.18.0.1', '198.18.0.2'], '198.18.0.1', 'vx0', vni=5) == [
        {'dev': 'vx0', 'mac': '00:00:00:00:00:00', 'dst': '198.18.0.2'}]


@pytest.mark.parametrize('own', ['not-an-ip', '198.18.0.300', '', None, 5])
def test_this_vteps_address_must_be_an_address(own):
    """Every other VTEP would make an entry towards it: refused on this host (also when it has no peer, and in
    site.yml's first task, edgenet.linux.validate_roles, before any role runs)."""
    with pytest.raises(AnsibleFilterError, match=r"\(l2_fabric_vtep_ip\) .* is not an IPv4 or IPv6 address"):
        l2_fabric_her(None, own, 'vx0', [], 100)
    assert l2_fabric_her(None, 'fd42:ed6e::1', 'vx0', [], 100) == []


def test_this_vtep_is_left_out_in_any_spelling():
    """The list holds canonical texts (l2_fabric_vteps): this host's own address, spelt otherwise, is still itself
    (it made an entry towards itself)."""
    assert l2_fabric_her(['fd42:ed6e::1', 'fd42:ed6e::2'], 'fd42:ed6e:0:0::1', 'vx0', vni=5) == [
        {'dev': 'vx0', 'mac': '00:00:00:00:00:00', 'dst': 'fd42:ed6e::2'}]
    assert l2_fabric_her(['FD42:ED6E::2', 'fd42:ed6e::1'], 'fd42:ed6e::1', 'vx0', vni=5) == [
        {'dev': 'vx0', 'mac': '00:00:00:00:00:00', 'dst': 'fd42:ed6e::2'}]
