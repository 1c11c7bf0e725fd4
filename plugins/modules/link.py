#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: link
short_description: Network devices (veth, vxlan, bridge, macvlan, ipvlan, dummy, vlan, bond, ifb, vrf) as desired state
version_added: 0.1.0
description:
  - Manages network devices over rtnetlink, like C(ip link).
  - A device is identified by O(config[].ifname).
  - A device may also be named by one of its alternative names (O(config[].altnames)) in O(config[].ifname),
    O(config[].master), O(config[].veth.peer), O(config[].vxlan.dev) and the C(link) of a vlan, macvlan or ipvlan,
    as the kernel takes one wherever it takes a device's name (see the notes) - including an altname that another
    element of the same task gives its device. An element whose O(config[].ifname) is a device's altname acts on
    that device (O(state=merged) changes it, O(state=deleted) deletes it), and RV(before), RV(after), RV(commands)
    and the diff show the device by its name.
  - Options specific to a kind go under the kind's name, for example O(config[].vxlan.id).
  - Devices of other kinds (C(lo), physical NICs, tun/tap) are gathered without O(config[].kind). Their common
    attributes (mtu, state, master, ...) can be changed, but they are never deleted; a O(state=deleted) element
    that names one is warned of.
  - A veth whose other end is in another network namespace (a container's interface) is gathered without
    O(config[].veth.peer). Deleting it deletes that end too, so O(state=overridden) and O(state=deleted) without
    O(config) keep it, with a warning naming it, as they keep devices of other kinds; a O(state=deleted) element
    that names it by O(config[].ifname) deletes it (with a warning that the other end goes too). Listed in
    O(config) with another state, only its own attributes change; a O(config[].veth.peer) given for it is
    refused, even with O(recreate=true).
  - Deleting one end of a veth pair deletes the other end; deleting a device deletes the vlan, macvlan, ipvlan
    and vxlan devices on top of it, and releases its ports. The plan and RV(after) account for this.
  - A port of a bond has the bond's MTU - the kernel gives it that MTU as it joins and whenever the bond's MTU changes.
    RV(after) and check mode predict this. A port element given another MTU is refused (field C(mtu)), so set the MTU
    on the bond. When a bond releases a port (a change takes it out, or the bond is deleted), the kernel takes the
    port down and gives it back the MAC address and MTU it had when it joined. No dump shows that MTU, so the module
    sets the MTU by a command of its own after the release - the element's, else the MTU the port had in the bond.
    A port joins with the MTU and MAC address it has, so that they are the ones it gets back. A rollback that puts
    a released port back into its bond sends only the master, after the steps that followed the release are
    undone; the kernel then keeps as the port's own the MAC address the release gave back, and the MTU the port
    has then (the one the task set after the release, as the MTU the release gave back is in no dump).
  - A port of a bond has the bond's MAC address, too - the kernel gives it that address as it joins and whenever
    the bond's address changes, in modes V(balance-rr), V(balance-xor), V(broadcast), V(802.3ad) and
    V(active-backup). In modes V(balance-tlb) and V(balance-alb) only the active port (the first to join, whose
    link is up) gets it and the other ports keep their own; so does an V(active-backup) bond with C(fail_over_mac
    follow), while with C(fail_over_mac active) every port keeps its own and the bond takes the active port's.
    (C(fail_over_mac) is not an option of this module; the kernel ignores a new MAC address of an V(active-backup)
    bond with it, which is refused.) A bond with the kernel's random address takes the address of the first port
    that joins it, and a bond whose last port leaves gets a random address. RV(after) and check mode predict all
    this. A port element given an address that is not the one its bond gives it is refused (field C(address)) - give
    the address to the bond. An address given to a port that keeps its own, or to the first port of a bond with a
    random address, is set before it joins. The address given to a bond is set again after its last port leaves.
    Whether a bond without ports has a random address is in no dump, so the module takes one whose address the task
    does not give to have one (it was made without an address, or its last port left it). The kernel keeps how a
    device got its address (C(addr_assign_type)) out of its netlink dumps; sysfs shows it, but for the network
    namespace sysfs was mounted in, not for the task's O(netns). So for a bond without ports whose address was set
    outside the task, check mode and RV(after) show the address of the first port to join it as the bond's (and
    the port's), while the kernel keeps the bond's address and gives it to the port; give the bond its address in
    the task (O(config[].address)) to have that predicted. When the active port leaves a bond with several other
    ports, the kernel makes active the bond's primary port if its link is up, else the first of the other ports
    in the order they joined whose link is up (bond_find_best_slave). That order is in no netlink dump (ports are
    dumped by ifindex), so the addresses of those ports are then unknown to check mode, as a random address is.
  - The kernel lowers the MTU of a macvlan or vlan device to the new MTU of its lower device when that is lower,
    and gives an ipvlan its lower device's new MTU. A task that changes a lower device's MTU makes these changes
    commands of their own (before the lower device's, or after it for an ipvlan whose MTU goes up), so that
    RV(commands), check mode and RV(after) show them and a rollback undoes them.
  - When the kernel refuses a change part way through, the module rolls back what the task already changed. A
    device the task deleted is made again with its options, MTU, MAC address, master, state and alias, and the
    ports the kernel released when it deleted it join it again (a port the task takes out of a device it deletes
    leaves it first, by a command of its own). A bridge port that the rollback puts back into its bridge gets its
    bridge-port settings back (those of M(edgenet.linux.bridge_port), as O(recreate) describes). What the kernel
    deleted with it is not made again - its addresses, routes, neighbours, FDB entries, bridge VLANs and tc objects,
    which other modules manage, and the settings of the other end of a veth pair, which comes back with the
    kernel's defaults. The kernel applies a change request part by part (the
    kind's options, then the address, MTU, alias, state and master) and keeps the parts it applied before the
    one it refuses (a device that cannot join a master, C(EBUSY)); the module reads the device again and sets
    those parts back too.
  - With O(state=overridden), a device that a listed device names as its master or lower device must be listed
    too; otherwise the task would delete it, and the task is refused before anything is sent, in check mode too.
  - Changing O(config[].kind) or an option the kernel cannot change in place (a VNI, a VLAN id, a veth peer,
    a lower device, a bond mode, a VRF table, the address family of a vxlan, a macvlan into or out of
    V(passthru) mode) fails unless O(recreate=true).
  - With O(state=deleted), every element names its device by O(config[].ifname), which is required; the other
    fields given must match too (an element with O(config[].kind=vxlan) deletes its device only if it is a vxlan).
    Devices cannot be selected by other fields alone (such as every port of a bridge); list them, or leave
    O(config) empty to delete every device in scope.
  - A device of a kind the kernel certainly lacks is refused before anything is sent, in check mode as in the real
    run, for example C(the kernel lacks dummy devices (CONFIG_DUMMY is not set)). The module
    knows this only from the kernel's configuration (C(/proc/config.gz), else C(/boot/config-RELEASE)) - an option
    that is not set, or a module that is neither loaded nor in C(/lib/modules/RELEASE). Without such evidence (no
    configuration to read, a module tree it cannot see) the kernel itself answers. The configuration is read only
    for a kind that no device in the namespace has. A kind the kernel refuses all the same (C(EOPNOTSUPP)) is
    reported the same way, with the option's name.
  - The kernel gives a new device a random MAC address unless O(config[].address) sets one (a new bridge takes the
    smallest address of its ports once it has some). Check mode cannot know a random address, so its RV(after) and
    diff leave O(config[].address) out for such a device; the real run shows the address the kernel chose, one line
    more in its diff. The same holds for a bridge whose address follows its ports when a new port with a random
    address joins it, which may or may not change the bridge's address. Its check-mode diff shows the address as
    removed, meaning it is unknown. Every other field is predicted as the real run reports it.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state
options:
  config:
    description:
      - The devices.
    type: list
    elements: dict
    suboptions:
      ifname:
        description: The device name (1 to 15 characters).
        type: str
        required: true
      kind:
        description:
          - The kind of device. Needed to create one; inferred from the kind options when only they are given.
          - Changing it deletes and re-creates the device, and needs O(recreate=true).
        type: str
        choices: [veth, vxlan, bridge, macvlan, ipvlan, dummy, vlan, bond, ifb, vrf]
      mtu:
        description:
          - The MTU, from 68 to the largest the kind takes, 65535 (65536 for dummy, 65575 for vrf; for a device
            of another kind, the range the kernel reports for it, as C(ip -d link) shows C(minmtu) and C(maxmtu)).
            Given without O(config[].kind), the device's kind as it will be sets the limit. The MTU of a vlan,
            macvlan or ipvlan is at most its lower device's, and that of a vxlan with O(config[].vxlan.dev) at most
            the lower device's less 50 bytes (70 over IPv6); a larger one is refused.
          - Default is 1500, 65575 for vrf; for vlan, macvlan, ipvlan and a vxlan with O(config[].vxlan.dev) the
            kernel derives it from the lower device (the largest MTU it takes).
          - A bridge whose MTU was never changed takes the smallest MTU of its ports when a port joins or leaves it;
            one changed by a request keeps it (its ports keep theirs). So the MTU of a new bridge is set by a command
            of its own, after the ports the task adds to it have joined (an MTU of 1500 without such ports is the
            one the new bridge has already, and needs no command).
          - An existing bridge whose MTU is already the one given gets no command, unless the task makes a device
            its port, takes one out of it, deletes one or changes a port's MTU, and its MTU may be the kernel's rule
            for its ports rather than one set by a request (the smallest of its ports', or 1500 without ports); then
            the MTU is set again after the last such step. A port that changes in a later task can still move a
            bridge whose MTU no request has set; the next run of this task sets it again.
          - The kernel refuses a new MTU for a vxlan in the request that changes its vxlan options; the MTU is set
            by a command of its own, before them.
        type: int
      address:
        description:
          - The MAC address (unicast). Default is the one the kernel chooses (random, or the lower device's).
          - A port of a bond gets the address its bond gives it (the bond's, in most modes); another one is refused.
        type: str
      state:
        description:
          - The administrative state (C(IFF_UP)). Default is V(down), V(up) for a port of a bond.
          - A bond opens a device as it joins it, after the state of the same request; a port of a bond given V(down)
            is set down by a command of its own after the join (and after a re-created bond takes it back). To a bond
            that monitors its ports' links (C(miimon) above 0, or C(arp_interval) above 0 on a bond made outside this
            module, which does not set it) a port that is down is a failed link - in modes
            V(balance-tlb) and V(balance-alb), and V(active-backup) with C(fail_over_mac), the bond then makes another
            port active and moves MAC addresses between its ports at a time the module cannot predict, so V(down) for a
            port of such a bond is refused (field C(state)); give the bond O(config[].bond.miimon=0) (and no ARP
            monitoring), or leave state out.
        type: str
        choices: [up, down]
      master:
        description:
          - The bridge, bond or vrf this device is a port of. It must exist or be created by the same task.
          - Default is none; with O(state=replaced) a device left without O(config[].master) is released.
        type: str
      alias:
        description: The device alias (C(ifalias)). Default is none.
        type: str
      txqlen:
        description: The transmit queue length. Default is 1000 (32 for ifb).
        type: int
      altnames:
        description:
          - The device's alternative names (C(ip link property add dev IFNAME altname NAME), kernel 5.5 or later), as
            C(ip -j link show) lists them - in the order they were added. The kernel keeps that order and a task
            cannot choose it, so the order given does not matter - the names a device keeps stay in their order,
            and the new ones follow in the order given. Default is none.
          - Each is 1 to 127 bytes of UTF-8 (the kernel's C(ALTIFNAMSIZ)), not C(.) or C(..), without C(/), white
            space or control characters, given once, and not the device's own name. A name that another device
            has as its name or altname, as the task leaves the namespace, is refused (the kernel would refuse it,
            C(EEXIST)). Each check names this field and runs before anything is sent, in check mode too.
          - O(state=merged) adds the names missing. O(state=replaced) and O(state=overridden) make the list exactly
            this (an empty list removes them all); left out, a device of a kind this module manages loses its
            altnames, and a device of another kind (a physical NIC, whose altnames udev gives it) keeps them.
          - With O(state=deleted), an element that gives altnames matches a device that has each of them; the
            device deleted takes its altnames with it. O(state=deleted) never removes altnames alone - use
            O(state=replaced).
          - Each change is a command of its own (C(ip link property add|del)). The names a task removes are removed
            first, and the names it adds are added last (after the device is made), so one task can move a name
            from one device to another. Removing a name that is not the last also removes the ones after it, and
            adds them back with the new ones, so the order stays as predicted; a rollback gives a device back its
            altnames in their order.
        type: list
        elements: str
      veth:
        description: Options of a veth pair.
        type: dict
        suboptions:
          peer:
            description:
              - The name of the other end, created with this one. Needed to create a veth.
              - Listing both ends in O(config) is allowed; the second is then only updated.
              - Not gathered, and not to be given, for a veth whose other end is in another network namespace.
            type: str
      vxlan:
        description: Options of a VXLAN device.
        type: dict
        suboptions:
          id:
            description: The VNI (1 to 16777215). Needed unless O(config[].vxlan.external=true).
            type: int
          local:
            description:
              - The local (source) IPv4 or IPv6 address. Default is none.
              - The device keeps the address family it was created with (IPv4 when it was created without
                addresses); a change to the other one needs O(recreate=true).
            type: str
          remote:
            description:
              - The unicast remote address. Default is none.
              - Excludes O(config[].vxlan.group); with O(state=merged), giving one replaces the other, as the kernel
                keeps only one of them.
            type: str
          group:
            description:
              - The multicast group address (IPv4 or IPv6). Default is none.
              - Needs O(config[].vxlan.dev) - the kernel refuses a multicast destination without a lower device
                (C(EINVAL)), on create and on a change. A device that would have a group and no dev once the task's
                element is laid over it is refused before anything is sent, in check mode too, naming this option.
            type: str
          dev:
            description:
              - The lower (underlay) device. Needed with O(config[].vxlan.group), and with an IPv6 link-local
                O(config[].vxlan.local) (the kernel refuses either without one).
            type: str
          dstport:
            description: The UDP destination port. Default is 8472, the kernel's default; give 4789 for the IANA port.
            type: int
          learning:
            description: Learn remote MAC addresses into the FDB. Default is V(true).
            type: bool
          external:
            description: Collect metadata (an external control plane chooses the VNI). Default is V(false).
            type: bool
          vnifilter:
            description:
              - Filter received VNIs by the device's VNI filter list (C(ip link add ... external vnifilter)), for
                the single-VXLAN-device design; the list itself is managed with M(edgenet.linux.bridge_vni).
              - Needs O(config[].vxlan.external=true) and a kernel of 5.18 or later. It cannot be changed on an
                existing device (see O(recreate)). Default is V(false).
            type: bool
      bridge:
        description: Options of a bridge.
        type: dict
        suboptions:
          stp_state:
            description: Run STP. Default is V(false).
            type: bool
          forward_delay:
            description:
              - The forward delay in centiseconds, as C(ip link) takes it. Default is 1500.
              - The kernel keeps it in jiffies. Where C(CONFIG_HZ) is not a multiple of 100 (250), an odd number of
                centiseconds reads back one less; the module shows the value the kernel keeps, in check mode too
                (it reads C(CONFIG_HZ) from the kernel's configuration).
            type: int
          vlan_filtering:
            description:
              - Filter by VLAN (needs C(CONFIG_BRIDGE_VLAN_FILTERING)). Default is V(false).
              - On a kernel without it (a bridge of the namespace shows it, or the kernel's configuration says so),
                V(true), and a O(config[].bridge.vlan_protocol) or O(config[].bridge.vlan_default_pvid) other
                than the default, are refused before anything is sent, in check mode too.
            type: bool
          vlan_protocol:
            description: V(802.1Q) or V(802.1ad). Default is V(802.1Q).
            type: str
          vlan_default_pvid:
            description: The PVID of new ports (0 for none). Default is 1.
            type: int
          mcast_snooping:
            description: IGMP/MLD snooping. Default is V(true).
            type: bool
      macvlan:
        description: Options of a macvlan device.
        type: dict
        suboptions:
          link:
            description:
              - The lower device. Needed to create one.
              - A macvlan given as the lower device stands for its own lower device, as in the kernel, and is
                reported as that.
            type: str
          mode:
            description:
              - The mode. Default is V(vepa).
              - A change into or out of V(passthru) needs O(recreate=true).
            type: str
            choices: [private, vepa, bridge, passthru, source]
      ipvlan:
        description: Options of an ipvlan device.
        type: dict
        suboptions:
          link:
            description:
              - The lower device. Needed to create one.
              - An ipvlan given as the lower device stands for its own lower device, as in the kernel, and is
                reported as that.
            type: str
          mode:
            description: The mode. Default is V(l3).
            type: str
            choices: [l2, l3, l3s]
      vlan:
        description: Options of an 802.1Q/802.1ad VLAN device.
        type: dict
        suboptions:
          link:
            description: The lower device. Needed to create one.
            type: str
          id:
            description: The VLAN id (0 to 4094). Needed to create one.
            type: int
          protocol:
            description: V(802.1Q) or V(802.1ad). Default is V(802.1Q).
            type: str
      bond:
        description:
          - Options of a bond. Ports join it with their own O(config[].master).
        type: dict
        suboptions:
          mode:
            description: The bonding mode. Default is V(balance-rr).
            type: str
            choices: [balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb]
          miimon:
            description:
              - The MII link monitoring interval in milliseconds. Default is 0, except in the modes that cannot use ARP
                monitoring (V(802.3ad), V(balance-tlb), V(balance-alb)), where the kernel starts it at 100.
              - O(state=replaced) without it sets the default of the bond's mode.
            type: int
          lacp_rate:
            description:
              - The LACP rate. Default is V(slow).
              - The kernel takes it only in mode V(802.3ad) and only while the bond is down. A value other than the
                bond's in another mode is refused, and so is a change of a bond that is up, unless the same element
                gives O(config[].state=down). The module then takes the bond down before it changes the rate (the
                kernel removes the bond's routes and IPv6 addresses with it); bring it up in a later task.
            type: str
            choices: [slow, fast]
          xmit_hash_policy:
            description: The transmit hash policy (used by balance-xor, 802.3ad and balance-tlb; the kernel takes it in every mode). Default is V(layer2).
            type: str
            choices: [layer2, layer3+4, layer2+3, encap2+3, encap3+4, vlan+srcmac]
      vrf:
        description: Options of a VRF device.
        type: dict
        suboptions:
          table:
            description: The routing table (1 to 4294967295). Needed to create one.
            type: int
  recreate:
    description:
      - Delete and re-create a device when O(config[].kind) or an option the kernel cannot change in place differs.
      - When V(false), such a difference fails the task and names the field.
      - The kernel deletes a device's addresses, routes, neighbours, FDB entries, tc qdiscs and filters, and the devices
        on top of it, with it. The module warns, in check mode too; the tasks that make them (address, route, tc...)
        must run after this one.
      - The kernel also releases the ports of a bond, bridge or vrf it deletes. A master re-created as one of those
        kinds gets back its ports (those that the task leaves in it), each by a command right after the one that
        makes the master again; so do a vrf given another table and a bond given another mode.
      - A bridge port that joins its bridge again this way, or that is itself re-created into the same bridge, gets its
        bridge-port settings back (those of M(edgenet.linux.bridge_port) - the flags, the priority, and a cost other
        than one the kernel derives from the link speed) by a C(bridge link set) command right after it joins; the
        kernel would give it the defaults. Its VLANs (M(edgenet.linux.bridge_vlan)) and FDB entries are not made
        again.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: A bridge with a VXLAN port and a veth pair, and an ifb device (for tc redirects)
  edgenet.linux.link:
    config:
      - ifname: br0
        kind: bridge
        state: up
      - ifname: vx100
        kind: vxlan
        vxlan: {id: 100, local: 198.18.0.1, dstport: 4789, learning: false}
        master: br0
        state: up
      - ifname: veth0
        kind: veth
        veth: {peer: veth1}
        master: br0
        mtu: 1450
        state: up
      - ifname: ifb0
        kind: ifb
        state: up

- name: Exactly these devices in namespace blue (lo and physical NICs stay)
  edgenet.linux.link:
    netns: blue
    state: overridden
    config:
      - ifname: br0
        kind: bridge

# A device in external mode cannot share its UDP port with devices of one VNI (vx100 has 4789); per-VNI
# multicast groups need its underlay device (dev)
- name: One VXLAN device for many VNIs (its VNI list is set with edgenet.linux.bridge_vni)
  edgenet.linux.link:
    config:
      - ifname: vxlan0
        kind: vxlan
        vxlan: {external: true, vnifilter: true, local: 198.18.0.1, dev: veth0, dstport: 4790, learning: false}
        state: up

- name: Change a VNI (delete and re-create the device)
  edgenet.linux.link:
    recreate: true
    config:
      - ifname: vx100
        vxlan: {id: 101, dstport: 4789}

- name: Read the devices
  edgenet.linux.link:
    state: gathered
  register: links

- name: Alternative names (kernel 5.5 or later); a device is named by one of them as by its name
  edgenet.linux.link:
    config:
      - ifname: veth0
        altnames: [uplink-spine1-eth7]
      - ifname: br0
        altnames: [bridge-tenant-blue]
      - ifname: vx100
        master: bridge-tenant-blue  # br0, already its master: no change
'''

RETURN = r'''
before:
  description: The devices the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {ifname: br0, kind: bridge, mtu: 1500, address: "6a:1f:02:aa:bb:cc", state: up, txqlen: 1000,
       altnames: [bridge-tenant-blue],
       bridge: {stp_state: false, forward_delay: 1500, vlan_filtering: false, vlan_protocol: 802.1Q,
                vlan_default_pvid: 1, mcast_snooping: true}}
after:
  description:
    - The devices the task is about (see the notes), after it. In check mode, the state the task would produce
      (MAC addresses the kernel will choose are absent).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The iproute2 commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["ip link add vx100 type vxlan id 100 dstport 4789 learning", "ip link set vx100 master br0 up",
           "ip link property add dev vx100 altname vni100-tenant-blue"]
gathered:
  description: The devices, with O(state=gathered).
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.link import Link

    run_module(Link)


if __name__ == '__main__':
    main()
