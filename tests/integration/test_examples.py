# -*- coding: utf-8 -*-
"""The modules' EXAMPLES are real tasks: run in the order a reader sets up an uplink (devices, addresses, routes,
VNIs, qdiscs, classes, filters), in a fresh namespace, every one of them succeeds on this machine's kernel.

Left out: tasks for another namespace (``netns: blue``, which the reader makes with its own devices), the bpf
filter (it loads an object file of the reader's) and what the host kernel lacks (flower, police; KERNEL.md).
The oracle here is the kernel's acceptance and iproute2: each example's object is there afterwards.
"""

import ast
import os

import yaml

from conftest import HERE, ipj, sh

MODULES = os.path.join(HERE, '..', '..', 'plugins', 'modules')
# (module, indexes of its EXAMPLES tasks run here), in the order a reader runs them
ORDER = [('link', (0, 2, 3, 4, 5)), ('address', (0, 2, 3)), ('route', (0, 1, 3)), ('bridge_vni', (0, 1)),
         ('tc_qdisc', (0,)), ('tc_class', (0,)), ('tc_filter', (0, 1))]


def examples(module):
    with open(os.path.join(MODULES, module + '.py')) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == 'EXAMPLES':
            return yaml.safe_load(node.value.value)
    raise AssertionError('%s has no EXAMPLES' % module)


def test_examples_run_in_order(netns, play):
    tasks = []
    for module, indexes in ORDER:
        tasks_of = examples(module)
        for i in indexes:
            task = dict(tasks_of[i])
            args = task['edgenet.linux.' + module]
            assert 'netns' not in args, (module, i)
            task['edgenet.linux.' + module] = dict(args, netns=netns)
            tasks.append(task)
    results = play(tasks, diff=False)
    failed = ['%s: %s' % (t['name'], r.get('msg')) for t, r in zip(tasks, results) if r.get('failed')]
    assert failed == [], "\n".join(failed)
    # what the examples made, as iproute2 shows it
    links = {link['ifname']: link for link in ipj(netns, '-d', 'link', 'show')}
    assert {'br0', 'vx100', 'veth0', 'veth1', 'vxlan0', 'ifb0'} <= set(links)
    assert links['vxlan0']['linkinfo']['info_data'].get('link') == 'veth0'
    assert links['veth0'].get('altnames') == ['uplink-spine1-eth7'] and links['vx100']['master'] == 'br0'
    assert links['br0'].get('altnames') == ['bridge-tenant-blue']
    addrs = {'%s/%d' % (a['local'], a['prefixlen']) for a in ipj(netns, 'address', 'show', 'dev', 'veth0')[0]['addr_info']}
    assert {'198.18.0.1/24', 'fd42:ed6e::1/64'} <= addrs
    routes6 = [r['dst'] for r in ipj(netns, '-6', 'route', 'show')]
    assert 'fd42:ed6e:10::/64' in routes6
    routes = {r['dst']: r for r in ipj(netns, 'route', 'show')}
    assert routes['198.18.30.0/24']['nexthops'] and 'default' in routes
    vnis = sh('bridge', '-n', netns, '-j', 'vni', 'show', 'dev', 'vxlan0')
    assert '10010' in vnis
    egress = sh('tc', '-n', netns, 'filter', 'show', 'dev', 'veth0', 'parent', '1:')  # the HTB filters stay
    assert 'flowid 1:10' in egress and 'flowid 1:20' in egress
    ingress = sh('tc', '-n', netns, 'filter', 'show', 'dev', 'veth0', 'ingress')
    assert 'mirred' in ingress and 'ifb0' in ingress
