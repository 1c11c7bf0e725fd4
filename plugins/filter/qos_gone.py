# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""qos_gone: the qdiscs that the qos role's earlier tc_qdisc calls delete, for check mode's gone_qdiscs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: qos_gone
short_description: the qdiscs that earlier tc_qdisc calls delete
version_added: 0.1.0
author: edgenet.linux maintainers (@edgenet)
description:
  - Takes the registered results of M(edgenet.linux.tc_qdisc) calls and returns the qdiscs that they delete - each
    C({dev, handle}) that is in a result's C(before) and not in its C(after) - for the
    O(edgenet.linux.tc_filter#module:gone_qdiscs) option of a later M(edgenet.linux.tc_qdisc),
    M(edgenet.linux.tc_filter) or M(edgenet.linux.tc_class) call in check mode. The kernel deletes the classes and filters of a qdisc with it, so the
    real run's later calls do not find them; check mode, which reads the host as it was before the play, is told so.
  - A result without both C(before) and C(after) (a skipped call, or C({}) for a call that did not run) adds nothing.
    So does a qdisc of C(before) without C(handle).
  - Results in input order, each qdisc once.
  - The P(edgenet.linux.qos#role) role uses this filter instead of a Jinja loop; a Jinja program in role variables is
    compiled again for every host and task on the controller (this one took about 10 ms a host in a check run).
options:
  _input:
    description: The registered results of the tc_qdisc calls that run before the call the result is for.
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Qdiscs
  edgenet.linux.tc_qdisc:
    config: "{{ qdiscs }}"
    state: overridden
  register: top

- name: Filters (in check mode, without those of the qdiscs the call above deletes)
  edgenet.linux.tc_filter:
    config: "{{ filters }}"
    state: overridden
    gone_qdiscs: "{{ [top] | edgenet.linux.qos_gone if ansible_check_mode else omit }}"

# top.before: [{dev: eth0, handle: "1:", kind: htb}, {dev: eth0, handle: "2:", kind: prio}]
# top.after:  [{dev: eth0, handle: "1:", kind: htb}]
# [top] | edgenet.linux.qos_gone  ->  [{dev: eth0, handle: "2:"}]
'''

RETURN = r'''
_value:
  description: The deleted qdiscs, as C(dev) and C(handle) (the option O(edgenet.linux.tc_filter#module:gone_qdiscs)).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence


def _qdiscs(result, which, i):
    qdiscs = result.get(which)
    if not is_sequence(qdiscs):
        raise AnsibleFilterError('qos_gone: the %s of the result [%d] is not a list of qdiscs' % (which, i))
    for j, qdisc in enumerate(qdiscs):
        if not isinstance(qdisc, dict):
            raise AnsibleFilterError('qos_gone: %s[%d] of the result [%d] is not a qdisc (a dict)' % (which, j, i))
        yield qdisc


def qos_gone(results):
    if results is None:
        return []
    if not is_sequence(results):  # (a string is not a sequence here)
        raise AnsibleFilterError('qos_gone: takes a list of registered tc_qdisc results, got %s'
                                 % ('dict' if isinstance(results, dict) else type(results).__name__))
    out, seen = [], set()
    for i, result in enumerate(results):
        if not isinstance(result, dict):
            raise AnsibleFilterError('qos_gone: the result [%d] is not a registered result (a dict)' % i)
        if 'before' not in result or 'after' not in result:
            continue  # skipped, or did not run
        kept = set((q.get('dev'), q.get('handle')) for q in _qdiscs(result, 'after', i))
        for qdisc in _qdiscs(result, 'before', i):
            key = (qdisc.get('dev'), qdisc.get('handle'))
            if key[1] is None or key in kept or key in seen:
                continue
            seen.add(key)
            out.append({'dev': key[0], 'handle': key[1]})
    return out


class FilterModule(object):
    def filters(self):
        return {'qos_gone': qos_gone}
