# -*- coding: utf-8 -*-
"""playbooks/site.yml through ansible-runner, as an AWX job runs it, over a 2-host tools/lab.

A private data directory (project/, inventory/, env/) as AWX lays it out; `ansible-runner run` with
edgenet.linux.fleet_diff enabled through env/envvars. Checked: the artifacts (status, rc, job events) and
the fleet_diff JSON written next to them, against each other and against the kernel (iproute2).
"""

import glob
import json
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import BIN, ipj
from test_fleet_diff import MODULES, ROOT, assert_unchanged, kernel_view
from test_lab import Lab


@pytest.fixture
def lab2(tmp_path):
    lab = Lab(tmp_path)
    try:
        lab('up', '2')
        yield lab
    finally:
        left_ns, left_sshd = lab.teardown()
        assert left_ns == [] and left_sshd == [], 'tools/lab down left %s %s' % (left_ns, left_sshd)


def private_data_dir(lab, tmp_path):
    pdd = tmp_path / 'runner'
    shutil.copytree(os.path.join(ROOT, 'playbooks'), str(pdd / 'project'))
    (pdd / 'inventory').mkdir()
    shutil.copy(lab.inventory, str(pdd / 'inventory' / 'hosts.yml'))
    (pdd / 'env').mkdir()
    envvars = {'ANSIBLE_COLLECTIONS_PATH': os.environ['ANSIBLE_COLLECTIONS_PATH'],
               'ANSIBLE_CALLBACKS_ENABLED': 'edgenet.linux.fleet_diff',
               'ANSIBLE_RETRY_FILES_ENABLED': 'False', 'ANSIBLE_DEPRECATION_WARNINGS': 'False',
               'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-local'),
               'ANSIBLE_SSH_CONTROL_PATH_DIR': str(tmp_path / 'cp')}
    (pdd / 'env' / 'envvars').write_text(yaml.safe_dump(envvars))
    return pdd


def runner(pdd, ident, *cmdline):
    """ansible-runner run PDD -p site.yml; returns (status, rc, events, fleet_diff JSON, stdout)."""
    artifacts = pdd / 'artifacts' / ident
    with open(str(pdd / 'env' / 'envvars')) as f:
        envvars = yaml.safe_load(f)
    envvars['EDGENET_FLEET_DIFF_JSON'] = str(pdd / ('fleet-%s.json' % ident))
    (pdd / 'env' / 'envvars').write_text(yaml.safe_dump(envvars))
    (pdd / 'env' / 'cmdline').write_text(' '.join(cmdline))
    p = subprocess.run([os.path.join(BIN, 'ansible-runner'), 'run', str(pdd), '-p', 'site.yml', '--ident', ident],
                       capture_output=True, text=True, check=False,
                       env=dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', '')))
    out = p.stdout + p.stderr
    status = (artifacts / 'status').read_text().strip()
    rc = int((artifacts / 'rc').read_text().strip())
    events = []
    for path in sorted(glob.glob(str(artifacts / 'job_events' / '*.json')),
                       key=lambda x: int(os.path.basename(x).split('-')[0])):
        with open(path) as f:
            events.append(json.load(f))
    with open(envvars['EDGENET_FLEET_DIFF_JSON']) as f:
        fleet = json.load(f)
    return status, rc, events, fleet, out, p.returncode


def commands_from_events(events):
    """{host: {module: commands}} from the runner_on_ok job events (what AWX stores per host and task)."""
    out = {}
    for e in events:
        if e['event'] != 'runner_on_ok':
            continue
        d = e['event_data']
        res = d['res']
        if res.get('changed') or res.get('commands'):
            out.setdefault(d['host'], {}).setdefault(d['resolved_action'], []).extend(res['commands'])
    return out


def test_site_through_ansible_runner(lab2, tmp_path):
    lab = lab2
    hosts = [lab.ns(1), lab.ns(2)]
    pdd = private_data_dir(lab, tmp_path)
    before = {i: kernel_view(lab, i) for i in (1, 2)}

    # check mode, as an AWX "check" job: successful, nothing touched, every predicted command in the events
    status, rc, events, fleet, out, prc = runner(pdd, 'check', '--check', '--diff')
    assert (status, rc, prc) == ('successful', 0, 0), out[-4000:]
    assert 'Traceback' not in out and 'FLEET DIFF (check mode): 2 of 2 host(s) would change' in out, out[-4000:]
    assert_unchanged(lab, before)
    kinds = [e['event'] for e in events]
    assert kinds[0] == 'playbook_on_start' and kinds.count('playbook_on_stats') == 1
    # one ok per host and module task (the role input check is ok too; the hooks skip)
    oks = [e['event_data'] for e in events if e['event'] == 'runner_on_ok']
    assert sorted(d['resolved_action'] for d in oks if d['resolved_action'] in MODULES) == sorted(MODULES * 2)
    stats = events[kinds.index('playbook_on_stats')]['event_data']
    # fleet_diff prints after the stats: AWX stores those lines as 'verbose' events of the job
    after = ''.join(e.get('stdout', '') + '\n' for e in events[kinds.index('playbook_on_stats') + 1:])
    assert 'FLEET DIFF (check mode): 2 of 2 host(s) would change' in after, after
    assert sorted(stats['changed']) == hosts and all(stats['changed'][h] == len(MODULES) for h in hosts)
    assert not stats['failures'] and not stats['dark']
    predicted = commands_from_events(events)
    assert sorted(predicted) == hosts and all(list(predicted[h]) == MODULES for h in hosts)
    assert fleet['check_mode'] is True and fleet['modules'] == MODULES
    assert {h: {m: v['commands'] for m, v in fleet['hosts'][h]['modules'].items()} for h in hosts} == predicted
    # the job's stdout carries the table too (the awx_display stdout callback and fleet_diff side by side)
    table = out.rsplit('FLEET DIFF', 1)[1]
    assert 'host ' in table and lab.ns(1) in table and lab.ns(2) in table, table

    # the real job: the same commands as predicted, and the kernel shows the site
    status, rc, events, fleet, out, prc = runner(pdd, 'apply', '--diff')
    assert (status, rc, prc) == ('successful', 0, 0), out[-4000:]
    assert commands_from_events(events) == predicted
    assert fleet['check_mode'] is False and fleet['totals']['changed_hosts'] == 2
    assert {h: {m: v['commands'] for m, v in fleet['hosts'][h]['modules'].items()} for h in hosts} == predicted
    for i in (1, 2):
        links = {link['ifname']: link.get('master') for link in ipj(lab.ns(i), 'link', 'show')}
        assert 'br0' in links and links['vx100'] == 'br0'
        addrs = [a['local'] for link in ipj(lab.ns(i), 'address', 'show', 'dev', 'br0') for a in link['addr_info']]
        assert '198.19.%d.1' % i in addrs

    # the job again: idempotent, one "no changes" group in the fleet summary
    status, rc, events, fleet, out, prc = runner(pdd, 'again')
    assert (status, rc) == ('successful', 0), out[-4000:]
    assert commands_from_events(events) == {}
    stats = [e['event_data'] for e in events if e['event'] == 'playbook_on_stats']
    assert len(stats) == 1 and not any(stats[0]['changed'].values()) and not stats[0]['failures']
    assert fleet['groups'] == [{'hosts': hosts, 'count': 2, 'changes': [], 'unreachable': False, 'failed': False}]
