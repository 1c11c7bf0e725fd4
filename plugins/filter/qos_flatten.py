# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""qos_flatten: the qos role's per-interface trees as one list per module (qdiscs, classes or filters)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: qos_flatten
short_description: traffic control trees as one list of qdiscs, classes or filters
version_added: 0.1.0
author: edgenet.linux maintainers (@edgenet)
description:
  - Takes the trees of the P(edgenet.linux.qos#role) role (one per interface, each with C(dev) and lists of
    C(qdiscs), C(classes) and C(filters)) and returns one of those lists for all trees, in tree order, each item
    with its tree's C(dev). The result is the O(edgenet.linux.tc_qdisc#module:config),
    O(edgenet.linux.tc_class#module:config) or O(edgenet.linux.tc_filter#module:config) of one module call.
  - An item's own C(dev), if it has one, wins over its tree's.
  - With O(what=classes), a class without C(kind) gets the C(kind) of its tree's qdisc of its device whose
    C(handle) has the class's major number (C(1:10) is a class of the qdisc C(1:)), so that check mode can plan
    the classes of a qdisc that the same run creates. A class with no such qdisc in its tree is left without C(kind) (the module
    then reads the kind of the qdisc in the kernel).
  - With O(what=top_qdiscs) only the qdiscs attached to the device (parent C(root), C(ingress) or C(clsact), tc's
    C(ffff:ffff) or C(ffff:fff1), or no parent), with O(what=child_qdiscs) only those attached to a class (a
    parent C(MAJOR:MINOR)). The role applies them in two calls, the classes in between
    (M(edgenet.linux.tc_qdisc)'s O(edgenet.linux.tc_qdisc#module:level)), as a class must exist before a qdisc
    can attach to it. O(what=qdiscs) returns both.
  - With O(depth), O(what=child_qdiscs) returns only the qdiscs attached to a class at that depth, and
    O(what=classes) only the classes of the qdiscs at that depth. A top qdisc is at depth 0; a qdisc attached to a
    class of a qdisc at depth N is at depth N+1 (its parent's major number names that qdisc of its device; a
    qdisc whose parent's qdisc is in no tree is taken to be at depth 1, and a class whose qdisc is in no tree at
    depth 0). The role makes each depth after the classes it attaches to (M(edgenet.linux.tc_qdisc)'s
    O(edgenet.linux.tc_qdisc#module:depth)).
  - Trees go down to depth 2 (an HTB, an HFSC in one of its classes, an fq_codel in each HFSC class). A qdisc
    deeper than that, parents that go round in a circle, or two qdiscs of a device with one handle, is an error
    that names the tree and the item, whatever O(what) asks for, so that the role fails before it changes anything.
    So is, when any tree has a qdisc at depth 2, a qdisc in a class whose qdisc is in no tree (its depth would
    be a guess, which the host may contradict after the role's first calls changed it). The qdisc of a class is
    looked up by device in every tree (an item may have a C(dev) of its own).
  - A tree without the list, or with an empty one, adds nothing.
  - The role uses this filter instead of a Jinja loop; a Jinja program in role variables is compiled again for
    every host and task on the controller.
options:
  _input:
    description: The trees (the role's O(edgenet.linux.qos#role:main:qos_trees)).
    type: list
    elements: dict
    required: true
  what:
    description: Which list to return.
    type: str
    choices: [qdiscs, top_qdiscs, child_qdiscs, classes, filters]
    required: true
  depth:
    description:
      - With O(what=child_qdiscs) (1 or 2) or O(what=classes) (0 to 2), only those at this depth.
    type: int
  origin:
    description:
      - Instead of the items, where each comes from, in the same order, as C(qos_trees[I].LIST[J]) (the tree's
        index, its list and the item's index in that list), so that an error about item N of the list (a module's
        C(config[N])) can name the item as the user gave it. M(edgenet.linux.validate_roles) reads the role's
        C(<list>_origin) variables so.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: All classes of every tree, for one tc_class call
  edgenet.linux.tc_class:
    config: "{{ qos_trees | edgenet.linux.qos_flatten('classes') }}"

# qos_trees:
#   - dev: eth0
#     qdiscs: [{parent: root, handle: "1:", kind: htb}]
#     classes: [{classid: "1:10", parent: "1:", rate: 10mbit}]
# qos_trees | edgenet.linux.qos_flatten('classes')
#   -> [{dev: eth0, kind: htb, classid: "1:10", parent: "1:", rate: 10mbit}]

- name: The qdiscs attached to the classes of the top qdiscs (depth 1), after those classes
  edgenet.linux.tc_qdisc:
    config: "{{ qos_trees | edgenet.linux.qos_flatten('child_qdiscs', 1) }}"
    depth: 1
'''

RETURN = r'''
_value:
  description:
    - The items of every tree's list, in order, each with C(dev) (and, for classes, C(kind) where found).
    - With O(origin), where each of those items comes from (strings such as C(qos_trees[1].classes[1])).
  type: list
  elements: raw
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

WHAT = ('qdiscs', 'top_qdiscs', 'child_qdiscs', 'classes', 'filters')
TOP = ('root', 'ingress', 'clsact', 'ffff:fff1', 'ffff:ffff')  # where a qdisc attaches to the device itself (tc_qdisc's parent)


def _child(qdisc):
    """Whether a qdisc item attaches to a class (its parent names one), not to the device."""
    return str(qdisc.get('parent') or 'root').strip().lower() not in TOP


def _major(handle):
    """'1' of '1:10', '1:', '0x1:', '01:' or 1:10 written as a string (tc reads a major number as hex, with or
    without 0x); as written, lower case, when it is not a hex number (the module then refuses it)."""
    major = str(handle).split(':', 1)[0].strip().lower()
    try:
        return '%x' % int(major, 16)
    except ValueError:
        return major


def _type(value):
    """The YAML name of a value's type, for messages (not Ansible's internal class names)."""
    if isinstance(value, dict):
        return 'dict'
    if isinstance(value, str):
        return 'str'
    if is_sequence(value):
        return 'list'
    if value is None:
        return 'null'
    return type(value).__name__


def _items(tree, i, key):
    items = tree.get(key)
    if items is None:
        return []
    if not is_sequence(items):
        raise AnsibleFilterError('qos_flatten: qos_trees[%d].%s must be a list, got %s' % (i, key, _type(items)))
    for j, item in enumerate(items):
        if not isinstance(item, dict):
            raise AnsibleFilterError('qos_flatten: qos_trees[%d].%s[%d] must be a dict, got %s' % (i, key, j, _type(item)))
    return items


MAX_DEPTH = 2  # the deepest qdisc the role makes (a call per depth)


def _check_depths(trees):
    """``{(dev, major): depth}`` of the qdiscs of all ``trees`` that have a handle (the qdisc of a class is looked up
    by device in every tree: an item may have a ``dev`` of its own). An error names a qdisc deeper than MAX_DEPTH, a
    circle of parents, two qdiscs of a device with one handle, or, when any qdisc is at depth 2 (the role then passes
    its depth to each qdisc call), a qdisc in a class whose qdisc is in no tree: its depth would be a guess, which the
    host may contradict after earlier calls changed it."""
    holders, qdiscs = {}, []
    for i, tree in enumerate(trees):
        if not isinstance(tree, dict):
            raise AnsibleFilterError('qos_flatten: qos_trees[%d] must be a dict, got %s' % (i, _type(tree)))
        if 'dev' not in tree:
            raise AnsibleFilterError('qos_flatten: qos_trees[%d] has no dev' % i)
        for j, q in enumerate(_items(tree, i, 'qdiscs')):
            dev = q.get('dev', tree['dev'])
            qdiscs.append((i, j, q, dev))
            if q.get('handle') is not None:
                where = (dev, _major(q['handle']))
                if where in holders:
                    raise AnsibleFilterError('qos_flatten: qos_trees[%d].qdiscs[%d] has handle %s, as qos_trees[%d].'
                                             'qdiscs[%d] of the same device does' % ((i, j, q['handle']) + holders[where][:2]))
                holders[where] = (i, j, q, dev)
    depths, orphan, deep = {}, None, False
    for i, j, q, dev in qdiscs:
        depth, seen, at = 0, set([(i, j)]), (i, j, q, dev)
        while _child(at[2]):
            depth += 1
            up = holders.get((at[3], _major(at[2]['parent'])))
            if up is None:
                if at[2] is q and orphan is None:
                    orphan = (i, j, q.get('parent'))
                break  # (a class of a qdisc made elsewhere: taken to be a top qdisc's)
            if up[:2] in seen:
                raise AnsibleFilterError('qos_flatten: qos_trees[%d].qdiscs[%d] (parent %s): its parents go round in a '
                                         'circle' % (i, j, q.get('parent')))
            seen.add(up[:2])
            at = up
        if depth > MAX_DEPTH:
            raise AnsibleFilterError(
                'qos_flatten: qos_trees[%d].qdiscs[%d] (parent %s) is at depth %d; the role makes qdiscs down to depth '
                '%d (a qdisc in a class of a qdisc in a class of a top qdisc): make deeper ones with '
                'edgenet.linux.tc_qdisc and edgenet.linux.tc_class' % (i, j, q.get('parent'), depth, MAX_DEPTH))
        deep = deep or depth == MAX_DEPTH
        if q.get('handle') is not None:
            depths[(dev, _major(q['handle']))] = depth
    if deep and orphan is not None:
        raise AnsibleFilterError(
            'qos_flatten: qos_trees[%d].qdiscs[%d] (parent %s): the qdisc of its class is in no tree; with a qdisc '
            'at depth 2 in the trees, the role makes the qdiscs depth by depth, and needs the qdisc of the class of '
            'each one in the trees (give it there, as it is on the host)' % orphan)
    return depths


def qos_flatten(trees, what, depth=None, origin=False):
    if what not in WHAT:
        raise AnsibleFilterError("qos_flatten: what must be one of %s, got %r" % (', '.join(WHAT), what))
    if depth is not None and not (what == 'classes' and depth in range(MAX_DEPTH + 1) or
                                  what == 'child_qdiscs' and depth in range(1, MAX_DEPTH + 1)):
        raise AnsibleFilterError('qos_flatten: depth %r is not a depth of %s (classes 0 to %d, child_qdiscs 1 to %d)'
                                 % (depth, what, MAX_DEPTH, MAX_DEPTH))
    if trees is None:
        return []
    if not is_sequence(trees):  # (a string is not a sequence here)
        raise AnsibleFilterError('qos_flatten: qos_trees must be a list of trees, got %s' % _type(trees))
    out = []
    depths = _check_depths(trees)
    for i, tree in enumerate(trees):
        kinds = {}
        if what == 'classes':
            for q in _items(tree, i, 'qdiscs'):
                if q.get('handle') is not None:
                    kinds[(q.get('dev', tree['dev']), _major(q['handle']))] = q.get('kind')
        key = 'qdiscs' if what.endswith('qdiscs') else what
        items = list(enumerate(_items(tree, i, key)))
        if what != 'qdiscs' and what.endswith('qdiscs'):
            items = [(j, q) for j, q in items if _child(q) == (what == 'child_qdiscs')]
        if depth is not None and what == 'classes':
            items = [(j, c) for j, c in items
                     if depths.get((c.get('dev', tree['dev']), _major(c.get('classid', ''))), 0) == depth]
        elif depth is not None:
            items = [(j, q) for j, q in items if _depth_of(q, depths, tree['dev']) == depth]
        for j, item in items:
            if origin:
                out.append('qos_trees[%d].%s[%d]' % (i, key, j))
                continue
            obj = {'dev': tree['dev']}
            where = (item.get('dev', tree['dev']), _major(item['classid'])) \
                if kinds and 'kind' not in item and 'classid' in item else None
            if where in kinds:
                obj['kind'] = kinds[where]
            obj.update(item)
            out.append(obj)
    return out


def _depth_of(qdisc, depths, dev):
    """The depth of a child qdisc of a tree of device ``dev``: one more than its parent's qdisc (1 when that is in no
    tree)."""
    return depths.get((qdisc.get('dev', dev), _major(qdisc['parent'])), 0) + 1


class FilterModule(object):
    def filters(self):
        return {'qos_flatten': qos_flatten}
