#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: netlink_facts
short_description: Links, addresses, routes, rules and neighbours of one namespace as facts
version_added: 0.1.0
description:
  - Reads the netlink state of one network namespace and returns it as C(ansible_facts.netlink).
  - Each subset is exactly what the matching resource module returns with O(ignore:state=gathered)
    (M(edgenet.linux.link), M(edgenet.linux.address), M(edgenet.linux.route), M(edgenet.linux.rule),
    M(edgenet.linux.neighbor)), with the same objects, the same fields, the same normalization, and the same
    kernel-owned objects left out. So a subset can be fed back as O(ignore:config) of its module, and that
    task then reports no change. That holds for the rules with an C(unmanaged) field too (selectors or actions
    that M(edgenet.linux.rule) does not manage); an element with it names that rule, which M(edgenet.linux.rule)
    keeps as it is.
  - Like M(edgenet.linux.route), the routes subset leaves out IPv4 routes with a TOS (C(ip route add ... tos 0x10))
    and IPv6 routes with a source prefix (C(ip -6 route add ... from PREFIX)), which no module of this collection
    manages. Read them with C(ip -j route show) when you need them.
  - The module never changes anything; it always reports C(changed=false).
author:
  - edgenet.linux maintainers (@edgenet)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; check mode returns the same facts.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    platforms: linux
    support: full
requirements:
  - Python 3.9 or later on the managed host; nothing else (the module speaks rtnetlink with the standard library)
options:
  netns:
    description:
      - The named network namespace (as listed by C(ip netns list)) to read.
      - Default is the namespace the module runs in. The namespace must exist; it is never created.
    type: str
  gather:
    description:
      - Which subsets to read. Only these keys appear under C(ansible_facts.netlink).
    type: list
    elements: str
    choices: [links, addresses, routes, rules, neighbors]
    default: [links, addresses, routes, rules, neighbors]
'''

EXAMPLES = r'''
- name: Read everything in namespace blue
  edgenet.linux.netlink_facts:
    netns: blue

- name: Show the addresses of veth0
  ansible.builtin.debug:
    msg: "{{ ansible_facts.netlink.addresses | selectattr('dev', 'equalto', 'veth0') | map(attribute='address') }}"

- name: Read only the neighbours and put them back later, unchanged
  edgenet.linux.netlink_facts:
    gather: [neighbors]

- name: Restore the neighbour entries that were read
  edgenet.linux.neighbor:
    state: overridden
    config: "{{ ansible_facts.netlink.neighbors }}"
'''

RETURN = r'''
ansible_facts:
  description: The facts.
  returned: always
  type: dict
  contains:
    netlink:
      description:
        - One key per subset in O(gather). Each value is a list of objects in the shape of the O(ignore:config)
          option of the matching module, sorted as that module sorts its RV(ignore:gathered) output.
      returned: always
      type: dict
      contains:
        links:
          description: The links, as M(edgenet.linux.link) gathers them (C(ifname), C(kind), C(mtu), C(state), ...).
          returned: when V(links) is in O(gather)
          type: list
          elements: dict
        addresses:
          description: The addresses, as M(edgenet.linux.address) gathers them (C(dev), C(address), C(scope), ...).
          returned: when V(addresses) is in O(gather)
          type: list
          elements: dict
          sample:
            - {dev: veth0, address: 198.18.0.1/24, scope: global, label: veth0, valid_lft: forever,
               preferred_lft: forever, noprefixroute: false}
        routes:
          description:
            - The routes, as M(edgenet.linux.route) gathers them (C(dst), C(gateway), C(dev), C(table), ...).
            - Kernel-owned routes, IPv4 routes with a TOS and IPv6 routes with a source prefix are not included.
          returned: when V(routes) is in O(gather)
          type: list
          elements: dict
        rules:
          description: The policy rules, as M(edgenet.linux.rule) gathers them.
          returned: when V(rules) is in O(gather)
          type: list
          elements: dict
        neighbors:
          description:
            - The neighbour entries, as M(edgenet.linux.neighbor) gathers them (C(dev), C(dst), C(proxy), C(lladdr),
              C(state), C(router)). Entries the kernel learned by itself are not included.
          returned: when V(neighbors) is in O(gather)
          type: list
          elements: dict
          sample:
            - {dev: veth0, dst: 198.18.0.254, proxy: false, lladdr: "02:00:5e:00:00:fe", state: permanent,
               router: false}
'''


def main():
    # pylint: disable=import-outside-toplevel
    # This first: the collection's code is then compiled once on the host, not twice (module_utils/_zipimport.py).
    from ansible_collections.edgenet.linux.plugins.module_utils._zipimport import compile_once

    compile_once()
    from ansible_collections.edgenet.linux.plugins.module_utils._facts import run_facts

    run_facts()


if __name__ == '__main__':
    main()
