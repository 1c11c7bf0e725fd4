# -*- coding: utf-8 -*-
"""tools/bench (the `make bench` driver) with stand-in benches: the table, bench/results.json, a failing
bench (reported, the others still run, exit 1), a subset run that keeps the other benches' rows."""

import importlib.util
import json
import os
import sys

from test_fleet_diff import ROOT

GOOD = '''import json, sys
rows = [{"name": "fast thing", "ours": 1.5, "reference": 1.0, "reference_tool": "ip -batch", "goal": 2.0},
        {"name": "slow thing", "ours": 3.0, "reference": 1.0, "reference_tool": "tc -batch", "goal": 2.0,
         "detail": "where the time goes"},
        {"name": "plain figure", "ours": 0.5, "reference": None, "reference_tool": None, "goal": None}]
print("good bench ran")
json.dump(rows, open(sys.argv[sys.argv.index("--json") + 1], "w"))
'''
BROKEN = 'import sys\nsys.exit("broken bench: the lab did not come up")\n'
NOJSON = 'print("forgot the json")\n'


def load_driver(bench_dir):
    spec = importlib.util.spec_from_file_location('bench_driver', os.path.join(ROOT, 'tools', 'bench.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.BENCH = bench_dir
    return mod


def test_bench_driver(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv('VENV', os.path.dirname(os.path.dirname(sys.executable)))  # the benches' python
    bench = tmp_path / 'bench'
    bench.mkdir()
    (bench / 'a_good.py').write_text(GOOD)
    (bench / 'b_broken.py').write_text(BROKEN)
    (bench / 'c_nojson.py').write_text(NOJSON)
    (bench / '_helper.py').write_text('raise SystemExit("a helper is not a bench")\n')
    out = str(tmp_path / 'results.json')
    drv = load_driver(str(bench))
    assert drv.benches() == ['a_good', 'b_broken', 'c_nojson']

    rc = drv.main(['--out', out])
    text = capfd.readouterr()
    assert rc == 1
    assert 'good bench ran' in text.out and 'broken bench: the lab did not come up' in text.err
    assert 'bench/b_broken.py FAILED: exited with status 1' in text.err
    assert 'bench/c_nojson.py FAILED: wrote no JSON' in text.err
    lines = {line.split('  ')[0]: line.split() for line in text.out.splitlines()
             if line.startswith(('fast thing', 'slow thing', 'plain figure'))}
    assert lines['fast thing'][-3:] == ['1.50x', '2.0x', 'ok']
    assert lines['slow thing'][-3:] == ['3.00x', '2.0x', 'MISS']
    assert lines['plain figure'][-3:] == ['-', '-', '-']
    assert 'slow thing: where the time goes' in text.out
    data = json.load(open(out))
    assert [r['name'] for r in data['rows']] == ['fast thing', 'slow thing', 'plain figure']
    assert all(r['bench'] == 'a_good' for r in data['rows'])
    assert data['benches']['a_good']['rc'] == 0 and 'error' not in data['benches']['a_good']
    assert data['benches']['b_broken']['error'] == 'exited with status 1'

    # a subset: only its rows are replaced; an unknown name is refused
    (bench / 'b_broken.py').write_text(GOOD.replace('fast thing', 'fixed').replace('slow thing', 'fixed 2')
                                       .replace('plain figure', 'fixed 3'))
    assert drv.main(['--out', out, 'b_broken.py']) == 0
    data = json.load(open(out))
    assert [r['name'] for r in data['rows']] == ['fast thing', 'slow thing', 'plain figure', 'fixed', 'fixed 2',
                                                 'fixed 3']
    assert 'error' not in data['benches']['b_broken'] and 'error' in data['benches']['c_nojson']
    try:
        drv.main(['--out', out, 'nosuch'])
        raise AssertionError('an unknown bench must be refused')
    except SystemExit as e:
        assert e.code == 2
