# -*- coding: utf-8 -*-
"""The module reference: antsibull-docs (as `make docs` runs it) documents the installed collection.

The test generates the reference into a temporary directory, with --fail-on-error, and checks that every
module, callback, filter and role (with meta/argument_specs.yml) of the installed collection has its page, with its
short description and every top-level option. It does not compare against the committed docs/reference:
that is a snapshot regenerated with `make docs`, and a check for staleness would fail every change to a
module's DOCUMENTATION that forgot it (the docs are generated from DOCUMENTATION, which sanity checks).
"""

import glob
import os
import subprocess

import yaml

from conftest import BIN


def test_antsibull_docs_reference(tmp_path):
    collection = os.path.join(os.environ['ANSIBLE_COLLECTIONS_PATH'].split(':')[0], 'ansible_collections', 'edgenet',
                              'linux')
    out = str(tmp_path / 'reference')
    os.mkdir(out, 0o700)  # antsibull-docs writes only into an existing directory that only its owner can write
    p = subprocess.run([os.path.join(BIN, 'antsibull-docs'), 'collection-plugins', '--use-current', '--fail-on-error',
                        '--no-add-antsibull-docs-version', '--output-format', 'simplified-rst', '--dest-dir', out,
                        'edgenet.linux'], capture_output=True, text=True, check=False,
                       env=dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', '')))
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    pages = sorted(os.listdir(out))

    want = []
    for path in sorted(glob.glob(os.path.join(collection, 'plugins', 'modules', '*.py'))):
        name = os.path.basename(path)[:-3]
        if name == '__init__':
            continue
        want.append(name + '_module.rst')
        src = open(path).read()
        doc = yaml.safe_load(src.split("DOCUMENTATION = r'''", 1)[1].split("'''", 1)[0])
        page = open(os.path.join(out, name + '_module.rst')).read()
        assert 'edgenet.linux.%s module' % name in page, name
        assert ' '.join(doc['short_description'].split()) in ' '.join(page.replace('\\', '').split()), name
        for option in doc.get('options', {}):
            assert option in page, (name, option)
    for path in sorted(glob.glob(os.path.join(collection, 'plugins', 'callback', '*.py'))):
        want.append(os.path.basename(path)[:-3] + '_callback.rst')
    for path in sorted(glob.glob(os.path.join(collection, 'plugins', 'filter', '*.py'))):
        name = os.path.basename(path)[:-3]  # one filter a file, documented under its own name
        want.append(name + '_filter.rst')
        assert 'edgenet.linux.%s filter' % name in open(os.path.join(out, name + '_filter.rst')).read(), name
    for path in sorted(glob.glob(os.path.join(collection, 'roles', '*', 'meta', 'argument_specs.yml'))):
        role = path.split(os.sep)[-3]
        want.append(role + '_role.rst')
        page = open(os.path.join(out, role + '_role.rst')).read()
        for option in yaml.safe_load(open(path))['argument_specs']['main'].get('options', {}):
            assert option in page, (role, option)
    assert 'address_module.rst' in want and 'fleet_diff_callback.rst' in want and 'interfaces_role.rst' in want
    assert 'qos_flatten_filter.rst' in want
    assert sorted(want) == pages
