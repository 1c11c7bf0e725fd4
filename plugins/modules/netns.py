#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: netns
short_description: Named network namespaces as desired state
version_added: 0.1.0
description:
  - Creates and deletes named network namespaces exactly as C(ip netns add) and C(ip netns del) do
    (a bind mount of the namespace on C(/run/netns/NAME); C(/run/netns) is made a shared mount point).
  - A namespace is identified by O(config[].name). It has no other field, so V(replaced) is the same as V(merged).
  - Deleting a namespace unmounts and removes its name. Like C(ip netns del), this does not stop processes that
    still run in it; the namespace, its devices and their addresses live on until the last one exits.
  - A name in C(/run/netns) whose file is not a mounted namespace (a stale name, left when its mount went away) is
    no namespace. The module leaves it out of RV(before), RV(after) and RV(gathered), warns of it (of those under
    O(prefix), or named by O(config), or every one when O(state=gathered) has no O(prefix)), and removes the file
    when the task adds a namespace of that name (C(ip netns add) would fail on it; RV(commands) shows
    C(ip netns del) first).
  - B(Deleting namespaces by omission is dangerous on a real host.) Other software (container runtimes, VPN
    clients, test labs) keeps its namespaces in C(/run/netns) too. Whenever a task would delete a namespace that
    O(config) does not name, that is with O(state=overridden) or with O(state=deleted) and no O(config), the module
    B(requires) O(prefix) and only namespaces whose name starts with it are in scope. Without O(prefix), such a
    task fails before anything is changed.
  - This module does not take the C(netns) option, and so it is not in the C(group/edgenet.linux.netlink)
    action group, so C(module_defaults) that set C(netns) for that group do not reach it.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink.state
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Check mode lists C(/run/netns) and plans, but creates, mounts and removes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: >-
      The diff has one entry for each namespace that is added or removed, under a header that names it
      (C(edgenet.linux.netns: netns blue)); RV(before) and RV(after) also hold the unchanged namespaces the task
      is about.
  platform:
    description: Target OS/families that can be operated against.
    platforms: linux
    support: full
notes:
  - Every run returns RV(before), RV(after) and RV(commands) (the C(ip netns) command lines equivalent to the change).
  - RV(before) and RV(after) hold the namespaces the task is about. With O(state=merged) and O(state=replaced), these
    are the namespaces O(config) names; with O(state=deleted), those an element of O(config) matches; with
    O(state=overridden), with O(state=deleted) and no O(config), and with O(state=gathered), every namespace in scope.
  - If one operation fails, the operations this task already made are undone in reverse order.
  - Needs root (CAP_SYS_ADMIN) to create or delete a namespace; V(gathered) needs no privilege.
options:
  config:
    description:
      - The namespaces.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The namespace name, a file name in C(/run/netns) as with C(ip netns add).
          - It may not be empty, V(.) or V(..), contain C(/), or be longer than 254 bytes.
          - With O(prefix) set, it must start with O(prefix).
        type: str
        required: true
  prefix:
    description:
      - Only namespaces whose name starts with this string are in scope. V(gathered) lists only them, and
        V(overridden) and V(deleted) only ever delete them.
      - B(Required) whenever the task would delete a namespace that O(config) does not name (V(overridden), or
        V(deleted) with no O(config)).
    type: str
'''

EXAMPLES = r'''
- name: Make sure the lab namespaces exist
  edgenet.linux.netns:
    config:
      - name: lab-blue
      - name: lab-red

- name: Exactly these lab namespaces; other lab-* namespaces are deleted, nothing else is touched
  edgenet.linux.netns:
    state: overridden
    prefix: lab-
    config:
      - name: lab-blue

- name: Remove one namespace
  edgenet.linux.netns:
    state: deleted
    config:
      - name: lab-red

- name: Remove every lab namespace
  edgenet.linux.netns:
    state: deleted
    prefix: lab-

- name: List the namespaces
  edgenet.linux.netns:
    state: gathered
  register: namespaces
'''

RETURN = r'''
before:
  description: The namespaces the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample: [{name: lab-blue}, {name: lab-red}]
after:
  description:
    - The namespaces the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The iproute2 commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["ip netns add lab-blue"]
gathered:
  description: The namespaces in scope, with O(state=gathered).
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.netns import Netns

    run_module(Netns)


if __name__ == '__main__':
    main()
