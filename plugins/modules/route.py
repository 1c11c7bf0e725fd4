#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: route
short_description: IPv4 and IPv6 routes as desired state
version_added: 0.1.0
description:
  - Manages routes over rtnetlink, like C(ip route), in any routing table.
  - A route is identified by O(config[].table), O(config[].family), O(config[].dst) and O(config[].metric).
    The family is part of the key because V(default) names both the IPv4 and the IPv6 default route.
  - The kernel keeps one IPv6 route per table, destination and metric; several gateways for one IPv6
    destination are one multipath route, given with O(config[].nexthops). IPv4 routes follow the same
    rule here.
  - A second route of one key exists only when something made it with C(ip route append) or C(prepend) (both
    families). The module cannot tell the two apart in a write, which names the key (the kernel replaces or
    deletes the first of them). A task that one of them already satisfies changes nothing. A task that would
    change or delete either of them fails before anything is sent, in check mode too, naming the route and how
    the two differ. Remove the extra route first, with C(ip route del) and its C(dev) or C(via).
  - A change of attributes replaces the route in place (C(ip route replace)). A change of a key field
    is a new route; the old one stays unless O(state=overridden) or O(state=deleted) removes it.
  - Routes the kernel owns are not shown in RV(before), RV(after) and RV(gathered), and are never changed or
    deleted. These are routes with protocol C(kernel), C(ra), C(redirect) or C(dhcp), the C(local),
    C(broadcast), C(anycast) and C(multicast) routes of table C(local), the IPv6 routes inside
    C(fe80::/64) and C(ff00::/8), and cached routes. A wanted route with the key of such a route is an
    error, and so is a wanted route that would itself be one of them (it would be made, and then not be shown);
    both fail before anything is sent, in check mode too.
  - IPv4 routes with a TOS (C(ip route add ... tos 0x10)) are not managed either. They are not shown and never
    changed or deleted, also with O(state=overridden) and O(state=deleted). The module manages only the routes
    without a TOS (TOS 0). The kernel keeps the two apart, so a route with a TOS does not stand in for the route
    without one that has the same key.
  - The same holds for IPv6 routes with a source prefix (C(ip -6 route add ... from PREFIX)), which the module
    does not manage; it manages the routes without one.
  - Check mode warns of a route the kernel would refuse of the host as it stands. That is a gateway that no route
    of the host or of the task reaches as the kernel checks it, the host's own IPv6 address as a gateway, a gateway
    other than the host's own address for an IPv4 route of scope link, or a O(config[].prefsrc) that is no address
    of the host. An earlier task of the play (one that adds the address) may make the route possible, and check
    mode runs no earlier task. So check mode still reports the change, and the warning names the route, the field
    and the kernel's refusal. If nothing adds what the route needs, the real run fails there with the kernel's
    message and rolls back.
  - The IPv4 scopes that the kernel refuses whatever the host holds are refused before anything is sent, in check
    mode too. These are scope C(nowhere) on a route with a next hop, scope C(host) with a gateway or with
    O(config[].nexthops), and scope C(link) with an onlink gateway.
  - The kernel refuses an IPv6 next hop on a device with IPv6 disabled (C(net.ipv6.conf.DEV.disable_ipv6=1)) or
    without IPv6 (the kernel removes it from a device whose MTU is below 1280). That is an IPv6 route whose
    O(config[].dev) or O(config[].nexthops[].dev) is such a device, and an IPv4 route through an IPv6 gateway on
    one. Such a route is refused before anything is sent, naming the route and the field of the device. Check mode
    warns instead, and predicts it made; its prediction assumes an earlier task of the play sets
    C(net.ipv6.conf.DEV.disable_ipv6=0) or raises the MTU to 1280 or more (a kernel or namespace without IPv6 is
    refused in check mode too). A delete needs no IPv6 on the device. A route without a next hop (C(blackhole), C(unreachable),
    C(prohibit), C(throw)) has no device.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state
options:
  config:
    description:
      - The routes.
    type: list
    elements: dict
    suboptions:
      dst:
        description:
          - The destination prefix, for example V(198.18.10.0/24) or V(fd42:ed6e:10::/64), or V(default).
          - A bare address is a host route (V(/32) or V(/128)). Host bits may not be set.
          - Required, except with O(state=deleted), where any subset of the fields selects routes.
        type: str
      family:
        description:
          - V(4) or V(6). Default is the family of O(config[].dst), O(config[].gateway),
            O(config[].prefsrc) or the nexthop gateways, and V(4) when none of them tells (a V(default)
            route with only a device), as with C(ip route).
          - With the module option O(family), that family.
        type: int
        choices: [4, 6]
      type:
        description:
          - The route type. Default is V(unicast).
          - V(throw) (a policy routing table's end, C(ip route add throw PREFIX table N)) has, like V(blackhole),
            V(unreachable) and V(prohibit), no next hop.
          - With O(state=merged), a route keeps its type when the element gives none. An element that gives a
            next hop (O(config[].gateway), O(config[].dev), O(config[].nexthops), O(config[].onlink) or
            O(config[].prefsrc)) for a route of a type without one is an error naming that field; give
            V(unicast) (or the type wanted) with it.
          - A V(broadcast), V(anycast) or V(multicast) route goes in table V(main) by default, as any other route
            (C(ip route add) puts the first two in table V(local)). In table V(local) such routes are the kernel's,
            which the module leaves alone and refuses to make. They have a next hop, as a unicast route; the kernel
            refuses an IPv4 V(broadcast) or V(anycast) route of a scope wider than V(link).
        type: str
        choices: [unicast, blackhole, unreachable, prohibit, throw, local, broadcast, anycast, multicast]
      gateway:
        description:
          - The next hop (C(via)). It must be of the route's family, except that an IPv4 route may go through an
            IPv6 next hop (RFC 5549, as with BGP unnumbered; C(ip route add DST via inet6 GATEWAY dev DEV), which the
            kernel holds as C(RTA_VIA)). Such a route needs O(config[].dev), and RV(gathered) shows its IPv6 gateway.
            An IPv6 route has no IPv4 next hop.
        type: str
      dev:
        description:
          - The output device. It must exist.
          - Given a O(config[].gateway) without a device, the kernel chooses the device from the routes to the
            gateway (of scope link, in the route's table, then in table main); the module predicts that choice, so
            that check mode and RV(commands) show it. A route's device is kept when a task changes its gateway
            without a device, as long as it still reaches the new gateway; otherwise the device that reaches it is
            taken, as C(ip route replace DST via GATEWAY) does.
          - The routes to the gateway may be device routes of the same task (added first), which the prediction
            counts too.
          - A gateway reached only through a policy rule's table is left to the kernel. Check mode's RV(after) then
            shows no device, and the real run shows the kernel's choice.
          - A C(unicast) or C(local) route needs a device, a gateway or O(config[].nexthops); the kernel refuses one
            without, and so does the module, before anything is sent.
          - An IPv6 link-local gateway (C(fe80::/10)) needs a device. Every link has C(fe80::/64), so the kernel
            refuses the route without one. The module refuses it before anything is sent.
        type: str
      onlink:
        description:
          - Treat the gateway as directly reachable on O(config[].dev) (C(onlink)). Default is V(false).
        type: bool
      nexthops:
        description:
          - The next hops of a multipath route (at least two). Not together with O(config[].gateway),
            O(config[].dev) or O(config[].onlink=true). O(config[].onlink=false), which RV(gathered) shows for a
            multipath route, is accepted, so that a gathered route can be fed back.
          - Every next hop of an IPv6 multipath route needs a O(config[].nexthops[].gateway); the kernel takes no
            device-only next hop for IPv6.
          - The kernel keeps them in the order given; a different order is a change.
        type: list
        elements: dict
        suboptions:
          gateway:
            description: The next hop address; of an IPv4 route, it may be an IPv6 address (as O(config[].gateway)).
            type: str
          dev:
            description: The device of this next hop. It must exist.
            type: str
            required: true
          weight:
            description: The weight, 1 to 256. Default is V(1).
            type: int
          onlink:
            description: Treat the gateway as directly reachable on O(config[].nexthops[].dev). Default is V(false).
            type: bool
      table:
        description:
          - The routing table, V(main), V(local), V(default) or a number. Default is V(main), or the module
            option O(table) when it is given.
          - Shown as C(ip route) prints it, a name for 253 to 255 and a number otherwise.
        type: raw
      metric:
        description:
          - The metric (C(metric), C(priority)). Default is V(0) for IPv4 and V(1024) for IPv6, as the kernel sets.
          - For IPv6 the kernel turns V(0) into V(1024).
        type: int
      protocol:
        description:
          - The routing protocol that owns the route (C(proto)), a name such as V(static) or V(bgp), or a number.
            Default is V(boot), as with C(ip route add).
        type: raw
      scope:
        description:
          - V(global), V(site), V(link), V(host), or a number.
          - Default, as with C(ip route add), is V(host) for a local route, V(link) for a unicast route with
            neither gateway nor nexthops and for a broadcast, anycast or multicast route, and V(global) otherwise.
          - IPv6 routes have no scope; the kernel reports V(global).
        type: raw
      prefsrc:
        description:
          - The preferred source address (C(src) in C(ip route)).
        type: str
        aliases: [src]
      mtu:
        description:
          - The path MTU of the route (C(mtu)), 68 to 65535. Default is none.
        type: int
  table:
    description:
      - Act only on the routes of this table. O(state=overridden) and O(state=deleted) then leave other
        tables alone. Routes in O(config) without a table go to this table.
    type: raw
  family:
    description:
      - Act only on the routes of this family (V(4) or V(6)).
    type: int
    choices: [4, 6]
notes:
  - The module reads the routes with one netlink dump (both families). With O(state=merged), V(replaced), or
    V(deleted) with a O(config) whose every element has a O(config[].dst), once the dump has held more than twice
    as many routes as the O(config), it decodes only the routes with one of those dsts (in any table, of any
    metric) and the routes through a device without a gateway (the device of a route given a gateway and no
    O(config[].dev) is looked up among them). So a task that changes a few routes on a router with a full table
    does not decode the table; the kernel still sends all of it (a route dump cannot be filtered by prefix).
  - A change replaces the whole route in the kernel, as C(ip route replace) does. Attributes of the kernel's
    route that the module does not model are kept, in every state (V(merged), V(replaced) and V(overridden)
    alike), because a task cannot name them. These are the realm (C(realm), C(realms)), the metrics other
    than O(config[].mtu) (C(advmss), C(initcwnd), C(initrwnd), C(window), C(rtt), C(rttvar), C(ssthresh),
    C(cwnd), C(reordering), C(hoplimit), C(features), C(rto_min), C(quickack), C(congctl),
    C(fastopen_no_cookie), and their C(lock)), the preference (C(pref)) and expiry (C(expires)) of an IPv6
    route, a nexthop object (C(nhid)), and any other attribute of the route, such as an encapsulation.
  - An expiry is kept as the seconds left when the task read the route.
  - A route that uses a nexthop object shows the next hop the object resolves to. A change that keeps that
    next hop keeps the object; a change that gives another O(config[].gateway), O(config[].dev) or
    O(config[].nexthops) replaces the object with those next hops.
  - The kept attributes are not part of RV(before), RV(after) and the diff, which show only the options of
    O(config). RV(commands) spells them in C(ip route) syntax, so that a pasted command keeps them too. An
    attribute that C(ip route) has no word for (an encapsulation) is named in a shell comment at the end of the
    line. A rollback restores a route with its kept attributes.
  - O(config[].mtu) is modelled. Without it, O(state=replaced) and O(state=overridden) remove the MTU and its
    lock. To remove an attribute that the module does not model, delete the route and add it again.
  - The next hops of a multipath route keep theirs too. A next hop of O(config[].nexthops) with the dev and
    gateway of one of the kernel's next hops keeps what that one has beyond the options (its realm, an
    encapsulation); a next hop the config drops goes with them. RV(commands) says the realm of each next hop,
    and names an encapsulation in the closing comment. A multipath route made a single-path one
    (O(config[].gateway) and O(config[].dev)) does not keep what its next hop had of its own.
'''

EXAMPLES = r'''
- name: Routes of the uplink
  edgenet.linux.route:
    config:
      - dst: default
        gateway: 198.18.0.254
        dev: veth0
      - dst: fd42:ed6e:10::/64
        gateway: fd42:ed6e::2
        dev: veth0
        metric: 100
      - dst: 198.18.20.0/24
        type: blackhole
        protocol: static

- name: A multipath route with weights
  edgenet.linux.route:
    config:
      - dst: 198.18.30.0/24
        nexthops:
          - {gateway: 198.18.0.2, dev: veth0, weight: 3}
          - {gateway: 198.18.0.3, dev: veth0}

- name: Table 100 holds exactly these routes, in namespace blue
  edgenet.linux.route:
    netns: blue
    table: 100
    state: overridden
    config:
      - dst: default
        gateway: 198.18.0.254
        dev: veth0

- name: Read the routes
  edgenet.linux.route:
    state: gathered
  register: routes
'''

RETURN = r'''
before:
  description: The routes the task is about (see the notes), before it, in the shape of O(config). Kernel-owned routes are left out.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dst: 198.18.10.0/24, family: 4, type: unicast, gateway: 198.18.0.2, dev: veth0, onlink: false,
       table: main, metric: 0, protocol: boot, scope: global}
after:
  description:
    - The routes the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The iproute2 commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["ip route add 198.18.10.0/24 via 198.18.0.2 dev veth0"]
gathered:
  description: The routes in scope, with O(state=gathered).
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.route import Route

    run_module(Route)


if __name__ == '__main__':
    main()
