# -*- coding: utf-8 -*-
"""What one task costs: edgenet.linux.address (state gathered) against ansible.builtin.ping, on one lab
host over SSH with pipelining, and the import time of the collection's own code on the host.

    tools/measure-task-overhead [--tasks 20] [--repeat 3] [--module edgenet.linux.address] [--json FILE]

It brings up its own 1-host lab (prefix "edgebench", 198.18.250.0/24; --prefix/--net change them) and
removes it at the end; its SSH control sockets live in a private directory (another lab may use the same
addresses behind another proxy). bench/task_overhead.py uses measure() for `make bench`. Each
playbook is run once to warm up (SSH ControlPersist master, .pyc files), then --repeat times with 1 task
and with 1+N tasks; per-task cost = (t(1+N) - t(1)) / N in each round, the median over the rounds, so
ansible-playbook's own start-up and the SSH connection are not counted. The playbooks take turns round by round (ping, ours, ours, ping, ...), so
that a drift in the machine's speed weighs on both. Run after `make install` (it uses build/collections).
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get('VENV', os.path.join(ROOT, '.venv'))
PY = os.path.join(VENV, 'bin', 'python')
COLLECTIONS = os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, 'build', 'collections')).split(':')[0]
LAB = os.path.join(ROOT, 'tools', 'lab')
PREFIX = 'edgebench'
ENV = dict(os.environ, EDGELAB_PREFIX=PREFIX, EDGELAB_NET='198.18.250', EDGELAB_PYTHON=PY,
           ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='False',
           ANSIBLE_DEPRECATION_WARNINGS='False')
ENV.pop('EDGELAB_STATE', None)


def tasks_for(module):
    """The two playbook tasks compared: ansible.builtin.ping and MODULE in state gathered."""
    return {'ansible.builtin.ping': {'ansible.builtin.ping': {}},
            '%s gathered' % module: {module: {'state': 'gathered'}}}


TASKS = tasks_for('edgenet.linux.address')
IMPORTS = [
    'ansible_collections.edgenet.linux.plugins.module_utils._engine',
    'ansible_collections.edgenet.linux.plugins.module_utils._netlink',
    'ansible_collections.edgenet.linux.plugins.module_utils.resources.address',
    'ansible_collections.edgenet.linux.plugins.module_utils.resources.route',
    'ansible.module_utils.basic',
    'pyroute2',
]


def playbook(path, task, n):
    with open(path, 'w') as f:
        json.dump([{'hosts': 'all', 'gather_facts': False, 'tasks': [dict(task, name='t%d' % i) for i in range(n)]}], f)


def interleaved_playbook(path, tasks, n):
    """One playbook with N tasks of each kind in TASKS, taking turns (A B, then B A, ...), named '<k>:<i>' by
    the kind's position k; a warm-up task of each kind first and an end marker last, neither counted."""
    kinds = list(tasks.values())
    body = [dict(task, name='w:%d' % k) for k, task in enumerate(kinds)]
    for i in range(n):
        order = list(enumerate(kinds)) if i % 2 == 0 else list(enumerate(kinds))[::-1]
        body.extend(dict(task, name='%d:%d' % (k, i)) for k, task in order)
    body.append(dict(kinds[0], name='end'))
    with open(path, 'w') as f:
        json.dump([{'hosts': 'all', 'gather_facts': False, 'tasks': body}], f)


def task_costs(marks):
    """{kind index: [ms, ...]}: each counted task's cost, from its start to the next task's start."""
    out = {}
    for (name, start), (_next, after) in zip(marks, marks[1:]):
        kind, _sep, _i = name.partition(':')
        if kind.isdigit():
            out.setdefault(int(kind), []).append((after - start) * 1000)
    return out


def _cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _host_cpu():
    """CPU seconds used so far by the lab host's processes (sshd sessions reap the module processes, so
    the finished tasks' CPU is in their cutime/cstime)."""
    pids = subprocess.run(['ip', 'netns', 'pids', ENV['EDGELAB_PREFIX'] + '-h1'], capture_output=True, text=True, check=False).stdout.split()
    ticks = 0
    for pid in pids:
        try:
            with open('/proc/%s/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            pass
    return ticks / float(os.sysconf('SC_CLK_TCK'))


def run_playbook(inv, path):
    """Wall time, controller CPU (ansible-playbook and its ssh clients) and host CPU of one run."""
    t, c, h = time.monotonic(), _cpu(), _host_cpu()
    p = subprocess.run([os.path.join(VENV, 'bin', 'ansible-playbook'), '-i', inv, path], capture_output=True,
                       text=True, env=ENV, check=False)
    wall, cpu, host = time.monotonic() - t, _cpu() - c, _host_cpu() - h
    if p.returncode != 0 or 'failed=0' not in p.stdout:
        sys.exit('measure: %s failed:\n%s%s' % (path, p.stdout[-3000:], p.stderr[-2000:]))
    return wall, cpu, host


def import_time(mod):
    """Cumulative import time (ms) of mod in a fresh interpreter, the way a module process pays it."""
    env = dict(ENV, PYTHONPATH=COLLECTIONS)
    best = None
    for _attempt in range(5):
        p = subprocess.run([PY, '-X', 'importtime', '-c', 'import ' + mod], capture_output=True, text=True, env=env, check=False)
        if p.returncode != 0:
            return None
        for line in p.stderr.splitlines():
            m = re.match(r'import time:\s+\d+ \|\s+(\d+) \|\s?( *)(\S+)$', line)
            if m and m.group(3) == mod and not m.group(2):
                us = int(m.group(1))
                best = us if best is None else min(best, us)
    return None if best is None else best / 1000.0


def measure(tasks, n=20, repeat=3, prefix=PREFIX, net='198.18.250', interleave=0):
    """Per-task figures of each playbook task in TASKS (label: task) on a fresh 1-host lab, and import times.

    With ``interleave`` > 0, also that many runs of one playbook in which the kinds take turns task by task
    (:func:`interleaved_playbook`), each task timed from its start to the next one's by the task_clock
    callback (tools/callbacks): a drift of the machine's speed then weighs on both kinds within a second,
    not within a round of four playbooks, and ansible-playbook's start-up is not in the figure at all."""
    ENV.update(EDGELAB_PREFIX=prefix, EDGELAB_NET=net)
    results = {'loadavg_before': os.getloadavg(), 'cpus': os.cpu_count(), 'tasks': n, 'repeat': repeat,
               'playbooks': {}, 'imports_ms': {}}
    tmp = tempfile.mkdtemp(prefix='edgebench.')
    ENV['ANSIBLE_SSH_CONTROL_PATH_DIR'] = os.path.join(tmp, 'cp')
    try:
        subprocess.run([LAB, 'up', '1'], check=True, env=ENV, stdout=subprocess.DEVNULL)
        inv = subprocess.run([LAB, 'inventory'], env=ENV, capture_output=True, text=True, check=False).stdout.strip()
        books = {}
        for i, (label, task) in enumerate(tasks.items()):
            one, many = os.path.join(tmp, 'one%d.json' % i), os.path.join(tmp, 'many%d.json' % i)
            playbook(one, task, 1)
            playbook(many, task, 1 + n)
            run_playbook(inv, one)  # warm-up: the SSH control master, the AnsiballZ payload, the page cache
            books[label] = (one, many, [], [])
        # the playbooks take turns, round by round, and which goes first alternates: a machine whose speed
        # drifts during the measurement (it does, by 10 to 30%) then weighs on every side alike
        labels = list(books)
        for rnd in range(repeat):
            for label in (labels if rnd % 2 == 0 else labels[::-1]):
                one, many, r1, rn = books[label]
                r1.append(run_playbook(inv, one))
                rn.append(run_playbook(inv, many))
        for label, (_one, _many, r1, rn) in books.items():
            # each round's own difference (its 1-task run and its 1+N-task run follow each other), then the
            # median over the rounds: a slow spell then spoils one round, not the 1-task or the N-task median
            per_round = [[(b[k] - a[k]) / n * 1000 for a, b in zip(r1, rn)] for k in range(3)]
            results['playbooks'][label] = {'wall_1_task_s': round(statistics.median(r[0] for r in r1), 3),
                                           'wall_%d_tasks_s' % (1 + n): round(statistics.median(r[0] for r in rn), 3),
                                           'per_task_ms': round(statistics.median(per_round[0]), 1),
                                           'controller_cpu_per_task_ms': round(statistics.median(per_round[1]), 1),
                                           'host_cpu_per_task_ms': round(statistics.median(per_round[2]), 1),
                                           'rounds_per_task_ms': [round(x, 1) for x in per_round[0]]}
        if interleave:
            results['interleaved'] = _interleaved(inv, tmp, tasks, n, interleave)
    finally:
        subprocess.run([LAB, 'down'], env=ENV, stdout=subprocess.DEVNULL, check=False)
        subprocess.run(['rm', '-rf', tmp], check=False)
    for mod in IMPORTS:
        results['imports_ms'][mod] = import_time(mod)
    results['loadavg_after'] = os.getloadavg()
    return results


def _interleaved(inv, tmp, tasks, n, runs):
    path, clock = os.path.join(tmp, 'interleaved.json'), os.path.join(tmp, 'clock.json')
    interleaved_playbook(path, tasks, n)
    env = dict(ENV, ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, 'tools', 'callbacks'),
               ANSIBLE_CALLBACKS_ENABLED='task_clock', TASK_CLOCK_OUT=clock)
    labels = list(tasks)
    costs = dict((label, []) for label in labels)
    run_ratios = []
    for _run in range(runs):
        p = subprocess.run([os.path.join(VENV, 'bin', 'ansible-playbook'), '-i', inv, path], capture_output=True,
                           text=True, env=env, check=False)
        if p.returncode != 0 or 'failed=0' not in p.stdout:
            sys.exit('measure: %s failed:\n%s%s' % (path, p.stdout[-3000:], p.stderr[-2000:]))
        with open(clock) as f:
            by_kind = task_costs(json.load(f))
        for k, label in enumerate(labels):
            costs[label].extend(by_kind[k])
        run_ratios.append(statistics.median(by_kind[len(labels) - 1]) / statistics.median(by_kind[0]))
    return {'runs': runs, 'tasks_each': n,
            'per_task_ms': dict((label, round(statistics.median(c), 1)) for label, c in costs.items()),
            'runs_ratio': [round(r, 3) for r in run_ratios]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--tasks', type=int, default=20)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--module', default='edgenet.linux.address', help='the module run in state gathered')
    ap.add_argument('--prefix', default=PREFIX)
    ap.add_argument('--net', default='198.18.250')
    ap.add_argument('--interleave', type=int, default=0, help='also this many runs of the two kinds task by task')
    ap.add_argument('--json', help='also write the results to this file')
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(COLLECTIONS, 'ansible_collections', 'edgenet', 'linux')):
        sys.exit('measure: edgenet.linux is not installed in %s (make install)' % COLLECTIONS)
    results = measure(tasks_for(args.module), args.tasks, args.repeat, args.prefix, args.net, args.interleave)
    print('per task, one lab host over SSH with pipelining (median of %d runs; %d CPUs, load %.1f before, %.1f after):'
          % (args.repeat, results['cpus'], results['loadavg_before'][0], results['loadavg_after'][0]))
    for label, r in results['playbooks'].items():
        fields = (label, r['per_task_ms'], r['controller_cpu_per_task_ms'], r['host_cpu_per_task_ms'],
                  r['wall_1_task_s'], 1 + args.tasks, r['wall_%d_tasks_s' % (1 + args.tasks)])
        print('  %-32s %7.1f ms wall, CPU %6.1f ms controller + %6.1f ms host   (playbook wall: 1 task %.2f s, '
              '%d tasks %.2f s)' % fields)
    print('  (per task = (t(1+N) - t(1)) / N in each round, the median of the rounds; CPU times hold up under load,'
          ' wall times do not)')
    if 'interleaved' in results:
        r = results['interleaved']
        print("  task by task in one playbook (%d runs, %d of each): %s; the runs' ratios %s"
              % (r['runs'], r['tasks_each'], ', '.join('%s %.1f ms' % kv for kv in r['per_task_ms'].items()),
                 ' '.join('%.2f' % x for x in r['runs_ratio'])))
    print('import time in a fresh interpreter (cumulative, best of 5):')
    for mod, ms in results['imports_ms'].items():
        print('  %-75s %s' % (mod, 'n/a' if ms is None else '%.1f ms' % ms))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
