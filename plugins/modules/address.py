#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: address
short_description: IPv4 and IPv6 interface addresses as desired state
version_added: 0.1.0
description:
  - Manages the addresses of network devices over rtnetlink, like C(ip address).
  - An address is identified by O(config[].dev) and O(config[].address) (address and prefix length).
  - Link-local IPv6 addresses, loopback addresses and addresses the kernel made itself are never deleted by
    O(state=overridden) or O(state=deleted). The kernel made an address when its protocol (IFA_PROTO) says so
    (router advertisements, the link-local address of a device, the loopback address), and the temporary
    addresses of IPv6 privacy extensions (C(ip address show) marks them C(temporary); the kernel makes them
    from an address added with C(mngtmpaddr), or from a router advertisement, and replaces them itself). These
    are shown in RV(gathered), RV(before) and RV(after) as the kernel has them, and a task cannot change them.
    When the address a temporary address derives from is deleted, the kernel deletes the temporary one along with
    it; check mode does not show that.
  - One exception. An element of O(state=deleted) that names a link-local IPv6 address by O(config[].dev) and
    O(config[].address) deletes it, unless the kernel made it. A protected address that such an element names and
    the module keeps is warned of, saying why it stays.
  - A finite lifetime counts down in the kernel. The module reconstructs the configured lifetime from the
    kernel's update timestamp, so a second run with the same lifetime reports no change. The reconstruction
    is good to about a second; values within 2 seconds of the one in O(config) count as equal and are
    reported as the configured value. An address the task does not name shows the reconstructed value.
  - A deprecated address (added with O(config[].preferred_lft=0), or whose finite preferred lifetime is over; C(ip
    address show) marks it C(deprecated)) shows O(config[].preferred_lft=0). A task that gives the preferred lifetime
    it was added with, any value up to the address's age, reports no change.
  - The first IPv4 address of a subnet on a device is its primary address; the ones added after it are its
    secondary addresses. When the primary is deleted, the kernel deletes the secondaries too, unless the
    C(promote_secondaries) sysctl is set. The primary is deleted with O(state=deleted) and O(state=overridden), and
    when a new O(config[].label), O(config[].scope), O(config[].peer) or O(config[].noprefixroute) deletes and
    re-adds it. In these cases the
    module deletes the secondaries first, newest first, and adds them back after the primary in their order,
    unless the task deletes them. RV(commands) shows these steps. When the primary is not added back, the first
    secondary becomes the new primary. When a secondary is added back, its finite lifetime starts again from the
    value shown. A rollback also adds the secondaries it deleted back in their order (their order decides which
    one the kernel promotes), and an address it adds back has its finite lifetime start again from the value
    shown, so that lifetime may read a second longer than before the task.
  - A change replaces the address in the kernel, as C(ip address replace) does, and the kernel takes what the request
    leaves out as unset. So what the kernel's address has that the module does not model is kept, in every state -
    its metric (C(ip address add ... metric N), the metric of its prefix route), an IPv4 broadcast address
    (C(ip address add ... broadcast ADDR) or C(brd +)), the IPv6 flags C(nodad), C(home) and
    C(mngtmpaddr) (privacy extensions), and its protocol (IFA_PROTO). They are not part of RV(before), RV(after) and
    the diff. RV(commands) spells the metric, the broadcast and the flags, and names a protocol in a shell comment at
    the end of the
    line, as C(ip address) 6.1 has no word for it. A re-add of the same address (a new O(config[].label), a secondary
    put back, a rollback) keeps them too.
  - An IPv6 address that failed duplicate address detection (another node on the link has it; C(ip address show)
    marks it C(dadfailed)) is kept by the kernel but not used. The module counts it as present and warns of it when
    the task names it.
  - The kernel gives all addresses of a subnet the same scope. A new O(config[].scope) for a primary address with
    secondaries is therefore an error, unless the task gives the secondaries the same scope. So is a new IPv4
    address whose scope is not the one of the addresses its subnet holds when it is added (on the host, or added
    by the task before it); the error names that address, before anything is sent, in check mode too.
  - The kernel refuses an IPv6 address, link-local ones too, on a device with IPv6 disabled
    (C(net.ipv6.conf.DEV.disable_ipv6=1)), and on a device without IPv6 because its MTU is below 1280 (the kernel
    removes a device's IPv6 then). Such an address is refused before anything is sent, naming the address and
    O(config[].dev). Check mode warns instead, and predicts it added; its prediction assumes an earlier task of the
    play sets C(net.ipv6.conf.DEV.disable_ipv6=0) or raises the MTU to 1280 or more. The kernel deletes the IPv6
    addresses of a device when it disables or removes its IPv6, so such a device has none to delete.
notes:
  - The kernel can hold two IPv4 point-to-point addresses with the same local address and prefix length that
    differ in their peer (C(ip address add 198.18.9.1 peer 198.18.9.2/32 dev ppp0), then with peer
    V(198.18.9.3)). The module tells addresses apart by O(config[].dev) and O(config[].address), so it shows both
    but cannot write or delete either of them. A task that would (O(state=deleted) naming one by its
    O(config[].peer), O(state=overridden)) fails before anything is sent, and its message gives the command that
    removes each of them (C(ip address del 198.18.9.1 peer 198.18.9.3/32 dev ppp0)). An element of
    O(state=merged) or O(state=replaced) that one of them already is leaves them alone.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state_parsed
options:
  config:
    description:
      - The addresses.
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - The device name.
          - Required, except with O(state=deleted), where any subset of fields selects the addresses to delete.
        type: str
      address:
        description:
          - The local address with its prefix length, for example V(198.18.0.1/24) or V(fd42:ed6e::1/64).
          - Host bits are kept. IPv6 addresses are compared in canonical (compressed) form.
          - Required, except with O(state=deleted).
        type: str
      peer:
        description:
          - The remote address of a point-to-point address (C(ip address add LOCAL peer PEER/LEN)), IPv4 or IPv6.
          - The prefix length of O(config[].address) applies to the peer.
          - A peer that is the local address itself is no peer (the kernel shows none).
          - Changing it deletes and re-adds the address.
        type: str
      scope:
        description:
          - V(global), V(site), V(link), V(host), or a number.
          - Default is V(host) for 127.0.0.0/8 and V(global) otherwise, as with C(ip address add).
          - For IPv6 the kernel derives the scope from the address; a different value is an error.
          - Changing it deletes and re-adds the address.
        type: str
      label:
        description:
          - The IPv4 label. It must start with the device name. Default is the device name.
          - Changing it deletes and re-adds the address.
        type: str
      valid_lft:
        description:
          - The valid lifetime in whole seconds (at least 1), or V(forever). Default is V(forever).
          - A value with a fraction of a second is an error; the kernel counts whole seconds.
        type: raw
      preferred_lft:
        description:
          - The preferred lifetime in whole seconds, or V(forever). V(0) adds a deprecated address.
          - Default is O(config[].valid_lft) when that is given, else V(forever). The kernel refuses a preferred
            lifetime longer than the valid one.
          - For an IPv4 address whose O(config[].valid_lft) is V(forever), only V(0) and V(forever) are accepted;
            the kernel ignores any other preferred lifetime of such an address.
        type: raw
      noprefixroute:
        description:
          - Do not add the prefix route for this address. Default is V(false).
          - The kernel does not change the flags of an existing IPv4 address, so a change for an IPv4 address deletes
            and re-adds it (with its secondaries, as above). An IPv6 address changes in place.
        type: bool
  dev:
    description:
      - Act only on the addresses of this device. O(state=overridden) and O(state=deleted) with no
        O(config) then leave other devices alone.
    type: str
'''

EXAMPLES = r'''
- name: Give the uplink its addresses
  edgenet.linux.address:
    config:
      - dev: veth0
        address: 198.18.0.1/24
      - dev: veth0
        address: fd42:ed6e::1/64

- name: Make veth0 carry exactly these addresses, in namespace blue
  edgenet.linux.address:
    netns: blue
    dev: veth0
    state: overridden
    config:
      - dev: veth0
        address: 198.18.0.1/24

- name: Remove every address from veth1
  edgenet.linux.address:
    config:
      - dev: veth1
    state: deleted

- name: Read the addresses
  edgenet.linux.address:
    state: gathered
  register: addresses
'''

RETURN = r'''
before:
  description: The addresses the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered) or V(parsed)
  type: list
  elements: dict
  sample:
    - {dev: veth0, address: 198.18.0.1/24, scope: global, label: veth0, valid_lft: forever,
       preferred_lft: forever, noprefixroute: false}
after:
  description:
    - The addresses the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered) or V(parsed)
  type: list
  elements: dict
commands:
  description: The iproute2 commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["ip address add 198.18.0.1/24 dev veth0"]
gathered:
  description: The addresses in scope, with O(state=gathered).
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The commands that would create O(config), with O(state=rendered).
  returned: when O(state=rendered)
  type: list
  elements: str
parsed:
  description: The addresses read from O(running_config), with O(state=parsed).
  returned: when O(state=parsed)
  type: list
  elements: dict
'''


def main():
    # pylint: disable=import-outside-toplevel
    # This first: the collection's code is then compiled once on the host, not twice (module_utils/_zipimport.py).
    from ansible_collections.edgenet.linux.plugins.module_utils._zipimport import compile_once

    compile_once()
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import run_module
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.address import Address

    run_module(Address)


if __name__ == '__main__':
    main()
