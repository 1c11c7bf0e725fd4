# -*- coding: utf-8 -*-
"""On the managed host, a module's own code is compiled once (module_utils/_zipimport.py), in the payload that
Ansible really builds and sends (AnsiballZ), and the module's result is unchanged.

Ansible builds the payloads here (``ansible`` with a local connection, no pipelining, the remote files kept);
each is then run again as the host runs it, under a wrapper that counts ``compile()`` per file. The modules
run in state rendered and check mode, so they read and write no kernel state."""

import collections
import glob
import json
import os
import stat
import subprocess
import sys

from conftest import BIN, PYTHON

MODULES = {
    'route': {'state': 'rendered', 'config': [{'dst': '198.18.7.0/24', 'dev': 'lo', 'metric': 10}]},
    'tc_filter': {'state': 'rendered', 'config': [{'dev': 'lo', 'parent': '1:', 'kind': 'u32', 'prio': 1,
                                                   'protocol': 'ip', 'classid': '1:10', 'match': {'dscp': 46}}]},
}

# Runs a payload file as the host does (python AnsiballZ_x.py) and prints how often each file was compiled (the
# interpreter's "compile" audit event: zipimport's compiles and the finder's are both calls of compile()).
COUNTING = r'''
import collections, json, runpy, sys
counts = collections.Counter()
sys.addaudithook(lambda event, args: counts.update([args[1]]) if event == 'compile' else None)
path = sys.argv[1]
sys.argv = [path]
try:
    runpy.run_path(path, run_name='__main__')
finally:
    sys.stderr.write('COMPILES ' + json.dumps({str(k): v for k, v in counts.items()}) + '\n')
'''


def payload(module, args, tmp_path, check=True):
    """Ansible's own payload for the module (kept by ANSIBLE_KEEP_REMOTE_FILES), and the result Ansible got."""
    remote = tmp_path / 'remote'
    env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_REMOTE_TMP=str(remote), ANSIBLE_PIPELINING='False',
               ANSIBLE_NOCOLOR='1', EDGENET_BYTECODE_CACHE='off')
    p = subprocess.run([os.path.join(BIN, 'ansible'), 'all', '-i', 'localhost,', '-c', 'local'] + (['--check'] if check else []) +
                       ['-e', 'ansible_python_interpreter=' + PYTHON, '-m', 'edgenet.linux.' + module,
                        '-o', '-a', json.dumps(args)], capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    result = json.loads(p.stdout.split(' => ', 1)[1])  # localhost | SUCCESS => {...}
    files = glob.glob(str(remote / '*' / ('AnsiballZ_%s.py' % module)))
    assert len(files) == 1, (files, p.stdout)
    return files[0], result


def test_the_collections_code_is_compiled_once_in_a_real_payload(tmp_path):
    for module, args in MODULES.items():
        path, by_ansible = payload(module, args, tmp_path / module)
        p = subprocess.run([PYTHON, '-c', COUNTING, path], capture_output=True, text=True, check=False,
                           cwd=str(tmp_path), env=dict(os.environ, EDGENET_BYTECODE_CACHE='off'))
        assert 'Traceback' not in p.stderr, p.stderr
        result = json.loads(p.stdout)
        assert not result.get('failed'), result
        assert result['rendered'] == by_ansible['rendered'] and result['rendered'], (result, by_ansible)

        counts = json.loads(p.stderr.split('COMPILES ', 1)[1])
        ours = collections.Counter()
        for filename, n in counts.items():
            inner = filename.split('.zip/', 1)[-1]
            if inner.startswith('ansible_collections/edgenet/linux/plugins/module_utils/') and \
                    not inner.endswith('__init__.py') and not inner.endswith('/_zipimport.py'):
                ours[inner] = n
        # the engine and the resource are among them, each compiled once
        assert {'ansible_collections/edgenet/linux/plugins/module_utils/_engine.py',
                'ansible_collections/edgenet/linux/plugins/module_utils/resources/%s.py' % module} <= set(ours), ours
        assert set(ours.values()) == {1}, ours
        # and that is the finder's doing: what it does not serve (Ansible's own module_utils, imported before
        # the module runs) zipimport compiled twice, in the same process
        basic = [n for f, n in counts.items() if f.endswith('.zip/ansible/module_utils/basic.py')]
        assert basic == [2], counts


def run_counting(path, cache, cwd):
    """The payload run as the host runs it, with the bytecode cache in ``cache``: (result, {our file: compiles})."""
    env = dict(os.environ, EDGENET_BYTECODE_CACHE=cache)
    env.pop('PYTHONDONTWRITEBYTECODE', None)  # (this machine's environment may set it; a host's sshd session does not)
    p = subprocess.run([PYTHON, '-c', COUNTING, path], capture_output=True, text=True, check=False, cwd=cwd, env=env)
    assert 'Traceback' not in p.stderr, p.stderr
    counts = json.loads(p.stderr.split('COMPILES ', 1)[1])
    ours = dict((f.split('.zip/', 1)[1], n) for f, n in counts.items()
                if '.zip/ansible_collections/edgenet/linux/plugins/module_utils/' in f and not f.endswith('__init__.py'))
    return json.loads(p.stdout), ours


def test_a_real_run_keeps_the_code_and_the_next_task_compiles_none_of_it(tmp_path):
    """module_utils/_bytecode.py in the real payload: a real run writes the code of what it compiled to the cache, the
    next run (of either mode) takes it from there and compiles only the two files that load the cache; check mode
    writes nothing; the results are the same each time."""
    args = MODULES['route']
    real, by_ansible = payload('route', args, tmp_path / 'real', check=False)
    check = payload('route', args, tmp_path / 'check')[0]
    base = 'ansible_collections/edgenet/linux/plugins/module_utils/'
    loaders = {base + '_zipimport.py', base + '_bytecode.py'}
    cache = tmp_path / 'cache'

    result, ours = run_counting(check, str(cache), str(tmp_path))  # check mode, the cache empty
    assert result['rendered'] == by_ansible['rendered']
    assert not cache.exists()  # check mode wrote nothing
    assert {base + '_engine.py', base + 'resources/route.py'} <= set(ours)

    result, ours = run_counting(real, str(cache), str(tmp_path))  # a real run: compiles, and keeps
    assert result['rendered'] == by_ansible['rendered'] and not result.get('failed')
    kept = sorted(f.name for f in cache.iterdir())
    expected = sorted('ansible_collections.edgenet.linux.plugins.module_utils.%s.%s' % (
        f[len(base):-3].replace('/', '.'), sys.implementation.cache_tag) for f in ours if f not in loaders)
    assert kept == expected, (kept, ours)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700

    for path in (real, check):  # the next tasks, either mode: nothing of ours compiled but the cache's loaders
        result, ours = run_counting(path, str(cache), str(tmp_path))
        assert result['rendered'] == by_ansible['rendered'] and not result.get('failed')
        assert set(ours) == loaders, ours
    assert sorted(f.name for f in cache.iterdir()) == kept
