# -*- coding: utf-8 -*-
"""roles/interfaces applied to a fresh namespace (interfaces_netns) through ansible-playbook -c local.

Oracle: iproute2 JSON in the namespace. Real run, idempotent second run, check mode that changes nothing
and predicts the real run, deleted in reverse order, bad input stopped by argument_specs.
"""

import json
import os
import subprocess

import yaml

from conftest import BIN, HERE, PYTHON, ipj

LINKS = [
    {'ifname': 'br0', 'kind': 'bridge', 'state': 'up'},
    {'ifname': 'vx100', 'kind': 'vxlan', 'master': 'br0', 'state': 'up',
     'vxlan': {'id': 100, 'local': '198.18.3.1', 'dstport': 4789, 'learning': False}},
    {'ifname': 'veth0', 'kind': 'veth', 'veth': {'peer': 'veth1'}, 'master': 'br0', 'state': 'up'},
]
ADDRESSES = [{'dev': 'br0', 'address': '198.19.1.1/24'}, {'dev': 'veth1', 'address': '198.18.3.1/32'}]
ROUTES = [{'dst': '198.19.101.0/24', 'dev': 'br0'}, {'dst': '198.19.250.0/24', 'type': 'blackhole'},
          {'dst': 'default', 'gateway': '198.19.1.254', 'dev': 'br0', 'table': 100}]
RULES = [{'priority': 1000, 'from': '198.19.1.0/24', 'table': 100}]
TASKS = ['Links', 'Addresses', 'Routes', 'Policy rules']


def run_role(tmp, name, role_vars, *args, rc=0):
    """Apply edgenet.linux.interfaces with role_vars; returns ({task name: result}, output)."""
    base = os.path.join(str(tmp), name)
    with open(base + '.yml', 'w') as f:
        yaml.safe_dump([{'name': 'interfaces role', 'hosts': 'localhost', 'gather_facts': False,
                         'roles': [{'role': 'edgenet.linux.interfaces', 'vars': role_vars}]}], f)
    env = dict(os.environ, EDGENET_RESULTS=base + '.jsonl', ANSIBLE_NOCOLOR='1',
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'plugins', 'callback'),
               ANSIBLE_CALLBACKS_ENABLED='result_dump', ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_LOCAL_TEMP=os.path.join(str(tmp), 'ansible-local'),
               ANSIBLE_REMOTE_TEMP=os.path.join(str(tmp), 'ansible-remote'))
    p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                        '-e', 'ansible_python_interpreter=%s' % PYTHON, base + '.yml'] + list(args),
                       capture_output=True, text=True, env=env, cwd=str(tmp), check=False)
    out = p.stdout + p.stderr
    assert p.returncode == rc, out[-4000:]
    assert 'Traceback' not in out, out[-4000:]
    results = {}
    if os.path.exists(base + '.jsonl'):
        with open(base + '.jsonl') as f:
            for line in f:
                r = json.loads(line)
                results[r['task'].split(' : ')[-1]] = r
    return results, out


def state(ns):
    """The namespace as iproute2 shows it: devices, global addresses, routes outside the local table, rules."""
    links = {link['ifname']: (link.get('linkinfo', {}).get('info_kind'), link.get('master'),
                              'UP' in link['flags'])
             for link in ipj(ns, '-d', 'link', 'show')}
    addrs = sorted('%s %s/%s' % (link['ifname'], a['local'], a['prefixlen']) for link in ipj(ns, 'address', 'show')
                   for a in link['addr_info'] if a['scope'] != 'host' and not a['local'].startswith('fe80'))
    routes = sorted('%s %s %s %s %s' % (r.get('type', 'unicast'), r['dst'], r.get('gateway', '-'), r.get('dev', '-'),
                                        r.get('table', 'main'))
                    for r in ipj(ns, 'route', 'show', 'table', 'all')
                    if r.get('table') != 'local' and not r['dst'].startswith(('fe80', 'ff00', 'multicast')))
    rules = [(r['priority'], r.get('src'), r.get('table')) for r in ipj(ns, 'rule', 'show')]
    return links, addrs, routes, rules


def predictable(task, after):
    """A module's 'after' without what check mode cannot know: the MAC addresses the kernel picks for new
    links, and the IPv6 link-local addresses and routes it adds once they are up. Sorted."""
    if task == 'Links':
        after = [{k: v for k, v in link.items() if k != 'address'} for link in after]
    return sorted(json.dumps(x, sort_keys=True) for x in after if 'fe80:' not in json.dumps(x))


def test_interfaces_role(netns, tmp_path):
    ns = netns
    full = {'interfaces_netns': ns, 'interfaces_links': LINKS, 'interfaces_addresses': ADDRESSES,
            'interfaces_routes': ROUTES, 'interfaces_rules': RULES}
    empty = state(ns)

    # check mode: every list would change, nothing changes
    check, out = run_role(tmp_path, 'check', full, '--check', '--diff')
    assert [t for t in TASKS if check[t]['result']['changed']] == TASKS, out
    assert all(check[t]['result']['commands'] for t in TASKS)
    assert '--- before: edgenet.linux.route' in out or '+++ after' in out
    assert state(ns) == empty

    # the real run: the kernel shows every object; check mode predicted its commands and its 'after'
    real, out = run_role(tmp_path, 'apply', full, '--diff')
    for t in TASKS:
        assert real[t]['result']['changed'], (t, out)
        assert real[t]['result']['commands'] == check[t]['result']['commands'], t
        assert predictable(t, real[t]['result']['after']) == predictable(t, check[t]['result']['after']), t
    links, addrs, routes, rules = state(ns)
    assert links['br0'] == ('bridge', None, True)
    assert links['vx100'] == ('vxlan', 'br0', True) and links['veth0'] == ('veth', 'br0', True)
    assert links['veth1'][0] == 'veth'
    assert addrs == ['br0 198.19.1.1/24', 'veth1 198.18.3.1/32']
    assert 'unicast 198.19.101.0/24 - br0 main' in routes
    assert 'blackhole 198.19.250.0/24 - - main' in routes
    assert 'unicast default 198.19.1.254 br0 100' in routes
    assert (1000, '198.19.1.0', '100') in rules
    applied = state(ns)

    # idempotent: nothing changed, no commands; check mode now also predicts nothing
    again, out = run_role(tmp_path, 'again', full)
    for t in TASKS:
        assert not again[t]['result']['changed'] and again[t]['result']['commands'] == [], (t, again[t])
    again, out = run_role(tmp_path, 'again-check', full, '--check')
    assert not any(again[t]['result']['changed'] for t in TASKS)
    assert state(ns) == applied

    # an empty list skips its module; the role never touches what it is not given
    only_routes, out = run_role(tmp_path, 'routes', {'interfaces_netns': ns, 'interfaces_routes': ROUTES[:1]})
    assert 'skip_reason' in only_routes['Links']['result'] and 'skip_reason' in only_routes['Addresses']['result']
    assert only_routes['Routes']['result']['changed'] is False
    assert state(ns) == applied

    # deleted, in reverse order: rules, routes, addresses, then the devices
    gone = dict(full, interfaces_state='deleted', interfaces_links=[{'ifname': 'br0'}, {'ifname': 'vx100'},
                                                                    {'ifname': 'veth0'}])
    check, out = run_role(tmp_path, 'delete-check', gone, '--check')
    assert state(ns) == applied
    deleted, out = run_role(tmp_path, 'delete', gone)
    assert list(deleted)[-4:] == ['Policy rules (deleted)', 'Routes (deleted)', 'Addresses (deleted)',
                                  'Links (deleted)']
    for t in ['Policy rules (deleted)', 'Routes (deleted)', 'Addresses (deleted)', 'Links (deleted)']:
        assert deleted[t]['result']['changed'], t
        assert deleted[t]['result']['commands'] == check[t]['result']['commands'], t
    assert state(ns) == empty


def test_interfaces_role_bad_input(netns, tmp_path):
    """argument_specs stops a wrong type before any module runs; a module names the bad field."""
    ns = netns
    empty = state(ns)
    for bad, field in [({'interfaces_routes': 'not a list'}, 'interfaces_routes'),
                       ({'interfaces_state': 'gathered'}, 'interfaces_state'),
                       ({'interfaces_links': [1, 2]}, 'interfaces_links'),
                       ({'interfaces_addresses': ['198.19.1.1/24']}, 'interfaces_addresses'),
                       ({'interfaces_rules': {'priority': 1}}, 'interfaces_rules')]:
        results, out = run_role(tmp_path, 'bad-' + field, dict(bad, interfaces_netns=ns), rc=2)
        assert 'Validating arguments against arg spec' in out and field in out, out[-3000:]
        assert not any(t in results for t in TASKS), results
        assert state(ns) == empty
    # a field a module rejects: named in the message by the role's first task (edgenet.linux.validate_roles), before
    # any module call
    results, out = run_role(tmp_path, 'bad-mtu', {'interfaces_netns': ns, 'interfaces_routes': ROUTES[:1],
                                                  'interfaces_links': [{'ifname': 'br0', 'kind': 'bridge',
                                                                        'mtu': 'huge'}]}, rc=2)
    first = results[CHECK]
    assert first['status'] == 'failed' and 'mtu' in first['result']['msg'], first
    assert not any(t in results for t in TASKS), results
    assert state(ns) == empty


CHECK = 'Inputs of the role (edgenet.linux.validate_roles)'


def test_interfaces_role_on_its_own_refuses_a_bad_route_before_the_links_are_made(netns, tmp_path):
    """The role run on its own (no playbooks/site.yml, whose first task checks every role's input) with a route
    whose gateway is not an address: the role's first task (edgenet.linux.validate_roles, the check site.yml runs)
    refuses it, naming the route as the role's variable gives it (interfaces_routes[1]) and the field, and no module
    call runs. Before, the links call made the bridge,
    the VXLAN device and the veth pair (changed), and only then did "Routes" refuse the gateway."""
    ns = netns
    empty = state(ns)
    routes = ROUTES[:1] + [{'dst': '198.19.102.0/24', 'gateway': '198.19.1.300', 'dev': 'br0'}]
    bad = {'interfaces_netns': ns, 'interfaces_links': LINKS, 'interfaces_addresses': ADDRESSES,
           'interfaces_routes': routes}
    for args in ((), ('--check',)):
        results, out = run_role(tmp_path, 'bad-gateway' + ''.join(args), bad, *args, rc=2)
        first = results.get(CHECK) or {}
        assert first.get('status') == 'failed', out[-3000:]
        msg = first['result']['msg']
        assert 'task "Routes" (edgenet.linux.route): interfaces_routes[1]: field ' in msg, msg
        assert 'gateway' in msg and '198.19.1.300' in msg, msg
        assert not any(t in results for t in TASKS), results
        assert state(ns) == empty
