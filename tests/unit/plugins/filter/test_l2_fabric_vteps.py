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
