#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: neighbor
short_description: IPv4 and IPv6 neighbour (ARP/NDP) entries as desired state
version_added: 0.1.0
description:
  - Manages neighbour entries over rtnetlink, like C(ip neigh), including proxy entries (C(ip neigh add proxy)),
    which live in a separate kernel table.
  - An entry is identified by O(config[].dev), O(config[].dst) and O(config[].proxy).
  - B(What the module sees and touches.) Every proxy entry, every V(permanent) entry, V(noarp) entries, and the
    V(reachable)/V(stale) entries this module (or anyone using C(protocol)) or a routing daemon (C(extern_learn))
    created. Entries the kernel learned by itself (ARP/NDP resolution, no protocol) are never shown, changed or
    deleted, and neither are the V(noarp) entries the kernel makes for multicast and broadcast destinations, on
    C(lo), with an all-zero or all-ones link-layer address, or with the device's own address on a device with ARP
    off.
  - A device without link-layer addresses (C(tun), for example) and, for IPv4, a point-to-point device have no
    neighbour entries of their own (IPv6 drops the link-layer address; IPv4 files every entry under C(0.0.0.0), as
    on C(lo)). An entry for one is refused, naming the device, before anything is sent.
  - The module writes every entry with C(protocol static) (C(NDA_PROTOCOL)) so that the dynamic entries it made
    stay recognisable. A rollback makes an entry that the task deleted or changed again as it was, with its own
    protocol or none. The kernel cannot take a protocol off an entry in place, so the rollback of a change of an
    entry that had none deletes it and adds it again (two commands in the failure's C(rolled_back)).
  - The kernel refuses an IPv6 entry on a device with IPv6 disabled (C(net.ipv6.conf.DEV.disable_ipv6=1)) or with
    no IPv6 at all (the kernel removes it from a device whose MTU is below 1280), and an IPv6 proxy entry on the
    latter. Such an entry is refused before anything is sent, naming the entry and O(config[].dev). Check mode warns
    instead, and predicts it made; its prediction assumes an earlier task of the play sets
    C(net.ipv6.conf.DEV.disable_ipv6=0) or raises the MTU to 1280 or more (a kernel or namespace without IPv6 is
    refused in check mode too).
  - An entry that a routing daemon learned from elsewhere (C(extern_learn), EVPN for example) keeps that flag when
    the module changes it (a replace without it would clear it). The flag is not part of RV(before), RV(after) and
    the diff; RV(commands) says it.
  - B(Dynamic entries age.) A V(reachable) entry becomes V(stale) after the reachable time (C(delay) and
    C(probe) are reported as V(stale)). The module treats V(reachable) and V(stale) as the same wish when the rest
    of the entry is unchanged, so a second run reports no change. A dynamic entry that the kernel marks failed is
    not shown and is created again by the next run.
  - Every create or change is sent as C(ip neigh replace) (NLM_F_CREATE|NLM_F_REPLACE), so an entry the kernel
    learned for the same address is taken over instead of failing with EEXIST.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state
options:
  config:
    description:
      - The neighbour entries.
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - The device name. Required, except with O(state=deleted) (where any subset of fields selects entries).
        type: str
      dst:
        description:
          - The neighbour's IPv4 or IPv6 address (no prefix length). Compared in canonical (compressed) form.
          - Required, except with O(state=deleted), where leaving it out matches every entry of the device.
        type: str
      proxy:
        description:
          - V(true) for a proxy ARP/NDP entry (C(ip neigh add proxy DST dev DEV)). A proxy entry has no
            O(config[].lladdr), O(config[].state) or O(config[].router).
          - Default is V(false).
          - With O(state=deleted), leaving it out matches both kinds of entry.
        type: bool
      lladdr:
        description:
          - The link-layer address, for example V(02:00:00:00:00:02). Stored in lower case.
          - Required for an entry that is not a proxy entry.
        type: str
      state:
        description:
          - The neighbour state (C(nud)). Default is V(permanent).
          - V(reachable) and V(stale) are dynamic; the kernel ages them (see the description).
        type: str
        choices: [permanent, noarp, reachable, stale]
      router:
        description:
          - The IPv6 router flag (C(NTF_ROUTER), C(ip neigh ... router)). Default is V(false). IPv6 only.
        type: bool
  dev:
    description:
      - Act only on the entries of this device. O(state=overridden) and O(state=deleted) with no O(config) then
        leave other devices alone.
    type: str
'''

EXAMPLES = r'''
- name: Pin the gateway's MAC and answer ARP for a service address
  edgenet.linux.neighbor:
    config:
      - dev: veth0
        dst: 198.18.0.254
        lladdr: 02:00:5e:00:00:fe
      - dev: veth0
        dst: fd42:ed6e::fe
        lladdr: 02:00:5e:00:00:fe
        router: true
      - dev: veth0
        dst: 198.18.0.10
        proxy: true

- name: Make veth0 carry exactly these static entries, in namespace blue
  edgenet.linux.neighbor:
    netns: blue
    dev: veth0
    state: overridden
    config:
      - dev: veth0
        dst: 198.18.0.254
        lladdr: 02:00:5e:00:00:fe

- name: Remove every static and proxy entry of veth1
  edgenet.linux.neighbor:
    config:
      - dev: veth1
    state: deleted

- name: Read the entries
  edgenet.linux.neighbor:
    state: gathered
  register: neighbors
'''

RETURN = r'''
before:
  description: The entries the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: veth0, dst: 198.18.0.254, proxy: false, lladdr: "02:00:5e:00:00:fe", state: permanent, router: false}
    - {dev: veth0, dst: 198.18.0.10, proxy: true}
after:
  description:
    - The entries the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The iproute2 commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["ip neigh replace 198.18.0.254 lladdr 02:00:5e:00:00:fe dev veth0 nud permanent protocol static"]
gathered:
  description: The entries in scope, with O(state=gathered).
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.neighbor import Neighbor

    run_module(Neighbor)


if __name__ == '__main__':
    main()
