#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: tc_qdisc
short_description: Traffic control queueing disciplines (qdiscs) as desired state
version_added: 0.1.0
description:
  - Manages the qdiscs of network devices over rtnetlink, like C(tc qdisc).
  - A qdisc is identified by O(config[].dev) and O(config[].parent). The kernel holds one qdisc per
    parent, so a different O(config[].kind) or O(config[].handle) at the same parent replaces the qdisc
    (delete, then add); the diff and the commands show both steps. With O(state=merged), the new qdisc gets
    the new kind's defaults for the options the element leaves out, not the old qdisc's options; it keeps the old
    one's O(config[].handle) when the element gives none.
  - Deleting or replacing a qdisc deletes everything under it - its classes, the qdiscs of those classes and all
    their filters; the kernel does that, and a qdisc replaced by another kind or handle comes back empty (one of the
    same kind and handle gets them back, see below). The qdiscs in scope that go along
    are shown gone in RV(before), RV(after) and the diff, also in check mode. A task whose O(config) lists a qdisc
    that would go along fails before it changes anything (its class goes too, and classes are made by
    M(edgenet.linux.tc_class)). Replace the top qdisc first, then make the classes, then their qdiscs. If the kernel
    refuses a later step, the rollback adds the deleted qdisc again and makes again what went with it, as the module
    read it before it sent anything - qdiscs C(htb), C(hfsc), C(drr), C(qfq), C(prio), C(tbf), C(sfq), C(fq),
    C(fq_codel), C(codel), C(netem), C(cake), C(pfifo), C(bfifo), C(ingress), C(clsact), classes C(htb), C(hfsc),
    C(drr), C(qfq), and filters C(u32), C(flower), C(matchall), C(basic), C(fw) with actions C(gact), C(police),
    C(mirred), C(skbedit). What it cannot make again as it was (another kind, a C(bpf) filter or another action, a
    u32 filter that links to a hash table) is named in the error (RV(not_restored)), with C(changed=true). The
    RV(commands) of what is made again say what tc_filter's options can say (not a C(gact) random choice, a
    C(police) peak rate, a u32 filter's own C(police), a C(flower) skip_hw); the requests sent are the kernel's own.
  - Kinds - C(htb), C(hfsc), C(drr), C(qfq), C(prio), C(tbf), C(sfq), C(fq), C(fq_codel), C(codel),
    C(netem), C(cake), C(pfifo), C(bfifo), C(ingress), C(clsact). Each option applies to the kinds named in
    its description; another kind's option is an error.
  - Options are changed in place (C(tc qdisc change)) where the kernel allows it, which keeps traffic
    flowing - every kind but C(htb), C(drr), C(qfq) and C(sfq) (and C(fq_codel)'s O(config[].flows), which is
    only set at creation). Otherwise the qdisc is replaced (delete, then add), and the module warns.
  - The kernel deletes a replaced qdisc's classes, child qdiscs and filters with it. When the new qdisc has the same
    kind and handle (a change of an C(htb)'s O(config[].default) or O(config[].r2q), for example), the module reads
    them before it sends anything and makes them again right after it, as they were; RV(commands) and check mode
    show those steps too. Packets queued in the tree are dropped and its statistics start again. An C(htb) leaf class
    whose quantum is the one the old O(config[].r2q) gave its rate is made without one, so that the kernel derives
    it from the new r2q, as for a class made without a quantum. If anything under the qdisc cannot be made again as
    it was (see above), the change fails before anything is sent, naming it. A qdisc under it that the same task
    changes is made again as it was, then changed, in that order in RV(commands) too.
  - The kernel cannot move a qdisc to another class. A qdisc of the task that another parent of its device holds
    now, with the same kind and handle (O(state=overridden) moves it), is deleted there and
    made at its new parent, and what it held (its classes, their qdiscs and all their filters) is made again under
    it in the same way, as they were.
  - A C(netem) or C(sfq) qdisc keeps what it has that the module does not model through a change - a netem's
    C(duplicate), C(corrupt), C(reorder) and C(gap), correlations, loss model, C(ecn), C(slot) and rate overheads; an
    sfq's C(depth), C(divisor), C(flows), C(headdrop) and RED options. The module sends them again as the kernel has
    them (a netem change would reset some of them, and an sfq change replaces the qdisc). They are not part of
    RV(before), RV(after) and the diff; RV(commands) names them in a shell comment at the end of the line.
  - Likewise an C(htb) qdisc's C(direct_qlen), when it is not the kernel's default (the device's txqueuelen). A
    replace, a re-add and a rollback send it again, and RV(commands) spells it.
  - The kernel's default qdiscs (handle C(0:), such as noqueue, pfifo_fast or mq) are not gathered and never
    deleted, also not by O(state=overridden). They come back by themselves when a configured root qdisc is deleted.
  - A qdisc of a kind the kernel certainly lacks is refused before anything is sent, in check mode as in the real
    run, naming the kernel option, for example C(the kernel
    lacks fq_codel qdiscs (CONFIG_NET_SCH_FQ_CODEL is not set)). The module knows this only from the kernel's
    configuration (C(/proc/config.gz), else C(/boot/config-RELEASE)) - an option that is not set, or a module that is
    neither loaded nor in C(/lib/modules/RELEASE). Without such evidence (no configuration to read, a module tree it
    cannot see) the kernel itself answers. The configuration is read only for a kind that no qdisc in the namespace
    has.
  - Rates, sizes and times are read exactly as C(tc) reads them. Rates are returned in bits per second, sizes
    in bytes.
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
      - The qdiscs.
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - The device name.
          - Required, except with O(state=deleted), where any subset of fields selects the qdiscs to delete.
        type: str
      parent:
        description:
          - Where the qdisc attaches. V(root), V(ingress) (for C(ingress) and C(clsact) qdiscs; V(clsact) is
            accepted as the same thing), or a class C(MAJOR:MINOR) in hex, for example V(1:10).
          - V(ffff:ffff) and V(ffff:fff1) are read as tc reads them, V(root) and V(ingress).
          - Default is V(root), and V(ingress) for C(ingress) and C(clsact) qdiscs.
        type: str
      handle:
        description:
          - The qdisc handle C(MAJOR:) in hex, for example V(1:).
          - Required for every kind but C(ingress) and C(clsact), which always have V(ffff:).
          - Changing it replaces the qdisc.
          - Unique per device, as the kernel requires. A new qdisc with the handle of another qdisc of the device is
            refused before anything is sent, naming the field - in check mode too where the other is one of the
            task's own; where the host holds the other, check mode warns (an earlier task of the play may delete
            it).
        type: str
      kind:
        description:
          - The queueing discipline. Changing it replaces the qdisc.
          - Required, except with O(state=deleted).
        type: str
        choices: [bfifo, cake, clsact, codel, drr, fq, fq_codel, hfsc, htb, ingress, netem, pfifo, prio, qfq, sfq,
                  tbf]
      default:
        description:
          - C(htb) and C(hfsc). The minor number of the class that gets unclassified traffic, in hex as in C(tc)
            (V(10) means class C(1:10)). Default is V(0) (unclassified traffic is sent unshaped).
        type: str
      r2q:
        description:
          - C(htb) only. The divisor for the default quantum of the classes (rate / r2q). Default is V(10).
        type: int
      bands:
        description:
          - C(prio) only. The number of bands (classes C(MAJOR:1) to C(MAJOR:bands)), 2 to 16. Default is V(3).
        type: int
      priomap:
        description:
          - C(prio) only. The band (from 0) of each of the 16 packet priorities. Fewer than 16 values are
            completed from the default, as C(tc) does. Default is V([1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]).
        type: list
        elements: int
      rate:
        description:
          - C(tbf) (required for it) - the rate, as C(tc) reads it, for example V(10mbit), V(1.5gbit),
            V(100kbps) (bytes per second), V(8000) (bits per second).
          - C(netem) - the rate to emulate. Default is V(0) (none).
          - Returned as bits per second (an integer). The kernel keeps whole bytes per second.
        type: str
      burst:
        description:
          - C(tbf) only, and required for it. The bucket size, as C(tc) reads it, for example V(10kb) (10240 bytes),
            V(1540b) or V(1540).
          - The kernel keeps the bucket as a time at O(config[].rate). A size that maps to the same time counts as
            equal; otherwise the size the kernel reports is returned, as C(tc) prints it.
          - With O(state=merged), a change that leaves it out (or gives the size the kernel reports) keeps the
            kernel's bucket exactly; with a new O(config[].rate), it keeps its size in bytes. The size sent (in
            RV(commands)) is then one that makes that bucket, which can be a little more than the size
            C(tc) prints for it (C(tc) cuts the time to whole microseconds).
          - A C(tbf) made by C(tc) with C(linklayer atm), an C(overhead) or an C(mpu) (which the module does not model,
            and keeps through a change) has its bucket timed by the kernel for the adjusted length (the overhead
            added, at least the mpu, on ATM 53 bytes for every 48 begun), and C(tc) prints that length. The module
            returns the largest size that makes the kernel's bucket instead (a size given back is then the same
            bucket); the size C(tc) was given counts as equal. O(config[].mtu) likewise with the peak rate's.
          - A bucket that lasts less than a microsecond at its rate (a small O(config[].mtu) at a high
            O(config[].peakrate)), for which C(tc) prints 0 bytes, is returned as the largest size that makes it, so
            that the returned value given back is no change.
        type: str
      limit:
        description:
          - C(tbf) and C(bfifo) - the queue size in bytes (as C(tc) reads sizes). For C(tbf), give this or
            O(config[].latency). For C(bfifo) the default is the transmit queue length times the device's MTU
            plus link header.
          - C(pfifo), C(sfq), C(fq), C(fq_codel), C(codel), C(netem) - the queue length in packets. Defaults -
            C(pfifo) the device's transmit queue length, C(sfq) 127 (at most 16256), C(fq) 10000, C(fq_codel)
            10240, C(codel) and C(netem) 1000.
        type: str
      latency:
        description:
          - C(tbf) only. The longest time a packet may wait, as C(tc) reads it, for example V(50ms).
          - Like C(tc), the module turns it into O(config[].limit) (rate times latency plus burst), and returns
            O(config[].limit), because that is what the kernel keeps.
        type: str
      peakrate:
        description:
          - C(tbf) only. The peak rate (above O(config[].rate)); needs O(config[].mtu). Default is none; to remove
            a peak rate, use O(state=replaced).
        type: str
      mtu:
        description:
          - C(tbf) only. The size of the peak-rate bucket (C(tc)'s C(mtu) or C(minburst)), in bytes as C(tc)
            reads sizes; needed with O(config[].peakrate).
          - Kept by a change that leaves it out as O(config[].burst) is.
        type: str
        aliases: [minburst]
      perturb:
        description:
          - C(sfq) only. The hash perturbation period in seconds; V(0) never perturbs. Default is V(0).
        type: int
      quantum:
        description:
          - C(sfq), C(fq), C(fq_codel). The bytes a flow may send per round, as C(tc) reads sizes. Defaults -
            the device's MTU plus link header (C(psched_mtu)), twice that for C(fq). C(fq_codel) uses at least 256.
        type: str
      flow_limit:
        description:
          - C(fq) only. The packets queued per flow. Default is V(100).
        type: int
      initial_quantum:
        description:
          - C(fq) only. The bytes a new flow may send at first. Default is ten times the MTU plus link header.
        type: str
      maxrate:
        description:
          - C(fq) only. The rate limit of each flow. Default is none (unlimited); to remove a limit, use
            O(state=replaced).
        type: str
      flows:
        description:
          - C(fq_codel) only. The number of flows (hash buckets), 1 to 65536. Default is V(1024).
          - The kernel only takes it when the qdisc is created, so a change replaces the qdisc.
        type: int
      target:
        description:
          - C(codel) and C(fq_codel). The acceptable queue delay, as C(tc) reads times (V(5ms)).
          - Returned in microseconds as the kernel reports it (CoDel keeps units of 1024 ns, so V(5ms) is V(4999)).
            Default is V(5ms).
        type: str
      interval:
        description:
          - C(codel) and C(fq_codel). The width of the moving window, as C(tc) reads times. Returned in
            microseconds like O(config[].target). Default is V(100ms).
        type: str
      ecn:
        description:
          - C(codel) and C(fq_codel). Mark packets with ECN instead of dropping them. Default is V(false) for
            C(codel), V(true) for C(fq_codel).
        type: bool
      memory_limit:
        description:
          - C(fq_codel) only. The most memory the queue may use, as C(tc) reads sizes. Default is 32 MiB.
        type: str
      drop_batch:
        description:
          - C(fq_codel) only. The most packets dropped at once when the limit is reached. Default is V(64).
        type: int
      delay:
        description:
          - C(netem) only. The added delay, as C(tc) reads times (a bare number is microseconds; V(ns) is
            accepted). Returned in microseconds, with a fraction for nanoseconds (the kernel keeps nanoseconds).
            Default is V(0).
          - C(tc) 6.1 sends whole microseconds as scheduler ticks of 64 ns (V(333us) becomes 332.992 us); a qdisc
            C(tc) made from the same input counts as equal.
        type: str
      jitter:
        description:
          - C(netem) only. The delay variation (needs O(config[].delay)). Returned in microseconds like
            O(config[].delay).
        type: str
      loss:
        description:
          - C(netem) only. The random loss, a percentage such as V(1%) or V(0.5). The kernel keeps it as a
            fraction of 2^32-1; it is returned as the shortest number that maps to the same value. Default is V(0).
        type: str
      bandwidth:
        description:
          - C(cake) only. The shaped rate, or V(unlimited) (returned as V(0)). Default is unlimited.
        type: str
      diffserv:
        description:
          - C(cake) only. The DiffServ mode (tins). Default is V(diffserv3).
        type: str
        choices: [diffserv3, diffserv4, diffserv8, besteffort, precedence]
      rtt:
        description:
          - C(cake) only. The round-trip time the AQM assumes, as C(tc) reads times. Returned in microseconds.
            Default is V(100ms).
        type: str
  dev:
    description:
      - Act only on the qdiscs of this device. O(state=overridden) and O(state=deleted) with no
        O(config) then leave other devices alone.
    type: str
  level:
    description:
      - Act only on the qdiscs at this level. V(top) - the qdiscs attached to the device (parent V(root) or
        V(ingress)). V(child) - the qdiscs attached to a class (parent C(MAJOR:MINOR)).
      - A tree whose classes have their own qdiscs (an fq_codel under each HTB or HFSC class) takes three calls -
        the top qdisc with O(level=top), then the classes (M(edgenet.linux.tc_class)), then the qdiscs of the
        classes with O(level=child) - because a class must exist before a qdisc can attach to it. With the
        level set, O(state=overridden) and O(state=deleted) leave the other level alone, so the two calls do
        not undo each other. The P(edgenet.linux.qos#role) role does this.
      - A O(config) item at the other level is an error.
    type: str
    choices: [top, child]
  depth:
    description:
      - Act only on the qdiscs attached to a class at this depth - V(1) a class of a top qdisc, V(2) a class of a
        qdisc at depth 1, and so on (the top qdiscs are at depth 0). Implies O(level=child).
      - For trees whose qdiscs under classes have classes of their own, and qdiscs under those (an HFSC under an
        HTB class, with an fq_codel under each HFSC class) - a call per depth, each after the classes it attaches to,
        so that O(state=overridden) and O(state=deleted) in one leave the other depths alone. The
        P(edgenet.linux.qos#role) role does this.
      - A O(config) item whose parent class belongs to a qdisc the host has at another depth is an error that names
        O(config[].parent).
      - With O(state=deleted), a O(config) item that matches only qdiscs out of the task's scope (at another depth,
        level or device) deletes nothing; each such qdisc is named in a warning, and kept.
    type: int
'''

EXAMPLES = r'''
- name: An HTB root with default class 1:10, and a clsact qdisc for filters
  edgenet.linux.tc_qdisc:
    config:
      - {dev: veth0, handle: "1:", kind: htb, default: 10}
      - {dev: veth0, kind: clsact}

- name: Shape veth1 to 1 Mbit/s
  edgenet.linux.tc_qdisc:
    netns: blue
    config:
      - {dev: veth1, handle: "1:", kind: tbf, rate: 1mbit, burst: 10kb, latency: 50ms}

- name: Emulate a WAN link - 20 ms delay, 2 ms jitter, 0.5% loss, 10 Mbit/s
  edgenet.linux.tc_qdisc:
    netns: blue
    config:
      - {dev: veth2, handle: "1:", kind: netem, delay: 20ms, jitter: 2ms, loss: 0.5%, rate: 10mbit}

# An HFSC root (default class 1:20) and fq_codel under one of its classes: the class must exist before a qdisc
# attaches to it, so the top qdisc, the classes and the classes' qdiscs take one call each
- name: The HFSC root
  edgenet.linux.tc_qdisc:
    level: top
    config:
      - {dev: veth3, handle: "1:", kind: hfsc, default: 20}

- name: Its classes
  edgenet.linux.tc_class:
    config:
      - {dev: veth3, classid: "1:1", parent: "1:", ls: {m2: 10mbit}, ul: {m2: 10mbit}}
      - {dev: veth3, classid: "1:20", parent: "1:1", ls: {m2: 6mbit}}

- name: fq_codel in class 1:20
  edgenet.linux.tc_qdisc:
    level: child
    config:
      - {dev: veth3, parent: "1:20", handle: "20:", kind: fq_codel, target: 5ms, ecn: true}

- name: Remove every configured qdisc of veth1 (the kernel's default comes back)
  edgenet.linux.tc_qdisc:
    netns: blue
    config:
      - dev: veth1
    state: deleted
'''

RETURN = r'''
before:
  description: The qdiscs the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: veth0, parent: root, handle: "1:", kind: htb, default: "10", r2q: 10}
after:
  description:
    - The qdiscs the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The C(tc) commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["tc qdisc add dev veth0 root handle 1: htb default 10 r2q 10"]
gathered:
  description: The qdiscs in scope, with O(state=gathered).
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The commands that would create O(config), with O(state=rendered).
  returned: when O(state=rendered)
  type: list
  elements: str
not_restored:
  description:
    - When the kernel refused a step after the task had deleted or replaced a qdisc with classes, child qdiscs or
      filters - for each such qdisc, what went along with it that the rollback could not make again as it was
      (the kinds the rollback does make again are listed in the description).
  returned: on such a failure
  type: list
  elements: str
  sample: ["qdisc htb 1: dev veth0 parent root took along qdisc sfq 10: dev veth0 parent 1:10"]
'''


def main():
    # pylint: disable=import-outside-toplevel
    # This first: the collection's code is then compiled once on the host, not twice (module_utils/_zipimport.py).
    from ansible_collections.edgenet.linux.plugins.module_utils._zipimport import compile_once

    compile_once()
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import run_module
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_qdisc import TcQdisc

    run_module(TcQdisc)


if __name__ == '__main__':
    main()
