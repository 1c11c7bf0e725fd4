#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bridge_vni
short_description: The VNI filter list of a VXLAN device (single-VXLAN-device design) as desired state
version_added: 0.1.0
description:
  - Manages the VNI filter list of a VXLAN device in C(external vnifilter) mode over rtnetlink
    (RTM_NEWTUNNEL and RTM_DELTUNNEL), like C(bridge vni). With it, one VXLAN device carries many VNIs;
    the VLAN-to-VNI map of its bridge port is set with M(edgenet.linux.bridge_vlan) (O(config[].vnis) and
    C(tunnels) go together).
  - The device is made with M(edgenet.linux.link) and C(vxlan.external=true), C(vxlan.vnifilter=true).
    Needs a kernel of 5.18 or later.
  - One object per device, identified by O(config[].dev). The object holds the device's whole VNI list, so
    O(state=replaced) and O(state=overridden) make it exactly as given, and O(state=merged) adds to it.
    With every state, a VNI that O(config[].vnis) lists is set as given. Listed without a C(group) or
    C(remote), it has none afterwards, also with O(state=merged).
  - A VNI whose C(group) or C(remote) changes to another one is deleted and added again (two requests). An
    update in place would keep the kernel's flood entry (the all-zero FDB entry) to the old destination
    beside the new one, so flooded traffic would still go there. So is a VNI taken out of its C(group) to none - the
    kernel (seen on 6.18) leaves a multicast group as soon as one of its VNIs leaves it, or is deleted, and then
    refuses the update of another VNI of that group (C(EADDRNOTAVAIL)). The VNIs left in the group no longer get its
    traffic after that, a kernel matter that the module cannot see; setting the device down and up joins the group
    again.
  - VNIs are reported sorted, with consecutive VNIs that have the same group or remote folded into a range
    such as V(100-200). The module never expands a range (a range is one request); the kernel, though, keeps
    one entry per VNI, so a very large range costs it memory and time.
  - A device with no VNIs is not shown; O(state=deleted) removes every VNI of the matching devices. To remove
    some VNIs of a device, use O(state=replaced).
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state
options:
  config:
    description:
      - The VXLAN devices and their VNIs.
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - A VXLAN device with C(external) and C(vnifilter). Required, except with O(state=deleted).
        type: str
      vnis:
        description:
          - The VNIs. Required, except with O(state=deleted); it may not be empty.
        type: list
        elements: dict
        suboptions:
          vni:
            description:
              - A VNI (1 to 16777215) or a range such as V(100-200).
            type: raw
          group:
            description:
              - The multicast group that flooded traffic of these VNIs goes to. The kernel needs the VXLAN
                device to have a lower device (C(vxlan.dev)) for it; a group on a device without one is refused
                before anything is sent, in check mode too. Excludes O(config[].vnis[].remote).
              - Default is none (the device's own destination, or the FDB entries).
            type: str
          remote:
            description:
              - The unicast VTEP that flooded traffic of these VNIs goes to. Excludes O(config[].vnis[].group).
                The unspecified address (V(0.0.0.0), V(::)) is refused; leave the field out for none.
              - Default is none.
            type: str
  dev:
    description:
      - Act only on this device.
    type: str
'''

EXAMPLES = r'''
- name: One VXLAN device for VNIs 10010, 10020 and 20000-20099, these with their own multicast group
  edgenet.linux.bridge_vni:
    config:
      - dev: vxlan0
        vnis:
          - {vni: 10010}
          - {vni: 10020, remote: 198.18.0.2}
          - {vni: 20000-20099, group: 239.1.1.1}

- name: Exactly these VNIs on vxlan0 (others are removed)
  edgenet.linux.bridge_vni:
    state: replaced
    config:
      - dev: vxlan0
        vnis:
          - {vni: 10010-10020}
'''

RETURN = r'''
before:
  description: The devices the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: vxlan0, vnis: [{vni: 10010}, {vni: 20000-20099, group: 239.1.1.1}]}
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
  sample: ["bridge vni add dev vxlan0 vni 20000-20099 group 239.1.1.1"]
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.bridge_vni import BridgeVni

    run_module(BridgeVni)


if __name__ == '__main__':
    main()
