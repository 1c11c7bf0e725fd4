# -*- coding: utf-8 -*-
"""extensions/molecule/interfaces: `molecule test` (delegated driver: create/destroy are tools/lab up/down,
converge applies roles/interfaces over SSH, idempotence, testinfra verify over SSH), on its own lab.

Molecule finds collection scenarios only next to a galaxy.yml; the installed collection has MANIFEST.json
instead, so the test runs molecule in a copy of it turned back into a source tree (galaxy.yml made from MANIFEST.json).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import yaml

from conftest import BIN, HERE, PYTHON, lab_third, sh

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))


def test_molecule_interfaces(tmp_path):
    project = tmp_path / 'edgenet_linux'
    shutil.copytree(ROOT, str(project), ignore=shutil.ignore_patterns('.ansible', '__pycache__', 'output'))
    with open(os.path.join(ROOT, 'MANIFEST.json')) as f:
        info = json.load(f)['collection_info']
    galaxy = {k: info[k] for k in ('namespace', 'name', 'version', 'readme', 'authors', 'license')}
    (project / 'galaxy.yml').write_text(yaml.safe_dump(galaxy))
    (project / 'MANIFEST.json').unlink()  # a source tree has galaxy.yml only (molecule's prerun installs it)
    (project / 'FILES.json').unlink()

    prefix = 'eltm' + uuid.uuid4().hex[:6]
    # a short HOME: ssh's ControlPath under ~/.ansible/cp must fit a unix socket path (108 bytes)
    home = tempfile.mkdtemp(prefix='eltm', dir='/tmp')
    env = dict(os.environ, EDGELAB_PREFIX=prefix, EDGELAB_NET='198.18.%d' % lab_third(),
               EDGELAB_PYTHON=PYTHON, HOME=home, ANSIBLE_NOCOLOR='1', NO_COLOR='1',
               PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    env.pop('EDGELAB_STATE', None)
    try:
        p = subprocess.run([os.path.join(BIN, 'molecule'), 'test', '-s', 'interfaces'], cwd=str(project), env=env,
                           capture_output=True, text=True, check=False, timeout=900)
        out = p.stdout + p.stderr
        assert p.returncode == 0, out[-6000:]
        for step in ('create', 'converge', 'idempotence', 'verify', 'destroy'):
            assert re.search(r'^interfaces \S+ %s: Executed: Successful$' % step, out, re.M), (step, out[-6000:])
        assert re.search(r'^interfaces +: actions=6 .* failed=0$', out, re.M), out[-6000:]
        assert '4 passed' in out, out[-6000:]
        assert 'changed: [interfaces-h1]' in out  # converge changed the host; idempotence then passed
    finally:
        subprocess.run(['bash', os.path.join(ROOT, 'tools', 'lab'), '--prefix', prefix, '--uplink', 'veth', 'down'],
                       capture_output=True, check=False)
        left = [n for n in sh('ip', 'netns', 'list').split() if n.startswith(prefix)]
        for ns in left:
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True, check=False)
        subprocess.run(['ip', 'link', 'del', prefix + '0'], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
    assert left == [], 'molecule destroy left %s' % left
    assert subprocess.run(['ip', 'link', 'show', prefix + '0'], capture_output=True, check=False).returncode != 0
