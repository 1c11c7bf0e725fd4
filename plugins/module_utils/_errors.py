# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type of the collection.

Every failure a user can cause (bad input, a refused kernel request, a missing
library) is raised as :class:`EdgenetError`.  ``main()`` of every module catches
it once and calls ``fail_json`` with :meth:`EdgenetError.result`, so no Python
traceback ever reaches the user.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno as _errno
import os


class EdgenetError(Exception):
    """A failure that names the object and the field.

    :param msg: what went wrong, in words a network engineer uses.
    :param obj: the object label, for example ``address 198.18.0.1/24 dev v0``.
    :param field: the option that caused it, for example ``dev``.
    :param code: the kernel errno, when the kernel refused a request.
    :param extack: the kernel's extended ACK text, when it gave one.
    """

    def __init__(self, msg, obj=None, field=None, code=None, extack=None, **result):
        super(EdgenetError, self).__init__(msg)
        self.msg = msg
        self.obj = obj
        self.field = field
        self.code = code
        self.extack = extack
        self.extra = result

    def __str__(self):
        parts = []
        if self.obj:
            parts.append(self.obj)
        if self.field:
            parts.append("field '%s'" % self.field)
        text = ': '.join(parts + [self.msg])
        if self.code:
            name = _errno.errorcode.get(self.code, str(self.code))
            kernel = self.extack or os.strerror(self.code)
            text += ' (kernel: %s; errno %d %s)' % (kernel, self.code, name)
        return text

    def result(self):
        """Keyword arguments for ``fail_json``."""
        out = dict(self.extra)
        out['msg'] = str(self)
        if self.obj:
            out['object'] = self.obj
        if self.field:
            out['field'] = self.field
        if self.code:
            out['errno'] = self.code
        if self.extack:
            out['extack'] = self.extack
        return out


class DumpInterrupted(EdgenetError):
    """A netlink dump the kernel marked NLM_F_DUMP_INTR: the table changed while it was read (its generation
    counter moved between two datagrams), so an object may be missing or there twice.  The engine reads it again
    (``Engine.gather``); where nothing reads it again, the task fails with this message and changes nothing."""

    def __init__(self, kind):
        super(DumpInterrupted, self).__init__(
            'the kernel changed the objects while they were being read (its netlink dump of message type %d came '
            'back marked interrupted, NLM_F_DUMP_INTR); run the task again' % kind)
