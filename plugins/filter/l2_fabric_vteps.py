# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""l2_fabric_vteps: the VTEP addresses of this host's fabric, from the list the l2_fabric role read once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: l2_fabric_vteps
short_description: the VTEP addresses of this host's fabric
version_added: 0.1.0
author: edgenet.linux maintainers (@edgenet)
description:
  - Takes what the P(edgenet.linux.l2_fabric#role) role read from the inventory once per play (the
    P(edgenet.linux.l2_fabric_vtep_read#filter) filter's C({groups}), or a dict with the O(group) it was read for
    and its C(vteps)) and returns the VTEP addresses of O(group), this host's
    O(edgenet.linux.l2_fabric#role:main:l2_fabric_vtep_group).
  - When O(group) was read (every fabric of the play's hosts), its list, without reading any other host's
    variables. Otherwise (a host the read did not cover) the addresses of O(group) are read here, from
    O(hostvars), for this host only.
  - The addresses are every C(l2_fabric_vtep_ip) of the hosts of O(group) that define one, each once in its
    canonical text, sorted.
  - An address of a host of O(group) that is not a unicast IPv4 or IPv6 address is an error that names the host,
    raised where the list is read, before any host's fabric is changed. So are IPv4 and IPv6 addresses in one group
    (a VXLAN device reaches the VTEPs of its own address family only); the error names the hosts and their
    addresses.
options:
  _input:
    description:
      - The lists read once per play, C({groups}) (P(edgenet.linux.l2_fabric_vtep_read#filter)) or C({group,
        vteps}); a plain list is taken as the one of O(group).
      - None (not read yet) is no VTEP. An empty dict reads the addresses of O(group) here, from O(hostvars) (the
        role's VTEP read, C(tasks/play_inputs.yml), reads them so, once per play).
    type: raw
    required: true
  group:
    description: This host's fabric (O(edgenet.linux.l2_fabric#role:main:l2_fabric_vtep_group)).
    type: str
    required: true
  hostvars:
    description: Ansible's C(hostvars), read only for another fabric than the one the list was read for.
    type: raw
    required: true
  groups:
    description: Ansible's C(groups).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: The VTEPs of this host's fabric
  ansible.builtin.debug:
    msg: "{{ __l2_fabric_vteps | edgenet.linux.l2_fabric_vteps(l2_fabric_vtep_group, hostvars, groups) }}"
'''

RETURN = r'''
_value:
  description: The VTEP addresses of O(group), sorted, each once.
  type: list
  elements: str
'''

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import text_type


#: the group of a host that does not set l2_fabric_vtep_group (the role's default: roles/l2_fabric/defaults/main.yml)
DEFAULT_GROUP = 'all'


def vteps_of(group, hostvars, groups):
    """The l2_fabric_vtep_ip of every host of ``group`` that defines one, each once (in its canonical text),
    sorted. An address that is not one is an error naming its host, and so are IPv4 and IPv6 addresses in one group
    (naming the hosts): every VTEP of the fabric makes entries towards it, so it is refused when the list is read (the
    role's VTEP read, before its first module call), before any host's fabric is changed."""
    found, family = set(), {}
    for name in (groups or {}).get(group) or []:
        ip = hostvars[name].get('l2_fabric_vtep_ip')
        if ip:
            address = canonical(ip, 'l2_fabric_vtep_ip of host %s (a VTEP of group %s)' % (name, group))
            found.add(address)
            family.setdefault(ipaddress.ip_address(address).version, []).append('%s %s' % (name, address))
    if len(family) > 1:
        # a VXLAN device sends from its one local address: a VTEP of one family cannot reach one of the other (the
        # kernel refuses the FDB entry, EAFNOSUPPORT, after the devices are made), so the list is refused here
        raise AnsibleFilterError(
            'l2_fabric_vtep_ip of the VTEPs of group %s: IPv4 (%s) and IPv6 (%s) addresses in one fabric; a VXLAN '
            'device reaches the VTEPs of its own address family only, so give every VTEP of the group an address of '
            'one family' % (group, ', '.join(family[4]), ', '.join(family[6])))
    return sorted(found)


def canonical(ip, what):
    """The canonical text of the VTEP address ``ip`` (``what`` names it in the error)."""
    try:
        address = ipaddress.ip_address(ip if isinstance(ip, text_type) else text_type(ip))
    except ValueError:
        raise AnsibleFilterError('%s: %r is not an IPv4 or IPv6 address' % (what, ip))
    if address.is_unspecified or address.is_multicast:
        raise AnsibleFilterError('%s: %s is not a unicast address (a VTEP needs one)' % (what, address))
    return text_type(address)


def l2_fabric_vteps(read, group, hostvars, groups):
    if isinstance(read, dict):
        if group in (read.get('groups') or {}):
            return list(read['groups'][group])
        if 'group' in read and read.get('group') == group:
            return list(read.get('vteps') or [])
    elif isinstance(read, list):
        return list(read)
    elif read is None:
        return []  # (not read yet: validate_roles' preflight, before the role reads the VTEPs)
    else:
        raise AnsibleFilterError('l2_fabric_vteps: expected the dict the role read, got %s' % type(read).__name__)
    return vteps_of(group, hostvars, groups)


class FilterModule(object):
    def filters(self):
        return {'l2_fabric_vteps': l2_fabric_vteps}
