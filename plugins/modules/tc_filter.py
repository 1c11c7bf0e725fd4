#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: tc_filter
short_description: Traffic control filters (u32, flower, matchall, fw, basic, bpf) with actions, as desired state
version_added: 0.1.0
description:
  - Manages tc filters over rtnetlink, like C(tc filter), with the actions gact, mirred, police, skbedit and vlan.
  - A filter is identified by O(config[].dev), O(config[].parent), O(config[].protocol), O(config[].prio) and
    O(config[].handle).
  - O(config[].handle) may be left out. It is then derived from the filter's position in O(config) among the
    filters with the same device, parent and prio - the handle the kernel assigns when the filters are added in that
    order to an empty prio (the lowest that no filter before it in O(config) has). u32 filters are V(::800),
    V(::801) and so on; flower, matchall and basic filters are V(0x1), V(0x2) and so on; a fw filter's handle is its
    mark. Inserting a filter in the middle of a list therefore
    changes the filters after it - as in a rule list, the order is meaningful (u32 tries the filters of a prio in
    handle order).
  - u32 handles are the node within the prio's own hash table, written V(::800). The kernel's full handle
    (C(800::800), C(801::800)) names a hash table the kernel picks when the prio is created (cyclically, so it
    depends on history); V(800::10) is accepted and means V(::10). Filters in other hash tables (C(ht), C(link),
    C(hashkey)) are not managed. Deleting the last u32 filter of a prio deletes the prio, since the kernel would
    keep its empty hash table - also when the prio's filters are replaced by filters of another protocol or
    classifier, and when a failed task rolls back the filters it added to a prio it created. Not when the qdisc has
    hash tables made by tc (with C(divisor)) and no other u32 prio would be left, since the kernel would
    delete those tables and their filters with it; the filter alone is deleted, and the prio stays, empty.
  - A u32 filter classifies (and runs its actions) only with tc's terminal flag, which tc sets for a classid or
    actions, and which a replace cannot change (the kernel keeps the node's selector). A change that gives a filter
    its first classid or actions, or takes away its last, deletes and adds it. A node without the flag is gathered
    without its classid.
  - An empty u32 prio made otherwise (C(tc filter del ... handle 800::800 u32) of its last filter while another u32
    prio of the qdisc exists) holds no filter, so RV(gathered) does not show it and O(state=deleted) and
    O(state=overridden) leave it. u32 filters of its protocol can be added to it. A filter of another protocol or
    classifier at that prio is refused before anything is sent, naming the C(tc filter del) command that removes the
    empty prio (the kernel would refuse the filter).
  - Only chain 0 is managed - the filters attached to qdiscs (V(1:)), to the ingress and egress hooks (V(ingress),
    V(egress)), and to the classes of HTB and HFSC qdiscs (V(1:10)).
  - Checked before anything is sent - the device and the qdisc exist (and the class, for a filter attached to
    one, of an HTB or HFSC qdisc); a O(config[].classid) in the qdisc's tree
    names a class that exists; a mirred target device exists; one prio holds one classifier kind and one protocol;
    matches are valid for the classifier and the protocol.
  - A change of the matches of a u32 filter, or of a matchall filter, deletes and re-adds it (u32 keeps a node's
    selector on replace; matchall has no replace). So does a change of a flower filter's mask (the keys it matches
    on, a prefix length, the TOS mask; not their values) and of a fw filter's mark mask, since the kernel refuses a
    replace that changes them. Other changes are an atomic C(tc filter replace).
  - Either way the kernel makes the changed filter and its actions from what the module sends alone. A filter with
    what the module does not model - a flower key of another kind (C(enc_key_id), C(ct_state), C(indev)...), a MAC
    or port under a partial mask, an address under a mask that is not a prefix, C(skip_hw)/C(skip_sw), a u32 node's
    C(link), C(offset), C(hashkey), a key at C(nexthdr+), C(police) (the old form) or C(indev), an action cookie,
    a random gact, a police peak or average rate, skbedit's C(ptype) or mark mask, vlan's C(push_eth) - would
    lose it, so a change of it is refused before anything is sent, in check mode too, naming the filter and what would
    go. Such a filter can be kept as it is (a config that gives it as RV(gathered) shows it changes nothing) or
    deleted; change it with C(tc) itself. RV(gathered) does not show what the module does not model.
  - The kernel keeps one mark mask per fw prio (the mask of the filter that made the prio) and refuses a fw filter
    with another. A task that would leave fw filters with different masks at one O(config[].dev),
    O(config[].parent) and O(config[].prio) - counting the filters of the prio that it keeps - is refused before
    anything is sent, in check mode too, naming the element and O(config[].match.mark). To change the mask of a
    prio's fw filters, give all of them the new mask in one task; each is deleted and added again, and the prio,
    which goes with its last filter, is made anew with the new mask. The flower filters of one prio may have
    different masks.
  - The kernel keeps one flower filter per match key in a prio - the same fields under the same masks with the same
    masked values (V(dscp) is the TOS under V(0xfc); a prefix's host bits do not count) - and refuses another
    (C(EEXIST)) whatever its handle, classid or actions. A task that would add a flower filter with the key of
    another filter of its O(config[].dev), O(config[].parent) and O(config[].prio) - a new one, or one the prio
    keeps - is refused before anything is sent, in check mode too, naming the second element and
    O(config[].match). A change of a filter by its own handle keeps its key. The filters are sent in the order of
    O(config) (after the deletes), so a filter that moves away from a key is given before the one that takes it.
  - The u32 O(config[].match.mark) needs a kernel with C(CONFIG_CLS_U32_MARK); a kernel without it ignores the
    mark silently.
  - A filter whose classifier or action the kernel certainly lacks is refused before anything is sent, in check mode
    as in the real run, naming the field (O(config[].kind), or C(actions[N].kind)) and the kernel option, for
    example C(the kernel lacks flower filters (CONFIG_NET_CLS_FLOWER is not set)). The module knows
    this only from the kernel's configuration (C(/proc/config.gz), else C(/boot/config-RELEASE)) - an option that is
    not set, or a module that is neither loaded nor in C(/lib/modules/RELEASE). Without such evidence (no
    configuration to read, a module tree it cannot see) the kernel itself answers. The configuration is read only
    for a kind that no filter of the task's devices has. One the kernel refuses all the same (C(ENOENT)) fails with
    the kernel's text and the option to look for (for example C(CONFIG_NET_ACT_POLICE)).
  - A bpf filter loads the program in O(config[].bpf.section) of the ELF object O(config[].bpf.object) (on the
    managed host) and attaches it, as C(tc filter ... bpf obj FILE sec SECTION) does. Maps are supported the way
    tc's own ELF loader declares them - a C(maps) section of C(struct bpf_elf_map) entries (iproute2's
    C(bpf_elf.h); an object may use a shorter struct), one global symbol per map, referenced by C(ld_imm64)
    instructions with C(R_BPF_64_64) relocations. Each map the program uses is created anew for each load
    (C(PIN_NONE), as tc does) and held by the program; pinned maps (C(PIN_OBJECT_NS), C(PIN_GLOBAL_NS)), maps of
    maps and other relocations (calls to other functions, C(.data)/C(.bss)/C(.rodata) globals) are refused naming
    O(config[].bpf.object). iproute2 built with libbpf 1.x (Debian 12's tc 6.1) refuses C(maps) sections itself,
    so a rendered command line of such a program may not work with that tc. The kernel keeps the object's file name,
    the section and the program's tag (a digest of its instructions, map references zeroed); a filter is unchanged
    when all three match the object, so a recompiled program is replaced, and an unchanged one is left alone even
    though the kernel gives it (and its maps) a new id each time it is loaded.
  - Check mode passes a bpf program to add or change through the kernel's verifier (it is loaded, with its maps,
    and closed at once; nothing of it stays), so that a program the kernel refuses fails there too, with the
    verifier's reason.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.device_names
  - edgenet.linux.netlink.state
  - edgenet.linux.netlink.gone_qdiscs
options:
  config:
    description:
      - The filters.
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - The device name.
          - Required, except with O(state=deleted), where any subset of fields selects the filters to delete.
        type: str
      parent:
        description:
          - Where the filter attaches. The handle of a qdisc (V(1:)), or V(ingress) or V(egress) (the hooks of a
            clsact qdisc; V(ingress) is also the ingress qdisc, V(ffff:)).
          - Or a class of an HTB or HFSC qdisc (V(1:10)), for hierarchical classification - a packet that the
            qdisc's filters send to an inner class is classified again by that class's filters. Other qdiscs'
            classes take no filters, and the task says so. A class's filters are managed like a qdisc's.
          - What is read. A task about the filters its config names (O(state=merged) or O(state=replaced), or
            O(state=deleted) with every element giving O(config[].dev) and O(config[].parent)) reads the filters
            of those parents alone (with V(ingress) or V(egress), both sides of the clsact qdisc, whose u32 prios
            are compared); on a 1,000-class tree that is one dump, not one per class. O(state=gathered),
            O(state=overridden) and a O(state=deleted) without them read every parent (one dump per class).
          - u32 filters of the same O(config[].prio) at several parents of one qdisc work - each parent has its own
            hash table, which the module tells apart from the others (the kernel lists them all in each parent's
            dump).
          - Required, except with O(state=deleted).
        type: str
      protocol:
        description:
          - The protocol the filter sees - V(all), V(ip), V(ipv6), V(arp), V(802.1q), V(802.1ad), or a hex EtherType.
          - For flower, this is also the match on the EtherType.
          - Default is V(all).
        type: str
      prio:
        description:
          - The filter priority (lower is tried first), 1 to 65535.
          - Required, except with O(state=deleted).
        type: int
      handle:
        description:
          - The filter's handle. Default is derived from the position in O(config), see the description.
          - u32 - V(::NODE) or V(HT::NODE), hex. flower, matchall, basic, bpf - a number. fw - the mark.
          - In a O(state=deleted) selector without O(config[].kind), a handle with a colon is a u32 node (V(800::801)
            selects V(::801)), and a number is the handle of the other classifiers (V(1) selects V(0x1)).
        type: str
      kind:
        description:
          - The classifier.
          - Required, except with O(state=deleted).
        type: str
        choices: [u32, flower, matchall, fw, basic, bpf]
      classid:
        description:
          - The class packets that match go to (C(flowid) in C(tc)), for example V(1:10).
        type: str
        aliases: [flowid]
      match:
        description:
          - What the filter matches. Fields a classifier does not take are an error. Empty or left out, a u32,
            flower, matchall or basic filter matches every packet.
        type: dict
        suboptions:
          src:
            description:
              - Source prefix (u32 and flower). IPv6 with O(config[].protocol=ipv6).
            type: str
          dst:
            description:
              - Destination prefix (u32 and flower).
            type: str
          ip_proto:
            description:
              - IP protocol (next header) - V(tcp), V(udp), V(icmp), V(ipv6-icmp), V(sctp), V(gre), or a number.
            type: str
          sport:
            description:
              - Source port. u32 reads it at the offset it has after an IP header without options (as C(tc) does).
                flower needs O(config[].match.ip_proto) V(tcp), V(udp) or V(sctp).
            type: int
          dport:
            description:
              - Destination port, as O(config[].match.sport).
            type: int
          dscp:
            description:
              - DSCP value, 0 to 63 (the upper six bits of the TOS or traffic class byte).
            type: int
          tos:
            description:
              - TOS (IPv4) or traffic class (IPv6) as VALUE or VALUE/MASK, for example V(0x10/0xff). A mask of
                V(0xfc) is returned as O(config[].match.dscp).
            type: str
          mark:
            description:
              - Firewall mark as VALUE or VALUE/MASK (u32 and fw). For fw, the mark is the filter's handle, and the
                fw filters of one prio have one mask (see the description).
            type: str
          keys:
            description:
              - Raw u32 keys, as C(tc -d filter show) prints them - V(c6120000/ffffff00 at 12) (hex value and mask,
                decimal offset from the network header, 4-byte aligned). Gathered u32 filters list here the keys that
                are not one of the fields above.
              - Keys are read as gathered filters are - a key that spells one of the fields above is that field
                (V(c6120000/ffffff00 at 12) is O(config[].match.src) V(198.18.0.0/24), V(00000050/0000ffff at 20) is
                O(config[].match.dport) V(80)), and keys at the same offset are one key - so C(before), C(after) and
                a second run show them that way.
              - A filter holds at most 255 keys (the kernel reads their count as a byte); more is an error. C(tc) makes
                at most 128, so the command line of a filter with more cannot be run with C(tc) - the module sends it
                over netlink, and warns that its line in RV(commands) is not one C(tc) takes.
            type: list
            elements: str
          dst_mac:
            description:
              - Destination MAC address (flower).
            type: str
          src_mac:
            description:
              - Source MAC address (flower).
            type: str
          vlan_id:
            description:
              - VLAN id (flower, with O(config[].protocol=802.1q)).
            type: int
          vlan_prio:
            description:
              - VLAN priority, 0 to 7 (flower).
            type: int
          vlan_ethtype:
            description:
              - The EtherType inside the VLAN tag (flower), for example V(ip).
            type: str
      bpf:
        description:
          - The program of a bpf filter.
        type: dict
        suboptions:
          object:
            description:
              - The compiled program, an ELF object file on the managed host. Required for a bpf filter.
              - It may use maps declared in a C(maps) section (C(struct bpf_elf_map), PIN_NONE only); other
                relocations are refused.
              - Returned as the file name the kernel keeps, unless it is the program given.
            type: path
          section:
            description:
              - The ELF section that holds the program. Default V(classifier), as C(tc).
            type: str
          direct_action:
            description:
              - Whether the program's return value is the verdict (C(da) in C(tc)). Default V(false).
            type: bool
          tag:
            description:
              - The program's tag as the kernel reports it. Returned by O(state=gathered); when given, it must be the
                tag of the program in O(config[].bpf.object).
            type: str
      actions:
        description:
          - The actions, in order.
          - A u32 filter with actions is sent with the terminal flag, as C(tc) sends it (with or without a classid),
            because the kernel runs a u32 node's actions only then. A u32 node without the flag is reported without its
            actions, which it never runs; a config that gives them changes it.
        type: list
        elements: dict
        suboptions:
          kind:
            description:
              - The action.
            type: str
            choices: [gact, mirred, police, skbedit, vlan]
          action:
            description:
              - gact - the verdict, V(pass), V(drop), V(reclassify), V(pipe), V(continue), V(stolen), V(trap).
              - mirred - V(redirect) or V(mirror).
              - vlan - V(push), V(pop) or V(modify).
            type: str
          direction:
            description:
              - mirred - where the packet goes on the target device. Default V(egress).
            type: str
            choices: [egress, ingress]
          dev:
            description:
              - mirred - the target device. It must exist.
            type: str
          rate:
            description:
              - police - the rate, as C(tc) reads it (V(1mbit)). Returned in bits per second.
            type: str
          burst:
            description:
              - police - the bucket, in bytes as C(tc) reads sizes (V(10k)). The kernel keeps it as a time at the
                rate; sizes that map to the same time count as equal. The size returned is the one C(tc) prints for
                that time, cut to whole microseconds. A bucket the kernel keeps (the rollback of a change, a change of
                another field of the filter, a filter that M(edgenet.linux.tc_qdisc) makes again) is sent as the
                kernel's own time; RV(commands) then give the smallest size that C(tc) turns into that time, which
                can be above the size returned.
            type: str
          exceed:
            description:
              - police - the verdict for packets above the rate. Default V(reclassify), as C(tc).
            type: str
          conform:
            description:
              - police - the verdict for packets within the rate. Default V(pass).
            type: str
          priority:
            description:
              - skbedit - the skb priority to set, a class handle (V(1:10)) or a number.
              - vlan - the VLAN priority (PCP) to push, 0 to 7. Default V(0).
            type: raw
          mark:
            description:
              - skbedit - the firewall mark to set.
            type: int
          queue_mapping:
            description:
              - skbedit - the transmit queue to use.
            type: int
          id:
            description:
              - vlan - the VLAN id to push or set, 0 to 4094 (the kernel refuses 4095, which is reserved).
            type: int
          protocol:
            description:
              - vlan - V(802.1q) (default) or V(802.1ad).
            type: str
  dev:
    description:
      - Act only on the filters of this device. O(state=overridden) and O(state=deleted) with no O(config) then
        leave other devices alone.
    type: str
'''

EXAMPLES = r'''
- name: Classify into an HTB tree - web to 1:10, DNS to 1:20, in this order
  edgenet.linux.tc_filter:
    config:
      - {dev: veth0, parent: "1:", protocol: ip, prio: 10, kind: u32, classid: "1:10",
         match: {dst: 198.18.0.0/24, ip_proto: tcp, dport: 443}}
      - {dev: veth0, parent: "1:", protocol: ip, prio: 10, kind: u32, classid: "1:20",
         match: {ip_proto: udp, dport: 53}}

- name: Redirect everything arriving on veth0 to ifb0
  edgenet.linux.tc_filter:
    config:
      - dev: veth0
        parent: ingress
        prio: 1
        kind: u32
        actions:
          - {kind: mirred, action: redirect, dev: ifb0}

- name: A bpf program on ingress, its return value the verdict
  edgenet.linux.tc_filter:
    config:
      - dev: veth0
        parent: ingress
        prio: 9
        kind: bpf
        bpf: {object: /usr/local/lib/bpf/guard.o, section: classifier, direct_action: true}

- name: Police 1 Mbit/s of one host with flower
  edgenet.linux.tc_filter:
    config:
      - dev: veth0
        parent: ingress
        protocol: ip
        prio: 5
        kind: flower
        match: {src: 198.18.0.10/32}
        actions:
          - {kind: police, rate: 1mbit, burst: 10k, exceed: drop}
'''

RETURN = r'''
before:
  description: The filters the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: veth0, parent: "1:", protocol: ip, prio: 10, handle: "::800", kind: u32, classid: "1:10",
       match: {dst: 198.18.0.0/24, ip_proto: tcp, dport: 443}}
after:
  description:
    - The filters the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The C(tc) commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["tc filter add dev veth0 parent 1: protocol ip prio 10 handle ::800 u32 match ip dst 198.18.0.0/24
            match ip protocol 6 0xff match ip dport 443 0xffff classid 1:10"]
gathered:
  description: The filters in scope, with O(state=gathered).
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter

    run_module(TcFilter)


if __name__ == '__main__':
    main()
