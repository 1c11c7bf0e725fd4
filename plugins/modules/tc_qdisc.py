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
    (delete, then add); the diff and the commands show both steps.
  - Options of C(tbf) and C(pfifo) qdiscs are changed in place (C(tc qdisc change)), which keeps traffic
    flowing. The kernel's C(htb) qdisc cannot change its options in place, so a change of O(config[].default)
    or O(config[].r2q) replaces it, which also deletes its classes and filters; the module warns when it does.
  - The kernel's default qdiscs (handle C(0:), such as noqueue, pfifo_fast or mq) are not gathered and never
    deleted, also not by O(state=overridden). They come back by themselves when a configured root qdisc is deleted.
  - Rates, sizes and times are read exactly as C(tc) reads them. Rates are returned in bits per second, sizes
    in bytes.
author:
  - edgenet.linux maintainers (@edgenet)
extends_documentation_fragment:
  - edgenet.linux.netlink
  - edgenet.linux.netlink.state
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
          - Default is V(root), and V(ingress) for C(ingress) and C(clsact) qdiscs.
        type: str
      handle:
        description:
          - The qdisc handle C(MAJOR:) in hex, for example V(1:).
          - Required for every kind but C(ingress) and C(clsact), which always have V(ffff:).
          - Changing it replaces the qdisc.
        type: str
      kind:
        description:
          - The queueing discipline. Changing it replaces the qdisc.
          - Required, except with O(state=deleted).
        type: str
        choices: [clsact, htb, ingress, pfifo, tbf]
      default:
        description:
          - C(htb) only. The minor number of the class that gets unclassified traffic, in hex as in C(tc)
            (V(10) means class C(1:10)). Default is V(0) (unclassified traffic is sent unshaped).
        type: str
      r2q:
        description:
          - C(htb) only. The divisor for the default quantum of the classes (rate / r2q). Default is V(10).
        type: int
      rate:
        description:
          - C(tbf) only, and required for it. The rate, as C(tc) reads it, for example V(10mbit), V(1.5gbit),
            V(100kbps) (bytes per second), V(8000) (bits per second).
          - Returned as bits per second (an integer). The kernel keeps whole bytes per second.
        type: str
      burst:
        description:
          - C(tbf) only, and required for it. The bucket size, as C(tc) reads it, for example V(10kb) (10240 bytes),
            V(1540b) or V(1540).
          - The kernel keeps the bucket as a time at O(config[].rate). A size that maps to the same time counts as
            equal; otherwise the size the kernel reports is returned, as C(tc) prints it.
        type: str
      limit:
        description:
          - C(tbf) - the queue size in bytes (as C(tc) reads sizes). Give this or O(config[].latency).
          - C(pfifo) - the queue length in packets. Default is the device's transmit queue length.
        type: str
      latency:
        description:
          - C(tbf) only. The longest time a packet may wait, as C(tc) reads it, for example V(50ms).
          - Like C(tc), the module turns it into O(config[].limit) (rate times latency plus burst), and returns
            O(config[].limit), because that is what the kernel keeps.
        type: str
  dev:
    description:
      - Act only on the qdiscs of this device. O(state=overridden) and O(state=deleted) with no
        O(config) then leave other devices alone.
    type: str
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

- name: Remove every configured qdisc of veth1 (the kernel's default comes back)
  edgenet.linux.tc_qdisc:
    netns: blue
    config:
      - dev: veth1
    state: deleted
'''

RETURN = r'''
before:
  description: The qdiscs in scope before the task, in the shape of O(config).
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
  sample:
    - {dev: veth0, parent: root, handle: "1:", kind: htb, default: "10", r2q: 10}
after:
  description:
    - The qdiscs in scope after the task. In check mode, the state the task would produce.
  returned: when O(state) is not V(rendered)
  type: list
  elements: dict
commands:
  description: The C(tc) commands equivalent to the change, in the order the task makes it.
  returned: always
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
'''

from ansible_collections.edgenet.linux.plugins.module_utils._engine import run_module
from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_qdisc import TcQdisc


def main():
    run_module(TcQdisc)


if __name__ == '__main__':
    main()
