# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The l2_fabric role's l2_fabric_vteps filter: the VTEPs of this host's fabric, from the list the role read once
(two fabrics in one play through ansible-playbook: tests/integration/test_l2_fabric.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.edgenet.linux.plugins.filter.l2_fabric_vteps import l2_fabric_vteps


class Counted(dict):
    """hostvars that count the hosts read."""

    def __init__(self, *args):
        super(Counted, self).__init__(*args)
        self.read = []

    def __getitem__(self, name):
        self.read.append(name)
        return dict.__getitem__(self, name)


HOSTVARS = {'a1': {'l2_fabric_vtep_ip': '198.18.0.2'}, 'a2': {'l2_fabric_vtep_ip': '198.18.0.1'},
            'b1': {'l2_fabric_vtep_ip': '198.18.1.1'}, 'b2': {}, 'b3': {'l2_fabric_vtep_ip': '198.18.1.1'}}
GROUPS = {'fabA': ['a1', 'a2'], 'fabB': ['b1', 'b2', 'b3']}


def test_the_group_read_once_is_taken_without_reading_hostvars():
    hv = Counted(HOSTVARS)
    assert l2_fabric_vteps({'group': 'fabA', 'vteps': ['198.18.0.1', '198.18.0.2']}, 'fabA', hv, GROUPS) == \
        ['198.18.0.1', '198.18.0.2']
    assert hv.read == []


def test_another_group_reads_its_own_vteps():
    hv = Counted(HOSTVARS)
    assert l2_fabric_vteps({'group': 'fabA', 'vteps': ['198.18.0.1', '198.18.0.2']}, 'fabB', hv, GROUPS) == \
        ['198.18.1.1']
    assert sorted(hv.read) == ['b1', 'b2', 'b3']
    assert l2_fabric_vteps({'group': 'fabA', 'vteps': []}, 'nosuch', hv, GROUPS) == []


def test_not_read_yet_and_bad_input():
    assert l2_fabric_vteps(None, 'fabA', {}, GROUPS) == []
    assert l2_fabric_vteps(['198.18.0.9'], 'fabA', {}, GROUPS) == ['198.18.0.9']
    with pytest.raises(AnsibleFilterError):
        l2_fabric_vteps('198.18.0.9', 'fabA', {}, GROUPS)


def test_an_empty_dict_reads_the_group_and_a_bad_address_names_its_host():
    """The role's first task reads the list so (roles/l2_fabric/vars/main.yml): each address once in its canonical
    text; an address that is not a unicast one fails there, naming the host, before any host's fabric is changed
    (another host's bad address used to fail each host's last call, after its devices and VLANs were made)."""
    hv = {'a1': {'l2_fabric_vtep_ip': 'FD42:ED6E:0::1'}, 'a2': {'l2_fabric_vtep_ip': 'fd42:ed6e::1'},
          'a3': {'l2_fabric_vtep_ip': ''}, 'a4': {}}
    assert l2_fabric_vteps({}, 'fabA', hv, {'fabA': ['a1', 'a2', 'a3', 'a4']}) == ['fd42:ed6e::1']
    for bad, text in (('leaf2', "'leaf2' is not an IPv4 or IPv6 address"), ('198.18.0.300', 'is not an IPv4'),
                      ('0.0.0.0', 'is not a unicast address'), ('ff02::1', 'is not a unicast address')):
        hv = {'a1': {'l2_fabric_vtep_ip': '198.18.0.1'}, 'a2': {'l2_fabric_vtep_ip': bad}}
        with pytest.raises(AnsibleFilterError) as e:
            l2_fabric_vteps({}, 'fabA', hv, {'fabA': ['a1', 'a2']})
        assert 'l2_fabric_vtep_ip of host a2 (a VTEP of group fabA)' in str(e.value) and text in str(e.value), e.value
