# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink session: namespace entry, the raw rtnetlink socket, error mapping.

Every resource is on the bulk path (``_rtnl``: a raw socket, requests encoded
from the resource's description and pipelined, dumps parsed for the attributes
the resource uses).  Only the standard library is imported: a managed host
needs nothing but Python, and ``rendered`` and ``parsed`` open no socket at all.

Namespaces are entered with ``setns(2)`` on the module process itself: the
module is a short-lived, single-threaded process, so this is safe, and it is
much cheaper than pyroute2's per-socket helper process.  A namespace that does
not exist is an error; it is never created implicitly (pyroute2's default).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils._rtnl import Rtnl, RtnlError

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = '/run/netns'


def check_netns_name(name):
    """Refuse a ``netns`` that is neither a name as ``ip netns list`` shows it nor an absolute path (no kernel
    needed: edgenet.linux.validate_roles' preflight runs this check on the controller too)."""
    if not name.startswith('/') and ('/' in name or name in ('', '.', '..')):
        # (a relative path would reach past /run/netns: '../netns/x' names another file than `ip netns` does)
        raise EdgenetError("'%s' is not a network namespace name (a name as `ip netns list` shows it has no '/'; a "
                           "namespace file is given by its absolute path)" % name, field='netns')


def enter_netns(name):
    """Move this process into the named network namespace."""
    import ctypes

    check_netns_name(name)
    path = name if name.startswith('/') else os.path.join(NETNS_RUN_DIR, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0))
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise EdgenetError("network namespace '%s' does not exist (%s)" % (name, e.strerror), field='netns')
        raise EdgenetError("cannot open network namespace '%s': %s" % (name, e.strerror), field='netns')
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise EdgenetError("cannot enter network namespace '%s': %s" % (name, os.strerror(err)),
                               field='netns')
    finally:
        os.close(fd)


def kernel_error(exc, obj, field=None, action='request'):
    """Turn an RtnlError (or an OSError) into an EdgenetError."""
    code = getattr(exc, 'code', None) or getattr(exc, 'errno', None) or 0
    extack = None
    args = getattr(exc, 'args', ())
    if isinstance(exc, RtnlError):
        extack = exc.text
    elif len(args) > 1 and args[1] and args[1] != os.strerror(code):
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
        self._rtnl = None
        self._entered = False
        self._links = None
        self._altnames = None  # {altname: ifname}; None: the dump cached in _links did not read them
        self.writes = 0
        #: devices check mode assumed an earlier task creates (see ifindex)
        self.assumed = []

    # -- sockets ----------------------------------------------------------
    def _enter(self):
        if self.netns and not self._entered:
            enter_netns(self.netns)
            self._entered = True

    @property
    def rtnl(self):
        """The raw socket of the bulk path (``_rtnl``): dumps and pipelined requests, no pyroute2."""
        if self._rtnl is None:
            self._enter()
            self._rtnl = Rtnl()
        return self._rtnl

    def close(self):
        if self._rtnl is not None:
            self._rtnl.close()
            self._rtnl = None

    # -- reads --------------------------------------------------------------
    def links(self, refresh=False):
        """``{ifname: ifindex}`` and ``{ifindex: ifname}`` for the namespace, cached."""
        if self._links is None or refresh:
            altnames = {}
            try:
                by_name = self.rtnl.links(altnames)
            except (OSError, RtnlError) as e:
                raise kernel_error(e, 'netlink dump of the devices', action='dump')
            self.remember_links(by_name, altnames)
        return self._links

    def remember_links(self, by_name, altnames=None):
        """``{ifname: ifindex}`` from a full device dump made for another purpose: the name cache of
        :meth:`links` takes it, so no second dump is needed for names. ``altnames``: ``{altname: ifname}`` from
        the same dump, or None when it did not read them (:meth:`altnames` then reads them when asked)."""
        self._links = (by_name, dict((index, name) for name, index in by_name.items()))
        self._altnames = altnames

    def altnames(self):
        """``{altname: ifname}``: the alternative names of the namespace's devices (``ip link property add dev X
        altname Y``), from the cached device dump when it read them, else from a new one."""
        if self._altnames is None:
            self.links(refresh=True)
        return self._altnames

    def device_name(self, name):
        """The name of the device that ``name`` names: ``name`` itself when a device has it as its name, else the
        name of the device that has it as an alternative name; ``name`` when none has (the kernel takes either
        name wherever it takes a device's name)."""
        if name in self.links()[0]:
            return name
        return self.altnames().get(name, name)

    def link_info(self):
        """The bulk path's device dump with kind, address, master, altnames and kind data (``Rtnl.link_info``)."""
        try:
            info = self.rtnl.link_info()
        except (OSError, RtnlError) as e:
            raise kernel_error(e, 'netlink dump of the devices', action='dump')
        self.remember_links(dict((name, dev['index']) for name, dev in info.items()),
                            dict((alt, name) for name, dev in info.items() for alt in dev['altnames']))
        return info

    def ipv6_off(self, names):
        """Why each device of ``names`` that exists has no working IPv6, or None (``Rtnl.ipv6_off``): one device
        dump."""
        try:
            return self.rtnl.ipv6_off(names)
        except (OSError, RtnlError) as e:
            raise kernel_error(e, 'netlink dump of the devices', action='dump')

    def rdump(self, kind, body, what):
        """The bulk path's dump (``Rtnl.dump``), with errors mapped; ``what`` names it in messages."""
        try:
            yield from self.rtnl.dump(kind, body)
        except (OSError, RtnlError) as e:
            raise kernel_error(e, 'netlink dump of %s' % what, action='dump')

    def rdump_many(self, kind, bodies, what):
        """Many dumps on the bulk path, pipelined (``Rtnl.dump_many``): ``[[(type, body bytes)] per body]``."""
        try:
            return self.rtnl.dump_many(kind, bodies)
        except (OSError, RtnlError) as e:
            raise kernel_error(e, 'netlink dump of %s' % what, action='dump')

    def rget(self, kind, body, what):
        """One ``get`` request on the bulk path's socket (``Rtnl.get``): the reply's body; errors mapped."""
        try:
            return self.rtnl.get(kind, body)
        except (OSError, RtnlError) as e:
            raise kernel_error(e, 'netlink get of %s' % what, action='get')

    def transact(self, requests, keep_going=False, echoes=None):
        """Send many requests at once on the bulk path: ``Rtnl.transact`` (``echoes``: what the kernel
        echoes of each write); refused in check mode."""
        if self.readonly:
            raise EdgenetError('internal error: a write was attempted in check mode')
        self.writes += len(requests)
        return self.rtnl.transact(requests, keep_going, echoes)

    def ifindex(self, name, obj=None, field='dev'):
        """The ifindex of a device, named by its name or by one of its alternative names; an unknown device is an
        error naming ``obj`` and ``field``.

        In check mode a device that does not exist yet is assumed to be created by an earlier task of
        the play (a link task that check mode did not run): the plan goes on, and the engine warns.
        """
        index = self.links()[0].get(name)
        if index is None:  # (an alternative name of a device names it too)
            real = self.altnames().get(name)
            if real is not None:
                index = self.links()[0].get(real)
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
