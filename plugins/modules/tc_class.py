#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: tc_class
short_description: Traffic control classes (HTB, HFSC, DRR, QFQ) as desired state
version_added: 0.1.0
description:
  - Manages the classes of C(htb), C(hfsc), C(drr) and C(qfq) qdiscs over rtnetlink, like C(tc class).
    The classes other qdiscs make by themselves (C(prio) bands, for example) are not gathered.
  - A class is identified by O(config[].dev) and O(config[].classid).
  - Parents are created before their children, and children are deleted before their parents.
    O(state=overridden) with O(dev) makes the class tree of that device exactly as given.
  - Checked before anything is sent - the qdisc (C(MAJOR:) of the classid) must exist and be of the class's
    kind; a parent class must exist or be in O(config); C(drr) and C(qfq) classes hang from the qdisc only; an
    C(hfsc) class needs a real-time or link-sharing curve; a C(qfq) weight is 1 to 1024 and the weights of a
    qdisc add up to at most 16384; no class may be its own ancestor (a parent cycle); a class that keeps
    children cannot be deleted, nor one that a filter points at (its C(classid) or C(flowid)), which the kernel
    refuses as in use (delete the filter first, with M(edgenet.linux.tc_filter)). For such a filter, check mode warns
    instead, assuming that an earlier task of the play deletes it.
  - In check mode, a class whose qdisc does not exist yet (an earlier task of the play makes it) is refused if the
    kernel certainly lacks its kind, as M(edgenet.linux.tc_qdisc) refuses that qdisc, for example C(the kernel
    lacks hfsc qdiscs (CONFIG_NET_SCH_HFSC is not set)); the real run refuses it too. The kernel's
    configuration is read only then (see M(edgenet.linux.tc_qdisc)).
  - The kernel deletes a class's leaf qdisc with the class, with everything under that qdisc (its classes, their
    qdiscs, the filters of all of them), and the filters attached to the class itself. The module reads them before
    it sends anything. A class that the task replaces (see below) gets them back right after it is added again,
    as they were; RV(commands) and check mode show those steps too. A class that gets children in the same task
    gets back only its filters (the kernel gives an inner class no leaf qdisc). If a later request of the same task
    is refused, the rollback adds each deleted class again and makes again what went with it.
  - An C(htb) leaf class that gets its first child becomes an inner class, and the kernel deletes its leaf qdisc,
    with everything under it, saying nothing. The module warns, in both modes, naming that qdisc. If a later
    request of the same task is refused, the rollback deletes the child again and makes the qdisc again as it was.
  - What is made again is sent as the kernel reported it - qdiscs C(htb), C(hfsc), C(drr), C(qfq), C(prio),
    C(tbf), C(sfq), C(fq), C(fq_codel), C(codel), C(netem), C(cake), C(pfifo), C(bfifo), classes C(htb), C(hfsc),
    C(drr), C(qfq), and filters C(u32), C(flower), C(matchall), C(basic), C(fw) with actions C(gact), C(police),
    C(mirred), C(skbedit). A replace of a class with anything else under it (another qdisc kind, a C(bpf) filter or
    another action, a u32 filter that links to a hash table) fails before anything is sent, naming it; a
    rollback that cannot make such an object again names it in the error (RV(ignore:rollback_lost)).
  - Options are changed in place (C(tc class change)). A different parent or kind, or an C(hfsc) curve left
    out that the class had (the kernel keeps curves a change does not name), replaces the class (delete, then add;
    the kernel cannot move a class). A class that has children cannot be replaced so - that is an error naming the
    field (O(config[].parent), O(config[].kind), or the curve left out), before anything is sent.
  - A class whose O(config[].rate) is above the O(config[].ceil) of its parent is accepted with a warning, as the
    kernel accepts it (the class can never get its rate). A O(config[].ceil) below the class's own rate is an error,
    also with O(state=merged) when an element gives only one of them; a O(config[].rate) raised above the ceil the
    class has is an error, unless that ceil is at the old rate (the default), which then follows the rate.
  - Rates, sizes are read exactly as C(tc) reads them. The kernel keeps the buckets (O(config[].burst),
    O(config[].cburst)) as a time at the rate; sizes that map to the same time count as equal, so a correct tree
    never shows as changed because of this rounding. A bucket that a change keeps (O(state=merged) without it) is
    sent back as the kernel's time, unchanged; RV(commands) then give the smallest size that C(tc) turns into that
    time, which can be above the size the kernel reports.
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
      - The classes.
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - The device name.
          - Required, except with O(state=deleted), where any subset of fields selects the classes to delete.
        type: str
      classid:
        description:
          - The class id C(MAJOR:MINOR) in hex, for example V(1:10). C(MAJOR) is the handle of the HTB qdisc.
          - Required, except with O(state=deleted).
        type: str
      parent:
        description:
          - The qdisc handle (V(1:), or V(root); V(ffff:ffff) is V(root), as in tc) for a top-level class, or the
            parent class (V(1:1)).
          - Changing it deletes and re-adds the class.
          - An C(htb) tree has at most 8 levels of classes below its qdisc (the kernel refuses a deeper class); a
            class that would be deeper is refused before anything is sent, in check mode too.
          - Required, except with O(state=deleted).
        type: str
      kind:
        description:
          - The class kind, which is the kind of its qdisc. Default is what the options imply (O(config[].rt),
            O(config[].ls), O(config[].ul) for C(hfsc), O(config[].weight), O(config[].lmax) for C(qfq), the HTB
            options for C(htb)), or else the kind of the qdisc.
          - Each option applies to the kinds named in its description; another kind's option is an error.
        type: str
        choices: [drr, hfsc, htb, qfq]
      rate:
        description:
          - C(htb) only, and required for it (except with O(state=deleted)). The guaranteed rate, as C(tc) reads
            it (V(10mbit), V(1.5gbit), V(100kbps); a bare number is bits per second). Returned in bits per second.
        type: str
      ceil:
        description:
          - The most the class may borrow up to. Default is O(config[].rate). It may not be below O(config[].rate).
        type: str
      burst:
        description:
          - The bucket at O(config[].rate), in bytes as C(tc) reads sizes (V(15kb)). Default is what C(tc) uses (rate
            divided by the scheduler's HZ plus 1600 bytes), as the kernel reports it.
          - V(0) is that default too, as on C(tc)'s command line (C(burst 0)); RV(after) shows the size the kernel
            reports for it, which is V(0) at 40 Gbit/s and above (less than a microsecond).
        type: str
      cburst:
        description:
          - The bucket at O(config[].ceil). Default as for O(config[].burst), at the ceil.
        type: str
      prio:
        description:
          - Priority for borrowing, 0 (first) to 7. Default is V(0). The kernel applies it to leaf classes only
            (a class whose children the same task deletes is a leaf when it is changed, and gets its prio and
            quantum then).
        type: int
      quantum:
        description:
          - C(htb) and C(drr). Bytes served per round.
          - C(htb) - default is what the kernel computes (rate divided by the qdisc's r2q, kept between 1000 and
            200000). The kernel applies it to leaf classes only; an inner class keeps the value it had as a leaf.
          - C(drr) - default is the device's MTU plus link header.
        type: int
      overhead:
        description:
          - C(htb) only. Bytes added to each packet's size when it is charged against the rates (link framing,
            such as 24 for Ethernet preamble, FCS and gap). Default is V(0).
        type: int
      rt:
        description:
          - C(hfsc) only. The real-time service curve. Either O(config[].rt.m1), O(config[].rt.d) and
            O(config[].rt.m2), or C(tc)'s second form O(config[].rt.umax), O(config[].rt.dmax) and
            O(config[].rt.rate), which is converted as C(tc) converts it.
          - Returned as C({m1, d, m2}) with the slopes in bits per second and the knee in microseconds, as the
            kernel reports them (it keeps curves in its own units, so some values round by a few bits per second).
          - An C(hfsc) class needs O(config[].rt) or O(config[].ls).
        type: dict
        suboptions: &curve
          m1:
            description: The slope of the first segment (a rate). Default is V(0).
            type: str
          d:
            description: The length of the first segment (a time, V(10ms)). Default is V(0).
            type: str
          m2:
            description: The slope of the second segment (a rate).
            type: str
          umax:
            description: The largest packet (a size) that must leave within O(config[].rt.dmax).
            type: str
          dmax:
            description: The delay within which a packet of O(config[].rt.umax) leaves (a time).
            type: str
          rate:
            description: The long-term rate (a rate).
            type: str
      ls:
        description:
          - C(hfsc) only. The link-sharing service curve (how excess bandwidth is shared), in the form of
            O(config[].rt).
        type: dict
        suboptions: *curve
      ul:
        description:
          - C(hfsc) only. The upper-limit service curve, in the form of O(config[].rt). Needs O(config[].ls).
        type: dict
        suboptions: *curve
      sc:
        description:
          - C(hfsc) only. C(tc)'s shorthand - the same curve as O(config[].rt) and O(config[].ls). Input only;
            the result shows O(config[].rt) and O(config[].ls).
        type: dict
        suboptions: *curve
      weight:
        description:
          - C(qfq) only. The class's weight, 1 to 1024. Default is V(1).
        type: int
      lmax:
        description:
          - C(qfq) only. The largest packet of the class in bytes (C(tc)'s C(maxpkt)), 512 to 65536. Default is
            the device's MTU plus link header.
        type: int
        aliases: [maxpkt]
  dev:
    description:
      - Act only on the classes of this device. O(state=overridden) and O(state=deleted) with no
        O(config) then leave other devices alone.
    type: str
  purge_only:
    description:
      - With O(state=overridden), only delete the classes that O(config) does not list, and leave those it lists as
        the host has them (not added, not changed). For a last call that follows earlier calls of the same play that
        make the listed classes (O(state=replaced)), as the C(edgenet.linux.qos) role does - its check mode, which
        reads the host as it is, then does not show the changes of those classes again. The other states ignore it.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: An HTB tree - 10 Mbit/s in total, two leaves sharing it
  edgenet.linux.tc_class:
    dev: veth0
    state: overridden
    config:
      - {dev: veth0, classid: "1:1", parent: "1:", rate: 10mbit}
      - {dev: veth0, classid: "1:10", parent: "1:1", rate: 6mbit, ceil: 10mbit, prio: 1}
      - {dev: veth0, classid: "1:20", parent: "1:1", rate: 4mbit, ceil: 10mbit, prio: 2}

- name: An HFSC tree - real-time voice and two link-sharing classes under a 10 Mbit/s upper limit
  edgenet.linux.tc_class:
    config:
      - {dev: veth1, classid: "1:1", parent: "1:", ls: {m2: 10mbit}, ul: {m2: 10mbit}}
      - {dev: veth1, classid: "1:10", parent: "1:1", rt: {umax: 1500b, dmax: 10ms, rate: 1mbit}, ls: {m2: 1mbit}}
      - {dev: veth1, classid: "1:20", parent: "1:1", ls: {m2: 6mbit}}
      - {dev: veth1, classid: "1:30", parent: "1:1", ls: {m1: 0bit, d: 100ms, m2: 3mbit}}

- name: QFQ classes
  edgenet.linux.tc_class:
    config:
      - {dev: veth2, classid: "2:1", parent: "2:", weight: 10, lmax: 3000}
      - {dev: veth2, classid: "2:2", parent: "2:", kind: qfq}
'''

RETURN = r'''
before:
  description: The classes the task is about (see the notes), before it, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: veth0, classid: "1:10", parent: "1:1", kind: htb, rate: 6000000, ceil: 10000000, burst: 1599,
       cburst: 1600, prio: 1, quantum: 75000, overhead: 0}
after:
  description:
    - The classes the task is about (see the notes), after it. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The C(tc) commands equivalent to the change, in the order the task makes it.
  returned: success
  type: list
  elements: str
  sample: ["tc class add dev veth0 parent 1: classid 1:1 htb rate 10000000bit"]
gathered:
  description: The classes in scope, with O(state=gathered).
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
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_class import TcClass

    run_module(TcClass)


if __name__ == '__main__':
    main()
