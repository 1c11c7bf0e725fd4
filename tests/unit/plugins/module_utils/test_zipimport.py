# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_zipimport: modules imported from a zip, as a module's payload holds them, are compiled once, and import as
they do without it (attributes, relative imports, packages, tracebacks); outside a zip it does nothing.

The real payload is tested in tests/integration/test_payload_compile.py; here a zip of a made-up package
(``zc_pkg``), so the collection's own modules, already imported by the test run, are not touched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import builtins
import collections
import contextlib
import linecache
import sys
import traceback
import zipfile
import zipimport

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _zipimport

FILES = {
    'zc_pkg/__init__.py': '',
    'zc_pkg/util.py': 'from .sub import leaf\nVALUE = leaf.VALUE + 1\nFILE = __file__\n',
    'zc_pkg/sub/__init__.py': '',
    'zc_pkg/sub/leaf.py': '# -*- coding: utf-8 -*-\nVALUE = 41\nNAME = "r\u00e9seau"\n\n\ndef boom():\n    raise ValueError("from leaf")\n',
}


@pytest.fixture
def payload(tmp_path):
    """A zip like a payload's, on sys.path; removed from sys.path, sys.modules and sys.meta_path after."""
    path = str(tmp_path / 'payload.zip')
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, text in FILES.items():
            z.writestr(name, text.encode('utf-8'))
    meta_path = list(sys.meta_path)
    sys.path.insert(0, path)
    try:
        yield path
    finally:
        sys.path.remove(path)
        sys.meta_path[:] = meta_path
        sys.path_importer_cache.pop(path, None)
        zipimport._zip_directory_cache.pop(path, None)  # pylint: disable=protected-access
        for name in [n for n in sys.modules if n == 'zc_pkg' or n.startswith('zc_pkg.')]:
            del sys.modules[name]


@contextlib.contextmanager
def compiles():
    """Counts the compile() calls per file name while importing."""
    counts = collections.Counter()
    real = builtins.compile

    def counting(source, filename, *args, **kwargs):
        counts[filename] += 1
        return real(source, filename, *args, **kwargs)

    builtins.compile = counting
    try:
        yield counts
    finally:
        builtins.compile = real


def install(path):
    """compile_once() as a module calls it, with the loader the zip gives this package."""
    finder = _zipimport.compile_once(loader=zipimport.zipimporter(path + '/zc_pkg'))
    finder.prefix = 'zc_pkg.'
    return finder


def leaf_and_util():
    import zc_pkg.util  # pylint: disable=import-outside-toplevel,import-error
    import zc_pkg.sub.leaf  # pylint: disable=import-outside-toplevel,import-error
    return zc_pkg.sub.leaf, zc_pkg.util


def test_zipimport_compiles_each_module_twice(payload):
    """Why the finder exists: without it, each module of the zip is compiled twice (if a Python ever compiles
    it once, the finder is still correct, and this says so)."""
    with compiles() as counts:
        leaf_and_util()
    assert counts[payload + '/zc_pkg/sub/leaf.py'] == 2
    assert counts[payload + '/zc_pkg/util.py'] == 2


def test_with_the_finder_each_module_is_compiled_once(payload):
    install(payload)
    with compiles() as counts:
        leaf, util = leaf_and_util()
    assert counts[payload + '/zc_pkg/sub/leaf.py'] == 1
    assert counts[payload + '/zc_pkg/util.py'] == 1
    # a package is left to the normal import system
    assert isinstance(sys.modules['zc_pkg.sub'].__spec__.loader, zipimport.zipimporter)
    assert isinstance(leaf.__spec__.loader, _zipimport._Loader)  # pylint: disable=protected-access
    # the module is what zipimport makes of it: values, a relative import, __file__, __name__, non-ASCII source
    assert (leaf.VALUE, util.VALUE, leaf.NAME) == (41, 42, u'r\u00e9seau')
    assert util.FILE == leaf.__file__.replace('sub/leaf.py', 'util.py') == payload + '/zc_pkg/util.py'
    assert leaf.__name__ == 'zc_pkg.sub.leaf' and leaf.__package__ == 'zc_pkg.sub'


def test_a_traceback_shows_the_source_line(payload):
    install(payload)
    leaf, _util = leaf_and_util()
    linecache.clearcache()
    with pytest.raises(ValueError) as info:
        leaf.boom()
    text = ''.join(traceback.format_exception(info.type, info.value, info.tb))
    assert '/zc_pkg/sub/leaf.py", line 7, in boom' in text
    assert 'raise ValueError("from leaf")' in text


def test_names_outside_the_prefix_or_the_zip_are_left_alone(payload):
    finder = install(payload)
    assert finder.find_spec('zc_pkgx.util') is None
    assert finder.find_spec('json') is None
    assert finder.find_spec('zc_pkg.missing') is None
    assert finder.find_spec('zc_pkg.sub') is None  # a package: a directory, not a .py
    with pytest.raises(ImportError):
        import zc_pkg.missing  # noqa: F401  pylint: disable=import-outside-toplevel,import-error,unused-import


def test_installed_once_per_zip(payload):
    first = install(payload)
    again = _zipimport.compile_once(loader=zipimport.zipimporter(payload + '/zc_pkg'))
    assert again is first
    assert sum(1 for f in sys.meta_path if isinstance(f, _zipimport._Finder)) == 1  # pylint: disable=protected-access
    assert sys.meta_path[0] is first


def test_outside_a_zip_it_does_nothing():
    """Unit tests, ansible-test and a collection on the file system import normally (with .pyc files)."""
    before = list(sys.meta_path)
    assert _zipimport.compile_once() is None  # this test run imported _zipimport from the file system
    assert _zipimport.compile_once(loader=object()) is None
    assert sys.meta_path == before


def fresh_import(path, cache):
    """A new module process, as far as the made-up package goes: nothing imported, the finder installed again."""
    for name in [n for n in sys.modules if n == 'zc_pkg' or n.startswith('zc_pkg.')]:
        del sys.modules[name]
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _zipimport._Finder)]  # pylint: disable=protected-access
    finder = _zipimport.compile_once(loader=zipimport.zipimporter(path + '/zc_pkg'), cache=cache)
    finder.prefix = 'zc_pkg.'
    return finder


def test_the_code_is_kept_by_a_real_run_and_used_by_the_next(payload, tmp_path, monkeypatch):
    """What a module does: check mode compiles and writes nothing; a real run (allow_writes) keeps the code; the
    next process, from another payload of the same source, compiles nothing, and its tracebacks name its own file."""
    monkeypatch.setattr(sys, 'dont_write_bytecode', False)
    cache = str(tmp_path / 'cache')
    fresh_import(payload, cache)
    with compiles() as counts:
        leaf_and_util()
    assert counts[payload + '/zc_pkg/sub/leaf.py'] == 1
    assert not (tmp_path / 'cache').exists()  # check mode: nothing written
    _zipimport.allow_writes()
    assert sorted(p.name.split('.')[1] for p in (tmp_path / 'cache').iterdir()) == ['sub', 'util']

    # the next task: the same package from another payload (another temporary directory)
    other = str(tmp_path / 'other.zip')
    import shutil  # pylint: disable=import-outside-toplevel

    shutil.copy(payload, other)
    sys.path.insert(0, other)
    try:
        sys.path.remove(payload)
        fresh_import(other, cache)
        with compiles() as counts:
            leaf, util = leaf_and_util()
        # nothing of the package compiled (but its __init__ files, which zipimport serves: an empty file each)
        assert not [f for f in counts if '/zc_pkg/' in f and not f.endswith('__init__.py')], counts
        assert (leaf.VALUE, util.VALUE, leaf.NAME) == (41, 42, u'r\u00e9seau')
        assert util.FILE == other + '/zc_pkg/util.py'
        linecache.clearcache()
        with pytest.raises(ValueError) as info:
            leaf.boom()
        text = ''.join(traceback.format_exception(info.type, info.value, info.tb))
        assert other + '/zc_pkg/sub/leaf.py", line 7, in boom' in text
        assert 'raise ValueError("from leaf")' in text
    finally:
        sys.path.remove(other)
        sys.path.insert(0, payload)
        sys.path_importer_cache.pop(other, None)
        zipimport._zip_directory_cache.pop(other, None)  # pylint: disable=protected-access


def test_without_a_cache_directory_each_process_compiles(payload, monkeypatch):
    monkeypatch.setattr(sys, 'dont_write_bytecode', False)
    fresh_import(payload, '')  # EDGENET_BYTECODE_CACHE=off
    leaf_and_util()
    _zipimport.allow_writes()
    fresh_import(payload, '')
    with compiles() as counts:
        leaf_and_util()
    assert counts[payload + '/zc_pkg/sub/leaf.py'] == 1
