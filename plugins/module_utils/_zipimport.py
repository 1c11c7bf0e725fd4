# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile this collection's module_utils once, not twice, when a module runs from its Ansible payload.

On the managed host, a module runs from the zip that Ansible sends (AnsiballZ), and Python's
``zipimport`` compiles every module it imports from that zip twice (seen on CPython 3.8 to 3.13):

1. ``zipimporter.find_spec`` builds the spec with ``importlib``'s ``spec_from_loader``, which asks the
   loader for the file name; ``zipimporter.get_filename`` works that out by getting the module's code
   (``_get_module_code``), which compiles the source;
2. ``zipimporter.exec_module`` then gets the code again, and compiles the source again.

Nothing is cached in between, and zipimport keeps no bytecode. Compiling is most of what a small task
costs on the host beyond ``ansible.builtin.ping``: measured with callgrind, the route module in state
gathered ran 1,239 M instructions against ping's 989 M, and 228 M of the difference was compiling this
collection's code, twice (docs/performance.md).

:func:`compile_once` puts a finder first on ``sys.meta_path`` that serves the modules under
``ansible_collections.edgenet.linux.plugins.module_utils`` from the same zip: it reads the source from
the zip and compiles it once, when the module is executed. Packages, and names that are not in the zip,
are left to the normal import system. Outside a payload (unit tests, ``ansible-test``, an installed
collection imported from the file system, where Python keeps ``.pyc`` files) it does nothing.

The finder also keeps the code it compiles, per host, in a bytecode cache (``_bytecode``): the next module
process that imports the same source takes the code from there instead of compiling it. Check mode writes
nothing to it (a module calls :func:`allow_writes` once it knows it runs for real).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys
import zipimport
from importlib.machinery import ModuleSpec

PREFIX = 'ansible_collections.edgenet.linux.plugins.module_utils.'


class _Loader:
    """Executes one module from its source in the zip, compiled once (or taken from the cache)."""

    def __init__(self, source, origin, cache=None):
        self.source = source
        self.origin = origin
        self.cache = cache

    def create_module(self, spec):  # pylint: disable=unused-argument
        return None  # the default module object

    def exec_module(self, module):
        cache = self.cache
        code = cache.load(module.__name__, self.source, self.origin) if cache is not None else None
        if code is None:
            code = compile(self.source, self.origin, 'exec', dont_inherit=True)
            if cache is not None:
                cache.store(module.__name__, self.source, code)
        exec(code, module.__dict__)  # pylint: disable=exec-used

    def get_source(self, fullname):  # pylint: disable=unused-argument
        """For tracebacks (``linecache``)."""
        return self.source.decode('utf-8')

    def is_package(self, fullname):  # pylint: disable=unused-argument
        return False


class _Finder:
    """Finds the modules whose names start with ``prefix`` in the zip ``archive``."""

    def __init__(self, archive, prefix=PREFIX, cache=None):
        self.archive = archive
        self.prefix = prefix
        self.cache = cache
        self._zip = zipimport.zipimporter(archive)

    def find_spec(self, fullname, path=None, target=None):  # pylint: disable=unused-argument
        if not fullname.startswith(self.prefix):
            return None
        member = fullname.replace('.', '/') + '.py'
        try:
            source = self._zip.get_data(member)
        except (OSError, ImportError):  # not in the zip (a package is a directory): the normal import system
            return None
        origin = self.archive + '/' + member  # what zipimport gives as __file__
        spec = ModuleSpec(fullname, _Loader(source, origin, self.cache), origin=origin)
        spec.has_location = True
        return spec


def compile_once(loader=None, cache=None):
    """Install the finder, once per process, when this module was itself imported from a zip.

    ``loader`` is the loader of this module, ``cache`` the directory of the bytecode cache (tests pass others;
    by default ``_bytecode.cache_dir()``).
    """
    loader = loader if loader is not None else globals().get('__loader__')
    if not isinstance(loader, zipimport.zipimporter):
        return None
    for finder in sys.meta_path:
        if isinstance(finder, _Finder) and finder.archive == loader.archive:
            return finder
    try:
        finder = _Finder(loader.archive)
    except ImportError:  # not a readable zip after all: leave the imports as they are
        return None
    sys.meta_path.insert(0, finder)
    # the cache's own code comes through the finder (compiled once: here, not twice, as this module was)
    try:
        from ansible_collections.edgenet.linux.plugins.module_utils import _bytecode  # pylint: disable=import-outside-toplevel
    except ImportError:  # (not in this zip: no cache)
        return finder
    finder.cache = _bytecode.Cache(cache if cache is not None else _bytecode.cache_dir())
    return finder


def allow_writes():
    """Called by a module once it knows that it runs for real (not in check mode): the code compiled in this
    process may be written to the bytecode cache. Outside a payload it does nothing."""
    for finder in sys.meta_path:
        if isinstance(finder, _Finder) and finder.cache is not None:
            finder.cache.allow_writes()
