# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named network namespaces, the way ``ip netns add`` / ``ip netns del`` make them.

A named namespace is a bind mount of a namespace file on ``/run/netns/NAME``.
Creating one (as iproute2 does):

1. make ``/run/netns`` a shared mount point (bind-mount it on itself first if
   it is not a mount point yet), so that mounts made under it propagate to
   every mount namespace;
2. create the empty file ``/run/netns/NAME`` (O_EXCL);
3. ``unshare(CLONE_NEWNET)`` and bind-mount ``/proc/thread-self/ns/net`` on
   that file; then return to the original namespace with ``setns(2)``.

Deleting one: ``umount2(MNT_DETACH)`` and ``unlink``.  The namespace itself
lives on while a process still runs in it (``ip netns del`` behaves the same).

A name whose file is not a mount (a stale name: its mount went away, or step 3
never ran) is no namespace: the gather leaves it out and warns, and an add of
that name removes the file first (``ip netns add`` would fail on it).

No pyroute2 here: nothing of this is netlink, and pyroute2's helper forks a
child whose errors are not reported back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

NETNS_RUN_DIR = '/run/netns'
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2
NAME_MAX = 255


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _fail(what, name, field='name', code=None):
    import ctypes

    code = code if code is not None else ctypes.get_errno()
    return EdgenetError(what, obj='netns %s' % name, field=field, code=code or errno.EIO)


def _quote(name):
    try:
        from shlex import quote
    except ImportError:  # Python 2
        from pipes import quote
    return quote(name)


def check_name(name, field='name'):
    """The rules of iproute2's ``is_valid_netns_name``, plus no NUL."""
    if not isinstance(name, str) or name == '':
        raise EdgenetError('a namespace name may not be empty', field=field)
    if len(name.encode('utf-8')) >= NAME_MAX:
        raise EdgenetError("'%s...' is too long (%d bytes; at most %d)" % (name[:20], len(name.encode('utf-8')),
                                                                           NAME_MAX - 1), field=field)
    if '/' in name or '\0' in name:
        raise EdgenetError("'%s' may not contain '/' (or NUL): it is a file name in %s" % (name, NETNS_RUN_DIR),
                           field=field)
    if name in ('.', '..'):
        raise EdgenetError("'%s' is not a valid namespace name" % name, field=field)
    return name


class Netns(Resource):
    name = 'netns'
    keys = ('name',)
    options = {
        'name': {'type': 'str', 'required': True},
    }
    scope_options = {'prefix': {'type': 'str'}}
    uses_netns = False

    def __init__(self):
        self._stale = set()  # names in /run/netns whose file is not a mounted namespace

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        obj['name'] = check_name(obj['name'])
        prefix = ctx.params.get('prefix')
        if prefix is not None and not obj['name'].startswith(prefix):
            raise EdgenetError("'%s' is outside the scope of prefix '%s'" % (obj['name'], prefix), field='name')
        return obj

    def label(self, obj):
        return 'netns %s' % obj.get('name', '?')

    def in_scope(self, obj, ctx):
        prefix = ctx.params.get('prefix')
        return prefix is None or obj['name'].startswith(prefix)

    def validate(self, ctx, plan, after):
        prefix = ctx.params.get('prefix')
        if prefix is not None:
            check_name(prefix, field='prefix')
        named = set(w.get('name') for w in (ctx.params.get('config') or []))
        unnamed = sorted(op.before['name'] for op in plan if op.action == 'delete' and op.before['name'] not in named)
        if unnamed and prefix is None:
            raise EdgenetError(
                'this would delete %d namespace(s) that config does not name (%s); deleting namespaces by '
                'omission needs the prefix option, so that only namespaces whose name starts with it are '
                'touched' % (len(unnamed), ', '.join(unnamed[:5]) + (', ...' if len(unnamed) > 5 else '')),
                field='prefix')

    # -- host I/O --------------------------------------------------------------
    def gather(self, ctx):
        try:
            names = os.listdir(NETNS_RUN_DIR)
        except OSError as e:
            if e.errno == errno.ENOENT:
                return []
            raise EdgenetError('cannot list %s' % NETNS_RUN_DIR, code=e.errno)
        # a namespace's file is a mount of nsfs: another device than the directory's. A file of the directory's own
        # is a stale name (what `ip netns` leaves when the mount went away): no namespace
        here = os.stat(NETNS_RUN_DIR).st_dev
        out = []
        self._stale = set()
        for n in sorted(names):
            try:
                mounted = os.stat(os.path.join(NETNS_RUN_DIR, n)).st_dev != here
            except OSError:
                continue  # (gone since the listing)
            if mounted:
                out.append({'name': n})
            else:
                self._stale.add(n)
        # warned of only where the task looks: under its prefix, or named by its config (another tool's
        # namespace caught between its unmount and its unlink is no business of this task)
        prefix = ctx.params.get('prefix')
        named = set(w.get('name') for w in (ctx.params.get('config') or []) if isinstance(w, dict))
        seen = sorted(n for n in self._stale if (n.startswith(prefix) if prefix is not None
                                                 else ctx.params.get('state') == 'gathered' or n in named))
        if seen:
            ctx.warn('%s: %s is not a mounted network namespace but a stale name (its mount went away); the module '
                     'counts it as no namespace, and removes the file when a task adds a namespace of that name. '
                     '`ip netns del NAME` removes it' % (NETNS_RUN_DIR, ', '.join(seen)))
        return out

    @staticmethod
    def _share_run_dir(libc, name):
        try:
            os.mkdir(NETNS_RUN_DIR, 0o755)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise _fail('cannot create %s' % NETNS_RUN_DIR, name, code=e.errno)
        run_dir = NETNS_RUN_DIR.encode()
        bound = False
        while libc.mount(b'', run_dir, b'none', MS_SHARED | MS_REC, None) != 0:
            import ctypes

            if bound or ctypes.get_errno() != errno.EINVAL:
                raise _fail('cannot make %s a shared mount' % NETNS_RUN_DIR, name)
            # not a mount point yet: bind it on itself, then share it
            if libc.mount(run_dir, run_dir, b'none', MS_BIND | MS_REC, None) != 0:
                raise _fail('cannot bind-mount %s on itself' % NETNS_RUN_DIR, name)
            bound = True

    def _create(self, name):
        libc = _libc()
        self._share_run_dir(libc, name)
        path = os.path.join(NETNS_RUN_DIR, name)
        if name in self._stale:
            self._remove(name)
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
        except OSError as e:
            raise _fail('cannot create %s' % path, name, code=e.errno)
        home = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        try:
            if libc.unshare(CLONE_NEWNET) != 0:
                raise _fail('cannot create a network namespace (unshare)', name)
            try:
                if libc.mount(b'/proc/thread-self/ns/net', path.encode('utf-8'), b'none', MS_BIND, None) != 0:
                    raise _fail('cannot bind-mount the new namespace on %s' % path, name)
            finally:
                if libc.setns(home, CLONE_NEWNET) != 0:
                    raise _fail('cannot return to the original namespace (setns)', name)
        except EdgenetError:
            try:
                os.unlink(path)
            except OSError:
                pass
            raise
        finally:
            os.close(home)

    def _remove(self, name):
        libc = _libc()
        path = os.path.join(NETNS_RUN_DIR, name)
        libc.umount2(path.encode('utf-8'), MNT_DETACH)  # EINVAL for a stale, unmounted file: unlink it anyway
        try:
            os.unlink(path)
        except OSError as e:
            raise _fail('cannot remove %s' % path, name, code=e.errno)

    def apply(self, ctx, op):
        if ctx.check_mode:
            raise EdgenetError('internal error: a write was attempted in check mode', obj=self.label(op.obj))
        if op.action == 'delete':
            self._remove(op.before['name'])
        elif op.action == 'add':
            self._create(op.after['name'])
        # 'change' cannot happen: a namespace has no field but its key

    def render(self, ctx, op):
        verb = 'del' if op.action == 'delete' else 'add'
        name = _quote(op.obj['name'])
        if op.action == 'add' and op.obj['name'] in self._stale:
            return ['ip netns del %s' % name, 'ip netns add %s' % name]  # (the stale name first)
        return ['ip netns %s %s' % (verb, name)]
