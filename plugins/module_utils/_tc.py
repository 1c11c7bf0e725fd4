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

import functools
import re
import struct

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


# rate(), size() and time() are pure functions of their input: a tree repeats a few values (a common
# ceil, burst or latency), so each distinct (type, value) is parsed once; only successes are kept (an
# error names the field, which differs between callers)
_PARSED = {}


def _memo(fn, value, field):
    key = (fn, type(value), value)
    try:
        return _PARSED[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable value: parse it (it fails with the usual error)
        return fn(value, field)
    found = fn(value, field)
    if len(_PARSED) > 65536:
        _PARSED.clear()
    _PARSED[key] = found
    return found


def rate(value, field='rate'):
    """A rate as tc reads it, in bits per second (int, multiple of 8: the kernel keeps bytes/s)."""
    return _memo(_rate, value, field)


def size(value, field='burst'):
    """A size in bytes as tc reads it."""
    return _memo(_size, value, field)


def time(value, field='latency'):
    """A time in microseconds as tc reads it (a bare number is microseconds)."""
    return _memo(_time, value, field)


def _rate(value, field):
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


def _size(value, field):
    num, suffix = _split(value, field, 'size (for example 1540, 1540b, 10kb, 1mb)')
    if suffix and suffix not in _SIZE:
        raise EdgenetError("'%s' has an unknown size unit '%s' (b, kb, mb, gb, kbit, mbit, gbit)" % (value, suffix),
                           field=field)
    n = int(num * _SIZE.get(suffix, 1))
    if not 0 <= n < 2 ** 32:
        raise EdgenetError("size '%s' is out of range (0 to 4294967295 bytes)" % (value,), field=field)
    return n


def _time(value, field):
    num, suffix = _split(value, field, 'time (for example 10ms, 1s, 100us)')
    if suffix and suffix not in _TIME:
        raise EdgenetError("'%s' has an unknown time unit '%s' (s, ms, us)" % (value, suffix), field=field)
    n = int(num * _TIME.get(suffix, 1.))
    if not 0 <= n < 2 ** 32:
        raise EdgenetError("time '%s' is out of range" % (value,), field=field)
    return n


_TIME_NS = {
    's': 1e9, 'sec': 1e9, 'secs': 1e9, 'ms': 1e6, 'msec': 1e6, 'msecs': 1e6,
    'us': 1e3, 'usec': 1e3, 'usecs': 1e3, 'ns': 1., 'nsec': 1., 'nsecs': 1.,
}


def time_ns(value, field='delay'):
    """A time in nanoseconds as tc's get_time64 reads it (netem): a bare number is microseconds."""
    num, suffix = _split(value, field, 'time (for example 10ms, 1s, 100us, 500ns)')
    if suffix and suffix not in _TIME_NS:
        raise EdgenetError("'%s' has an unknown time unit '%s' (s, ms, us, ns)" % (value, suffix), field=field)
    n = int(round(num * _TIME_NS.get(suffix, 1e3)))
    if not 0 <= n < 2 ** 63:
        raise EdgenetError("time '%s' is out of range" % (value,), field=field)
    return n


def time_ns_text(ns):
    """A netem time for a tc command line, exact."""
    return '%dus' % (ns // 1000) if ns % 1000 == 0 else '%dns' % ns


PERCENT_MAX = 0xFFFFFFFF


def percent_u32(value, field='loss'):
    """A percentage as tc's get_percent reads it (``1%``, ``0.5``), scaled to the kernel's u32."""
    text = str(value).strip()
    if text.endswith('%'):
        text = text[:-1]
    try:
        per = float(text) / 100.
    except ValueError:
        raise EdgenetError("'%s' is not a percentage (for example 1%%, 0.5%%, 0.5)" % (value,), field=field)
    if not 0. <= per <= 1.:
        raise EdgenetError("'%s' is out of range (0%% to 100%%)" % (value,), field=field)
    return int(round(per * PERCENT_MAX))


def u32_percent(n):
    """The shortest percentage (a float) that tc scales back to the kernel's ``n``."""
    exact = 100. * n / PERCENT_MAX
    for digits in range(0, 12):
        p = round(exact, digits)
        if int(round(p / 100. * PERCENT_MAX)) == n:
            return p
    return exact


def percent(value, field='loss'):
    """A percentage, canonical: the shortest float for the u32 the kernel keeps."""
    return u32_percent(percent_u32(value, field))


# CoDel keeps times in units of 1024 ns (codel.h CODEL_SHIFT); the kernel reports whole microseconds
def codel_us(us):
    """The microseconds the kernel reports for a CoDel time of ``us`` microseconds."""
    return ((us * 1000) >> 10 << 10) // 1000


# HFSC service curves (sch_hfsc.c): the kernel keeps slopes and the knee in its own units and reports
# them converted back, which rounds
PSCHED_TICKS_PER_SEC = 1000000000 >> 6
SM_SHIFT = 30 - 6


def hfsc_m(m):
    """The slope in bytes/s the kernel reports for ``m`` bytes/s (m2sm, then sm2m)."""
    if m == 0:
        return 0
    sm = ((m << SM_SHIFT) + PSCHED_TICKS_PER_SEC - 1) // PSCHED_TICKS_PER_SEC
    return ((sm * PSCHED_TICKS_PER_SEC) >> SM_SHIFT) & 0xFFFFFFFF


def hfsc_d(d):
    """The knee in microseconds the kernel reports for ``d`` microseconds (d2dx, then dx2d)."""
    dx = (d * PSCHED_TICKS_PER_SEC + 1000000 - 1) // 1000000
    return (dx * 1000000 // PSCHED_TICKS_PER_SEC) & 0xFFFFFFFF


def _rate0(value, field):
    if re.match(r'^\s*0*(\.0*)?\s*[a-zA-Z]*\s*$', str(value)) and not str(value).strip().isalpha():
        return 0
    return rate(value, field) // 8


def hfsc_curve(value, field):
    """A service curve as tc's hfsc_get_sc reads it, as the kernel reports it: ``{m1, d, m2}`` with the
    slopes in bits/s and the knee in microseconds.  Accepts ``{m1, d, m2}`` (m1 and d optional) or
    ``{umax, dmax, rate}`` (tc's second form), or a bare rate (``m2`` only)."""
    if not isinstance(value, dict):
        value = {'m2': value}
    value = dict((k, v) for k, v in value.items() if v is not None)
    if not value:
        raise EdgenetError('a service curve needs m2 (or umax, dmax and rate)', field=field)
    first = set(value) & set(('m1', 'd', 'm2'))
    second = set(value) & set(('umax', 'dmax', 'rate'))
    unknown = set(value) - first - second
    if unknown:
        raise EdgenetError('a service curve has no field %s (m1, d, m2, or umax, dmax, rate)'
                           % ', '.join(sorted(unknown)), field=field)
    if first and second:
        raise EdgenetError('a service curve is either m1/d/m2 or umax/dmax/rate, not both', field=field)
    if second:
        if 'rate' not in value:
            raise EdgenetError('a umax/dmax service curve needs rate', field=field + '.rate')
        umax = size(value.get('umax', 0), field + '.umax')
        dmax = time(value.get('dmax', 0), field + '.dmax')
        rate_ = rate(value['rate'], field + '.rate') // 8
        if umax and not dmax:
            raise EdgenetError('umax needs dmax', field=field + '.dmax')
        import math
        if dmax and math.ceil(1.0 * umax * TIME_UNITS_PER_SEC / dmax) > rate_:
            m1, d, m2 = int(math.ceil(1.0 * umax * TIME_UNITS_PER_SEC / dmax)), dmax, rate_
        else:
            m1, d, m2 = 0, int(math.ceil(dmax - umax * TIME_UNITS_PER_SEC / float(rate_))), rate_
    else:
        if 'm2' not in value:
            raise EdgenetError('a service curve needs m2', field=field + '.m2')
        m1 = _rate0(value.get('m1', 0), field + '.m1')
        d = time(value.get('d', 0), field + '.d')
        m2 = rate(value['m2'], field + '.m2') // 8
    for name, v in (('m1', m1), ('m2', m2)):
        if v >= 2 ** 32:
            raise EdgenetError('%s is above the 32-bit limit of HFSC (34 gbit)' % name, field=field)
    if d >= 2 ** 32 or d < 0:
        raise EdgenetError('d is out of range', field=field + '.d')
    return {'m1': hfsc_m(m1) * 8, 'd': hfsc_d(d), 'm2': hfsc_m(m2) * 8}


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
    """tc_calc_xmittime: ticks to send ``size_bytes`` at ``rate_bytes`` bytes/s (time2tick inlined)."""
    t = int(TIME_UNITS_PER_SEC * (float(size_bytes) / float(rate_bytes))) & 0xFFFFFFFF
    return int(t * (_CLOCK or _clock())['tick_in_usec']) & 0xFFFFFFFF


def xmitsize(rate_bytes, ticks):
    """tc_calc_xmitsize: the size that ``ticks`` buy at ``rate_bytes`` bytes/s (what tc prints;
    tick2time inlined)."""
    t = int((int(ticks) & 0xFFFFFFFF) / (_CLOCK or _clock())['tick_in_usec']) & 0xFFFFFFFF
    return int(float(rate_bytes) * t / TIME_UNITS_PER_SEC) & 0xFFFFFFFF


def size_for_ticks(rate_bytes, ticks):
    """The smallest size that tc turns into a bucket of exactly ``ticks`` at ``rate_bytes`` (tc truncates the
    time to whole microseconds, then converts it to ticks), or None when no size does (a bucket tc did not make).
    The size tc prints for ``ticks`` is up to one microsecond's worth below it: given back to tc, it makes a
    smaller bucket."""
    near = int(ticks * TIME_UNITS_PER_SEC // max(time2tick(TIME_UNITS_PER_SEC), 1))
    usec = [u for u in (near - 1, near, near + 1, near + 2) if u > 0 and time2tick(u) == ticks]
    if not usec:
        return None
    size = -(-usec[0] * rate_bytes // TIME_UNITS_PER_SEC)  # (rounded up)
    for candidate in (size - 1, size, size + 1):  # (tc's float division may land either side)
        if candidate > 0 and xmittime(rate_bytes, candidate) == ticks:
            return candidate
    return None


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


def _ratecfg(rate_bytes):
    """psched_ratecfg_precompute__: the kernel's ``(mult, shift)`` for a rate, ns = (len * mult) >> shift."""
    factor, shift = 1000000000, 0
    while True:
        mult = factor // rate_bytes
        if mult & (1 << 31) or factor & (1 << 63):
            return mult, shift
        factor <<= 1
        shift += 1


def wire_len(size_bytes, spec):
    """The length psched_l2t_ns times for ``size_bytes`` under a ratespec's ``spec`` = (linklayer, overhead,
    mpu): the overhead added, at least the mpu, and on an ATM link layer whole 53-byte cells of 48 bytes each."""
    linklayer, overhead, mpu = spec
    n = max((size_bytes + overhead) & 0xFFFFFFFF, mpu)
    return -(-n // 48) * 53 if linklayer == _LINKLAYER_ATM else n


def tbf_ticks(rate_bits, size_bytes, spec=None):
    """The ticks the kernel dumps for a TBF bucket sent as a size (TCA_TBF_BURST or TCA_TBF_PBURST):
    psched_l2t_ns at the rate (with the ratespec's link layer, overhead and mpu, ``spec``, when given), then
    PSCHED_NS2TICKS into the dump's u32."""
    mult, shift = _ratecfg(rate_bits // 8)
    if spec is not None:
        size_bytes = wire_len(size_bytes, spec)
    return ((size_bytes * mult) >> shift) >> PSCHED_SHIFT & 0xFFFFFFFF


def tbf_size(rate_bits, ticks, spec=None):
    """The largest size whose TBF bucket at ``rate_bits`` is ``ticks`` (:func:`tbf_ticks`, with the ratespec's
    ``spec`` when given), or None when no size makes it (a bucket not made from a size, at a rate where one byte
    lasts longer than a tick, or one below the mpu's). Sent, it makes the kernel keep the bucket the dump shows,
    and no packet it took before is too big for it (the kernel's largest packet is the size sent). tc's printed
    size (:func:`xmitsize`) is cut to whole microseconds, and with a link layer, overhead or mpu it is the
    adjusted length: sent back, either makes another bucket."""
    mult, shift = _ratecfg(rate_bits // 8)
    size = min(-(-((int(ticks) + 1 << PSCHED_SHIFT) << shift) // mult) - 1, 0xFFFFFFFF)  # the largest length
    if spec is not None:  # the largest size whose adjusted length is at most that one
        linklayer, overhead, _mpu = spec
        size = (size // 53 * 48 if linklayer == _LINKLAYER_ATM else size) - overhead
    return size if size > 0 and tbf_ticks(rate_bits, size, spec) == ticks else None


_ROUNDTRIP = {}


def roundtrip(rate_bits, size_bytes):
    """The size the kernel reports for ``size_bytes`` sent at ``rate_bits`` (memoized: a tree's classes
    share a few rates)."""
    found = _ROUNDTRIP.get((rate_bits, size_bytes))
    if found is None:
        rb = rate_bits // 8
        found = xmitsize(rb, xmittime(rb, size_bytes))
        if len(_ROUNDTRIP) > 65536:
            _ROUNDTRIP.clear()
        _ROUNDTRIP[(rate_bits, size_bytes)] = found
    return found


# -- check mode: the qdiscs an earlier task deletes ----------------------------------------------

#: the option of tc_qdisc, tc_class and tc_filter that names them (their module_options)
GONE_OPTION = {'gone_qdiscs': {'type': 'list', 'elements': 'dict', 'options': {
    'dev': {'type': 'str', 'required': True},
    'handle': {'type': 'str', 'required': True},
}}}


def gone_qdiscs(ctx, msgs):
    """In check mode, ``{(dev, 'X:')}`` of the qdiscs that option gone_qdiscs names (an earlier task of the play
    deletes them: the real run, after it, finds neither them nor their classes and filters), and of the qdiscs
    attached to their classes, at any depth (the kernel deletes those with them). ``msgs``: the host's qdiscs as a
    qdisc dump parses them (``index``, ``handle`` and ``parent``, numbers; device names from ``ctx.nl.ifname``). An
    ingress or clsact qdisc is ``(dev, 'ingress')``. Empty in a real run, which reads the host after those tasks, and
    without the option (tc_qdisc, tc_class and tc_filter share this, their ``module_options``)."""
    given = ctx.params.get('gone_qdiscs') if ctx.check_mode else None
    if not given:
        return frozenset()
    qdiscs = [(ctx.nl.ifname(m['index']), m['handle'], m['parent']) for m in msgs]
    gone = set()
    for item in given:
        text = str(item['handle']).strip().lower()
        gone.add((item['dev'], 'ingress' if text in ('ffff:', '0xffff:', 'ingress') else
                  parse_handle(text, 'gone_qdiscs.handle', minor=False)))
    children = {}
    for dev, handle, parent in qdiscs:
        if parent not in (TC_H_ROOT, TC_H_INGRESS) and handle & 0xFFFF0000:
            children.setdefault((dev, handle_text(parent & 0xFFFF0000)), []).append((dev, handle_text(handle)))
    todo = list(gone)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in gone:
                gone.add(child)
                todo.append(child)
    return gone


# -- handles ---------------------------------------------------------------------------------------


def handle_text(n):
    """A 32-bit handle as tc prints it: ``1:``, ``1:10``, ``ffff:fff1`` (memoized: a tree's classes and its
    filters' classids are the same few thousand)."""
    text = _HANDLE_TEXT.get(n)
    if text is None:
        major, minor = n >> 16, n & 0xFFFF
        text = '%x:%s' % (major, '%x' % minor if minor else '')
        if len(_HANDLE_TEXT) < 65536:
            _HANDLE_TEXT[n] = text
    return text


_HANDLE_TEXT = {}


_HANDLES = {}


def parse_handle(value, field, minor=None):
    """``X:`` or ``X:Y`` (hex, as tc) to the canonical text.  ``minor``: True requires a minor,
    False forbids one.  Memoized per distinct (value, minor): a tree repeats its parents."""
    key = (type(value), value, minor)
    try:
        return _HANDLES[key]
    except KeyError:
        pass
    except TypeError:
        return _parse_handle(value, field, minor)
    found = _parse_handle(value, field, minor)
    if len(_HANDLES) > 65536:
        _HANDLES.clear()
    _HANDLES[key] = found
    return found


_HEX = frozenset('0123456789abcdef')


def _parse_handle(value, field, minor):
    text = str(value).strip().lower()
    high, sep, low = text.partition(':')  # hex MAJOR:MINOR, each part up to 4 digits (no regex: 1,000 classids)
    if not sep or not 0 < len(high) <= 4 or len(low) > 4 or not _HEX.issuperset(high) or not _HEX.issuperset(low):
        raise EdgenetError("'%s' is not a tc handle (hex MAJOR: or MAJOR:MINOR, for example 1: or 1:10)" % (value,),
                           field=field)
    major, mnr = int(high, 16), int(low or '0', 16)
    if major == 0 or major == 0xFFFF and minor is not True:
        raise EdgenetError("handle major '%s' is reserved (use 1 to fffe)" % high, field=field)
    if minor is False and mnr:
        raise EdgenetError("'%s' must be MAJOR: without a minor number" % (value,), field=field)
    if minor is True and not mnr:
        raise EdgenetError("'%s' needs a minor number (MAJOR:MINOR, for example 1:10)" % (value,), field=field)
    number = (major << 16) | mnr
    text = handle_text(number)
    if len(_HANDLE_INT) < 65536:
        _HANDLE_INT[text] = number  # (the encoder asks for the number of the text parsed here)
    return text


_HANDLE_INT = {}  # a canonical handle text: its number


def handle_int(text):
    number = _HANDLE_INT.get(text)
    if number is None:
        major, minor = text.split(':')
        number = (int(major or '0', 16) << 16) | int(minor or '0', 16)
    return number


def rate_text(bits):
    """A rate for a tc command line: exact, in bits per second."""
    return '%dbit' % bits


# -- wire format (rtnetlink tc messages, include/uapi/linux/pkt_sched.h) ------------------------------
RTM_NEWQDISC, RTM_DELQDISC, RTM_NEWTCLASS, RTM_DELTCLASS = 36, 37, 40, 41
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
TCA_KIND, TCA_OPTIONS = 1, 2
TC_LINKLAYER_ETHERNET = 1
RATESPEC = struct.Struct('<BBHhHI')  # struct tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu, rate
_U16, _U32, _U64, _S32 = struct.Struct('<H'), struct.Struct('<I'), struct.Struct('<Q'), struct.Struct('<i')
PSCHED_SHIFT = 6  # the kernel's scheduler ticks are 64 ns (PSCHED_NS2TICKS)


_NLA = struct.Struct('<HH')
_PAD = (b'', b'\0\0\0', b'\0\0', b'\0')


def nla(kind, payload):
    """One netlink attribute (type, length, payload, padding to 4 bytes)."""
    n = 4 + len(payload)
    return _NLA.pack(n, kind) + payload + _PAD[n & 3]


def nla_u32(kind, value):
    return nla(kind, _U32.pack(value & 0xFFFFFFFF))


def nla_u64(kind, value):
    return nla(kind, _U64.pack(value))


def nla_s32(kind, value):
    return nla(kind, _S32.pack(value))


def nla_u8(kind, value):
    return nla(kind, struct.pack('<B', value))


def nlas(data, offset=0):
    """``{type: payload}`` of the attributes in ``data`` (nested-flag and byte-order bits masked)."""
    out = {}
    end = len(data)
    unpack = _NLA.unpack_from
    if isinstance(data, bytes):
        while offset + 4 <= end:
            length, kind = unpack(data, offset)
            if length < 4:
                break
            out[kind & 0x3FFF] = data[offset + 4:offset + length]
            offset += (length + 3) & ~3
        return out
    while offset + 4 <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            break
        out[kind & 0x3FFF] = bytes(data[offset + 4:offset + length])
        offset += (length + 3) & ~3
    return out


def get_u32(attrs, kind, default=None):
    v = attrs.get(kind)
    return _U32.unpack_from(v)[0] if v is not None and len(v) >= 4 else default


def get_u64(attrs, kind, default=None):
    v = attrs.get(kind)
    return _U64.unpack_from(v)[0] if v is not None and len(v) >= 8 else default


def get_s32(attrs, kind, default=None):
    v = attrs.get(kind)
    return _S32.unpack_from(v)[0] if v is not None and len(v) >= 4 else default


def get_u8(attrs, kind, default=None):
    v = attrs.get(kind)
    return bytearray(v)[0] if v else default


TCMSG = struct.Struct('=B3xiIII')  # struct tcmsg: family, pad, ifindex, handle, parent, info
RTM_GETQDISC, RTM_GETTCLASS, RTM_GETLINK = 38, 42, 18
IFINFOMSG = struct.Struct('=BxHiII')  # struct ifinfomsg: family, type, index, flags, change
IFLA_IFNAME, IFLA_MTU, IFLA_TXQLEN = 3, 4, 13
ARPHRD_ETHER, ARPHRD_LOOPBACK = 1, 772


def dump(ctx, msg_type, index=0, what='tc objects'):
    """A tc dump on the bulk path's socket: a list of ``{'index', 'handle', 'parent', 'info', 'kind',
    'opts'}``, ``opts`` the undecoded TCA_OPTIONS payload (b'' when there is none).  The resources decode
    the kernel's bytes themselves, only the attributes they use.  A list, read to the end: the caller may
    use the socket again (a device name lookup) while it walks the messages."""
    return [_entry(bytes(buf[start:end])) for _t, buf, start, end in
            ctx.nl.rdump(msg_type, TCMSG.pack(0, index, 0, 0, 0), what)]


def _entry(body):
    """One dump message's tcmsg and the attributes the resources use, as :func:`dump` lists them."""
    _family, ifindex, handle, parent, info = TCMSG.unpack_from(body, 0)
    a = nlas(body, 20)
    kind = a.get(TCA_KIND)
    return {'index': ifindex, 'handle': handle, 'parent': parent, 'info': info,
            'kind': kind.split(b'\0', 1)[0].decode('ascii', 'replace') if kind is not None else None,
            'opts': a.get(TCA_OPTIONS, b'')}


def class_dumps(ctx, qdiscs, what='the tc classes'):
    """``{(ifindex, major): [entries as dump() gives them]}``: the classes of each qdisc of ``qdiscs``
    (``(ifindex, handle)`` pairs, the handle an int), one dump per qdisc, all sent at once (pipelined).

    Never one dump of all the classes of a device: the kernel walks the device's qdiscs in one dump, and a
    qdisc whose class cannot be dumped ends it, leaving out the classes of every qdisc after it. netem's
    does that when it has no child qdisc (its ``dump_class`` answers -ENOENT); seen on 6.1 (an htb with a
    netem in one class and a drr in another: ``tc class show dev`` leaves out the drr's classes). A dump of
    one qdisc's classes (``tcm_parent`` its handle) walks only that qdisc."""
    return dict((q, [e for e in (_entry(body) for _t, body in messages) if e['handle'] & 0xFFFF0000 == q[1]])
                for q, messages in _class_messages(ctx, qdiscs, what))


def class_handles(ctx, qdiscs, what='the tc classes'):
    """``{(ifindex, major): set of classids as text}``: what :func:`class_dumps` reads, only the handles (from
    the tcmsg header alone; the filters check that a class exists, and a 1,000-class tree's attributes are
    most of the dump)."""
    unpack, text = TCMSG.unpack_from, handle_text
    return dict((q, set(text(h) for h in (unpack(body, 0)[2] for _t, body in messages) if h & 0xFFFF0000 == q[1]))
                for q, messages in _class_messages(ctx, qdiscs, what))


def _class_messages(ctx, qdiscs, what):
    """``[((ifindex, major), [(type, body)])]``: one class dump per qdisc, pipelined (see :func:`class_dumps`)."""
    qdiscs = list(qdiscs)
    if not qdiscs:
        return []
    bodies = [TCMSG.pack(0, index, 0, major, 0) for index, major in qdiscs]
    return list(zip(qdiscs, ctx.nl.rdump_many(RTM_GETTCLASS, bodies, what)))


def devices(ctx):
    """``{ifname: (ifindex, txqlen, mtu, hard header length)}`` from one raw device dump (tc sizes its
    buckets and defaults from the MTU plus the link header, and fifo limits from the txqueuelen)."""
    from ansible_collections.edgenet.linux.plugins.module_utils._rtnl import IFLA_PROP_LIST, get_altnames

    out, altnames = {}, {}
    for _t, buf, start, end in ctx.nl.rdump(RTM_GETLINK, IFINFOMSG.pack(0, 0, 0, 0, 0), 'the devices'):
        _family, arphrd, index, _flags, _change = IFINFOMSG.unpack_from(buf, start)
        a = nlas(bytes(buf[start + 16:end]))
        if IFLA_IFNAME not in a:
            continue
        name = a[IFLA_IFNAME].split(b'\0', 1)[0].decode('utf-8', 'replace')
        hh = 14 if arphrd in (ARPHRD_ETHER, ARPHRD_LOOPBACK) else 0  # ETH_HLEN
        out[name] = (index, get_u32(a, IFLA_TXQLEN, 0), get_u32(a, IFLA_MTU, 0), hh)
        if IFLA_PROP_LIST in a:  # (the names cache also takes the devices' alternative names)
            altnames.update((alt, name) for alt in get_altnames(a[IFLA_PROP_LIST], (0, len(a[IFLA_PROP_LIST]))))
    ctx.nl.remember_links(dict((name, dev[0]) for name, dev in out.items()), altnames)
    return out


def ratespec(rate_bytes, overhead=0, mpu=0):
    """A ``struct tc_ratespec`` as tc sends it (link layer ethernet: the kernel then needs no rate table)."""
    return RATESPEC.pack(0, TC_LINKLAYER_ETHERNET, overhead, -1, mpu, min(rate_bytes, 0xFFFFFFFF))


def parse_ratespec(data, offset=0):
    cell_log, linklayer, overhead, cell_align, mpu, rate_ = RATESPEC.unpack_from(data, offset)
    return {'rate': rate_, 'overhead': overhead, 'mpu': mpu, 'linklayer': linklayer}


def request(msg_type, flags, index, handle, parent, kind=None, opts=None, info=0):
    """One tc request for the bulk path: ``(type, flags, body)``.  ``opts``: TCA_OPTIONS bytes."""
    body = TCMSG.pack(0, index, handle, parent, info)
    if kind:
        kind_attr = _KIND_ATTR.get(kind)
        if kind_attr is None:
            kind_attr = _KIND_ATTR[kind] = nla(TCA_KIND, kind.encode('ascii') + b'\0')
        body += kind_attr
    if opts is not None:
        body += _NLA.pack(4 + len(opts), TCA_OPTIONS) + opts + _PAD[len(opts) & 3]
    return msg_type, flags, body


_KIND_ATTR = {}  # kind: its TCA_KIND attribute


class TcApply(object):
    """The bulk path shared by tc_qdisc and tc_class: a resource implements ``request(ctx, op)``
    returning :func:`request`'s tuple, the one place where the netlink message of an op (type, flags,
    header, attributes) is built; the engine encodes a whole plan, sends it pipelined and rolls back
    what the kernel applied when it refuses one request."""

    bulk = True

    def encode(self, ctx, op):
        return self.request(ctx, op)

    def refine_error(self, op, error):
        noun = {'tc_qdisc': 'tc qdisc', 'tc_class': 'tc class'}.get(self.name, self.name)
        error.msg = 'the kernel refused the %s %s' % (noun, {'delete': 'del'}.get(op.action, op.action))
        return error

    @staticmethod
    def flags(action):
        if action == 'add':
            return NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        return NLM_F_REQUEST | NLM_F_ACK


# -- snapshot and replay ---------------------------------------------------------------------------------
# The kernel deletes a tc object with everything under it, and says nothing: a class takes its leaf qdisc along
# (and that qdisc its classes, their qdiscs and the filters of all of them), a qdisc its classes, child qdiscs and
# filters. A Snapshot reads such a subtree as the kernel dumps it, before anything is sent, and gives each object
# back as a Replay: the request that creates it again exactly as it was (the dumped kind and TCA_OPTIONS bytes,
# handle and parent, as a new object), and the tc command line that does the same. The engine sends them after
# the op that re-creates their parent (Op.follow, Op.restore): nothing here is about one resource.
RTM_NEWTFILTER, RTM_GETTFILTER = 44, 46
TCA_CHAIN = 11
NLA_F_NESTED = 0x8000
_U32_HASH, _U32_LINK, _U32_DIVISOR, _U32_PCNT, _U32_PAD = 2, 3, 4, 9, 12
_TC_H_INGRESS_FILTERS, _TC_H_EGRESS_FILTERS = 0xFFFFFFF2, 0xFFFFFFF3

#: the kinds whose dump the kernel takes back as a new object that then dumps the same, as they are or with the fix
#: of :data:`REPLAY_FIX` (checked by tests/integration: made by tc, dumped, deleted, sent back, compared with tc's
#: view; pfifo, bfifo, tbf, htb, ingress, clsact and u32 on the 6.18 host kernel, the others on user-mode Linux's 6.1
#: in test_tc_replay_uml.py). ``action``: the actions a filter of these kinds may hold (a filter with another one is
#: not made again). Any other kind is reported, never sent: its dump may hold what a new object cannot take (a bpf
#: filter's program is an id, not a file descriptor), and no test here shows the kernel takes it.
REPLAYABLE = {
    'qdisc': frozenset(('pfifo', 'bfifo', 'tbf', 'htb', 'ingress', 'clsact', 'fq_codel', 'sfq', 'netem', 'fq', 'codel',
                        'cake', 'prio', 'hfsc', 'drr', 'qfq')),
    'class': frozenset(('htb', 'hfsc', 'drr', 'qfq')),
    'filter': frozenset(('u32', 'flower', 'matchall', 'basic', 'fw')),
    'action': frozenset(('gact', 'police', 'mirred', 'skbedit')),
}
#: the qdisc kinds whose classes are made one by one (tc class add); the classes of the others are the qdisc's own
#: (a tbf's 1:1, a prio's bands): they come back with it, only the qdiscs in them are made again
CLASS_KINDS = ('htb', 'hfsc', 'drr', 'qfq')
#: the qdisc kinds whose classes hold filters of their own (a dump per class)
CLASS_FILTER_KINDS = ('htb', 'hfsc')
#: qdisc kinds that hold no filters (no filter block): their filters are not dumped
NO_FILTERS = frozenset(('pfifo', 'bfifo', 'pfifo_head_drop', 'tbf', 'netem', 'codel', 'fq', 'red', 'pie', 'plug'))
_HTB_INIT, _U32_FLAGS = 2, 11
_CLS_FLAGS_SETTABLE = 0x1 | 0x2 | 0x10  # skip_hw, skip_sw, verbose (in_hw and not_in_hw are the kernel's report)
#: per filter kind: its action list, its old-style police action (tc's ``police`` without ``action``: the police
#: options themselves), its flags, and what a dump holds that a new filter must not be sent (counters, padding, the
#: kernel's hardware count), as attribute types of TCA_OPTIONS (include/uapi/linux/pkt_cls.h)
_CLS_WIRE = {
    'u32': {'act': 7, 'police': 6, 'flags': _U32_FLAGS, 'drop': (_U32_HASH, _U32_PCNT, _U32_PAD)},
    'flower': {'act': 3, 'flags': 22, 'drop': (86,)},  # TCA_FLOWER_IN_HW_COUNT
    'matchall': {'act': 2, 'flags': 3, 'drop': (4, 5)},  # TCA_MATCHALL_PCNT, _PAD
    'basic': {'act': 3, 'police': 4, 'drop': (5, 6)},  # TCA_BASIC_PCNT, _PAD
    'fw': {'act': 4, 'police': 2, 'drop': ()},
}
_ACT_KIND, _ACT_OPTIONS = 1, 2
#: the attributes of one action (TCA_ACT_*) that a new one takes: kind, options, cookie, flags, hw_stats (not the
#: stats, padding, used_hw_stats and in_hw_count a dump adds)
_ACT_SENT = (_ACT_KIND, _ACT_OPTIONS, 6, 7, 8)
#: per action kind: the options a dump adds (its timestamps, TCA_*_TM, and padding)
_ACT_DROP = {'gact': (1, 4), 'mirred': (1, 3), 'skbedit': (1, 6), 'police': (6, 7)}
_POLICE_TBF, _POLICE_RATE, _POLICE_PEAKRATE, _POLICE_RATE64, _POLICE_PEAKRATE64 = 1, 2, 3, 8, 9
_POLICE = struct.Struct('<IiIII12s12siiI')  # struct tc_police
_LINKLAYER_ATM = 2


def _fix_htb(opts):
    """An htb qdisc's dump gives TCA_HTB_INIT's version as HTB_VER (0x30011): a new qdisc takes its major only."""
    return b''.join(nla(t, _U32.pack(_U32.unpack_from(v)[0] >> 16) + v[4:] if t & 0x3FFF == _HTB_INIT and len(v) >= 4
                        else v) for t, v in _attr_list(opts))


def _fix_u32(opts):
    """A u32 node as a new one takes it: without its hash table (the new prio's root table gets the next id, so the
    node is sent as tc's ``::NODE``), counters and padding, and with the flags a request may set; its actions as
    :func:`_fix_actions` gives them."""
    return _fix_filter('u32', opts)


def _fix_filter(kind, opts):
    """A filter's TCA_OPTIONS as a new filter of ``kind`` takes them (:data:`_CLS_WIRE`): without what the kernel adds
    to a dump, with the flags a request may set, and its actions without their statistics (:func:`_fix_actions`)."""
    wire = _CLS_WIRE[kind]
    out = []
    for t, v in _attr_list(opts):
        k = t & 0x3FFF
        if k in wire['drop']:
            continue
        if k == wire.get('flags') and len(v) >= 4:
            v = _U32.pack(_U32.unpack_from(v)[0] & _CLS_FLAGS_SETTABLE)
        elif k == wire['act']:
            v = _fix_actions(v)
        elif k == wire.get('police'):
            v = _fix_police(v)
        out.append(nla(t, v))
    return b''.join(out)


def _actions(kind, opts):
    """The kinds of the actions of a filter of ``kind`` (its action list and its old-style police action)."""
    a = nlas(opts)
    wire = _CLS_WIRE.get(kind, {})
    out = []
    if wire.get('act') in a:
        for _t, v in _attr_list(a[wire['act']]):
            k = nlas(v).get(_ACT_KIND, b'')
            out.append(k.split(b'\0', 1)[0].decode('ascii', 'replace'))
    if wire.get('police') in a:
        out.append('police')
    return out


def _fix_actions(data):
    """An action list as a new filter takes it: each action (a nested attribute numbered by its order) with its kind,
    options and settings, without its statistics; its options without the timestamps of a dump (and a police action's
    rate tables made again: :func:`_fix_police`)."""
    out = []
    for t, v in _attr_list(data):
        kept = []
        kind = nlas(v).get(_ACT_KIND, b'').split(b'\0', 1)[0].decode('ascii', 'replace')
        for at, av in _attr_list(v):
            if at & 0x3FFF not in _ACT_SENT:
                continue
            if at & 0x3FFF == _ACT_OPTIONS:
                drop = _ACT_DROP.get(kind, ())
                av = b''.join(nla(ot, ov) for ot, ov in _attr_list(av) if ot & 0x3FFF not in drop)
                if kind == 'police':
                    av = _fix_police(av)
            kept.append(nla(at, av))
        out.append(nla(t, b''.join(kept)))
    return b''.join(out)


def _fix_police(opts):
    """A police action's options as a new one takes them: the kernel keeps no rate tables and dumps none, and wants
    them with a rate (and a peak rate) again, with the ``cell_log`` it dumps as 0: both made as tc makes them from the
    action's rate, mtu, mpu and link layer (tc_core.c tc_calc_rtable). Its timestamps and padding go."""
    attrs = [(t, v) for t, v in _attr_list(opts) if t & 0x3FFF not in (_POLICE_RATE, _POLICE_PEAKRATE, 6, 7)]
    a = dict((t & 0x3FFF, v) for t, v in attrs)
    parms = a.get(_POLICE_TBF)
    if parms is None or len(parms) < _POLICE.size:
        return opts
    index, action, limit, burst, mtu, rspec, pspec, refcnt, bindcnt, capab = _POLICE.unpack_from(parms)
    tables = []
    specs = []
    for spec, attr, attr64 in ((rspec, _POLICE_RATE, _POLICE_RATE64), (pspec, _POLICE_PEAKRATE, _POLICE_PEAKRATE64)):
        _cell_log, linklayer, overhead, _align, mpu, rate_ = RATESPEC.unpack(spec)
        if rate_:
            rate64 = get_u64(a, attr64) or rate_
            cell_log, table = _rtab(rate64, mtu, mpu, linklayer)
            spec = RATESPEC.pack(cell_log, linklayer, overhead, -1, mpu, rate_)
            tables.append(nla(attr, table))
        specs.append(spec)
    parms = _POLICE.pack(index, action, limit, burst, mtu, specs[0], specs[1], 0, 0, 0) + parms[_POLICE.size:]
    return b''.join(nla(t, parms if t & 0x3FFF == _POLICE_TBF else v) for t, v in attrs) + b''.join(tables)


def _rtab(rate_bytes, mtu, mpu, linklayer):
    """``(cell_log, table)``: a rate table (256 transmit times, in ticks, of sizes in cells of 2**cell_log bytes) as
    tc computes it for a rate of ``rate_bytes`` and the largest packet ``mtu`` (0: 2047)."""
    mtu = mtu or 2047
    cell_log = 0
    while (mtu >> cell_log) > 255:
        cell_log += 1
    table = []
    for i in range(256):
        sz = max((i + 1) << cell_log, mpu)
        if linklayer == _LINKLAYER_ATM:
            sz = -(-sz // 48) * 53
        table.append(xmittime(rate_bytes, sz))
    return cell_log, struct.pack('<256I', *table)


_SFQ = struct.Struct('<IiIII')  # struct tc_sfq_qopt: quantum, perturb_period, limit, divisor, flows
_SFQ_MAX_DEPTH = 127  # the limit of an sfq made without one (and its flows: 128)


def _fix_sfq(opts):
    """An sfq's dump gives the limit it was made with, or its default (127 packets); sent, a limit also cuts the flows
    down to it. A limit below the flows is one that never cut them: the default, sent as 0 (the kernel keeps its own)."""
    if len(opts) < _SFQ.size:
        return opts
    quantum, perturb, limit, divisor, flows = _SFQ.unpack_from(opts)
    if limit == _SFQ_MAX_DEPTH < flows:
        return _SFQ.pack(quantum, perturb, 0, divisor, flows) + opts[_SFQ.size:]
    return opts


def codel_send(us):
    """The microseconds to send for a CoDel time the kernel reports as ``us``: the smallest value that
    lands on the same 1024 ns unit (so a value read back and sent again does not drift)."""
    unit = -(-us * 1000 // 1024)
    return -(-unit * 1024 // 1000)


#: the CoDel times of a codel and an fq_codel qdisc (target, interval, ce_threshold)
_CODEL_TIMES = {'codel': (1, 3, 5), 'fq_codel': (1, 3, 7)}


def _fix_codel(kind, opts):
    """CoDel times are kept in units of 1024 ns and dumped as whole microseconds, rounded down: sent back as they
    are, each would lose a unit. Sent as :func:`codel_send` gives them, they stay."""
    times = _CODEL_TIMES[kind]
    return b''.join(nla(t, _U32.pack(codel_send(_U32.unpack_from(v)[0])) if t & 0x3FFF in times and len(v) >= 4
                        else v) for t, v in _attr_list(opts))


#: the (what, kind) whose command line is rendered from the fixed options: an sfq made without a limit is made again
#: by ``limit 0`` (tc sends it as it is: the kernel keeps its default), not by the ``limit 127`` it reports
RENDER_FIXED = frozenset([('qdisc', 'sfq')])
#: (what, kind): the function that turns a dump's TCA_OPTIONS into what a new object takes
REPLAY_FIX = {('qdisc', 'htb'): _fix_htb, ('filter', 'u32'): _fix_u32, ('qdisc', 'sfq'): _fix_sfq,
              ('qdisc', 'codel'): lambda opts: _fix_codel('codel', opts),
              ('qdisc', 'fq_codel'): lambda opts: _fix_codel('fq_codel', opts)}
REPLAY_FIX.update((('filter', k), functools.partial(_fix_filter, k)) for k in ('flower', 'matchall', 'basic', 'fw'))


class Replay(object):
    """One tc object as the kernel dumped it, to be created again as it was (a new object: CREATE|EXCL)."""

    __slots__ = ('what', 'dev', 'index', 'handle', 'parent', 'info', 'kind', 'opts', 'chain', 'body', 'snapshot',
                 'dumped')

    def __init__(self, what, dev, index, handle, parent, info, kind, opts, chain=None, body=None, snapshot=None,
                 dumped=None):
        self.what, self.dev, self.index, self.handle, self.parent = what, dev, index, handle, parent
        self.info, self.kind, self.opts, self.chain, self.body, self.snapshot = info, kind, opts, chain, body, snapshot
        self.dumped = dumped  # (a qdisc's TCA_OPTIONS as dumped, for its command line: :meth:`Snapshot.render`)

    @property
    def label(self):
        return _label(self.what, self.dev, self.kind, self.handle, self.parent, self.info)

    def request(self, ctx=None):
        body = TCMSG.pack(0, self.index, self.handle, self.parent, self.info) + nla(TCA_KIND, self.kind.encode() + b'\0')
        if self.opts is not None:
            body += nla(TCA_OPTIONS | (NLA_F_NESTED if self.what == 'filter' else 0), self.opts)
        if self.chain is not None:
            body += nla_u32(TCA_CHAIN, self.chain)
        msg_type = {'qdisc': RTM_NEWQDISC, 'class': RTM_NEWTCLASS, 'filter': RTM_NEWTFILTER}[self.what]
        return msg_type, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body

    def render(self, ctx):
        """The tc command line that makes the object (as the resource of its kind renders an add)."""
        return self.snapshot.render(ctx, self)

    def __repr__(self):
        return 'Replay(%s)' % self.label


def _label(what, dev, kind, handle, parent, info=0):
    if what == 'qdisc':
        where = 'root' if parent == TC_H_ROOT else 'ingress' if parent == TC_H_INGRESS else handle_text(parent)
        return 'qdisc %s %s dev %s parent %s' % (kind, handle_text(handle), dev, where)
    if what == 'class':
        return 'class %s dev %s' % (handle_text(handle), dev)
    where = {_TC_H_INGRESS_FILTERS: 'ingress', _TC_H_EGRESS_FILTERS: 'egress'}.get(parent) or handle_text(parent)
    return 'filter %s dev %s parent %s prio %d' % (kind, dev, where, info >> 16)


class Snapshot(object):
    """Raw tc objects of a namespace's devices, dumped when first asked for (one qdisc dump, then a class dump and
    the filter dumps of each device concerned), for :meth:`below_class` and :meth:`below_qdisc`. Only plans that
    delete something make one: nothing is read on the paths that add or change."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._qdiscs = None  # ifindex: [dump() entries] (but the kernel's defaults, handle 0:)
        self._leaf = {}  # (ifindex, parent): the qdisc there
        self._classes = {}  # (ifindex, qdisc major): [dump() entries] of its classes (but a root class, minor 0)
        self._filter_dumps = {}  # (ifindex, parent): the filter dump of it (prefetch_filters)
        self._renderers = {}

    # -- reads ----------------------------------------------------------------------------------------------
    def qdiscs(self, index):
        if self._qdiscs is None:
            self._qdiscs = {}
            for m in dump(self.ctx, RTM_GETQDISC, what='the qdiscs'):
                if m['handle']:
                    self._qdiscs.setdefault(m['index'], []).append(m)
                    self._leaf[(m['index'], m['parent'])] = m
        return self._qdiscs.get(index, [])

    def leaf(self, index, parent):
        """The qdisc (but the kernel's default) at class ``parent`` of device ``index``, or None."""
        self.qdiscs(index)
        return self._leaf.get((index, parent))

    def prefetch_filters(self, index, parents):
        """Dump the filters of many ``parents`` of device ``index`` at once (pipelined), for the calls that follow."""
        parents = [p for p in parents if (index, p) not in self._filter_dumps]
        if parents:
            dumps = self.ctx.nl.rdump_many(RTM_GETTFILTER, [TCMSG.pack(0, index, 0, p, 0) for p in parents],
                                           'the tc filters')
            self._filter_dumps.update(((index, p), d) for p, d in zip(parents, dumps))

    def classes(self, index, major):
        """The classes of qdisc ``major`` (its handle, an int) of device ``index`` (of the kinds of :data:`CLASS_KINDS`:
        the classes of the others are the qdisc's own), read by :func:`class_dumps`."""
        if (index, None) not in self._classes:
            self._classes[(index, None)] = True
            majors = [q['handle'] for q in self.qdiscs(index) if q['kind'] in CLASS_KINDS]
            for (_i, m), entries in class_dumps(self.ctx, [(index, m) for m in majors],
                                                'the classes of %s' % self.dev(index)).items():
                self._classes[(index, m)] = [e for e in entries if e['handle'] & 0xFFFF]
        return self._classes.get((index, major), [])

    def dev(self, index):
        return self.ctx.nl.ifname(index)

    # -- subtrees -------------------------------------------------------------------------------------------
    def below_class(self, index, classid):
        """``(replays, lost)`` of what the kernel deletes with class ``classid`` (an int) of device ``index``: its
        leaf qdisc with everything under it, then the filters attached to the class itself, in the order that
        makes them again; ``lost``: the labels of what cannot be made again (and what is under it)."""
        replays, lost = self.leaf_tree(index, classid)
        if self.qdisc_kind(index, classid & 0xFFFF0000) in CLASS_FILTER_KINDS:
            self._filters(index, [classid], replays, lost)
        return replays, lost

    def leaf_tree(self, index, classid):
        """``(replays, lost)`` of the leaf qdisc of class ``classid`` (an int) of device ``index`` with everything under
        it (not the filters of the class itself): what the kernel deletes when an htb class gets its first child."""
        replays, lost = [], []
        q = self.leaf(index, classid)
        if q is not None:
            self._qdisc_tree(index, q, replays, lost, ())
        return replays, lost

    def qdisc_kind(self, index, handle):
        for q in self.qdiscs(index):
            if q['handle'] == handle:
                return q['kind']
        return None

    def below_qdisc(self, index, handle, skip=()):
        """``(replays, lost)`` of what the kernel deletes with qdisc ``handle`` (an int; ingress and clsact:
        ffff0000) of device ``index``: its classes, their qdiscs (down the tree) and the filters of all of them.
        The qdiscs whose handles are in ``skip`` are left out with what is under them (a plan that deletes one
        itself restores it with its own op)."""
        replays, lost = [], []
        q = [m for m in self.qdiscs(index) if m['handle'] == handle]
        if q:
            self._below(index, q[0], replays, lost, skip)
        return replays, lost

    def _qdisc_tree(self, index, q, replays, lost, skip):
        if q['handle'] in skip:
            return
        label = _label('qdisc', self.dev(index), q['kind'], q['handle'], q['parent'])
        if q['kind'] not in REPLAYABLE['qdisc']:
            lost.append(label)
            lost.extend(r.label for r in self._below(index, q, [], [], skip)[0])  # (all of it goes: name it)
            return
        replays.append(Replay('qdisc', self.dev(index), index, q['handle'], q['parent'], 0, q['kind'],
                              _fixed('qdisc', q['kind'], q['opts']), snapshot=self, dumped=q['opts']))
        self._below(index, q, replays, lost, skip)

    def _below(self, index, q, replays, lost, skip):
        kind, major = q['kind'], q['handle'] & 0xFFFF0000
        if kind in ('ingress', 'clsact'):
            parents = [_TC_H_INGRESS_FILTERS] + ([_TC_H_EGRESS_FILTERS] if kind == 'clsact' else [])
            self._filters(index, parents, replays, lost)
            return replays, lost
        if kind in NO_FILTERS:
            if kind in ('tbf', 'netem'):
                # its one class holds a qdisc (the kernel's default has handle 0:, and is not in the dump here); one
                # the user put there keeps the parent it was given, any minor of the tbf's
                for m in self.qdiscs(index):
                    if m is not q and m['parent'] & 0xFFFF0000 == major and m['parent'] not in (TC_H_ROOT, TC_H_INGRESS):
                        self._qdisc_tree(index, m, replays, lost, skip)
            return replays, lost  # (a classless qdisc: nothing under it)
        classes = self.classes(index, major)
        if kind not in CLASS_KINDS:
            # the qdisc's own classes (a prio's bands): the qdiscs in them are named by the qdisc dump (6.1's class
            # dump leaves out the bands of a prio that is not at the root)
            known = set(c['handle'] for c in classes)
            classes = classes + [{'handle': m['parent']} for m in self.qdiscs(index)
                                 if m['parent'] & 0xFFFF0000 == major and m['parent'] not in known
                                 and m['parent'] not in (TC_H_ROOT, TC_H_INGRESS)]
        made = set([major])
        pending = list(classes) if kind in CLASS_KINDS else []
        if not pending:  # (the qdisc's own classes: there with it)
            made.update(c['handle'] for c in classes)
        while pending:  # parents first (a dump lists a tree in no particular order)
            ready = [c for c in pending if c['parent'] in made or c['parent'] == TC_H_ROOT]
            if not ready:  # (a parent that is not there: not the kernel's)
                ready = pending
            taken = set(map(id, ready))
            for c in ready:
                made.add(c['handle'])
                label = _label('class', self.dev(index), c['kind'], c['handle'], c['parent'])
                if c['kind'] in REPLAYABLE['class'] and (c['parent'] in made or c['parent'] == TC_H_ROOT):
                    replays.append(Replay('class', self.dev(index), index, c['handle'], c['parent'], 0, c['kind'],
                                          _fixed('class', c['kind'], c['opts']), snapshot=self))
                else:
                    lost.append(label)
                    made.discard(c['handle'])  # (nor what hangs from it)
            pending = [c for c in pending if id(c) not in taken]
        parents = [major]
        if kind in CLASS_FILTER_KINDS:
            parents += [c['handle'] for c in classes]
        self.prefetch_filters(index, parents)
        for c in classes:
            leaf = self.leaf(index, c['handle'])
            if leaf is not None:
                if c['handle'] in made:
                    self._qdisc_tree(index, leaf, replays, lost, skip)
                elif leaf['handle'] not in skip:
                    lost.append(_label('qdisc', self.dev(index), leaf['kind'], leaf['handle'], leaf['parent']))
        self._filters(index, parents, replays, lost)
        return replays, lost

    def _filters(self, index, parents, replays, lost):
        """The filters attached to ``parents`` (ints) of device ``index``, the u32 ones in the order that gives
        their hash tables the same ids (the kernel numbers a qdisc's tables in the order they are made); the others
        one per handle (a filter of another kind has no tables)."""
        dev = self.dev(index)
        self.prefetch_filters(index, parents)
        dumps = [self._filter_dumps[(index, p)] for p in parents]
        groups = []  # (root table id or a large number, [replays])
        for parent, messages in zip(parents, dumps):
            prios = {}
            for _t, body in messages:
                _family, _index, handle, _parent, info = TCMSG.unpack_from(body, 0)
                a = nlas(body, 20)
                if TCA_KIND not in a or TCA_OPTIONS not in a and not handle:
                    continue  # (the head of a prio: no filter; an fw filter without classid nor actions has no options)
                kind = a[TCA_KIND].split(b'\0', 1)[0].decode('ascii', 'replace')
                chain = get_u32(a, TCA_CHAIN, 0)
                prios.setdefault((chain, info), []).append((handle, kind, a, body))
            for (chain, info), found in sorted(prios.items()):
                kind = found[0][1]
                label = _label('filter', dev, kind, 0, parent, info)
                if kind not in REPLAYABLE['filter']:
                    lost.extend('%s handle 0x%x' % (label, h) for h, _k, _a, _b in found)
                    continue
                root = self._u32_root(index, parent, chain, info, found) if kind == 'u32' else 1 << 32
                made = []
                for handle, _kind, a, body in found:
                    opts = a.get(TCA_OPTIONS, b'')
                    if kind == 'u32':
                        if not handle & 0xFFFFF or handle >> 20 != root or (handle >> 12) & 0xFF:
                            continue  # a hash table, or a node of another table (another parent's, or one of tc's)
                        if _U32_LINK in nlas(opts):
                            lost.append('%s handle %s (it links to a hash table)' % (label, _u32_text(handle)))
                            continue
                    others = [k for k in _actions(kind, opts) if k not in REPLAYABLE['action']]
                    if others:
                        lost.append('%s handle %s (action %s)' % (
                            label, _u32_text(handle) if kind == 'u32' else '0x%x' % handle, ', '.join(others)))
                        continue
                    made.append(Replay('filter', dev, index, handle & 0xFFF if kind == 'u32' else handle, parent, info,
                                       kind, _fixed('filter', kind, opts), chain or None, body, self))
                if made:
                    groups.append((root, made))
        groups.sort(key=lambda g: g[0])
        for _root, made in groups:
            replays.extend(made)

    def _u32_root(self, index, parent, chain, info, found):
        """The id of the root hash table of one u32 prio of ``parent``: a dump lists every table of the prio, also
        those of the qdisc's other parents (they share them); a get of handle fff: names the parent's own."""
        tables = [h >> 20 for h, _k, _a, _b in found if h and not h & 0xFFFFF]
        if len(tables) == 1:
            return tables[0]
        body = TCMSG.pack(0, index, 0xFFF00000, parent, info) + nla(TCA_KIND, b'u32\0') + nla_u32(TCA_CHAIN, chain)
        reply = self.ctx.nl.rget(RTM_GETTFILTER, body, 'the u32 root table')
        return TCMSG.unpack_from(reply, 0)[2] >> 20

    # -- command lines --------------------------------------------------------------------------------------
    def render(self, ctx, replay):
        from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op

        res = self._renderer(replay.what)
        dev = replay.dev
        if replay.what == 'qdisc':
            obj = {'dev': dev, 'parent': res._parent_text(replay.parent), 'handle': handle_text(replay.handle),
                   'kind': replay.kind}
            decode = getattr(res, '_decode_' + replay.kind, None)
            if decode is not None:
                # the options as the kernel reports them, which the resource renders as it renders what it gathers (a
                # fix for the kernel's rounding, such as CoDel's, is its render's too); but those whose fix is one a
                # command line needs as well (:data:`RENDER_FIXED`)
                fixed = replay.dumped is None or ('qdisc', replay.kind) in RENDER_FIXED
                decode(obj, replay.opts if fixed else replay.dumped)
                if replay.kind == 'tbf':
                    res.command_sizes(obj)  # (the sizes that make its buckets, not those tc prints)
        elif replay.what == 'class':
            parent = replay.parent if replay.parent != TC_H_ROOT else replay.handle & 0xFFFF0000
            obj = {'dev': dev, 'classid': handle_text(replay.handle), 'parent': handle_text(parent),
                   'kind': replay.kind}
            getattr(res, '_decode_' + replay.kind)(obj, nlas(replay.opts))
        else:
            from ansible_collections.edgenet.linux.plugins.module_utils import _tc_filter as codec

            got = res._decode(ctx, dev, codec.parent_text(replay.parent), replay.body, {})
            if got is None:
                return [ctx.cmd('tc', 'filter', 'add', 'dev', dev, 'parent', codec.parent_text(replay.parent),
                                'prio', replay.info >> 16, replay.kind)]
            obj = got[0]
            if got[2]:
                res.note_ticks(obj, got[2])  # (its police buckets: a command that makes them, not the size tc prints)
        return res.render(ctx, Op('add', None, obj))

    def _renderer(self, what):
        res = self._renderers.get(what)
        if res is None:
            if what == 'qdisc':
                from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_qdisc import TcQdisc as cls
            elif what == 'class':
                from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_class import TcClass as cls
            else:
                from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter as cls
            res = self._renderers[what] = cls()
        return res


def _fixed(what, kind, opts):
    fix = REPLAY_FIX.get((what, kind))
    return fix(opts) if fix is not None and opts else opts


def _attr_list(data):
    """``[(type, payload)]`` of the attributes in ``data``, in order (type with its flag bits)."""
    out, offset, end = [], 0, len(data)
    while offset + 4 <= end:
        length, kind = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        out.append((kind, bytes(data[offset + 4:offset + length])))
        offset += (length + 3) & ~3
    return out


def _u32_text(handle):
    return '%x:%s:%s' % (handle >> 20, '%x' % ((handle >> 12) & 0xFF) if (handle >> 12) & 0xFF else '',
                         '%x' % (handle & 0xFFF))
