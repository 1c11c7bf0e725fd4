#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: rule
short_description: IPv4 and IPv6 policy routing rules as desired state
version_added: 0.1.0
description:
  - Manages policy routing rules over rtnetlink, like C(ip rule).
  - A rule is identified by O(config[].family), O(config[].priority), its selectors O(config[].from),
    O(config[].to), O(config[].iif), O(config[].oif), O(config[].fwmark), O(config[].fwmask) and
    O(config[].ipproto), and its O(config[].protocol). Two rules with the same priority but different selectors
    are two rules.
  - The kernel keeps rules that differ only in their protocol (C(ip rule add ... proto bgp)) as two rules, so
    O(config[].protocol) is part of a rule's identity. A routing daemon's rules are shown with their protocol,
    and O(state=overridden) deletes them like any other rule that O(config) does not list, as
    M(edgenet.linux.route) does with a daemon's routes. List them in O(config) (with their protocol) to keep
    them.
  - What a rule does (O(config[].action), O(config[].table), O(config[].l3mdev)) is an attribute. The kernel
    cannot change a rule in place, so a changed rule is deleted and added again.
  - The kernel's default rules (priority 0 C(lookup local), 32766 C(lookup main), 32767 C(lookup default))
    are shown in RV(before), RV(after) and RV(gathered), with protocol V(kernel), but are never changed or
    deleted. A rule of O(config) that has exactly their shape, without O(config[].protocol), names them.
  - A rule with selectors or actions this module does not manage (C(not), C(tos), C(uidrange), ports,
    C(suppress_prefixlength), C(goto), C(nop)) is shown with an C(unmanaged) field holding those words, which is
    part of its identity. Such rules are never changed or deleted, even by V(overridden). So that RV(gathered)
    can be fed back as O(config), an element may give O(config[].unmanaged) as RV(gathered) shows it; it names
    that rule, which stays as it is (no change). An element with O(config[].unmanaged) that names no rule of the
    host, or that gives it another O(config[].action), O(config[].table) or O(config[].l3mdev), is refused before
    anything is sent, in check mode too; the module cannot make or change such a rule.
  - The kernel deletes a rule by matching only the attributes the request names, and removes the first rule of
    that priority that matches, so a delete can hit another rule with more selectors that comes first. The
    module orders its deletes so that each removes exactly its own rule, and refuses, before changing anything,
    a delete that would remove a rule that stays; give such rules different priorities.
  - Rules of one priority are tried in the kernel's order, and the kernel adds a rule after the others of its
    priority. A changed rule (deleted and added again) therefore moves behind the rules of its priority that
    followed it, and so does a rule a rollback adds again; the module warns of it, naming them. Give rules whose
    order matters priorities of their own.
  - A rule the kernel would refuse to add as a duplicate of an existing one (EEXIST; it compares C(from),
    C(to), C(tos), C(dscp) and C(realms) only where the new rule has them, and ignores C(not)) is refused before
    anything is sent, in check mode too, naming the existing rule.
  - O(config[].fwmark=0) with O(config[].fwmask=0) is no fwmark at all, as the kernel stores it.
  - The kernel can hold two rules of one priority and selectors that differ in what they do (two C(ip rule add)
    with another table). The module keeps one rule per identity. A task that one of them already is changes
    nothing; a task that would change or delete either of them fails before anything is sent, in check mode too,
    naming the rule and how the two differ. Remove the extra rule first, with C(ip rule del) and its table.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.state
options:
  config:
    description:
      - The rules.
    type: list
    elements: dict
    suboptions:
      priority:
        description:
          - The priority (C(priority), C(pref)), 0 to 4294967295. Lower is tried first.
          - Required, except with O(state=deleted), where any subset of the fields selects rules.
        type: int
      family:
        description:
          - V(4) or V(6). Default is the family of O(config[].from) or O(config[].to), or the module option
            O(family), and V(4) when none of them tells, as with C(ip rule).
        type: int
        choices: [4, 6]
      from:
        description:
          - The source prefix to match. Default is all sources. V(all) means all, and so do V(any), V(default)
            and a prefix of length 0, as with C(ip rule).
          - With O(state=deleted), V(all) selects the rules without a source prefix (not every rule).
        type: str
        aliases: [src]
      to:
        description:
          - The destination prefix to match. Default is all destinations. V(all) means all, as for
            O(config[].from); with O(state=deleted) it selects the rules without a destination prefix.
        type: str
        aliases: [dst]
      iif:
        description:
          - The input device to match. It need not exist (the kernel matches it once it does).
        type: str
      oif:
        description:
          - The output device to match (for sockets bound to a device). It need not exist.
        type: str
      fwmark:
        description:
          - The firewall mark to match, a number or a hex string such as V(0x10). Shown as a number.
          - V(0) without O(config[].fwmask) is no fwmark (as the kernel stores it); with O(state=deleted) it
            selects the rules without one. V(0) with a mask matches the packets whose masked mark is 0.
        type: raw
      fwmask:
        description:
          - The mask for O(config[].fwmark), a number or a hex string. Default is V(0xffffffff) (4294967295)
            when O(config[].fwmark) is given.
        type: raw
      ipproto:
        description:
          - The IP protocol to match (C(ipproto)), a name as the host's C(/etc/protocols) has it (V(tcp), V(udp),
            V(icmp), V(ipv6-icmp), V(sctp), or one of its aliases such as V(TCP)) or a number from 0 to 255.
          - Shown as C(ip rule) shows it, by the host's name for the number, or as the number where the host has
            none (C(ip rule) then prints C(ipproto-N); that form is taken too). A name and its number are the same
            rule.
          - V(0) (V(ip)) matches every protocol, as a rule without this field; with O(state=deleted) it selects the
            rules without one.
        type: raw
      action:
        description:
          - What the rule does, V(lookup), V(blackhole), V(unreachable) or V(prohibit). Default is V(lookup) (look
            up O(config[].table)).
          - A rule with O(config[].unmanaged) may also have V(goto), V(nop) or C(action N) (an action the module
            does not manage, such as C(ip rule add ... type anycast) makes), as RV(gathered) shows it.
          - With O(state=merged), an element decides the rule's action, table and l3mdev together as if it
            gave them all. O(config[].table) makes a V(lookup) rule, another action or O(config[].l3mdev=true)
            drops the table, and a V(lookup) rule left without a table looks up V(main).
        type: str
      table:
        description:
          - The table to look up, V(main), V(local), V(default) or a number. Default is V(main) for a
            V(lookup) rule without O(config[].l3mdev). Only with O(config[].action=lookup).
        type: raw
      l3mdev:
        description:
          - Look up the table of the L3 master device (VRF) the packet came from. No O(config[].table) then.
            Default is V(false).
        type: bool
      protocol:
        description:
          - The routing protocol (daemon) that owns the rule (C(proto)), a name such as V(static), V(bgp) or
            V(openr), as C(/etc/iproute2/rt_protos) names them, or a number from 0 to 255. Shown as a name where
            there is one.
          - Default is none, as with C(ip rule add) (the kernel reports V(unspec), 0); V(unspec) or V(0) mean
            none. A rule without a protocol is shown without this field.
          - Part of the rule's identity. With O(state=deleted), a rule given without a protocol selects the
            rules of every protocol, and V(unspec) the rules without one.
          - V(kernel) marks the kernel's own rules, which are never changed or deleted; a new rule cannot have
            it, except one of the kernel's default rules made again.
        type: raw
      unmanaged:
        description:
          - Read-only. The C(ip rule) words of what a rule has that the module does not manage (C(not), C(tos),
            C(uidrange), ports, C(suppress_prefixlength), C(goto), C(nop)...), as RV(gathered) shows them. Part of
            the rule's identity.
          - Given (as RV(gathered) shows it), it names that rule of the host, which the task keeps as it is; it
            is there so that RV(gathered) can be fed back as O(config). The module never makes, changes or deletes
            such a rule; an element that names none of the host's rules is refused, and so is one with
            O(state=rendered).
        type: str
  family:
    description:
      - Act only on the rules of this family (V(4) or V(6)).
    type: int
    choices: [4, 6]
'''

EXAMPLES = r'''
- name: Policy routing for the management network
  edgenet.linux.rule:
    config:
      - priority: 100
        from: 198.18.0.0/24
        table: 100
      - priority: 110
        fwmark: "0x10"
        fwmask: "0xff"
        table: 110
      - priority: 120
        iif: veth1
        action: unreachable
      - priority: 100
        from: fd42:ed6e::/64
        table: 100

- name: Exactly these IPv6 rules (the kernel's default rules stay)
  edgenet.linux.rule:
    family: 6
    state: overridden
    config:
      - priority: 100
        from: fd42:ed6e::/64
        table: 100

- name: Read the rules
  edgenet.linux.rule:
    state: gathered
  register: rules
'''

RETURN = r'''
before:
  description: The rules the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {priority: 100, family: 4, from: 198.18.0.0/24, action: lookup, table: 100, l3mdev: false}
after:
  description:
    - The rules the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The iproute2 commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["ip rule add priority 100 from 198.18.0.0/24 lookup 100"]
gathered:
  description: The rules in scope, with O(state=gathered).
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.rule import Rule

    run_module(Rule)


if __name__ == '__main__':
    main()
