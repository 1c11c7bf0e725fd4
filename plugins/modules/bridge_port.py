#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bridge_port
short_description: Bridge port flags, cost, priority and STP state as desired state
version_added: 0.1.0
description:
  - Manages the settings of bridge ports over rtnetlink (IFLA_BRPORT_*), like C(bridge link set).
  - A port is identified by O(config[].dev), which must already be a bridge port (enslave it with the
    C(master) option of M(edgenet.linux.link)). This module never makes or removes ports.
  - Because a port is not created or deleted here, O(state=overridden) and O(state=deleted) change
    nothing; they only report the ports in scope (O(state=deleted) with a O(config), the ports its elements
    match). To return a port's flags to the kernel's defaults, use O(state=replaced) with only O(config[].dev).
  - O(config[].cost) (derived from the link speed by the kernel) and O(config[].state) (moved by the
    kernel when the link goes up or down, and by STP) are kept by O(state=replaced) unless named.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state
options:
  config:
    description:
      - The bridge ports.
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - The port device. Required, except with O(state=deleted).
        type: str
      learning:
        description:
          - Learn source MAC addresses on this port (C(learning)). Default is V(true).
        type: bool
      flood:
        description:
          - Flood unknown unicast to this port (C(flood)). Default is V(true).
        type: bool
      mcast_flood:
        description:
          - Flood unknown multicast to this port (C(mcast_flood)). Default is V(true).
        type: bool
      bcast_flood:
        description:
          - Flood broadcast to this port (C(bcast_flood)). Default is V(true).
        type: bool
      hairpin:
        description:
          - Send frames back out of the port they came in on (C(hairpin), reflective relay). Default is V(false).
        type: bool
      isolated:
        description:
          - An isolated port forwards only to ports that are not isolated (C(isolated)). Default is V(false).
        type: bool
      neigh_suppress:
        description:
          - Suppress ARP and neighbour discovery on this port (C(neigh_suppress)). Default is V(false).
        type: bool
      vlan_tunnel:
        description:
          - Map VLANs to tunnel IDs on this port, a VXLAN device in external mode (C(vlan_tunnel)).
            Default is V(false).
        type: bool
      guard:
        description:
          - Drop STP BPDUs received on this port (C(guard), BPDU guard). Default is V(false).
        type: bool
      root_block:
        description:
          - Never let this port become the root port (C(root_block), root guard). Default is V(false).
        type: bool
      locked:
        description:
          - 802.1X locked port, forwarding only from MACs with an FDB entry on it (C(locked)).
            Default is V(false).
        type: bool
      mab:
        description:
          - MAC authentication bypass on a locked port (C(mab)); needs O(config[].locked=true),
            O(config[].learning=true) and a kernel 6.2 or newer. Default is V(false).
        type: bool
      cost:
        description:
          - The STP path cost (1 to 65535). The kernel derives it from the link speed.
        type: int
      priority:
        description:
          - The STP port priority (0 to 63). Default is V(32).
        type: int
      state:
        description:
          - The STP port state. The kernel refuses a change while kernel STP runs on the bridge (C(stp_state 1),
            C(EBUSY)), and moves the state itself when the link goes up or down. Such a change is refused before
            anything is sent, naming this option; check mode warns instead and shows the change, assuming an
            earlier task of the play turns STP off.
          - With STP off, the kernel recomputes the state of every enabled port at once, so only V(disabled)
            (and V(forwarding)) stay; the other states need user-space STP (C(stp_state 2) on the bridge).
            The module refuses V(listening), V(learning) and V(blocking) on a bridge with STP off, naming
            this field, rather than report a change that the kernel undoes at once.
        type: str
        choices: [disabled, listening, learning, forwarding, blocking]
  master:
    description:
      - Act only on the ports of this bridge.
    type: str
'''

EXAMPLES = r'''
- name: An isolated access port, and a VXLAN port with ARP suppression and no learning
  edgenet.linux.bridge_port:
    config:
      - dev: veth0
        isolated: true
        bcast_flood: false
      - dev: vx100
        learning: false
        neigh_suppress: true

- name: Return a port's flags to the kernel's defaults
  edgenet.linux.bridge_port:
    state: replaced
    config:
      - dev: veth0

- name: Read the ports of br0
  edgenet.linux.bridge_port:
    master: br0
    state: gathered
  register: ports
'''

RETURN = r'''
before:
  description: The ports the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: veth0, learning: true, flood: true, mcast_flood: true, bcast_flood: true, hairpin: false,
       isolated: false, neigh_suppress: false, vlan_tunnel: false, guard: false, root_block: false,
       locked: false, mab: false, cost: 2, priority: 32, state: forwarding}
after:
  description:
    - The ports the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The iproute2 commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["bridge link set dev veth0 isolated on bcast_flood off"]
gathered:
  description: The ports in scope, with O(state=gathered).
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The commands that would set O(config) (every flag, defaults included), with O(state=rendered).
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.bridge_port import BridgePort

    run_module(BridgePort)


if __name__ == '__main__':
    main()
