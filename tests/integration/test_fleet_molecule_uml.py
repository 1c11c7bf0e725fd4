# -*- coding: utf-8 -*-
"""extensions/molecule/l2_fabric: `molecule test` under user-mode Linux (roles/l2_fabric needs bridge VLAN
filtering and VLAN tunnels, which the host kernel lacks). As the host's test_fleet_molecule.py does for the
interfaces scenario: create/destroy are tools/lab up/down (two hosts, each a namespace with its own sshd,
inside the guest), converge applies roles/l2_fabric over SSH, idempotence, and a testinfra verify over SSH
(bridge -j vlan show/tunnelshow, bridge -j vni show, bridge -j fdb show, ip -j -d link show, and a ping
between the two hosts' access-port clients across the VXLAN in each VLAN).

Molecule finds collection scenarios only next to a galaxy.yml; the installed collection has MANIFEST.json
instead, so the test runs molecule in a copy of it turned back into a source tree (galaxy.yml made from
MANIFEST.json).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import pytest
import yaml

from conftest import BIN, HERE, PYTHON, sh

pytestmark = pytest.mark.uml

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))


def test_molecule_l2_fabric(tmp_path):
    project = tmp_path / 'edgenet_linux'
    shutil.copytree(ROOT, str(project), ignore=shutil.ignore_patterns('.ansible', '__pycache__', 'output'))
    with open(os.path.join(ROOT, 'MANIFEST.json')) as f:
        info = json.load(f)['collection_info']
    galaxy = {k: info[k] for k in ('namespace', 'name', 'version', 'readme', 'authors', 'license')}
    (project / 'galaxy.yml').write_text(yaml.safe_dump(galaxy))
    (project / 'MANIFEST.json').unlink()  # a source tree has galaxy.yml only (molecule's prerun installs it)
    (project / 'FILES.json').unlink()

    # no prerun (molecule would build and install the collection from the copy, a minute under UML): the
    # playbooks use the installed collection the copy was made from (ANSIBLE_COLLECTIONS_PATH, conftest)
    base = tmp_path / 'molecule-base.yml'
    base.write_text(yaml.safe_dump({'prerun': False}))

    prefix = 'elfm' + uuid.uuid4().hex[:6]
    # a short HOME: ssh's ControlPath under ~/.ansible/cp must fit a unix socket path (108 bytes)
    home = tempfile.mkdtemp(prefix='elfm', dir='/tmp')
    env = dict(os.environ, EDGELAB_PREFIX=prefix, EDGELAB_NET='198.19.77', EDGELAB_PYTHON=PYTHON, HOME=home,
               ANSIBLE_NOCOLOR='1', NO_COLOR='1', PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    env.pop('EDGELAB_STATE', None)
    try:
        p = subprocess.run([os.path.join(BIN, 'molecule'), '--base-config', str(base), 'test', '-s', 'l2_fabric'], cwd=str(project), env=env,
                           capture_output=True, text=True, check=False, timeout=900)
        out = p.stdout + p.stderr
        assert p.returncode == 0, out[-8000:]
        for step in ('create', 'converge', 'idempotence', 'verify', 'destroy'):
            assert re.search(r'^l2_fabric \S+ %s: Executed: Successful$' % step, out, re.M), (step, out[-6000:])
        assert re.search(r'^l2_fabric +: actions=5 .* failed=0$', out, re.M), out[-6000:]
        # 5 checks per VTEP (links, VLANs, VLAN tunnels and VNIs, head-end replication, a ping in each VLAN)
        assert '10 passed' in out, out[-6000:]
        # converge changed both hosts; idempotence then passed
        assert 'changed: [l2fabric-h1]' in out and 'changed: [l2fabric-h2]' in out, out[-6000:]
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
