# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink session: namespace entry, the pyroute2 socket, error mapping.

pyroute2 is imported only when a socket is opened, so ``rendered`` and
``parsed`` never pay for it, and a host without it gets a clear message.

Namespaces are entered with ``setns(2)`` on the module process itself: the
module is a short-lived, single-threaded process, so this is safe, and it is
much cheaper than pyroute2's per-socket helper process.  A namespace that does
not exist is an error; it is never created implicitly (pyroute2's default).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = '/run/netns'


def enter_netns(name):
    """Move this process into the named network namespace."""
    import ctypes

    path = name if name.startswith('/') else os.path.join(NETNS_RUN_DIR, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0))
    except OSError as e:
        raise EdgenetError("network namespace '%s' does not exist (%s)" % (name, e.strerror),
                           field='netns')
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise EdgenetError("cannot enter network namespace '%s': %s" % (name, os.strerror(err)),
                               field='netns')
    finally:
        os.close(fd)


def kernel_error(exc, obj, field=None, action='request'):
    """Turn a pyroute2 NetlinkError (or OSError) into an EdgenetError."""
    code = getattr(exc, 'code', None) or getattr(exc, 'errno', None) or 0
    extack = None
    args = getattr(exc, 'args', ())
    if len(args) > 1 and args[1] and args[1] != os.strerror(code):
        extack = str(args[1])
    return EdgenetError('the kernel refused the %s' % action, obj=obj, field=field,
                        code=code, extack=extack)


class Netlink(object):
    """One rtnetlink socket inside the chosen namespace.

    ``readonly`` is set in check mode: any write raises before a byte is sent.
    """

    def __init__(self, netns=None, readonly=False):
        self.netns = netns
        self.readonly = readonly
        self._ipr = None
        self._links = None
        self.writes = 0
        #: devices check mode assumed an earlier task creates (see ifindex)
        self.assumed = []

    # -- socket -----------------------------------------------------------
    @property
    def ipr(self):
        if self._ipr is None:
            if self.netns:
                enter_netns(self.netns)
            try:
                from pyroute2 import IPRoute
            except ImportError:
                from ansible.module_utils.basic import missing_required_lib
                raise EdgenetError(missing_required_lib('pyroute2'))
            self._ipr = IPRoute(groups=0, ext_ack=True)
        return self._ipr

    def close(self):
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    # -- reads --------------------------------------------------------------
    def dump(self, method, *args, **kwargs):
        """Run a read-only pyroute2 call (get_links, get_addr, ...) as a list."""
        ipr = self.ipr
        try:
            return list(getattr(ipr, method)(*args, **kwargs))
        except Exception as e:  # pylint: disable=broad-except
            raise kernel_error(e, 'netlink dump %s' % method, action='dump')

    def links(self, refresh=False):
        """``{ifname: ifindex}`` and ``{ifindex: ifname}`` for the namespace, cached."""
        if self._links is None or refresh:
            by_name, by_index = {}, {}
            for msg in self.dump('get_links'):
                name = msg.get_attr('IFLA_IFNAME')
                by_name[name] = msg['index']
                by_index[msg['index']] = name
            self._links = (by_name, by_index)
        return self._links

    def ifindex(self, name, obj=None, field='dev'):
        """The ifindex of a device; an unknown device is an error naming ``obj`` and ``field``.

        In check mode a device that does not exist yet is assumed to be created by an earlier task of
        the play (a link task that check mode did not run): the plan goes on, and the engine warns.
        """
        index = self.links()[0].get(name)
        if index is None and self.readonly:
            if name not in self.assumed:
                self.assumed.append(name)
            return -1
        if index is None:
            where = " in network namespace '%s'" % self.netns if self.netns else ''
            raise EdgenetError("device '%s' does not exist%s" % (name, where), obj=obj, field=field)
        return index

    def ifname(self, index):
        if not index:
            return None
        return self.links()[1].get(index, 'if%d' % index)

    # -- writes -------------------------------------------------------------
    def write(self, obj, method, *args, **kwargs):
        """Send one change. ``obj`` labels the object for error messages.

        ``field`` (keyword) names the option the request is about, when one does.
        """
        field = kwargs.pop('field', None)
        if self.readonly:
            raise EdgenetError('internal error: a write was attempted in check mode', obj=obj)
        ipr = self.ipr
        self.writes += 1
        try:
            return getattr(ipr, method)(*args, **kwargs)
        except Exception as e:  # pylint: disable=broad-except
            raise kernel_error(e, obj, field=field, action='%s %s' % (method, args[0] if args else ''))
