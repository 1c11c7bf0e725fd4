# -*- coding: utf-8 -*-
"""Fleet: playbooks/site.yml over N tools/lab hosts (default 50), and its cost against the ping floor.

    <venv>/bin/python bench/fleet.py [--hosts 50] [--forks 10] [--repeat 1] [--scale] [--json FILE]

`make bench` runs steps 1, 2 and 5 with the benchmark below. `--scale` adds steps 3 and 4 (apply, re-run):
the whole scale run, which `make scale` (part of `make test`) runs over 50 hosts through
tests/integration/test_fleet_scale.py, with the kernel state of every host checked after the apply.

The scale run (each step timed, every row's detail says what was checked):
  1. tools/lab brings up N SSH hosts (namespaces with sshd; prefix EDGELAB_PREFIX, default "edgb");
  2. site.yml --check --diff over all of them with the fleet_diff summary: every host would change;
  3. apply: no host fails, and every host changes what check mode predicted (the fleet_diff JSONs agree);
  4. re-run: every host changed=0 (PLAY RECAP and fleet_diff);
  5. tools/lab down.
The benchmark (step 2 on the fresh hosts is its first sample): check-mode site.yml against a playbook of as
many ansible.builtin.ping tasks as site.yml runs module tasks on each host (counted from the fleet_diff
JSON of the check run: not the skipped tasks, the includes, the role input check or set_fact, which run
on the controller): 8 with the lab's group_vars (interfaces: link, address, route, rule; l2_fabric:
bridge_fdb; qos: tc_qdisc, tc_class, tc_filter), on the same hosts, in the same run. Same settings on
both sides: the lab's inventory (pipelining on, root over SSH through the lab proxy), no fact gathering,
strategy linear, --forks, --check --diff, fleet_diff enabled, SSH ControlMaster with ControlPersist=600s (a
warm-up ping run opens the masters first); with --repeat > 1 the runs alternate (site, ping, site, ping...).
The best of --repeat runs of each is compared. Wall time is the figure; the CPU time (controller:
ansible-playbook, its workers and ssh clients; hosts: everything in the lab namespaces, i.e. sshd and the
module processes) is in the detail, as it holds up on a loaded machine where wall time does not.

It uses the installed collection (ANSIBLE_COLLECTIONS_PATH, default build/collections) and the Python it
runs with as the hosts' interpreter. It removes its lab at the end, also on failure.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
LAB = os.path.join(ROOT, 'tools', 'lab')
SITE = os.path.join(ROOT, 'playbooks', 'site.yml')


class Failed(Exception):
    """A step of the scale run did not do what it must (the message says which and why)."""


def _cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _ns_inodes(prefix):
    out = set()
    for name in os.listdir('/run/netns') if os.path.isdir('/run/netns') else []:
        if name.startswith(prefix + '-h'):
            try:
                out.add(os.stat(os.path.join('/run/netns', name)).st_ino)
            except OSError:
                pass
    return out


def host_cpu(prefix):
    """CPU seconds used so far by every process in the lab's host namespaces, with their reaped children
    (the sshd sessions reap the module processes; the listeners reap the sessions)."""
    inodes = _ns_inodes(prefix)
    ticks = 0
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            if os.stat('/proc/%s/ns/net' % pid).st_ino not in inodes:
                continue
            with open('/proc/%s/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            pass
    return ticks / float(os.sysconf('SC_CLK_TCK'))


class Fleet(object):
    def __init__(self, hosts, prefix, net, forks, tmp):
        self.n = hosts
        self.prefix = prefix
        self.forks = forks
        self.tmp = tmp
        collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH') or os.path.join(ROOT, 'build', 'collections')
        self.env = dict(os.environ, EDGELAB_PREFIX=prefix, EDGELAB_NET=net, EDGELAB_PYTHON=sys.executable,
                        ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                        ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_DEPRECATION_WARNINGS='False',
                        ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_TIMEOUT='120',
                        ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=600s',
                        ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(tmp, 'cp'),
                        ANSIBLE_LOCAL_TEMP=os.path.join(tmp, 'ansible-local'),
                        ANSIBLE_CALLBACKS_ENABLED='edgenet.linux.fleet_diff',
                        EDGENET_FLEET_DIFF_SHOW_COMMANDS='false')
        for var in ('EDGELAB_STATE', 'EDGELAB_UPLINK', 'ANSIBLE_STDOUT_CALLBACK', 'ANSIBLE_CONFIG',
                    'EDGENET_FLEET_DIFF_JSON', 'EDGENET_FLEET_DIFF_MARKDOWN'):
            self.env.pop(var, None)
        self.inventory = None
        self.is_up = False

    def lab(self, *args):
        p = subprocess.run([LAB] + list(args), capture_output=True, text=True, env=self.env, check=False)
        if p.returncode != 0:
            raise Failed('tools/lab %s failed (%d): %s' % (' '.join(args), p.returncode, (p.stderr or p.stdout).strip()))
        return p.stdout

    def up(self):
        t = time.monotonic()
        self.is_up = True
        self.lab('up', str(self.n))
        wall = time.monotonic() - t
        self.inventory = self.lab('inventory').strip()
        return wall

    def down(self):
        t = time.monotonic()
        self.lab('down')
        self.is_up = False
        return time.monotonic() - t

    def playbook(self, name, path, *args):
        """Run a playbook over the lab: {'wall', 'cpu', 'host_cpu', 'recap': {host: {field: n}}, 'fleet',
        'out'}. Fails unless every host is in the recap with failed=0 and unreachable=0."""
        jpath = os.path.join(self.tmp, name + '.fleet.json')
        env = dict(self.env, EDGENET_FLEET_DIFF_JSON=jpath)
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', self.inventory, '-f', str(self.forks), path] + list(args)
        t, c, h = time.monotonic(), _cpu_children(), host_cpu(self.prefix)
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        res = {'wall': time.monotonic() - t, 'cpu': _cpu_children() - c, 'host_cpu': host_cpu(self.prefix) - h}
        out = p.stdout + p.stderr
        with open(os.path.join(self.tmp, name + '.log'), 'w') as f:
            f.write(out)
        recap = {}
        for m in re.finditer(r'^(\S+)\s+:\s+(ok=.*)$', out.split('PLAY RECAP', 1)[-1], re.M):
            recap[m.group(1)] = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))}
        bad = sorted(h for h, r in recap.items() if r.get('failed') or r.get('unreachable'))
        if p.returncode != 0 or len(recap) != self.n or bad or 'Traceback' in out:
            errors = [line for line in out.splitlines() if line.startswith(('fatal: [', 'failed: ['))]
            raise Failed('%s: ansible-playbook %s failed (rc %d, %d of %d hosts in the recap, failed or unreachable: '
                         '%s):\n%s\n...\n%s' % (
                             name, ' '.join(cmd[1:]), p.returncode, len(recap), self.n, ', '.join(bad[:10]) or '-',
                             '\n'.join(e[:2000] for e in errors[:5]), out[-1500:]))
        res['recap'] = recap
        res['out'] = out
        res['fleet'] = None
        if os.path.exists(jpath):
            with open(jpath) as f:
                res['fleet'] = json.load(f)
        return res


def ping_playbook(path, tasks):
    with open(path, 'w') as f:
        json.dump([{'name': 'Ping floor', 'hosts': 'all', 'gather_facts': False,
                    'tasks': [{'name': 'Ping %d' % i, 'ansible.builtin.ping': {}} for i in range(tasks)]}], f)


def remote_tasks(run):
    """How many module tasks a run executed on each host: those of the first host in the fleet_diff JSON.
    The run is check mode on fresh hosts, where every module task of site.yml changes (the scale run checks
    that every host would change), so each is listed there; the tasks that run no module on the host (role
    role input check, set_fact, includes, skipped tasks) are not."""
    first = sorted(run['recap'])[0]
    return sum(len(m['tasks']) for m in run['fleet']['hosts'][first]['modules'].values())


def scale_run(hosts=50, prefix='edgb', net='198.18.240', forks=10, repeat=1, bench=True, log=print, verify=None,
              apply=True):
    """Steps 1-5 (and the ping comparison when bench; without steps 3 and 4 unless apply). Returns a dict of
    the measured figures; raises Failed when a step did not do what it must. The lab is always removed.
    verify(hostnames), when given, is called after the apply (tests check the kernel state there)."""
    tmp = tempfile.mkdtemp(prefix='edgb-fleet.')
    fleet = Fleet(hosts, prefix, net, forks, tmp)
    r = {'hosts': hosts, 'forks': forks, 'cpus': os.cpu_count(), 'load_before': os.getloadavg()[0]}
    try:
        r['up'] = fleet.up()
        log('fleet: lab up, %d hosts: %.1f s' % (hosts, r['up']))
        # 2. predict: site.yml --check --diff with the fleet_diff summary (also the first site sample)
        ping = os.path.join(tmp, 'ping.yml')
        if bench:
            ping_playbook(ping, 1)
            fleet.playbook('warmup', ping)  # opens the SSH control masters, warms the page cache
        check = fleet.playbook('check', SITE, '--check', '--diff')
        fd = check['fleet']
        if not fd or not fd['check_mode'] or fd['totals']['hosts'] != hosts or fd['totals']['changed_hosts'] != hosts:
            raise Failed('check: the fleet_diff summary must list %d hosts that would change: %s'
                         % (hosts, fd and fd['totals']))
        if 'FLEET DIFF (check mode): %d of %d host(s) would change' % (hosts, hosts) not in check['out']:
            raise Failed('check: no fleet_diff summary in the output:\n' + check['out'][-2000:])
        r['check'] = check['wall']
        r['check_totals'] = fd['totals']
        log('fleet: site.yml --check --diff: %.1f s; fleet_diff: %d of %d hosts would change, %d commands, %d change sets'
            % (check['wall'], fd['totals']['changed_hosts'], hosts, fd['totals']['commands'], fd['totals']['change_sets']))

        # the benchmark: the same number of ping tasks, with the same flags, alternating with more site samples
        if bench:
            runs = {'site': [check], 'ping': []}
            r['ping_tasks'] = remote_tasks(check)
            ping_playbook(ping, r['ping_tasks'])
            for i in range(repeat):
                if i:
                    runs['site'].append(fleet.playbook('site-check-%d' % i, SITE, '--check', '--diff'))
                runs['ping'].append(fleet.playbook('ping-%d' % i, ping, '--check', '--diff'))
            for kind in runs:
                best = min(runs[kind], key=lambda x: x['wall'])
                r[kind] = {k: best[k] for k in ('wall', 'cpu', 'host_cpu')}
                r[kind + '_walls'] = [round(x['wall'], 2) for x in runs[kind]]
            site, png = r['site'], r['ping']
            log('fleet: check-mode site.yml %.1f s (CPU %.1f s controller + %.1f s hosts) against %d ping task(s) '
                '%.1f s (CPU %.1f + %.1f): %.2fx' % (site['wall'], site['cpu'], site['host_cpu'], r['ping_tasks'],
                                                     png['wall'], png['cpu'], png['host_cpu'], site['wall'] / png['wall']))

        if apply:  # steps 3 and 4: the whole scale run
            # 3. apply: what check mode predicted
            apply_ = fleet.playbook('apply', SITE)
            fa = apply_['fleet']
            predicted = {h: {m: v['commands'] for m, v in d['modules'].items()} for h, d in fd['hosts'].items()}
            applied = {h: {m: v['commands'] for m, v in d['modules'].items()} for h, d in fa['hosts'].items()}
            if applied != predicted:
                diff = sorted(h for h in set(applied) | set(predicted) if applied.get(h) != predicted.get(h))
                raise Failed('apply: the real run changed other things than check mode predicted on %s' % ', '.join(diff[:10]))
            r['apply'] = apply_['wall']
            log('fleet: apply: %.1f s (every host changed what check mode predicted)' % apply_['wall'])
            if verify:
                verify(sorted(apply_['recap']))

            # 4. again: nothing to change anywhere
            again = fleet.playbook('again', SITE)
            changed = sorted(h for h, x in again['recap'].items() if x.get('changed'))
            if changed or again['fleet']['totals']['changed_hosts']:
                raise Failed('again: %d host(s) changed on the second run: %s' % (len(changed), ', '.join(changed[:10])))
            r['again'] = again['wall']
            log('fleet: re-run: %.1f s, changed=0 on %d of %d hosts' % (again['wall'], len(again['recap']), hosts))
    finally:
        # 5. down (also after a failure)
        if fleet.is_up:
            r['down'] = fleet.down()
            log('fleet: lab down: %.1f s' % r['down'])
        shutil.rmtree(tmp, ignore_errors=True)
    r['load_after'] = os.getloadavg()[0]
    return r


def rows(r):
    n = r['hosts']
    load = 'load %.1f before, %.1f after, %d CPUs' % (r['load_before'], r['load_after'], r['cpus'])
    out = []
    if 'site' in r:
        s, p = r['site'], r['ping']
        out.append({
            'name': 'fleet: check-mode site.yml over %d hosts vs %d ping tasks' % (n, r['ping_tasks']),
            'ours': round(s['wall'], 3), 'reference': round(p['wall'], 3),
            'reference_tool': 'ansible.builtin.ping x%d' % r['ping_tasks'], 'goal': 1.2,
            'detail': 'forks %d, pipelining, linear, no facts; best of %s vs %s s; CPU controller+hosts %.1f+%.1f s vs '
                      '%.1f+%.1f s (CPU ratio %.2fx); %s'
                      % (r['forks'], r['site_walls'], r['ping_walls'], s['cpu'], s['host_cpu'], p['cpu'], p['host_cpu'],
                         (s['cpu'] + s['host_cpu']) / max(p['cpu'] + p['host_cpu'], 1e-9), load)})
    t = r['check_totals']
    for key, name, detail in (
            ('up', 'fleet: lab up, %d SSH hosts' % n, 'tools/lab up %d' % n),
            ('check', 'fleet: site.yml --check --diff, %d hosts' % n,
             'fleet_diff: %d of %d hosts would change, %d commands, %d change sets'
             % (t['changed_hosts'], n, t['commands'], t['change_sets'])),
            ('apply', 'fleet: site.yml apply, %d hosts' % n, 'the same commands as check mode predicted, on every host'),
            ('again', 'fleet: site.yml re-run, %d hosts' % n, 'changed=0 on %d of %d hosts' % (n, n)),
            ('down', 'fleet: lab down, %d hosts' % n, 'tools/lab down')):
        if key not in r:  # apply and re-run: only in the whole scale run (--scale)
            continue
        out.append({'name': name, 'ours': round(r[key], 3), 'reference': None, 'reference_tool': None, 'goal': None,
                    'detail': detail + '; ' + load if key == 'check' else detail})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--hosts', type=int, default=int(os.environ.get('EDGB_FLEET_HOSTS', '50')))
    ap.add_argument('--forks', type=int, default=10)
    ap.add_argument('--repeat', type=int, default=1, help='ping/site pairs measured (the best of each counts)')
    ap.add_argument('--prefix', default=os.environ.get('EDGELAB_PREFIX', 'edgb'),
                    help='the lab prefix (its namespaces are PREFIX-sw, PREFIX-h1...); default edgb')
    ap.add_argument('--net', default='198.18.240')
    ap.add_argument('--scale', action='store_true',
                    help='the whole scale run: also apply, then re-run (changed=0 on every host)')
    ap.add_argument('--json', help='write the rows to this file')
    args = ap.parse_args(argv)
    try:
        r = scale_run(args.hosts, args.prefix, args.net, args.forks, args.repeat, apply=args.scale)
    except Failed as e:
        sys.exit('bench/fleet.py: %s' % e)
    out = rows(r)
    for row in out:
        ratio = '  %.2fx (goal %s)' % (row['ours'] / row['reference'], row['goal']) if row['reference'] else ''
        print('%-62s %8.2f s%s' % (row['name'], row['ours'], ratio))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == '__main__':
    # killed (tools/bench's time limit, kill): end through SystemExit, so the finally blocks still remove the
    # namespaces and lab hosts this bench made
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    sys.exit(main())
