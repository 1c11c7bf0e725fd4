#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bridge_fdb
short_description: Bridge and VXLAN forwarding database (FDB) entries as desired state
version_added: 0.1.0
description:
  - Manages forwarding database entries over rtnetlink (AF_BRIDGE neighbour messages), like C(bridge fdb).
  - An entry is either in the bridge's table (O(config[].master=true), on a bridge port) or in the device's
    own table (O(config[].self=true)), such as a VXLAN device's table of remote VTEPs or the bridge
    device's own entries.
  - An entry is identified by O(config[].dev), O(config[].mac), O(config[].vlan), O(config[].dst) and
    O(config[].self). A VXLAN head-end replication list (the all-zero MAC to several VTEPs) is one entry per
    O(config[].dst).
  - B(The destinations of one group MAC.) To the kernel, the destinations of the all-zero or a multicast MAC on
    a VXLAN device (per O(config[].src_vni)) are one entry with a list of remote destinations, and they share its
    O(config[].state), O(config[].extern_learn) and O(config[].sticky). A write of one destination sets them for
    all of them; a write with O(config[].extern_learn) leaves them as they are when the entry has other destinations.
    So the destinations that config gives of one MAC must agree on these fields, counting those the kernel keeps (a
    task without O(config[].state) keeps an existing destination's), and the module refuses a task where they
    would not, before anything is sent and in check mode too, naming the config element and the field.
    A task that changes them for some destinations changes them for the others too. The module writes each of the
    others again (C(bridge fdb append) of the same destination, which changes nothing else), so that RV(before),
    RV(after), the diff and RV(commands) show them, check mode predicts them, and a rollback puts them back.
    Turning O(config[].extern_learn) on takes every destination of the MAC in the task (each is deleted and added).
    On a VXLAN device in external vnifilter mode, the kernel's flood entry for a VNI of the VNI list (not shown,
    see below) is a destination of the all-zero entry of that VNI too, so other destinations of it must be
    V(permanent) without flags, as it is; the module refuses others in both modes.
  - Such a MAC points either at an FDB nexthop group (O(config[].nhid)) or at destinations (O(config[].dst)), never
    both. The kernel refuses the first beside the second (EEXIST) and drops the second without a word. The module
    refuses a task that would leave both kinds for one MAC, counting the entries the kernel keeps, before anything
    is sent and in check mode too, naming the element and O(config[].nhid) or O(config[].dst). O(state=overridden)
    may swap one kind for the other, as it deletes first.
  - B(What the module sees and touches.) Every V(permanent) and V(static) entry and every
    O(config[].extern_learn) entry. The kernel's own entries are never shown, changed or deleted, namely
    the multicast entries every device reports from its multicast list (V(33:33:...), V(01:00:5e:...)),
    the bridge's V(permanent) entries for the MAC address of a port or of the bridge itself, and on a VXLAN
    device in external vnifilter mode the flood entry the kernel makes for each VNI of the device's VNI list
    that has a remote or a group (C(00:00:00:00:00:00 dst REMOTE vni N src_vni N self permanent), with
    O(config[].via) the device's lower device if it has one). Those follow the VNI list, which
    M(edgenet.linux.bridge_vni) manages; a O(config) element that names one is refused. Other all-zero
    entries on such a device (more head-end replication destinations) are managed here as usual.
    An entry of a bridge's table for the address of the bridge or of one of its ports is refused too, before
    anything is sent. A write of it would take the bridge's own entry over.
  - B(Dynamic entries.) The kernel reports an entry added as V(dynamic) exactly like one it learned, so
    dynamic entries (learned ones included) are shown, changed and deleted only with
    O(include_learned=true). They then carry RV(gathered[].age).
  - Entries in the bridge's table and plain devices' entries are written with C(bridge fdb replace), so a
    learned entry for the same key is taken over. VXLAN entries for the all-zero or a multicast MAC are
    appended (C(bridge fdb append)); a change to a VXLAN entry is a delete then an add.
  - The VXLAN fields O(config[].vni) and O(config[].port) are reported only when they differ from the
    VXLAN device's own VNI and destination port, as the kernel reports them. A value equal to the device's
    own is what the kernel stores for an entry without one, so the module leaves it out of the entry it
    writes and reports (RV(after) and the commands), as RV(gathered) shows it.
  - B(Entries without a VLAN, on a kernel with bridge VLANs) (C(CONFIG_BRIDGE_VLAN_FILTERING), which distribution
    kernels have). There every bridge port and the bridge itself have VLANs (VLAN 1, the bridge's default_pvid,
    even with VLAN filtering off), and the kernel writes an entry of the bridge's table given without
    O(config[].vlan) once without a VLAN and once for every VLAN of the port (for the bridge device's own
    entries, every VLAN of the bridge), with the same state and flags; it deletes them all together, and cannot
    delete the entry without a VLAN alone. The module treats such an element as what the kernel makes of it
    (what C(bridge fdb replace MAC dev PORT master) makes), so check mode predicts exactly what the real run does.
  - Such an element stands for the entry without a VLAN and one entry per VLAN of the port, which all states
    but V(deleted) keep as it gives them. A VLAN the port gets later gets its entry on the next run. An element
    of the same MAC and port with O(config[].vlan) wins for its VLAN, and the module writes that entry again
    right after the write without a VLAN that changes it. O(state=overridden) without the entry without a VLAN,
    but with some of its VLANs' entries, deletes it and makes those again right after (the kernel took them
    along). RV(commands) list every write, those with a VLAN too, and a rollback puts every entry back as it
    was. On a kernel without bridge VLANs (no VLANs on the ports), an element without a VLAN is one entry.
  - The kernel keeps the static entries of a VLAN that is removed from their port, and before Linux 6.13 refuses
    to delete such an entry while the port lacks the VLAN. Before 6.13, a task that would delete one (O(state=overridden),
    O(state=deleted)) fails up front in both modes, naming the entry and O(config[].vlan); add the VLAN to the
    port again, delete the entry, then remove the VLAN.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state
options:
  config:
    description:
      - The FDB entries.
    type: list
    elements: dict
    suboptions:
      mac:
        description:
          - The MAC address, for example V(02:00:00:00:00:01). Required, except with O(state=deleted).
        type: str
      dev:
        description:
          - The device (a bridge port, a bridge, or a VXLAN device). Required, except with O(state=deleted).
        type: str
      vlan:
        description:
          - The VLAN ID (1 to 4094) of an entry of a bridge's table; the VLAN must be one of the port's (the
            bridge's own, for the bridge's own entries; M(edgenet.linux.bridge_vlan)), as the kernel refuses
            any other. The module refuses one the device lacks before anything is sent; check mode warns
            instead, assuming an earlier task of the play adds it. Needs a kernel with bridge VLANs (without
            them, an entry with a VLAN is refused in both modes). On such a kernel, an element without it also
            stands for the entries of every VLAN of the port (see the description).
        type: int
      dst:
        description:
          - The remote VTEP address of a VXLAN device's entry (IPv4 or IPv6). Required for an entry of a
            VXLAN device, which has no other kind.
          - Of the device's address family - that of its remote or group, else of its local address; the kernel
            refuses another. A device that reports neither is IPv4 unless it was made with an IPv6 any address
            (C(local ::)), which the kernel does not report - the family of the destinations it has then decides,
            and without any the kernel answers.
        type: str
      self:
        description:
          - V(true) for an entry in the device's own table (a VXLAN device's remote table, the bridge
            device's own entries, a plain device's unicast address list). The default, as with C(bridge fdb).
          - The opposite of O(config[].master); give one of them.
        type: bool
      master:
        description:
          - V(true) for an entry in the table of the bridge that O(config[].dev) is a port of.
          - Default is V(false). An entry of a bridge device itself is O(config[].self=true).
        type: bool
      state:
        description:
          - V(permanent) (a local entry; on a bridge port, frames to this MAC are delivered to the bridge
            itself), V(static) (forwarded to the port, never aged) or V(dynamic) (aged like a learned entry;
            needs O(include_learned=true)).
          - The bridge takes a V(dynamic) entry in its table only from a port that learns (STP state learning or
            forwarding; a port is disabled while its link or its bridge is down). The module refuses one for any
            other port before it changes anything; check mode warns that it assumes an earlier task brings
            the port up.
          - Default is V(permanent), or V(dynamic) for an O(config[].extern_learn) entry in the bridge's table.
          - The own table (O(config[].self=true)) of a bridge or of a device that is not a VXLAN device takes
            only V(permanent) entries; the kernel refuses others, and so does the module, before anything is sent.
        type: str
        choices: [permanent, static, dynamic]
      vni:
        description:
          - The VNI to send to O(config[].dst) with, when not the VXLAN device's own. VXLAN entries only.
        type: int
      port:
        description:
          - The UDP destination port at O(config[].dst), when not the VXLAN device's own. VXLAN entries only.
        type: int
      src_vni:
        description:
          - The source VNI of the entry, on a VXLAN device in external (collect metadata) mode. Such a device
            keeps one table per VNI, so this is part of the entry's identity; head-end replication on it needs
            one C(00:00:00:00:00:00) entry per VNI and remote VTEP.
          - V(0) is what the kernel gives an entry made without one, and it is not reported; it is the same as
            leaving it out.
        type: int
      via:
        description:
          - The device to reach O(config[].dst) through. VXLAN entries only.
        type: str
      nhid:
        description:
          - The FDB nexthop group the entry points at (C(ip nexthop add id N group ... fdb)), instead of
            O(config[].dst). VXLAN entries only; excludes O(config[].dst), O(config[].vni), O(config[].port) and
            O(config[].via). The nexthop objects are not managed by this collection yet.
        type: int
      extern_learn:
        description:
          - The entry was learned by a control plane (C(extern_learn), C(NTF_EXT_LEARNED)); the bridge does not
            age it. Default is V(false). A change of this flag is a delete then an add.
          - Not for the own table of a device that is neither a bridge nor a VXLAN device, nor together with
            O(config[].sticky) in a bridge's table. The kernel drops the flag there without a word, so the module
            refuses it.
        type: bool
      sticky:
        description:
          - The entry does not move to another port when the MAC is seen there (C(sticky)). Default is V(false).
        type: bool
      age:
        description:
          - Output only, ignored on input. Seconds since a dynamic entry was last updated, in RV(gathered) with
            O(include_learned=true). Check mode predicts V(0) for a dynamic entry it adds (the real run reads
            it back right after the write).
        type: int
  dev:
    description:
      - Act only on the entries of this device. O(state=overridden) and O(state=deleted) with no O(config) then
        leave other devices alone.
    type: str
  include_learned:
    description:
      - Also show, change and delete dynamic entries, including the ones the kernel learned. With
        O(state=overridden) or O(state=deleted) this flushes learned entries.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Pin a MAC to a bridge port, and flood BUM traffic of a VXLAN to two VTEPs
  edgenet.linux.bridge_fdb:
    config:
      - dev: veth0
        mac: 02:00:00:00:00:01
        master: true
        state: static
      - dev: vx100
        mac: "00:00:00:00:00:00"
        dst: 198.18.0.2
      - dev: vx100
        mac: "00:00:00:00:00:00"
        dst: 198.18.0.3

- name: Make the VXLAN device's table exactly this, in namespace blue
  edgenet.linux.bridge_fdb:
    netns: blue
    dev: vx100
    state: overridden
    config:
      - dev: vx100
        mac: "00:00:00:00:00:00"
        dst: 198.18.0.2

- name: Flood BUM traffic of a VXLAN to the VTEPs of FDB nexthop group 10 (made with ip nexthop ... fdb)
  edgenet.linux.bridge_fdb:
    config:
      - dev: vx100
        mac: "00:00:00:00:00:00"
        nhid: 10

- name: Read every entry, learned ones with their age
  edgenet.linux.bridge_fdb:
    state: gathered
    include_learned: true
  register: fdb
'''

RETURN = r'''
before:
  description: The entries the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: veth0, mac: "02:00:00:00:00:01", self: false, master: true, state: static, extern_learn: false,
       sticky: false}
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
  sample: ["bridge fdb append 00:00:00:00:00:00 dev vx100 dst 198.18.0.2 self permanent"]
gathered:
  description: The entries in scope, with O(state=gathered).
  returned: when O(state=gathered)
  type: list
  elements: dict
  contains:
    age:
      description: Seconds since a dynamic entry was last updated (with O(include_learned=true)).
      type: int
      returned: for dynamic entries
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.bridge_fdb import BridgeFdb

    run_module(BridgeFdb)


if __name__ == '__main__':
    main()
