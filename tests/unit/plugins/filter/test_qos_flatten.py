# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The qos role's qos_flatten filter: the trees as one list per module. (The role's own variables use it
through ansible-playbook in tests/integration/test_role_qos.py and test_site.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.edgenet.linux.plugins.filter.qos_flatten import FilterModule, qos_flatten

TREES = [
    {'dev': 'eth0',
     'qdiscs': [{'parent': 'root', 'handle': '1:', 'kind': 'htb', 'default': '20'},
                {'parent': '1:10', 'handle': 'A:', 'kind': 'hfsc'}],
     'classes': [{'classid': '1:1', 'parent': '1:', 'rate': '100mbit'},
                 {'classid': 'a:1', 'parent': 'a:'},                       # hex handle, other case: hfsc
                 {'classid': '1:20', 'parent': '1:1', 'kind': 'htb', 'rate': '1mbit'},
                 {'classid': '2:1', 'parent': '2:'}],                      # no qdisc 2: in the tree
     'filters': [{'parent': '1:', 'kind': 'u32', 'classid': '1:20', 'match': {'ip_proto': 'udp'}}]},
    {'dev': 'eth1', 'qdiscs': [{'parent': 'root', 'kind': 'fq_codel'}]},  # no classes or filters key
    {'dev': 'eth2', 'classes': [], 'filters': [{'dev': 'eth9', 'parent': 'ingress', 'kind': 'matchall'}]},
]


def test_each_list_gets_its_trees_dev_in_order():
    assert qos_flatten(TREES, 'qdiscs') == [
        {'dev': 'eth0', 'parent': 'root', 'handle': '1:', 'kind': 'htb', 'default': '20'},
        {'dev': 'eth0', 'parent': '1:10', 'handle': 'A:', 'kind': 'hfsc'},
        {'dev': 'eth1', 'parent': 'root', 'kind': 'fq_codel'}]
    # an item's own dev wins
    assert qos_flatten(TREES, 'filters') == [
        {'dev': 'eth0', 'parent': '1:', 'kind': 'u32', 'classid': '1:20', 'match': {'ip_proto': 'udp'}},
        {'dev': 'eth9', 'parent': 'ingress', 'kind': 'matchall'}]


def test_top_and_child_qdiscs_split_by_parent():
    trees = [{'dev': 'eth0', 'qdiscs': [{'handle': '1:', 'kind': 'hfsc'}, {'parent': '1:20', 'handle': '20:'},
                                        {'parent': 'ROOT ', 'handle': '2:'}, {'parent': 'clsact', 'kind': 'clsact'},
                                        {'parent': '1:30', 'handle': '30:'}, {'kind': 'ingress', 'parent': 'ingress'},
                                        {'parent': 'ffff:fff1', 'kind': 'ingress'}, {'parent': None, 'handle': '3:'},
                                        {'parent': 'FFFF:FFFF', 'handle': '4:'}]}]
    top = qos_flatten(trees, 'top_qdiscs')
    child = qos_flatten(trees, 'child_qdiscs')
    assert [q.get('handle', q.get('kind')) for q in top] == ['1:', '2:', 'clsact', 'ingress', 'ingress', '3:', '4:']
    assert child == [{'dev': 'eth0', 'parent': '1:20', 'handle': '20:'}, {'dev': 'eth0', 'parent': '1:30', 'handle': '30:'}]
    assert sorted(map(repr, top + child)) == sorted(map(repr, qos_flatten(trees, 'qdiscs')))


def test_a_class_gets_the_kind_of_its_trees_qdisc_with_the_same_major():
    got = qos_flatten(TREES, 'classes')
    assert got == [
        {'dev': 'eth0', 'kind': 'htb', 'classid': '1:1', 'parent': '1:', 'rate': '100mbit'},
        {'dev': 'eth0', 'kind': 'hfsc', 'classid': 'a:1', 'parent': 'a:'},
        {'dev': 'eth0', 'classid': '1:20', 'parent': '1:1', 'kind': 'htb', 'rate': '1mbit'},
        {'dev': 'eth0', 'classid': '2:1', 'parent': '2:'}]
    assert list(got[0]) == ['dev', 'kind', 'classid', 'parent', 'rate']  # the order the Jinja loop had


def test_nothing_in_nothing_out():
    assert qos_flatten([], 'classes') == []
    assert qos_flatten(None, 'filters') == []
    assert qos_flatten([{'dev': 'eth0', 'qdiscs': None}], 'qdiscs') == []


@pytest.mark.parametrize('trees, what, message', [
    (TREES, 'class', 'what must be one of qdiscs, top_qdiscs, child_qdiscs, classes, filters'),
    ('eth0', 'qdiscs', 'qos_trees must be a list of trees, got str'),
    ([{'dev': 'eth0'}, 'eth1'], 'qdiscs', 'qos_trees[1] must be a dict, got str'),
    ([{'qdiscs': []}], 'qdiscs', 'qos_trees[0] has no dev'),
    ([{'dev': 'eth0', 'classes': {'classid': '1:1'}}], 'classes', 'qos_trees[0].classes must be a list, got dict'),
    ([{'dev': 'eth0', 'filters': ['1:']}], 'filters', 'qos_trees[0].filters[0] must be a dict, got str'),
    ([{'dev': 'eth0', 'qdiscs': [7]}], 'classes', 'qos_trees[0].qdiscs[0] must be a dict, got int'),
    ([{'dev': 'eth0', 'qdiscs': [None]}], 'classes', 'qos_trees[0].qdiscs[0] must be a dict, got null'),
    ({'dev': 'eth0'}, 'qdiscs', 'qos_trees must be a list of trees, got dict'),
])
def test_bad_input_names_the_tree_and_the_field(trees, what, message):
    with pytest.raises(AnsibleFilterError, match=r'^qos_flatten: ' + message.replace('[', r'\[').replace(']', r'\]')):
        qos_flatten(trees, what)


def test_the_plugin_offers_the_filter():
    assert FilterModule().filters() == {'qos_flatten': qos_flatten}


@pytest.mark.parametrize('handle, classid', [('0x1:', '1:10'), ('01:', '1:10'), ('1:', '0x1:10'), ('A:', 'a:1')])
def test_a_class_gets_the_kind_of_its_qdisc_however_the_major_number_is_written(handle, classid):
    tree = {'dev': 'eth0', 'qdiscs': [{'handle': handle, 'kind': 'htb'}], 'classes': [{'classid': classid}]}
    assert qos_flatten([tree], 'classes') == [{'dev': 'eth0', 'kind': 'htb', 'classid': classid}]


NESTED = [{'dev': 'eth0',
           'qdiscs': [{'handle': '1:', 'kind': 'htb'},
                      {'parent': '1:10', 'handle': '0x10:', 'kind': 'hfsc'},      # depth 1 (hex major 10)
                      {'parent': '10:1', 'handle': '101:', 'kind': 'fq_codel'},   # depth 2
                      {'parent': '1:20', 'kind': 'pfifo'},                         # depth 1, no handle
                      {'parent': '1:30', 'handle': '70:', 'kind': 'htb'},          # depth 1
                      {'parent': '70:1', 'kind': 'pfifo'},                         # depth 2
                      {'dev': 'eth1', 'parent': 'root', 'handle': '10:', 'kind': 'tbf'}],  # another device's 10:
           'classes': [{'classid': '1:10', 'parent': '1:'}, {'classid': '10:1', 'parent': '10:'},
                       {'classid': '70:1', 'parent': '70:'}, {'classid': '9:1', 'parent': '9:'}]}]


def test_depth_splits_the_qdiscs_in_classes_and_the_classes():
    assert [q.get('handle', q['kind']) for q in qos_flatten(NESTED, 'child_qdiscs', 1)] == ['0x10:', 'pfifo', '70:']
    assert [q.get('handle', q['kind']) for q in qos_flatten(NESTED, 'child_qdiscs', 2)] == ['101:', 'pfifo']
    assert [c['classid'] for c in qos_flatten(NESTED, 'classes', 0)] == ['1:10', '9:1']  # (9: not in the tree)
    assert [(c['classid'], c['kind']) for c in qos_flatten(NESTED, 'classes', 1)] == [('10:1', 'hfsc'), ('70:1', 'htb')]
    assert qos_flatten(NESTED, 'classes', 2) == []
    assert len(qos_flatten(NESTED, 'child_qdiscs')) == 5 and len(qos_flatten(NESTED, 'classes')) == 4


def test_a_qdisc_whose_class_is_not_in_the_tree_is_at_depth_1_unless_a_tree_goes_to_depth_2():
    shallow = [{'dev': 'eth0', 'qdiscs': [{'parent': '7:1', 'handle': '70:', 'kind': 'htb'}]}]
    assert [q['handle'] for q in qos_flatten(shallow, 'child_qdiscs', 1)] == ['70:']
    deep = [shallow[0], {'dev': 'eth1', 'qdiscs': NESTED[0]['qdiscs'][:3]}]
    for what in ('top_qdiscs', 'child_qdiscs', 'filters'):
        with pytest.raises(AnsibleFilterError, match=r'qos_trees\[0\]\.qdiscs\[0\] \(parent 7:1\): the qdisc of its class '
                                                     r'is in no tree; with a qdisc at depth 2'):
            qos_flatten(deep, what)


def test_two_qdiscs_of_a_device_with_one_handle_are_named():
    dup = [{'dev': 'eth0', 'qdiscs': [{'handle': '1:', 'kind': 'htb'}, {'parent': '1:10', 'handle': '0x1:'}]}]
    with pytest.raises(AnsibleFilterError, match=r'qos_trees\[0\]\.qdiscs\[1\] has handle 0x1:, as qos_trees\[0\]\.'
                                                 r'qdiscs\[0\] of the same device does'):
        qos_flatten(dup, 'classes')


@pytest.mark.parametrize('what, depth', [('child_qdiscs', 0), ('child_qdiscs', 3), ('classes', 3), ('classes', -1),
                                         ('top_qdiscs', 0), ('filters', 1)])
def test_a_depth_another_list_has_not_is_an_error(what, depth):
    with pytest.raises(AnsibleFilterError, match=r'depth %s is not a depth of %s' % (depth, what)):
        qos_flatten(NESTED, what, depth)


def test_a_qdisc_deeper_than_two_or_a_circle_fails_whatever_is_asked():
    deep = [dict(NESTED[0], qdiscs=NESTED[0]['qdiscs'] + [{'parent': '101:1', 'kind': 'pfifo'}])]  # (qdiscs[7])
    circle = [{'dev': 'eth0', 'qdiscs': [{'parent': '2:1', 'handle': '1:'}, {'parent': '1:1', 'handle': '2:'}]}]
    for what in ('top_qdiscs', 'classes', 'filters'):
        with pytest.raises(AnsibleFilterError, match=r'qos_trees\[0\]\.qdiscs\[7\] \(parent 101:1\) is at depth 3'):
            qos_flatten(deep, what)
        with pytest.raises(AnsibleFilterError, match=r'qos_trees\[0\]\.qdiscs\[0\] \(parent 2:1\): its parents go round'):
            qos_flatten(circle, what)


def test_the_qdisc_of_a_class_is_looked_up_by_device_in_every_tree():
    """(found by a probe: a qdisc of e0 listed in e1's tree, in a class of e0's depth-1 qdisc, was taken to be an
    orphan at depth 1, so it went to the depth-1 call, before its class existed)"""
    trees = [{'dev': 'e0', 'qdiscs': [{'handle': '1:', 'kind': 'htb'}, {'parent': '1:10', 'handle': '10:', 'kind': 'htb'}],
              'classes': [{'classid': '1:10', 'parent': '1:'}, {'classid': '10:1', 'parent': '10:'}]},
             {'dev': 'e1', 'qdiscs': [{'handle': '2:', 'kind': 'tbf'},
                                      {'dev': 'e0', 'parent': '10:1', 'handle': '101:', 'kind': 'pfifo'}]}]
    assert [q['handle'] for q in qos_flatten(trees, 'child_qdiscs', 1)] == ['10:']
    assert [(q['dev'], q['handle']) for q in qos_flatten(trees, 'child_qdiscs', 2)] == [('e0', '101:')]
    assert [c['classid'] for c in qos_flatten(trees, 'classes', 1)] == ['10:1']
    twice = [trees[0], {'dev': 'e1', 'qdiscs': [{'dev': 'e0', 'parent': '1:20', 'handle': '10:'}]}]
    with pytest.raises(AnsibleFilterError, match=r'qos_trees\[1\]\.qdiscs\[0\] has handle 10:, as qos_trees\[0\]\.qdiscs\[1\]'):
        qos_flatten(twice, 'filters')
