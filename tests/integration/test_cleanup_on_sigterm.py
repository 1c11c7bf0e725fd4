# -*- coding: utf-8 -*-
"""A test run that is killed (SIGTERM: a CI time limit, `timeout`, `kill`) still removes what its tests made.

A child pytest runs a test that takes the ``netns`` fixture, creates a veth in it, writes the namespace name
to a file and sleeps; this test sends the child SIGTERM and then checks, with ``ip netns list``, that the
namespace is gone. Without the conftest's SIGTERM handler Python ends at once and the namespace stays."""

import os
import shutil
import signal
import subprocess
import sys
import time

from conftest import HERE, sh

CHILD = '''
import time

from conftest import sh


def test_sleeps_in_a_namespace(netns):
    sh('ip', '-n', netns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    with open(%r, 'w') as f:
        f.write(netns)
    time.sleep(120)
'''


def test_sigterm_removes_the_namespaces_of_the_running_test(tmp_path):
    marker = tmp_path / 'netns-name'
    test_dir = tmp_path / 'child'
    test_dir.mkdir()
    shutil.copy(os.path.join(HERE, 'conftest.py'), str(test_dir / 'conftest.py'))
    (test_dir / 'test_child.py').write_text(CHILD % str(marker))
    child = subprocess.Popen([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', str(test_dir)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(test_dir))
    name = None
    try:
        deadline = time.time() + 60
        while not marker.exists() or not marker.read_text():
            assert child.poll() is None and time.time() < deadline, child.communicate()[0]
            time.sleep(0.1)
        name = marker.read_text()
        assert name in sh('ip', 'netns', 'list')
        child.send_signal(signal.SIGTERM)
        out = child.communicate(timeout=60)[0].decode()
        assert child.returncode != 0, out
        assert name not in sh('ip', 'netns', 'list'), 'the namespace of the killed test is still there:\n' + out
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if name:
            subprocess.run(['ip', 'netns', 'del', name], capture_output=True, check=False)
