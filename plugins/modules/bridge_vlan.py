#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bridge_vlan
short_description: Bridge VLAN membership and VLAN-to-VNI tunnel mappings as desired state
version_added: 0.1.0
description:
  - Manages the VLANs of bridge ports and of bridges themselves over rtnetlink, like C(bridge vlan), and
    the VLAN-to-VNI map of a VXLAN port with C(vlan_tunnel) on (C(bridge vlan add ... tunnel_info)).
  - Needs a bridge with VLAN filtering (the C(bridge.vlan_filtering) option of M(edgenet.linux.link)).
  - On a kernel without bridge VLAN filtering (C(CONFIG_BRIDGE_VLAN_FILTERING)), which refuses every VLAN
    write, a task that would write VLANs fails naming what the kernel lacks, in check mode too, before anything
    is sent. The module tells such a kernel by its bridges, which show no VLAN options.
  - One object per device, identified by O(config[].dev), a bridge port or a bridge (its own VLANs, as
    with C(bridge vlan ... self)). The object holds the device's whole VLAN set, so O(state=replaced) and
    O(state=overridden) make it exactly as given, and O(state=merged) adds to it. With O(state=merged), a
    listed VLAN that the device has keeps the O(config[].vlans[].pvid), O(config[].vlans[].untagged) and
    O(config[].vlans[].state) the element leaves out (the defaults apply to a new VLAN, and with the other
    states); a new PVID still takes the flag from the old one.
  - VLANs are reported sorted, with consecutive VIDs that have the same flags folded into a range such as
    V(10-20); tunnel mappings are folded when both VIDs and VNIs are consecutive.
  - A device with no VLANs is not shown; O(state=deleted) removes every VLAN (and mapping) of the matching
    devices, including the default VLAN 1 a port gets when it joins the bridge. To remove some VLANs of a
    device, use O(state=replaced).
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state
options:
  config:
    description:
      - The devices and their VLANs.
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - A bridge port, or a bridge for its own VLANs. Required, except with O(state=deleted).
        type: str
      vlans:
        description:
          - The VLANs. Required, except with O(state=deleted); it may not be empty.
        type: list
        elements: dict
        suboptions:
          vid:
            description:
              - A VID (1 to 4094) or a range such as V(10-20).
            type: raw
          pvid:
            description:
              - This VID is the port's PVID (untagged frames in go to it). One VID only. Default is V(false).
            type: bool
          untagged:
            description:
              - Frames of this VLAN leave the port untagged. Default is V(false).
            type: bool
          state:
            description:
              - The per-VLAN STP state (C(bridge vlan set ... state), RTM_NEWVLAN). Default is V(forwarding).
              - The kernel refuses a change while kernel STP runs on the bridge (C(stp_state 1)); such a change
                is refused before anything is sent (check mode warns, as an earlier task may turn STP off).
            type: str
            choices: [disabled, listening, learning, forwarding, blocking]
      tunnels:
        description:
          - VLAN-to-VNI mappings of a VXLAN port in external mode with C(vlan_tunnel) on (see
            M(edgenet.linux.bridge_port)). Every VID must be in O(config[].vlans). Default is none.
          - Mappings on a bridge's own VLANs, or on a port without C(vlan_tunnel), which the kernel refuses, are
            refused before anything is sent (check mode warns of the port, which an earlier task may change).
          - The kernel reports a device's VLANs and mappings in one netlink attribute of at most 64 KiB, 28 bytes
            for a mapping that is no range (about 2,300 of them); more are refused. Fold them into ranges
            (consecutive VIDs to consecutive VNIs).
        type: list
        elements: dict
        suboptions:
          vid:
            description:
              - A VID or a range such as V(100-102).
            type: raw
          vni:
            description:
              - The VNI, or a range of the same length such as V(1100-1102).
            type: raw
  master:
    description:
      - Act only on this bridge and its ports.
    type: str
'''

EXAMPLES = r'''
- name: A trunk port, an access port, the bridge's own VLAN 10, and a VXLAN port's VLAN-to-VNI map
  edgenet.linux.bridge_vlan:
    config:
      - dev: veth0
        vlans:
          - {vid: 1, pvid: true, untagged: true}
          - {vid: 10-20}
          - {vid: 21, state: blocking}
      - dev: veth1
        vlans:
          - {vid: 30, pvid: true, untagged: true}
      - dev: br0
        vlans:
          - {vid: 1, pvid: true, untagged: true}
          - {vid: 10}
      - dev: vx0
        vlans:
          - {vid: 100-102}
        tunnels:
          - {vid: 100-102, vni: 1100-1102}

- name: Make veth1 an access port of VLAN 40 only
  edgenet.linux.bridge_vlan:
    state: replaced
    config:
      - dev: veth1
        vlans:
          - {vid: 40, pvid: true, untagged: true}
'''

RETURN = r'''
before:
  description: The devices the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: veth0, vlans: [{vid: 1, pvid: true, untagged: true, state: forwarding},
                           {vid: 10-20, pvid: false, untagged: false, state: forwarding}], tunnels: []}
after:
  description:
    - The devices the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The iproute2 commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["bridge vlan add dev veth0 vid 10-20"]
gathered:
  description: The devices in scope, with O(state=gathered).
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The commands that would create O(config), with O(state=rendered).
  returned: when O(state=rendered)
  type: list
  elements: str
'''


def main():
    # pylint: disable=import-outside-toplevel
    # This first: the collection's code is then compiled once on the host, not twice (module_utils/_zipimport.py).
    from ansible_collections.edgenet.linux.plugins.module_utils._zipimport import compile_once

    compile_once()
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import run_module
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.bridge_vlan import BridgeVlan

    run_module(BridgeVlan)


if __name__ == '__main__':
    main()
