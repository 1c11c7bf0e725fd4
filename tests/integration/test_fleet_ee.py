# -*- coding: utf-8 -*-
"""execution-environment.yml: `ansible-builder create` makes a build context, and the steps the image build
would run on it work here: the galaxy stage installs edgenet.linux from the context, and ansible-builder's own
introspection of that install yields the collection's Python and system requirements.

No container engine is needed (none is on the test machine); the image build itself is not run.
"""

import os
import shutil
import subprocess

import yaml

from conftest import BIN, HERE

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))  # the installed collection


def run(*cmd, cwd=None, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, check=False)
    assert p.returncode == 0, '%s failed (%d): %s %s' % (' '.join(cmd), p.returncode, p.stdout, p.stderr)
    return p.stdout


def test_ansible_builder_create(tmp_path):
    # The layout execution-environment.yml expects: the repository root after `make install`.
    project = tmp_path / 'project'
    target = project / 'build' / 'collections' / 'ansible_collections' / 'edgenet' / 'linux'
    shutil.copytree(ROOT, str(target), ignore=shutil.ignore_patterns('.ansible', '__pycache__', 'output'))
    for name in ('execution-environment.yml', 'requirements.txt', 'bindep.txt'):
        shutil.copy(os.path.join(ROOT, name), str(project / name))

    with open(os.path.join(ROOT, 'execution-environment.yml')) as f:
        ee = yaml.safe_load(f)
    assert ee['version'] == 3
    assert ee['dependencies']['python'] == 'requirements.txt' and ee['dependencies']['system'] == 'bindep.txt'
    # the image runs the same ansible-core and ansible-runner the tests use
    pins = dict(line.strip().split('==') for line in open(os.path.join(ROOT, 'requirements-dev.txt'))
                if '==' in line)
    assert ee['dependencies']['ansible_core']['package_pip'] == 'ansible-core==' + pins['ansible-core']
    assert ee['dependencies']['ansible_runner']['package_pip'] == 'ansible-runner==' + pins['ansible-runner']

    out = run(os.path.join(BIN, 'ansible-builder'), 'create', '-f', 'execution-environment.yml', '-c', 'context',
              '--output-filename', 'Containerfile', cwd=str(project))
    assert 'Complete! The build context can be found at' in out
    ctx = project / 'context'
    containerfile = (ctx / 'Containerfile').read_text()
    assert 'ARG EE_BASE_IMAGE="%s"' % ee['images']['base_image']['name'] in containerfile
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner==%s"' \
        % (pins['ansible-core'], pins['ansible-runner']) in containerfile
    assert 'ansible-galaxy collection install' in containerfile and 'introspect.py introspect' in containerfile
    build = ctx / '_build'
    assert (build / 'requirements.txt').read_text() == open(os.path.join(ROOT, 'requirements.txt')).read()
    assert (build / 'bindep.txt').read_text() == open(os.path.join(ROOT, 'bindep.txt')).read()
    assert (build / 'collections' / 'edgenet_linux' / 'MANIFEST.json').is_file()
    assert (build / 'collections' / 'edgenet_linux' / 'plugins' / 'callback' / 'fleet_diff.py').is_file()

    # The galaxy stage, as the Containerfile runs it (WORKDIR /build, -r requirements.yml), into a temp path
    dest = tmp_path / 'usr-share-ansible' / 'collections'
    env = dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY='1', ANSIBLE_COLLECTIONS_PATH=str(dest),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'), HOME=str(tmp_path))
    out = run(os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '-r', 'requirements.yml',
              '--collections-path', str(dest), cwd=str(build), env=env)
    assert 'edgenet.linux:0.1.0 was installed successfully' in out or 'edgenet.linux' in out, out
    installed = dest / 'ansible_collections' / 'edgenet' / 'linux'
    assert (installed / 'plugins' / 'modules' / 'route.py').is_file()
    assert (installed / 'roles' / 'interfaces' / 'meta' / 'argument_specs.yml').is_file()

    # The builder stage's introspection of that install: the collection's own requirements are found
    pip_out, bindep_out = tmp_path / 'pip.txt', tmp_path / 'bindep.txt'
    run(os.path.join(BIN, 'python'), str(build / 'scripts' / 'introspect.py'), 'introspect',
        '--user-pip', str(build / 'requirements.txt'), '--user-bindep', str(build / 'bindep.txt'),
        '--write-pip', str(pip_out), '--write-bindep', str(bindep_out), str(dest))
    pip_reqs = pip_out.read_text()
    bindep_reqs = bindep_out.read_text()
    assert 'jmespath==' in pip_reqs and 'edgenet.linux' in pip_reqs, pip_reqs
    assert 'iproute [platform:rpm]' in bindep_reqs and 'edgenet.linux' in bindep_reqs, bindep_reqs
