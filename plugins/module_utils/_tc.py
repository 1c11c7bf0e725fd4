# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traffic control helpers shared by tc_qdisc, tc_class and tc_filter.

Values are parsed exactly as ``tc`` (iproute2 6.1, tc_util.c / utils.c / tc_core.c) parses them:

* rates (``get_rate64``): a number with an optional case-insensitive suffix (``bit``, ``kbit``,
  ``mbit``, ``gbit``, ``tbit``, ``kibit``..., ``bps``, ``kbps``, ``mbps``... which are *bytes* per
  second, ``kibps``...).  A bare number is bits per second.  The kernel stores bytes per second, so
  the canonical form is an int in bits per second that is a multiple of 8 (``1001bit`` is 1000).
* sizes (``get_size``): bytes; suffixes ``b``, ``k``/``kb``, ``m``/``mb``, ``g``/``gb`` (powers of
  1024) and ``kbit``, ``mbit``, ``gbit`` (powers of 1024, divided by 8).  A bare number is bytes.
* times (``get_time``): a bare number is microseconds; suffixes ``s``/``sec``/``secs``,
  ``ms``/``msec``/``msecs``, ``us``/``usec``/``usecs``.  Canonical: an int in microseconds.

Token-bucket sizes (HTB ``burst``/``cburst``, TBF ``burst``) travel to the kernel as a time in
scheduler ticks; :func:`xmittime` and :func:`xmitsize` are tc's conversions, so a size read back from
the kernel is what ``tc`` prints.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

TIME_UNITS_PER_SEC = 1000000
TC_H_ROOT = 0xFFFFFFFF
TC_H_INGRESS = 0xFFFFFFF1
TC_H_CLSACT = TC_H_INGRESS
TC_H_MIN_INGRESS = 0xFFF2
TC_H_MIN_EGRESS = 0xFFF3

_RATE = {
    'bit': 1., 'kibit': 1024., 'kbit': 1000., 'mibit': 1024. ** 2, 'mbit': 1000000.,
    'gibit': 1024. ** 3, 'gbit': 1000000000., 'tibit': 1024. ** 4, 'tbit': 1000000000000.,
    'bps': 8., 'kibps': 8. * 1024, 'kbps': 8000., 'mibps': 8. * 1024 ** 2, 'mbps': 8000000.,
    'gibps': 8. * 1024 ** 3, 'gbps': 8000000000., 'tibps': 8. * 1024 ** 4, 'tbps': 8000000000000.,
}
_SIZE = {
    'b': 1, 'k': 1024, 'kb': 1024, 'm': 1024 ** 2, 'mb': 1024 ** 2, 'g': 1024 ** 3, 'gb': 1024 ** 3,
    'kbit': 1024 // 8, 'mbit': 1024 * 1024 // 8, 'gbit': 1024 * 1024 * 1024 // 8,
}
_TIME = {
    's': 1000000., 'sec': 1000000., 'secs': 1000000., 'ms': 1000., 'msec': 1000., 'msecs': 1000.,
    'us': 1., 'usec': 1., 'usecs': 1.,
}
_NUM = re.compile(r'^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*([A-Za-z]*)\s*$')


def _split(value, field, what):
    if isinstance(value, bool):
        raise EdgenetError("'%s' is not a %s" % (value, what), field=field)
    if isinstance(value, (int, float)):
        return float(value), ''
    m = _NUM.match(str(value))
    if not m:
        raise EdgenetError("'%s' is not a %s" % (value, what), field=field)
    text = str(value).strip()
    num = text[:len(text) - len(m.group(2))] if m.group(2) else text
    return float(num), m.group(2).lower()


def rate(value, field='rate'):
    """A rate as tc reads it, in bits per second (int, multiple of 8: the kernel keeps bytes/s)."""
    num, suffix = _split(value, field, 'rate (for example 10mbit, 1.5gbit, 100kbps, 8000bit)')
    if suffix and suffix not in _RATE:
        raise EdgenetError("'%s' has an unknown rate unit '%s' (bit, kbit, mbit, gbit, tbit, bps, kbps, mbps, "
                           "gbps, kibit, mibit...)" % (value, suffix), field=field)
    bps = int(num * _RATE.get(suffix, 1.) / 8)
    if bps <= 0:
        raise EdgenetError("rate '%s' is less than 8bit (one byte per second)" % (value,), field=field)
    if bps >= 2 ** 64:
        raise EdgenetError("rate '%s' is too large" % (value,), field=field)
    return bps * 8


def size(value, field='burst'):
    """A size in bytes as tc reads it."""
    num, suffix = _split(value, field, 'size (for example 1540, 1540b, 10kb, 1mb)')
    if suffix and suffix not in _SIZE:
        raise EdgenetError("'%s' has an unknown size unit '%s' (b, kb, mb, gb, kbit, mbit, gbit)" % (value, suffix),
                           field=field)
    n = int(num * _SIZE.get(suffix, 1))
    if not 0 <= n < 2 ** 32:
        raise EdgenetError("size '%s' is out of range (0 to 4294967295 bytes)" % (value,), field=field)
    return n


def time(value, field='latency'):
    """A time in microseconds as tc reads it (a bare number is microseconds)."""
    num, suffix = _split(value, field, 'time (for example 10ms, 1s, 100us)')
    if suffix and suffix not in _TIME:
        raise EdgenetError("'%s' has an unknown time unit '%s' (s, ms, us)" % (value, suffix), field=field)
    n = int(num * _TIME.get(suffix, 1.))
    if not 0 <= n < 2 ** 32:
        raise EdgenetError("time '%s' is out of range" % (value,), field=field)
    return n


# -- scheduler clock (tc_core.c) -------------------------------------------------------------------
_CLOCK = {}


def _clock():
    if not _CLOCK:
        t2us, us2t, clock_res, hz = 1000, 64, 1000000, 1000000000
        try:
            with open('/proc/net/psched') as f:
                words = [int(w, 16) for w in f.read().split()]
            t2us, us2t, clock_res = words[:3]
            hz = words[3] if clock_res == 1000000 else 1000
        except (IOError, OSError, ValueError, IndexError):
            pass
        if clock_res == 1000000000:
            t2us = us2t
        _CLOCK['tick_in_usec'] = float(t2us) / us2t * (float(clock_res) / TIME_UNITS_PER_SEC)
        _CLOCK['hz'] = hz
    return _CLOCK


def hz():
    """tc's get_hz(): the scheduler's advertised HZ (1e9 on a high-resolution clock)."""
    return _clock()['hz']


def _u32(x):
    return int(x) & 0xFFFFFFFF


def time2tick(t):
    return _u32(_u32(t) * _clock()['tick_in_usec'])


def tick2time(tick):
    return _u32(_u32(tick) / _clock()['tick_in_usec'])


def xmittime(rate_bytes, size_bytes):
    """tc_calc_xmittime: ticks to send ``size_bytes`` at ``rate_bytes`` bytes/s."""
    return time2tick(TIME_UNITS_PER_SEC * (float(size_bytes) / float(rate_bytes)))


def xmitsize(rate_bytes, ticks):
    """tc_calc_xmitsize: the size that ``ticks`` buy at ``rate_bytes`` bytes/s (what tc prints)."""
    return _u32(float(rate_bytes) * tick2time(ticks) / TIME_UNITS_PER_SEC)


def same_bucket(rate_bits, size_bytes, ticks):
    """Whether the kernel's bucket of ``ticks`` is ``size_bytes`` at ``rate_bits``.

    tc and pyroute2 truncate the time to whole microseconds before converting it to ticks (HTB), while
    the kernel computes TBF's bucket itself from the size tc sends (TCA_TBF_BURST); the results differ
    by less than one microsecond's worth of ticks.  Anything closer than that is the same bucket, and so
    is the size tc prints for ``ticks`` (a gathered value fed back).
    """
    if xmitsize(rate_bits // 8, ticks) == size_bytes:
        return True
    exact = TIME_UNITS_PER_SEC * float(size_bytes) / (rate_bits // 8) * _clock()['tick_in_usec']
    return abs(exact - ticks) <= _clock()['tick_in_usec'] + 1


def roundtrip(rate_bits, size_bytes):
    """The size the kernel reports for ``size_bytes`` sent at ``rate_bits``."""
    rb = rate_bits // 8
    return xmitsize(rb, xmittime(rb, size_bytes))


# -- handles ---------------------------------------------------------------------------------------
_HANDLE = re.compile(r'^([0-9a-fA-F]{0,4}):([0-9a-fA-F]{0,4})$')


def handle_text(n):
    """A 32-bit handle as tc prints it: ``1:``, ``1:10``, ``ffff:fff1``."""
    major, minor = n >> 16, n & 0xFFFF
    return '%x:%s' % (major, '%x' % minor if minor else '')


def parse_handle(value, field, minor=None):
    """``X:`` or ``X:Y`` (hex, as tc) to the canonical text.  ``minor``: True requires a minor,
    False forbids one."""
    text = str(value).strip().lower()
    m = _HANDLE.match(text)
    if not m or not m.group(1):
        raise EdgenetError("'%s' is not a tc handle (hex MAJOR: or MAJOR:MINOR, for example 1: or 1:10)" % (value,),
                           field=field)
    major, mnr = int(m.group(1), 16), int(m.group(2) or '0', 16)
    if major == 0 or major == 0xFFFF and minor is not True:
        raise EdgenetError("handle major '%s' is reserved (use 1 to fffe)" % m.group(1), field=field)
    if minor is False and mnr:
        raise EdgenetError("'%s' must be MAJOR: without a minor number" % (value,), field=field)
    if minor is True and not mnr:
        raise EdgenetError("'%s' needs a minor number (MAJOR:MINOR, for example 1:10)" % (value,), field=field)
    return handle_text((major << 16) | mnr)


def handle_int(text):
    major, minor = text.split(':')
    return (int(major or '0', 16) << 16) | int(minor or '0', 16)


def rate_text(bits):
    """A rate for a tc command line: exact, in bits per second."""
    return '%dbit' % bits


class TcApply(object):
    """``apply()`` shared by the tc resources: one pyroute2 ``tc()`` call per op.

    A resource sets ``tc_verbs`` ({'add': ..., 'delete': ..., 'change': ...}) and implements
    ``_request(ctx, obj, options=True)`` returning the positional and keyword arguments (deletes are
    sent without options: pyroute2 fails when it tries to encode them).
    """

    tc_verbs = {'add': 'add', 'delete': 'del', 'change': 'change'}

    def apply(self, ctx, op):
        obj = op.obj
        args, kwargs = self._request(ctx, obj, options=op.action != 'delete')
        if op.action == 'change':
            kwargs['field'] = ','.join(op.changed_fields())
        ctx.nl.write(self.label(obj), 'tc', self.tc_verbs[op.action], *args, **kwargs)
