# -*- coding: utf-8 -*-
"""Per-task overhead: edgenet.linux.route in state gathered against ansible.builtin.ping, 20 tasks each, on
one lab host over SSH with pipelining.

    <venv>/bin/python bench/task_overhead.py [--tasks 20] [--repeat 7] [--json FILE]

tools/measure_task_overhead.py does the measuring (see its docstring): a fresh 1-host tools/lab (prefix
"edgb", so its namespaces are edgb-sw and edgb-h1; 198.18.241.0/24), each playbook run once to warm up,
then --repeat times with 1 task and with 1+N tasks, the two playbooks taking turns round by round; the cost
of N tasks is t(1+N) - t(1) in each round, the median of the rounds, so ansible-playbook's start-up and the
SSH connection are not counted. The row's ours/reference are those N-task costs (route gathered / ping); the
detail has the rounds' own ratios, the CPU per task on the controller and on the host, and the import times
of the module's own code in a fresh interpreter. Goal: at most 1.1x.

A cross-check goes into the detail (--interleave runs, 3 by default): one playbook in which route and ping take
turns task by task, each task timed by the controller from its start to the next one's (the task_clock callback
in tools/callbacks). It measures the same per-task cost with a machine's drift cancelled within a second rather
than within a round; the row's figures stay the rounds' above.
"""

import argparse
import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools'))
import measure_task_overhead as mto  # noqa: E402  pylint: disable=wrong-import-position

MODULE = 'edgenet.linux.route'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--tasks', type=int, default=20)
    ap.add_argument('--repeat', type=int, default=7)
    ap.add_argument('--interleave', type=int, default=3,
                    help='runs of one playbook in which the two kinds take turns task by task (0: none)')
    ap.add_argument('--prefix', default=os.environ.get('EDGELAB_PREFIX', 'edgb'))
    ap.add_argument('--net', default='198.18.241')
    ap.add_argument('--json', help='write the rows to this file')
    args = ap.parse_args(argv)
    if not os.path.isdir(os.path.join(mto.COLLECTIONS, 'ansible_collections', 'edgenet', 'linux')):
        sys.exit('bench/task_overhead.py: edgenet.linux is not installed in %s (make install)' % mto.COLLECTIONS)
    r = mto.measure(mto.tasks_for(MODULE), args.tasks, args.repeat, args.prefix, args.net, args.interleave)
    ping, ours = r['playbooks']['ansible.builtin.ping'], r['playbooks']['%s gathered' % MODULE]
    # the rounds' own ratios (the two playbooks ran side by side in each round): how far one round strays
    ratios = sorted(o / p for o, p in zip(ours['rounds_per_task_ms'], ping['rounds_per_task_ms']) if p > 0)
    imports = ', '.join('%s %.0f ms' % (m.rsplit('.', 1)[-1], ms) for m, ms in r['imports_ms'].items() if ms is not None)
    row = {'name': 'per-task overhead: %d x %s gathered vs %d x ping, 1 host over SSH' % (args.tasks, MODULE, args.tasks),
           'ours': round(ours['per_task_ms'] * args.tasks / 1000.0, 3),
           'reference': round(ping['per_task_ms'] * args.tasks / 1000.0, 3),
           'reference_tool': 'ansible.builtin.ping', 'goal': 1.1,
           'detail': 'per task %.0f vs %.0f ms wall (median of %d rounds, each round t(1+%d) - t(1) side by side; the '
                     'rounds\' ratios %s); CPU per task controller %.0f vs %.0f ms, host %.0f vs %.0f ms; '
                     'pipelining; imports: %s; load %.1f before, %.1f after, %d CPUs'
                     % (ours['per_task_ms'], ping['per_task_ms'], args.repeat, args.tasks,
                        ' '.join('%.2f' % x for x in ratios), ours['controller_cpu_per_task_ms'],
                        ping['controller_cpu_per_task_ms'], ours['host_cpu_per_task_ms'], ping['host_cpu_per_task_ms'],
                        imports, r['loadavg_before'][0], r['loadavg_after'][0], r['cpus'])}
    if 'interleaved' in r:
        il = r['interleaved']
        p, o = il['per_task_ms']['ansible.builtin.ping'], il['per_task_ms']['%s gathered' % MODULE]
        row['detail'] += ("; cross-check, the two kinds taking turns task by task in one playbook (%d runs of %d "
                          "each, each task timed from its start to the next one's): per task %.0f vs %.0f ms, %.2fx "
                          "(the runs %s)" % (il['runs'], il['tasks_each'], o, p, o / p,
                                             ' '.join('%.2f' % x for x in il['runs_ratio'])))
    ratio = row['ours'] / row['reference'] if row['reference'] else float('nan')
    print('%s: %.2f s vs %.2f s, %.2fx (goal 1.1)\n  %s' % (row['name'], row['ours'], row['reference'], ratio, row['detail']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump([row], f, indent=2)
    return 0


if __name__ == '__main__':
    # killed (tools/bench's time limit, kill): end through SystemExit, so the finally blocks still remove the
    # namespaces and lab hosts this bench made
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    sys.exit(main())
