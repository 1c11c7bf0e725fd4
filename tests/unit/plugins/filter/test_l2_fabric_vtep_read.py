# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The l2_fabric role's l2_fabric_vtep_read filter: the VTEPs of every fabric of the play's hosts, read once per play
(through ansible-playbook, with site.yml: tests/integration/test_site.py and test_l2_fabric.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.edgenet.linux.plugins.filter.l2_fabric_vtep_read import l2_fabric_vtep_read
from ansible_collections.edgenet.linux.plugins.filter.l2_fabric_vteps import DEFAULT_GROUP, l2_fabric_vteps

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..')


class Counted(dict):
    """hostvars that count the hosts read."""

    def __init__(self, *args):
        super(Counted, self).__init__(*args)
        self.read = []

    def __getitem__(self, name):
        self.read.append(name)
        return dict.__getitem__(self, name)


HOSTVARS = {'a1': {'l2_fabric_vtep_group': 'fabA', 'l2_fabric_vtep_ip': '198.18.0.2'},
            'a2': {'l2_fabric_vtep_group': 'fabA', 'l2_fabric_vtep_ip': '198.18.0.1'},
            'b1': {'l2_fabric_vtep_group': 'fabB', 'l2_fabric_vtep_ip': '198.18.1.1'},
            'b2': {'l2_fabric_vtep_group': 'fabB'},
            'c1': {'l2_fabric_vtep_ip': '198.18.2.1'},
            'mgmt': {}, 'bad': {'l2_fabric_vtep_group': 'fabC', 'l2_fabric_vtep_ip': 'nope'}}
GROUPS = {'all': ['a1', 'a2', 'b1', 'b2', 'c1', 'mgmt', 'bad'], 'fabA': ['a1', 'a2'], 'fabB': ['b1', 'b2'],
          'fabC': ['bad']}


def test_every_fabric_of_the_play_is_read_each_host_once():
    hv = Counted(HOSTVARS)
    read = l2_fabric_vtep_read(['a1', 'b1', 'b2'], 'fabA', hv, GROUPS)
    assert read == {'groups': {'fabA': ['198.18.0.1', '198.18.0.2'], 'fabB': ['198.18.1.1']}}
    assert sorted(hv.read) == ['a1', 'a2', 'b1', 'b2']  # (each once: a1, b1 and b2 are play hosts and VTEPs)
    # the per-host filter takes each group's list from it, reading nothing
    hv.read[:] = []
    assert l2_fabric_vteps(read, 'fabB', hv, GROUPS) == ['198.18.1.1']
    assert l2_fabric_vteps(read, 'fabA', hv, GROUPS) == ['198.18.0.1', '198.18.0.2']
    assert hv.read == []
    # a group the read did not cover is read there, for that host
    with pytest.raises(AnsibleFilterError):  # (group all holds the bad address of host 'bad')
        l2_fabric_vteps(read, 'all', hv, GROUPS)


def test_a_play_host_that_is_no_vtep_adds_no_group():
    """A host of the play without l2_fabric_vtep_ip does not run the role (it requires one): its group, the default
    all, is not read. It was: every inventory host's address was read, and another fabric's bad address outside the
    --limit (host 'bad' of fabC) stopped a play that does not use it."""
    hv = Counted(HOSTVARS)
    read = l2_fabric_vtep_read(['a1', 'a2', 'mgmt'], 'fabA', hv, GROUPS)
    assert read == {'groups': {'fabA': ['198.18.0.1', '198.18.0.2']}}
    assert sorted(hv.read) == ['a1', 'a2', 'mgmt']


def test_a_host_without_a_group_is_in_the_default_one():
    hv = dict(HOSTVARS)
    del hv['bad']
    groups = dict(GROUPS, all=GROUPS['all'][:-1])
    read = l2_fabric_vtep_read(['c1'], 'fabA', hv, groups)
    assert read == {'groups': {'all': ['198.18.0.1', '198.18.0.2', '198.18.1.1', '198.18.2.1'],
                               'fabA': ['198.18.0.1', '198.18.0.2']}}
    with open(os.path.join(ROOT, 'roles', 'l2_fabric', 'defaults', 'main.yml')) as f:
        assert yaml.safe_load(f)['l2_fabric_vtep_group'] == DEFAULT_GROUP


def test_a_bad_address_of_another_fabric_names_its_host_and_group():
    """A host of the second fabric with a bad address: the read, once per play before any change, refuses it (the
    per-host fallback found it only at that fabric's head-end replication call, after the devices were made)."""
    hv = dict(HOSTVARS, b2={'l2_fabric_vtep_group': 'fabB', 'l2_fabric_vtep_ip': '198.18.1.300'})
    with pytest.raises(AnsibleFilterError) as e:
        l2_fabric_vtep_read(['a1', 'b1'], 'fabA', hv, GROUPS)
    assert "l2_fabric_vtep_ip of host b2 (a VTEP of group fabB): '198.18.1.300' is not an IPv4" in str(e.value)
