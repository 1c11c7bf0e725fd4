# -*- coding: utf-8 -*-
"""playbooks/site.yml's role hooks, over a 1-host tools/lab, in check mode.

site.yml runs edgenet.linux.interfaces, then includes edgenet.linux.l2_fabric and edgenet.linux.qos (in that
order, from one looped task) for a host only when that host sets one of the role's own variables
(l2_fabric_*, qos_*). The test runs site.yml
against a copy of the installed collection in which both roles are replaced by stubs that report they ran
(so it holds whether or not the real roles have landed), and against a copy without the roles at all.
"""

import os
import shutil
import subprocess

import pytest

from conftest import BIN
from test_fleet_diff import ROOT
from test_lab import Lab

HOOKS = ('l2_fabric', 'qos')


@pytest.fixture(scope='module')
def lab1(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp('lab'))
    try:
        lab('up', '1')
        yield lab
    finally:
        left_ns, left_sshd = lab.teardown()
        assert left_ns == [] and left_sshd == [], 'tools/lab down left %s %s' % (left_ns, left_sshd)


def collection_copy(tmp_path, stubs):
    """A copy of the installed collection; roles/<hook> replaced by a stub (stubs=True) or removed."""
    src = os.path.join(os.environ['ANSIBLE_COLLECTIONS_PATH'].split(':')[0], 'ansible_collections', 'edgenet', 'linux')
    root = tmp_path / ('stubs' if stubs else 'bare')
    dst = root / 'ansible_collections' / 'edgenet' / 'linux'
    shutil.copytree(src, str(dst), ignore=shutil.ignore_patterns('tests', '__pycache__'))
    for hook in HOOKS:
        shutil.rmtree(str(dst / 'roles' / hook), ignore_errors=True)
        if stubs:
            (dst / 'roles' / hook / 'tasks').mkdir(parents=True)
            (dst / 'roles' / hook / 'tasks' / 'main.yml').write_text(
                '- name: Stub\n  ansible.builtin.debug:\n    msg: "HOOK %s RAN {{ %s_marker }}"\n' % (hook, hook))
    return str(root)


def site(lab, collections, *args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_DEPRECATION_WARNINGS='False',
               ANSIBLE_LOCAL_TEMP=os.path.join(lab.tmp, 'ansible-local'),
               ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(lab.tmp, 'cp'))
    p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', lab.inventory,
                        os.path.join(ROOT, 'playbooks', 'site.yml'), '--check'] + list(args),
                       capture_output=True, text=True, env=env, check=False)
    out = p.stdout + p.stderr
    assert 'Traceback' not in out, out
    return p.returncode, out


def test_site_role_hooks(lab1, tmp_path):
    lab = lab1
    stubs = collection_copy(tmp_path, stubs=True)
    bare = collection_copy(tmp_path, stubs=False)

    # no hook variables: both hooks skip, even when the roles are not installed at all
    for collections in (stubs, bare):
        rc, out = site(lab, collections)
        assert rc == 0, out[-4000:]
        assert 'HOOK' not in out and 'skipping: [%s]' % lab.ns(1) in out.split('TASK [Roles the host sets')[1]
        assert 'edgenet.linux.interfaces : Links' in out and 'changed=4' in out

    # qos_* set: only the qos role runs, after the interfaces role
    rc, out = site(lab, stubs, '-e', 'qos_marker=Q1')
    assert rc == 0, out[-4000:]
    assert 'HOOK qos RAN Q1' in out and 'HOOK l2_fabric' not in out
    assert out.index('interfaces : Policy rules') < out.index('HOOK qos RAN')

    # both set: l2_fabric before qos
    rc, out = site(lab, stubs, '-e', 'qos_marker=Q2', '-e', 'l2_fabric_marker=L2')
    assert rc == 0, out[-4000:]
    assert out.index('HOOK l2_fabric RAN L2') < out.index('HOOK qos RAN Q2')

    # a hook variable set but the role missing: the host fails, naming the role
    rc, out = site(lab, bare, '-e', 'l2_fabric_marker=L2')
    assert rc != 0 and "edgenet.linux.l2_fabric" in out and 'was not found' in out, out[-4000:]

    # the real qos role, as installed, joins through the hook: an HTB tree on the site bridge is predicted
    # after the interfaces role (check mode: br0 does not exist yet, the tc modules assume it will)
    qos = tmp_path / 'qos.yml'
    qos.write_text('qos_trees:\n  - dev: br0\n    qdiscs:\n      - {handle: "1:", kind: htb, default: 10}\n'
                   '    classes:\n      - {classid: "1:10", parent: "1:", rate: 10mbit}\n')
    rc, out = site(lab, os.environ['ANSIBLE_COLLECTIONS_PATH'], '-e', '@%s' % qos, '--diff')
    assert rc == 0, out[-4000:]
    assert out.index('interfaces : Policy rules') < out.index('TASK [edgenet.linux.qos : ')
    qos_part = out.split('TASK [edgenet.linux.qos : ', 1)[1]
    assert 'kind: htb' in qos_part and 'rate: 10000000' in qos_part, out[-4000:]
    assert 'changed=6' in out  # link, address, route, rule, tc_qdisc, tc_class
