# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bytecode cache of this collection's module_utils on the managed host (``_zipimport`` serves the
modules; this keeps their code).

Compiling this collection's code is still most of what a task costs the host beyond
``ansible.builtin.ping`` (~14 ms of a route task's ~135 ms of CPU; docs/performance.md), and every task of
every run paid it again. So the finder keeps the code it compiled, per host, in a cache directory, and the
next module process that imports the same source takes the code from there:

- where: ``$EDGENET_BYTECODE_CACHE`` when set (an absolute path; ``off`` turns the cache off), else
  ``.cache/edgenet.linux/bytecode`` in the home directory of the user the module runs as (from the password
  database, not ``$HOME``, which ``become`` may leave pointing at another user's home);
- what: one file per module and Python (``<module name>.<cache tag>``): the interpreter's magic number, the
  source's hash (``importlib.util.source_hash``, as Python's own hash-based ``.pyc`` files), a CRC of the
  code, and the code (``marshal``). The code is used only when all of them match this interpreter and this
  source; anything else (another collection version, another Python, a torn file) is compiled again;
- written only by a run that may change the host: a module calls ``_zipimport.allow_writes()`` once it knows it
  is not in check mode. **Check mode writes nothing** (it reads a cache an earlier run wrote);
  ``PYTHONDONTWRITEBYTECODE`` is honoured too;
- trusted only when it is the user's own: the directory is opened without following a symlink and used
  only when the user owns it and no one else may write to it (it is made mode 0700), each file likewise
  (owned by the user, no group or other write, a regular file), and files are written to a temporary name
  and renamed into place. A cache that fails any of this is not used, and nothing fails because of it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import marshal
import os
import stat
import sys
import types
import zlib

ENV = 'EDGENET_BYTECODE_CACHE'
#: a cache file: TAG, the interpreter's magic number (4 bytes), the source hash (8), the CRC-32 of the code (4), the code
TAG = b'EDGNBC1\n'


def cache_dir(environ=None):
    """The cache directory this process would use, or None (turned off, or no home directory to put it in)."""
    environ = os.environ if environ is None else environ
    where = environ.get(ENV)
    if where is not None:
        where = where.strip()
        if where.lower() in ('', 'off', 'no', 'false', '0', 'none'):
            return None
        return where if os.path.isabs(where) else None
    try:
        import pwd  # pylint: disable=import-outside-toplevel

        home = pwd.getpwuid(os.geteuid()).pw_dir
    except (ImportError, KeyError, OSError):
        return None
    if not home or not os.path.isabs(home) or home == '/':
        return None
    return os.path.join(home, '.cache', 'edgenet.linux', 'bytecode')


def _owned(st, kind):
    """A directory or file of this cache only if it is the user's own and only the user may write to it."""
    return kind(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


class Cache:
    """The code of this collection's modules, kept between module processes on the host (see the module's
    docstring). Every error is swallowed: a cache that cannot be used is compiled around."""

    def __init__(self, path):
        self.path = path
        self.writable = False
        self._fd = None  # the directory, opened (and checked) once
        self._pending = []  # (name, source, code) compiled before writes were allowed
        self._magic = None

    def _dir(self, create):
        if self._fd is None and self.path:
            if create:
                try:
                    os.makedirs(self.path, mode=0o700)
                except OSError:
                    pass  # there already, or cannot be made (open says which)
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            except OSError:
                return None
            try:
                ok = _owned(os.fstat(fd), stat.S_ISDIR)
            except OSError:
                ok = False
            if not ok:
                os.close(fd)
                self.path = None  # not ours: never used by this process
                return None
            self._fd = fd
        return self._fd

    def _header(self, source):
        if self._magic is None:
            from importlib.util import MAGIC_NUMBER, source_hash  # pylint: disable=import-outside-toplevel

            self._magic = (MAGIC_NUMBER, source_hash)
        magic, source_hash = self._magic
        return TAG + magic + source_hash(source)

    @staticmethod
    def _file(name):
        return '%s.%s' % (name, sys.implementation.cache_tag or 'python')

    def load(self, name, source, origin):
        """The code of module ``name`` compiled from ``source``, with ``origin`` as its file name, or None."""
        fd = self._dir(create=False)
        if fd is None:
            return None
        try:
            f = os.open(self._file(name), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        except OSError:
            return None
        try:
            with os.fdopen(f, 'rb') as stream:
                if not _owned(os.fstat(stream.fileno()), stat.S_ISREG):
                    return None
                data = stream.read()
            head = self._header(source)
            n = len(head)
            if data[:n] != head or len(data) < n + 4:
                return None
            body = data[n + 4:]
            if zlib.crc32(body) != int.from_bytes(data[n:n + 4], 'big'):
                return None
            code = marshal.loads(body)
        except Exception:  # pylint: disable=broad-except
            return None
        return _fix_filename(code, origin) if isinstance(code, types.CodeType) else None

    def store(self, name, source, code):
        """Keep ``code`` (now if writes are allowed, else until they are)."""
        if not self.path:
            return
        if not self.writable:
            self._pending.append((name, source, code))
            return
        self._write(name, source, code)

    def allow_writes(self):
        """This run may change the host: write what was compiled so far, and from now on."""
        if self.writable or not self.path or sys.dont_write_bytecode:
            return
        self.writable = True
        pending, self._pending = self._pending, []
        for item in pending:
            self._write(*item)

    def _write(self, name, source, code):
        fd = self._dir(create=True)
        if fd is None:
            return
        final = self._file(name)
        temp = '.%s.%d.tmp' % (final, os.getpid())
        try:
            body = marshal.dumps(code)
            data = self._header(source) + zlib.crc32(body).to_bytes(4, 'big') + body
            f = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
            with os.fdopen(f, 'wb') as stream:
                stream.write(data)
            os.replace(temp, final, src_dir_fd=fd, dst_dir_fd=fd)
        except Exception:  # pylint: disable=broad-except
            try:
                os.unlink(temp, dir_fd=fd)
            except OSError:
                pass


def _fix_filename(code, origin):
    """Code from the cache names the payload it was compiled in (another temporary directory): name this one,
    as Python's importlib does for a .pyc (tracebacks, ``linecache``)."""
    try:
        import _imp  # pylint: disable=import-outside-toplevel

        _imp._fix_co_filename(code, origin)  # pylint: disable=protected-access
        return code
    except (ImportError, AttributeError):
        pass

    def fix(c):
        consts = tuple(fix(k) if isinstance(k, type(c)) else k for k in c.co_consts)
        return c.replace(co_filename=origin, co_consts=consts)

    return fix(code)
