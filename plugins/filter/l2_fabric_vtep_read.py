# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""l2_fabric_vtep_read: the VTEP addresses of every fabric of the play's hosts, read once per play."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: l2_fabric_vtep_read
short_description: the VTEP addresses of every fabric of the play's hosts, read once per play
version_added: 0.1.0
author: edgenet.linux maintainers (@edgenet)
description:
  - Reads, from O(hostvars), the O(edgenet.linux.l2_fabric#role:main:l2_fabric_vtep_group) of each host of the
    input (the play's hosts) that has an C(l2_fabric_vtep_ip) (the role requires one; a host without it does not
    run the role, and its group is not read), and of this host (O(group)); then the VTEP addresses of each of
    those groups. When O(group) comes from the play or the role rather than the inventory (see O(host)), it is the
    group of every host of the input (those vars apply to every host of the play). The
    P(edgenet.linux.l2_fabric#role) role's VTEP read (its C(tasks/play_inputs.yml)) reads them so, once per play
    (C(run_once)), and C(playbooks/site.yml) does too, before any role runs.
  - "Returns a dict with one key, C(groups): each group's list of addresses. The
    P(edgenet.linux.l2_fabric_vteps#filter) filter takes it without reading any host's variables again."
  - The addresses of a group are every C(l2_fabric_vtep_ip) of its hosts that define one, each once in its
    canonical text, sorted.
  - An address that is not a unicast IPv4 or IPv6 address is an error that names the host and its group, so a bad
    address of any VTEP of any fabric of the play stops the play where it is read, before any host changes
    anything.
  - Each host's variables are read once, however many groups it is in.
options:
  _input:
    description: The hosts of the play (C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  group:
    description: This host's fabric (O(edgenet.linux.l2_fabric#role:main:l2_fabric_vtep_group)).
    type: str
    required: true
  hostvars:
    description: Ansible's C(hostvars).
    type: raw
    required: true
  groups:
    description: Ansible's C(groups).
    type: dict
    required: true
  default_group:
    description:
      - The group of a host that does not set C(l2_fabric_vtep_group) (the role's default).
    type: str
    default: all
  host:
    description:
      - This host (C(inventory_hostname)), whose O(group) is compared with the one its C(hostvars) give.
      - When they differ, O(group) comes from the play or the role (their vars, which win over the inventory for
        every host of the play), and it is the group of every host of the input; otherwise each host's group is the
        C(l2_fabric_vtep_group) of its C(hostvars), or O(default_group). Without it, always the latter.
    type: str
'''

EXAMPLES = r'''
- name: The VTEPs of every fabric of the play, read once
  ansible.builtin.set_fact:
    fabric_vteps: >-
      {{ ansible_play_hosts | edgenet.linux.l2_fabric_vtep_read(l2_fabric_vtep_group, hostvars, groups,
                                                                host=inventory_hostname) }}
  run_once: true
'''

RETURN = r'''
_value:
  description: "A dict with one key, C(groups): for each group read, its VTEP addresses (sorted, each once)."
  type: dict
'''

from ansible.module_utils.six import string_types

from ansible_collections.edgenet.linux.plugins.filter.l2_fabric_vteps import DEFAULT_GROUP, vteps_of


class _Once(object):
    """``hostvars``, each host's variables computed once (Ansible computes all of a host's variables to read one)."""

    def __init__(self, hostvars):
        self.hostvars = hostvars
        self.seen = {}

    def __getitem__(self, name):
        if name not in self.seen:
            self.seen[name] = self.hostvars[name]
        return self.seen[name]


def _group_of(hv, default_group):
    g = hv.get('l2_fabric_vtep_group')
    return g if isinstance(g, string_types) and g else default_group


def l2_fabric_vtep_read(hosts, group, hostvars, groups, default_group=DEFAULT_GROUP, host=None):
    once = _Once(hostvars)
    wanted = set([group]) if isinstance(group, string_types) and group else set()
    # hostvars hold a host's inventory (and extra) variables, not the play's or the role's vars. When this host's
    # group is not the one its hostvars give, it comes from the play or the role (vars of the play, of the role in
    # roles:, of include_role...), which apply to every host of the play and win over the inventory: every VTEP of
    # the play is then in that group (reading each one's inventory value, or the default, read another fabric).
    play_wide = (isinstance(group, string_types) and group and host is not None and host in hostvars
                 and _group_of(once[host], default_group) != group)
    for name in hosts or []:
        hv = once[name]
        if not hv.get('l2_fabric_vtep_ip'):
            continue  # not a VTEP: it does not run the role (which requires the address), its group is not read
        if not play_wide:
            wanted.add(_group_of(hv, default_group))
    return {'groups': dict((g, vteps_of(g, once, groups)) for g in sorted(wanted))}


class FilterModule(object):
    def filters(self):
        return {'l2_fabric_vtep_read': l2_fabric_vtep_read}
