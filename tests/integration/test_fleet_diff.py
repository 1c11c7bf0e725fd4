# -*- coding: utf-8 -*-
"""edgenet.linux.fleet_diff: playbooks/site.yml in check mode over a 3-host tools/lab, with the callback on.

Oracles: the per-task results (the test-only result_dump callback, run next to fleet_diff), the printed
table, and iproute2 in the hosts' namespaces (check mode leaves them as they were).
"""

import json
import os
import subprocess

import pytest
import yaml

from conftest import BIN, HERE, bridgej, ipj, sh
from test_lab import Lab

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
SITE = os.path.join(ROOT, 'playbooks', 'site.yml')
MODULES = ['edgenet.linux.link', 'edgenet.linux.address', 'edgenet.linux.route', 'edgenet.linux.rule',
           'edgenet.linux.bridge_fdb', 'edgenet.linux.tc_qdisc', 'edgenet.linux.tc_class', 'edgenet.linux.tc_filter']
# site.yml's module tasks on the lab (group_vars set l2_fabric_* and qos_*, so both hook roles run): the
# interfaces role's ("edgenet.linux.interfaces : Links" etc.), l2_fabric's head-end replication (the devices
# are the interfaces role's), the qos role's three
TASK_MODULES = {'Links': MODULES[0], 'Addresses': MODULES[1], 'Routes': MODULES[2], 'Policy rules': MODULES[3],
                'Head-end replication towards every other VTEP (exactly these on the VXLAN device)': MODULES[4],
                'Qdiscs': MODULES[5], 'Classes': MODULES[6], 'Filters': MODULES[7]}


def module_results(results):
    """The results of site.yml's module tasks (not skipped ones, the role input check or the hooks),
    each with its 'module'."""
    out = []
    for r in results:
        name = r['task'].split(' : ')[-1]
        # (qos's "Filters" is also the name of its include_tasks task: its result has 'include')
        if r['status'] != 'skipped' and name in TASK_MODULES and 'include' not in r['result']:
            out.append(dict(r, module=TASK_MODULES[name]))
    return out


@pytest.fixture
def lab3(tmp_path):
    lab = Lab(tmp_path)
    try:
        lab('up', '3')
        yield lab
    finally:
        left_ns, left_sshd = lab.teardown()
        assert left_ns == [] and left_sshd == [], 'tools/lab down left %s %s' % (left_ns, left_sshd)


def fleet_env(lab, name):
    """The environment of an ansible-playbook run with fleet_diff (JSON and Markdown) and result_dump on."""
    base = os.path.join(lab.tmp, name)
    return base, dict(os.environ, EDGENET_RESULTS=base + '.jsonl', EDGENET_FLEET_DIFF_JSON=base + '.json',
                      EDGENET_FLEET_DIFF_MARKDOWN=base + '.md', ANSIBLE_NOCOLOR='1',
                      ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'plugins', 'callback'),
                      ANSIBLE_CALLBACKS_ENABLED='result_dump,edgenet.linux.fleet_diff',
                      ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_DEPRECATION_WARNINGS='False',
                      ANSIBLE_LOCAL_TEMP=os.path.join(lab.tmp, 'ansible-local'),
                      ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(lab.tmp, 'cp'))


def run_site(lab, name, *args, playbook=SITE):
    """ansible-playbook PLAYBOOK ARGS over the lab; returns (fleet_diff JSON, task results, markdown, output)."""
    base, env = fleet_env(lab, name)
    p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', lab.inventory, playbook] + list(args),
                       capture_output=True, text=True, env=env, check=False)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    assert 'Traceback' not in out, out
    with open(base + '.json') as f:
        data = json.load(f)
    with open(base + '.jsonl') as f:
        results = [json.loads(line) for line in f]
    with open(base + '.md') as f:
        md = f.read()
    return data, results, md, out


def expected_commands(results):
    """{host: {module: [commands...]}} from the raw task results (task order), modules that changed only."""
    out = {}
    for r in results:
        res = r['result']
        host = out.setdefault(r['host'], {})
        if res.get('changed') or res.get('commands'):
            host.setdefault(r['module'], []).extend(res.get('commands', []))
    return out


def kernel_view(lab, i):
    """Links, addresses, routes, rules, VXLAN FDB entries (those with a dst) and qdiscs of lab host i (not
    what the kernel adds by itself once IPv6 DAD ends: link-local addresses and routes, local-table
    routes, multicast FDB entries)."""
    ns = lab.ns(i)
    fdb = sorted(json.dumps(e, sort_keys=True) for e in bridgej(ns, 'fdb', 'show') if 'dst' in e)
    qdiscs = sorted(json.dumps(q, sort_keys=True) for q in json.loads(sh('tc', '-n', ns, '-j', 'qdisc', 'show') or '[]'))
    keep = ('dst', 'dev', 'gateway', 'type', 'table', 'protocol', 'prefsrc', 'scope')
    return (sorted((link['ifname'], link.get('master'), link['operstate']) for link in ipj(ns, 'link', 'show')),
            sorted((link['ifname'], a['local'], a['prefixlen']) for link in ipj(ns, 'address', 'show')
                   for a in link['addr_info'] if a.get('scope') != 'link'),
            sorted(json.dumps({k: r.get(k) for k in keep}) for r in ipj(ns, 'route', 'show', 'table', 'all')
                   if r.get('table') != 'local' and not r['dst'].startswith(('fe80', 'ff00', 'multicast'))),
            ipj(ns, 'rule', 'show'), fdb, qdiscs)


def assert_unchanged(lab, before):
    after = {i: kernel_view(lab, i) for i in before}
    assert after == before, 'check mode changed the kernel: %s' % [
        (i, x, y) for i in before for x, y in zip(before[i], after[i]) if x != y]


def table_rows(out):
    """The printed fleet table: {host: [cells...]} plus the header, from the FLEET DIFF section."""
    lines = out.split('FLEET DIFF', 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('host '))
    header = lines[start].split()
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells[1:]
    return header, rows


def test_site_check_mode_fleet_diff(lab3, tmp_path):
    lab = lab3
    hosts = [lab.ns(i) for i in (1, 2, 3)]
    before = {i: kernel_view(lab, i) for i in (1, 2, 3)}

    # 1. every host new: three different change sets (each host has its own site_id and underlay address)
    data, results, md, out = run_site(lab, 'check1', '--check', '--diff')
    results = module_results(results)
    assert len(results) == 3 * len(MODULES)
    assert_unchanged(lab, before)
    want = expected_commands(results)
    assert data['check_mode'] is True and data['playbooks'] == ['site.yml']
    assert data['modules'] == MODULES
    assert sorted(data['hosts']) == hosts
    for h in hosts:
        got = data['hosts'][h]
        assert {m: v['commands'] for m, v in got['modules'].items()} == want[h]
        assert set(got['modules']) == set(MODULES) and all(v['changed'] for v in got['modules'].values())
        assert got['commands'] == sum(len(c) for c in want[h].values()) and got['changed'] is True
        assert got['failed'] == 0 and got['unreachable'] is False
    # the link task creates br0 and vx100 everywhere; the route commands name each host's own site net; the
    # fabric floods to the two other hosts' underlay addresses; the QoS tree is the same everywhere
    assert any('br0' in c for c in want[hosts[0]]['edgenet.linux.link'])
    for i, h in enumerate(hosts, 1):
        assert want[h]['edgenet.linux.bridge_fdb'] == [
            'bridge fdb append 00:00:00:00:00:00 dev vx100 dst %s self permanent' % lab.addr(j)
            for j in (1, 2, 3) if j != i]
    assert want[hosts[0]]['edgenet.linux.tc_qdisc'] == ['tc qdisc add dev br0 root handle 1: htb default 30 r2q 10']
    assert len(want[hosts[0]]['edgenet.linux.tc_class']) == 4 and len(want[hosts[0]]['edgenet.linux.tc_filter']) == 4
    assert any('198.19.101.0/24' in c for c in want[hosts[0]]['edgenet.linux.route'])
    assert any('198.19.102.0/24' in c for c in want[hosts[1]]['edgenet.linux.route'])
    assert [(g['hosts'], g['count']) for g in data['groups']] == [([h], 1) for h in hosts]
    for g in data['groups']:
        assert g['changes'] == [{'module': m, 'command': c} for m in MODULES for c in want[g['hosts'][0]][m]]
    assert data['totals'] == {'hosts': 3, 'changed_hosts': 3, 'change_sets': 3,
                              'commands': sum(data['hosts'][h]['commands'] for h in hosts)}
    # a command every host shares (the sinkhole route) is indexed with all three hosts
    shared = [c for c in data['commands'] if c['count'] == 3]
    assert shared and all(c['hosts'] == hosts for c in shared)
    assert any('blackhole 198.19.250.0/24' in c['command'] for c in shared), shared
    # the printed table: one column per module, the command count per cell, the total at the end
    header, rows = table_rows(out)
    assert header == ['host', 'link', 'address', 'route', 'rule', 'bridge_fdb', 'tc_qdisc', 'tc_class', 'tc_filter',
                      'commands']
    assert sorted(rows) == hosts
    for h in hosts:
        assert rows[h] == [str(len(want[h][m])) for m in MODULES] + [str(data['hosts'][h]['commands'])]
    assert 'FLEET DIFF (check mode): 3 of 3 host(s) would change' in out
    assert '1 host (%s): %d change(s)' % (hosts[0], data['hosts'][hosts[0]]['commands']) in out
    assert '    route: ' + want[hosts[0]]['edgenet.linux.route'][0] in out
    assert '3 hosts: route: ip route add blackhole 198.19.250.0/24' in out.split('several hosts share:')[1]
    assert '| host | link | address | route | rule | bridge_fdb | tc_qdisc | tc_class | tc_filter | commands |' in md and '## Change sets' in md

    # 2. host 1 applied for real; then a serial run in check mode where every host gets host 1's site:
    #    host 1 has nothing to do, hosts 2 and 3 share one change set. Every host's underlay address is host 1's
    #    in both runs, so no host has a fabric peer (head-end replication: no FDB entries anywhere).
    same = ('-e', 'site_id=1', '-e', 'site_underlay_address=%s' % lab.addr(1))
    run_site(lab, 'apply1', '--limit', hosts[0], *same)
    serial = os.path.join(str(tmp_path), 'site_serial.yml')
    play = yaml.safe_load(open(SITE))
    play[0]['serial'] = 2
    with open(serial, 'w') as f:
        yaml.safe_dump(play, f)
    os.symlink(os.path.join(ROOT, 'playbooks', 'group_vars'), os.path.join(str(tmp_path), 'group_vars'))
    before = {i: kernel_view(lab, i) for i in (1, 2, 3)}
    data, results, md, out = run_site(lab, 'check2', '--check', *same, playbook=serial)
    assert_unchanged(lab, before)
    assert sorted(data['hosts']) == hosts  # both serial batches
    assert data['hosts'][hosts[0]] == {'changed': False, 'commands': 0, 'failed': 0, 'unreachable': False,
                                       'modules': {}}
    assert [(g['hosts'], g['count']) for g in data['groups']] == [(hosts[1:], 2), ([hosts[0]], 1)]
    assert data['groups'][1]['changes'] == []
    assert data['groups'][0]['changes'] and data['hosts'][hosts[1]]['modules'] == data['hosts'][hosts[2]]['modules']
    assert data['totals']['changed_hosts'] == 2 and data['totals']['change_sets'] == 1
    header, rows = table_rows(out)
    assert rows[hosts[0]] == ['-'] * len(header[1:-1]) + ['0']
    n = data['hosts'][hosts[1]]['commands']
    assert '2 hosts (%s, %s): %d change(s)' % (hosts[1], hosts[2], n) in out
    assert '1 host (%s): no changes' % hosts[0] in out
    assert 'FLEET DIFF (check mode): 2 of 3 host(s) would change, %d command(s), 1 distinct change set(s)' \
        % (2 * n) in out
