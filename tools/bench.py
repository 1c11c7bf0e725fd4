# -*- coding: utf-8 -*-
"""make bench: every bench/*.py, one after the other, their rows in one table and in bench/results.json.

    tools/bench [NAME...] [--out FILE] [--timeout SECONDS] [--list]

NAME is a bench's file name with or without .py (tools/bench fleet routes); none means all of them
(files starting with "_" are helpers, not benches). Each runs as `<venv python> bench/NAME.py --json <tmp>`
with ANSIBLE_COLLECTIONS_PATH set (the one in the environment, else build/collections: `make bench`
installs there first) and writes a JSON list of rows:

    {"name": ..., "ours": s, "reference": s or null, "reference_tool": ..., "goal": max ratio or null,
     "detail": ...}

The table shows ours, reference, ratio = ours/reference, goal and the verdict (ok, or MISS when the ratio
is above the goal). A bench that fails (exit status, no JSON, timeout) prints its error; the others still
run and tools/bench exits 1. A missed goal is a figure, not a failure. The results file keeps the rows of
benches not run this time (so `tools/bench fleet` updates only the fleet rows) and records, per bench,
when and how it ran. Only the standard library is used (Debian's python3 runs this file).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
BUDGET = 600  # seconds, the whole bench (PERF goal)


#: run last: 50 SSH hosts leave the 2-CPU machine loaded for a minute, which would skew the small benches
LAST = ('fleet',)


def benches():
    names = sorted(f[:-3] for f in os.listdir(BENCH) if f.endswith('.py') and not f.startswith('_'))
    return [n for n in names if n not in LAST] + [n for n in LAST if n in names]


def fmt_s(v):
    if v is None:
        return '-'
    return '%.3f' % v if v < 10 else '%.1f' % v


def ratio_of(row):
    if row.get('reference') in (None, 0) or row.get('ours') is None:
        return None
    return row['ours'] / row['reference']


def verdict(row):
    r = ratio_of(row)
    if r is None or row.get('goal') is None:
        return '-'
    return 'ok' if r <= row['goal'] else 'MISS'


def table(rows):
    head = ('benchmark', 'ours s', 'reference s', 'reference tool', 'ratio', 'goal', 'verdict')
    lines = [head]
    for row in rows:
        r = ratio_of(row)
        lines.append((row['name'], fmt_s(row.get('ours')), fmt_s(row.get('reference')), row.get('reference_tool') or '-',
                      '-' if r is None else '%.2fx' % r, '-' if row.get('goal') is None else '%sx' % row['goal'],
                      verdict(row)))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append('  '.join(str(c).ljust(w) if i in (0, 3, 6) else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            out.append('  '.join('-' * w for w in widths))
    return '\n'.join(out)


def check_rows(rows):
    if not isinstance(rows, list) or not rows:
        raise ValueError('the JSON must be a non-empty list of rows')
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get('name'), str) or \
                not isinstance(row.get('ours'), (int, float)):
            raise ValueError('a row needs a "name" and a number "ours": %r' % (row,))
        for key in ('reference', 'goal'):
            if row.get(key) is not None and not isinstance(row[key], (int, float)):
                raise ValueError('"%s" must be a number or null: %r' % (key, row))


def run_bench(name, python, env, timeout):
    """Run one bench; returns (rows, info). info['error'] is set when it failed."""
    fd, path = tempfile.mkstemp(prefix='edgb-%s.' % name, suffix='.json')
    os.close(fd)
    os.unlink(path)
    t = time.monotonic()
    info = {'started': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}
    rows = []
    try:
        p = subprocess.Popen([python, os.path.join(BENCH, name + '.py'), '--json', path], cwd=ROOT, env=env)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGTERM first: the bench then removes its namespaces and lab hosts (its finally blocks)
            p.terminate()
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            raise
        info['rc'] = p.returncode
        if p.returncode != 0:
            info['error'] = 'exited with status %d' % p.returncode
        elif not os.path.exists(path):
            info['error'] = 'wrote no JSON to --json %s' % path
        else:
            with open(path) as f:
                rows = json.load(f)
            check_rows(rows)
    except subprocess.TimeoutExpired:
        info['error'] = 'timed out after %d s' % timeout
    except (OSError, ValueError) as e:
        info['error'] = 'bad output: %s' % e
        rows = []
    finally:
        if os.path.exists(path):
            os.unlink(path)
    info['seconds'] = round(time.monotonic() - t, 1)
    for row in rows:
        row['bench'] = name
    return rows, info


def main(argv=None):
    ap = argparse.ArgumentParser(prog='tools/bench', description=__doc__.split('\n\n', maxsplit=1)[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('names', nargs='*', metavar='NAME', help='benches to run (default: all of bench/*.py)')
    ap.add_argument('--out', default=os.path.join(BENCH, 'results.json'), help='the results file (default %(default)s)')
    ap.add_argument('--timeout', type=int, default=3 * BUDGET,
                    help='per bench, seconds (default %(default)s: generous, as a loaded machine is slow)')
    ap.add_argument('--list', action='store_true', help='list the benches and exit')
    args = ap.parse_args(argv)
    known = benches()
    if args.list:
        print('\n'.join(known))
        return 0
    names = []
    for n in args.names or known:
        n = os.path.basename(n)
        n = n[:-3] if n.endswith('.py') else n
        if n not in known:
            ap.error('no bench %r (bench/*.py: %s)' % (n, ', '.join(known) or 'none'))
        names.append(n)
    python = os.path.join(os.environ.get('VENV', os.path.join(ROOT, '.venv')), 'bin', 'python')
    if not os.path.exists(python):
        sys.exit('tools/bench: %s is missing: run make setup (or make bench)' % python)
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH') or os.path.join(ROOT, 'build', 'collections')
    if not os.path.isdir(os.path.join(collections.split(':')[0], 'ansible_collections', 'edgenet', 'linux')):
        sys.exit('tools/bench: edgenet.linux is not installed in %s: run make bench (it installs first)' % collections)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, PYTHONDONTWRITEBYTECODE='1')

    t0 = time.monotonic()
    rows, infos = [], {}
    for name in names:
        print('\n=== bench/%s.py' % name, flush=True)
        got, info = run_bench(name, python, env, args.timeout)
        infos[name] = info
        rows += got
        if 'error' in info:
            print('tools/bench: bench/%s.py FAILED: %s' % (name, info['error']), file=sys.stderr, flush=True)
    total = time.monotonic() - t0

    # the results file: this run's rows, plus the earlier rows of benches not run now
    old = {}
    try:
        with open(args.out) as f:
            old = json.load(f)
    except (OSError, ValueError):
        pass
    keep = [r for r in old.get('rows', []) if r.get('bench') not in names and r.get('bench') in known]
    kept_infos = {k: v for k, v in old.get('benches', {}).items() if k not in names and k in known}
    results = {
        'generated_by': 'tools/bench %s' % ' '.join(names),
        'machine': {'cpus': os.cpu_count(), 'kernel': platform.release(), 'python': platform.python_version(),
                    'load_after': round(os.getloadavg()[0], 1)},
        'benches': dict(kept_infos, **infos),
        'rows': sorted(keep + rows, key=lambda r: known.index(r['bench'])),  # stable: a bench's own order
    }
    with open(args.out + '.tmp', 'w') as f:
        json.dump(results, f, indent=2)
        f.write('\n')
    os.rename(args.out + '.tmp', args.out)

    print('\n=== make bench: %d bench(es) in %.0f s (%d CPUs, load %.1f)%s\n'
          % (len(names), total, os.cpu_count(), os.getloadavg()[0],
             '; OVER the %d s budget' % BUDGET if total > BUDGET and len(names) == len(known) else ''))
    print(table(rows) if rows else '(no rows)')
    failed = sorted(n for n, i in infos.items() if 'error' in i)
    misses = [r['name'] for r in rows if verdict(r) == 'MISS']
    print('\nwritten: %s' % os.path.relpath(args.out))
    if misses:
        print('goals missed (figures, not failures): %d' % len(misses))
        for row in rows:
            if verdict(row) == 'MISS' and row.get('detail'):
                print('  %s: %s' % (row['name'], row['detail']))
    if failed:
        print('tools/bench: FAILED: %s' % ', '.join('bench/%s.py (%s)' % (n, infos[n]['error']) for n in failed))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
