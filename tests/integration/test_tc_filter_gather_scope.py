# -*- coding: utf-8 -*-
"""A tc_filter task about the parents its config names (merged, replaced, deleted with dev and parent) reads the
filters of those parents alone (TcFilter._named), not one dump per class of every qdisc: the same results as a
gather of every parent, on the host kernel.

Each case runs the engine in this process twice, in two namespaces made alike (an HTB tree of 40 classes on e0
with u32 filters on the qdisc and on two classes, two prios of them; a clsact qdisc on e1 with u32 filters (and
mirred actions) on ingress and egress; an HTB qdisc on e2 (a veth) with a filter), once as the module runs and once with
the scope off (every parent read, as before). Check mode, then the real run, then a re-run: the results (changed,
commands, before, after, diff, errors) must be equal, and so must the two kernels (``tc -d filter show`` of every
parent, the oracle). The filter dumps are counted too: a task naming one parent sends one, not one per class.
"""

import pytest

from conftest import collection_on_path, comparable, ns_and_twin, sh

collection_on_path()

from ansible_collections.edgenet.linux.plugins.module_utils import _engine, _errors  # noqa: E402
from ansible_collections.edgenet.linux.plugins.module_utils import _tc_filter as codec  # noqa: E402
from ansible_collections.edgenet.linux.plugins.module_utils._netlink import Netlink  # noqa: E402
from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter  # noqa: E402

CLASSES = 40
#: the filter dumps of a gather of every parent, one batch per qdisc: e0's qdisc, 1:1 and its 40 classes; e1's
#: ingress and egress; e2's qdisc and 2:1
EVERY = [2 + CLASSES, 2, 2]


def _tree(ns):
    lines = ['qdisc add dev e0 root handle 1: htb default 10', 'class add dev e0 parent 1: classid 1:1 htb rate 1gbit',
             'qdisc add dev e1 clsact', 'qdisc add dev e2 root handle 2: htb',
             'class add dev e2 parent 2: classid 2:1 htb rate 1gbit']
    lines += ['class add dev e0 parent 1:1 classid 1:%x htb rate 1mbit' % (0x10 + i) for i in range(CLASSES)]
    lines += ['filter add dev e0 parent 1: protocol ip prio 10 u32 match ip dst 198.18.0.%d/32 flowid 1:%x'
              % (i, 0x10 + i) for i in range(6)]
    lines += ['filter add dev e0 parent 1: protocol ipv6 prio 20 u32 match ip6 dst fd42:ed6e::%x/128 flowid 1:11' % i
              for i in range(1, 3)]
    lines += ['filter add dev e0 parent 1:10 protocol ip prio 5 u32 match ip src 198.18.1.0/24 flowid 1:12',
              'filter add dev e0 parent 1:11 protocol all prio 7 u32 match u32 0 0 classid 1:13',
              'filter add dev e1 ingress protocol ip prio 1 u32 match ip dport 22 0xffff action mirred egress '
              'redirect dev e3',
              'filter add dev e1 ingress protocol ip prio 2 u32 match ip dport 80 0xffff',
              'filter add dev e1 egress protocol ip prio 3 u32 match ip sport 53 0xffff action mirred egress mirror '
              'dev e3',
              'filter add dev e1 egress protocol all prio 4 u32 match u32 0 0 action mirred egress mirror dev e3',
              'filter add dev e2 parent 2: protocol ip prio 1 u32 match ip dst 198.18.2.0/24 flowid 2:1']
    sh('tc', '-n', ns, '-batch', '-', input='\n'.join(lines) + '\n')


def _devices(ns):
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    sh('ip', '-n', ns, 'link', 'add', 'e2', 'type', 'veth', 'peer', 'name', 'e3')
    for dev in ('e0', 'e1', 'e2'):
        sh('ip', '-n', ns, 'link', 'set', dev, 'up')
    _tree(ns)
    return ns


ns, twin = ns_and_twin(_devices)


def _oracle(ns):
    """Every filter of every parent, as tc prints it (the handles of u32's hash tables left out: they depend on the
    order prios were made in, not on the module)."""
    out = []
    for dev, parents in (('e0', ['1:'] + ['1:%x' % (0x10 + i) for i in range(CLASSES)] + ['1:1']),
                         ('e1', ['ingress', 'egress']), ('e2', ['2:', '2:1'])):
        for parent in parents:
            where = [parent] if parent in ('ingress', 'egress') else ['parent', parent]
            text = sh('tc', '-n', ns, '-d', 'filter', 'show', 'dev', dev, *where)
            out.append((dev, parent, [line for line in text.splitlines() if 'not_in_hw' not in line]))
    return out


def _run(ns, state, config, check, unscoped, monkeypatch, dumps=None):
    params = {'netns': ns, 'state': state, 'config': config, 'dev': None}
    with monkeypatch.context() as m:
        if unscoped:
            m.setattr(TcFilter, '_named', lambda self, ctx: None)
        if dumps is not None:
            real = Netlink.rdump_many

            def counting(nl, kind, bodies, what):
                if kind == codec.RTM_GETTFILTER:
                    dumps.append(len(bodies))
                return real(nl, kind, bodies, what)
            m.setattr(Netlink, 'rdump_many', counting)
        ctx = _engine.Context(params, check_mode=check)
        try:
            result = _engine.Engine(TcFilter(), ctx).run(diff=True)
        except _errors.EdgenetError as e:
            result = {'error': str(e)}
        finally:
            ctx.close()
    return comparable(result, ns)


def _u32(dev, parent, prio, dst, flowid, protocol='ip', **extra):
    return dict({'dev': dev, 'parent': parent, 'protocol': protocol, 'prio': prio, 'kind': 'u32',
                 'match': {'dst': dst}, 'classid': flowid}, **extra)


REDIRECT = {'kind': 'mirred', 'action': 'redirect', 'direction': 'egress', 'dev': 'e3'}
CASES = [
    # merged on the qdisc: a new filter (the next handle of its prio), a change of an existing one's class
    ('merged', [_u32('e0', '1:', 10, '198.18.0.0/32', '1:1f'), _u32('e0', '1:', 10, '198.18.0.1/32', '1:11'),
                _u32('e0', '1:', 10, '198.18.0.2/32', '1:12'), _u32('e0', '1:', 10, '198.18.0.3/32', '1:13'),
                _u32('e0', '1:', 10, '198.18.0.4/32', '1:14'), _u32('e0', '1:', 10, '198.18.0.5/32', '1:15'),
                _u32('e0', '1:', 10, '198.18.0.9/32', '1:16')]),
    # merged on a class (a class as parent: it is looked up), and on a class without filters yet
    ('merged', [_u32('e0', '1:10', 5, '198.18.3.0/24', '1:20'),
                _u32('e0', '1:2a', 6, '198.18.4.0/24', '1:21')]),
    # a class that does not exist, as parent: refused (naming it) in both
    ('merged', [_u32('e0', '1:99', 6, '198.18.4.0/24', '1:21')]),
    # replaced: the ingress u32 prio of the clsact qdisc; egress holds a u32 prio 3, so ingress prio 3 is refused
    ('replaced', [{'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 1, 'kind': 'u32',
                   'match': {'dport': 23}, 'actions': [REDIRECT]}]),
    ('merged', [{'dev': 'e1', 'parent': 'ingress', 'protocol': 'ip', 'prio': 3, 'kind': 'u32',
                 'match': {'dport': 24}, 'actions': [REDIRECT]}]),
    # the same prio, another protocol: the kernel keeps one per prio (refused in validate)
    ('merged', [_u32('e0', '1:', 20, '198.18.0.7/32', '1:11')]),
    # deleted by dev and parent (and prio): the filters of the named parents, every prio or one
    ('deleted', [{'dev': 'e0', 'parent': '1:11'}, {'dev': 'e1', 'parent': 'egress', 'prio': 3},
                 {'dev': 'e2', 'parent': '2:'}]),
    # deleted without a parent: every parent of the device is read (no scope)
    ('deleted', [{'dev': 'e0', 'prio': 5}]),
    # parents spelled otherwise: ffff:fff2 is ingress, 1:0 is the qdisc
    ('merged', [{'dev': 'e1', 'parent': 'ffff:fff2', 'protocol': 'all', 'prio': 9, 'kind': 'u32',
                 'actions': [REDIRECT]},
                _u32('e0', '1:0', 30, '198.18.5.0/24', '1:18')]),
]


@pytest.mark.parametrize('state,config', CASES)
def test_a_task_about_its_parents_reads_them_alone_with_the_same_results(ns, twin, monkeypatch, state, config):
    for check in (True, False, False):  # check mode, the real run, the re-run
        ours = _run(ns, state, config, check, False, monkeypatch)
        every = _run(twin, state, config, check, True, monkeypatch)
        assert ours == every, (check, ours, every)
        assert _oracle(ns) == _oracle(twin)


def test_one_parent_named_one_dump(ns, twin, monkeypatch):
    """A task about the qdisc of a 40-class tree dumps its filters alone (before and after the real run); with the
    scope off, the first gather dumps every parent of every qdisc."""
    config = [_u32('e0', '1:', 30, '198.18.6.%d/32' % i, '1:%x' % (0x10 + i)) for i in range(5)]
    ours, every = [], []
    _run(ns, 'merged', config, False, False, monkeypatch, ours)
    _run(twin, 'merged', config, False, True, monkeypatch, every)
    assert ours == [1, 1], ours
    assert every[:3] == EVERY, every


def test_states_about_every_filter_read_every_parent(ns, monkeypatch):
    """overridden and gathered are about every filter: no scope."""
    for state, config in (('gathered', None), ('overridden', [_u32('e2', '2:', 1, '198.18.2.0/24', '2:1')])):
        dumps = []
        r = _run(ns, state, config, True, False, monkeypatch, dumps)
        assert 'error' not in r, r
        assert dumps[:3] == EVERY, (state, dumps)


def test_a_parent_that_does_not_parse_turns_the_scope_off(ns, monkeypatch):
    """normalize names the element and the field."""
    dumps = []
    config = [_u32('e0', '1:', 10, '198.18.0.0/32', '1:1f'), _u32('e0', 'x:y', 10, '198.18.0.1/32', '1:11')]
    r = _run(ns, 'merged', config, True, False, monkeypatch, dumps)
    assert 'config[1]' in r['error'] and 'parent' in r['error'], r
    assert dumps == EVERY, dumps
