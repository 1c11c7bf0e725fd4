# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""l2_fabric_her: the l2_fabric role's head-end replication entries, one per other VTEP (and VNI)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: l2_fabric_her
short_description: the head-end replication FDB entries of a VXLAN fabric
version_added: 0.1.0
author: edgenet.linux maintainers (@edgenet)
description:
  - Takes the fabric's VTEP addresses (every VTEP's, this host's included) and returns the
    O(edgenet.linux.bridge_fdb#module:config) of the P(edgenet.linux.l2_fabric#role) role's head-end replication
    call - one all-zero entry (C(00:00:00:00:00:00)) on the VXLAN device towards every other VTEP.
  - The other VTEPs are the input without O(own), in input order, each once. An element that is not a
    string (such as a host without the address variable, null) is an error.
  - A single-VNI fabric (O(vni) above 0) has one entry per other VTEP, without C(src_vni). A VLAN-aware fabric
    (an external VXLAN device, which keeps one FDB table per VNI) has one per VLAN of O(vlans) and other VTEP,
    with that VLAN's C(vni) as C(src_vni), VLANs outer, VTEPs inner.
  - Numbers given as strings (C("100")) are taken as Jinja's C(int) filter takes them.
  - O(own) must be an IPv4 or IPv6 address; anything else fails the filter, naming it.
  - The role uses this filter instead of a Jinja loop; a Jinja program in role variables is compiled again for
    every host and task on the controller (this one took 30 ms a host).
options:
  _input:
    description: Every VTEP's underlay address (the role reads them from the inventory once per play).
    type: list
    elements: str
    required: true
  own:
    description: This host's VTEP address (O(edgenet.linux.l2_fabric#role:main:l2_fabric_vtep_ip)), left out.
    type: str
    required: true
  dev:
    description: The VXLAN device (O(edgenet.linux.l2_fabric#role:main:l2_fabric_vxlan)).
    type: str
    required: true
  vlans:
    description:
      - The fabric's VLANs (O(edgenet.linux.l2_fabric#role:main:l2_fabric_vlans)), each with C(vni).
      - Not used by a single-VNI fabric.
    type: list
    elements: dict
    default: []
  vni:
    description: The fabric's single VNI (O(edgenet.linux.l2_fabric#role:main:l2_fabric_vni)); 0 for a
      VLAN-aware fabric.
    type: int
    default: 0
'''

EXAMPLES = r'''
- name: Head-end replication towards every other VTEP, per VNI
  edgenet.linux.bridge_fdb:
    dev: vx0
    state: overridden
    config: "{{ ['198.18.0.1', '198.18.0.2', '198.18.0.3'] | edgenet.linux.l2_fabric_her('198.18.0.1', 'vx0', l2_fabric_vlans) }}"

# l2_fabric_vlans: [{vid: 10, vni: 1010}]
#   -> [{dev: vx0, mac: "00:00:00:00:00:00", dst: 198.18.0.2, src_vni: 1010},
#       {dev: vx0, mac: "00:00:00:00:00:00", dst: 198.18.0.3, src_vni: 1010}]
# with vni=5000 (a single-VNI fabric) instead:
#   -> [{dev: vx0, mac: "00:00:00:00:00:00", dst: 198.18.0.2}, {dev: vx0, mac: "00:00:00:00:00:00", dst: 198.18.0.3}]
'''

RETURN = r'''
_value:
  description: The entries, for M(edgenet.linux.bridge_fdb) with state C(overridden) on the VXLAN device.
  type: list
  elements: dict
'''

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence
from ansible.module_utils.six import text_type

ZERO_MAC = '00:00:00:00:00:00'


def _int(value, what):
    """A number as Jinja's int filter reads it (an int, or a string or float of one); anything else is an error
    here (the role's argument specification refuses it before the filter runs)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):  # (int(float('inf')) is an OverflowError)
            raise AnsibleFilterError('l2_fabric_her: %s must be a number, got %r' % (what, value))


def l2_fabric_her(vteps, own, dev, vlans=None, vni=0):
    if vteps is None:
        vteps = []
    if not is_sequence(vteps):  # (a string is not a sequence here)
        raise AnsibleFilterError('l2_fabric_her: the VTEPs must be a list of addresses, got %s'
                                 % ('dict' if isinstance(vteps, dict) else type(vteps).__name__))
    try:
        own = text_type(ipaddress.ip_address(text_type(own)))  # (the list holds canonical texts)
    except ValueError:
        # this host's address is every other VTEP's peer: refused here, before their entries towards it are made
        raise AnsibleFilterError("l2_fabric_her: this VTEP's address (l2_fabric_vtep_ip) %r is not an IPv4 or IPv6 "
                                 "address" % (own,))
    peers = []
    for i, vtep in enumerate(vteps):
        try:
            vtep = text_type(ipaddress.ip_address(vtep if isinstance(vtep, text_type) else text_type(vtep)))
        except ValueError:
            raise AnsibleFilterError('l2_fabric_her: VTEP [%d] must be an IPv4 or IPv6 address, got %r' % (i, vtep))
        if vtep != own and vtep not in peers:
            peers.append(vtep)
    if _int(vni, 'vni') > 0:
        return [{'dev': dev, 'mac': ZERO_MAC, 'dst': peer} for peer in peers]
    out = []
    for i, vlan in enumerate(vlans or []):
        if not isinstance(vlan, dict) or 'vni' not in vlan:
            raise AnsibleFilterError('l2_fabric_her: l2_fabric_vlans[%d] must be a dict with vni' % i)
        src_vni = _int(vlan['vni'], 'l2_fabric_vlans[%d].vni' % i)
        out.extend({'dev': dev, 'mac': ZERO_MAC, 'dst': peer, 'src_vni': src_vni} for peer in peers)
    return out


class FilterModule(object):
    def filters(self):
        return {'l2_fabric_her': l2_fabric_her}
