# -*- coding: utf-8 -*-
"""A helper of the benches, not a bench (tools/bench skips the files whose name starts with "_"): one module
task through a real ``ansible-playbook -c local`` on this machine, timed."""

import json
import os
import subprocess
import sys
import time

BIN = os.path.dirname(sys.executable)


def run_task(tmp, collections, module, args, variables, options=()):
    """``ansible-playbook -c local`` with one ``module`` task (``args``; ``variables`` go in a JSON vars file,
    written once per ``tmp``) and a ``debug`` task that prints what the bench checks of its result, on the
    controller (a second module task would add its own process, and the copy of the whole result, to the
    time). ``options``: more ansible-playbook arguments (``--check``, ``--diff``).
    Returns (seconds, {'changed': bool, 'commands': count}, ansible-playbook's output)."""
    vars_file = os.path.join(tmp, 'vars.json')
    if not os.path.exists(vars_file):
        with open(vars_file, 'w') as f:
            json.dump(variables, f)
    play = os.path.join(tmp, 'play.json')
    with open(play, 'w') as f:
        json.dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
            {module: args, 'register': 'r'},
            {'ansible.builtin.debug': {'msg': 'EDGB-RESULT {{ {"changed": r.changed, "commands": r.commands | length}'
                                              ' | to_json }}'}}]}],
            f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_LOCAL_TEMP=os.path.join(tmp, 'local'))
    t = time.perf_counter()
    p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e',
                        'ansible_python_interpreter=%s' % sys.executable, '-e', '@' + vars_file, play] + list(options),
                       capture_output=True, text=True, env=env, check=False)
    dt = time.perf_counter() - t
    if p.returncode != 0 or 'EDGB-RESULT ' not in p.stdout:
        raise RuntimeError('ansible-playbook failed:\n%s' % (p.stdout + p.stderr)[-3000:])
    line = p.stdout.split('EDGB-RESULT ', 1)[1].split('\n', 1)[0].rstrip().rstrip('"')
    return dt, json.loads(line.replace('\\"', '"')), p.stdout
