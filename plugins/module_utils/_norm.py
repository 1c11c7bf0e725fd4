# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalizers shared by the resources.

Each takes the user's value and returns the canonical one, or raises
EdgenetError naming the field.  Normalization is where false ``changed``
reports come from, so every comparison goes through these.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket
from socket import AF_INET, AF_INET6

from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

_MAC = re.compile(r'^[0-9a-f]{1,2}([:-][0-9a-f]{1,2}){5}$')
_MAC_CANONICAL = re.compile(r'^[0-9a-f]{2}(?::[0-9a-f]{2}){5}\Z')

# rtnetlink protocol and scope names as iproute2 prints them (rt_protos, rt_scopes)
PROTOCOLS = {0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 8: 'gated', 9: 'ra',
             10: 'mrt', 11: 'zebra', 12: 'bird', 13: 'dnrouted', 14: 'xorp', 15: 'ntk', 16: 'dhcp',
             17: 'mrouted', 18: 'keepalived', 42: 'babel', 99: 'openr', 186: 'bgp', 187: 'isis',
             188: 'ospf', 189: 'rip', 192: 'eigrp'}
SCOPES = {0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere'}
TABLES = {253: 'default', 254: 'main', 255: 'local'}


def mac(value, field='address'):
    if isinstance(value, str) and _MAC_CANONICAL.match(value):
        return value  # already as the kernel prints it (10,000 FDB entries: the common case)
    v = str(value).strip().lower().replace('-', ':')
    if not _MAC.match(v):
        raise EdgenetError("'%s' is not a MAC address" % value, field=field)
    return ':'.join('%02x' % int(p, 16) for p in v.split(':'))


# the bytes the kernel's dev_valid_name refuses in a device name besides '/' and ':' (its isspace: the ASCII
# white space and 0xA0, the Latin-1 no-break space, so the UTF-8 of U+00A0 or of U+00E0 'à'), and the control
# characters, which it takes but which would cut or garble the name it shows (refused here)
_NAME_BAD = frozenset(b'/:\t\n\v\f\r \xa0\x7f') | frozenset(range(0x20))


# the bytes refused in an alternative name (altname): '/', as in a name, the ASCII white space, which iproute2 refuses
# (check_altifname), and the control characters, which the kernel takes (it checks an altname's length only) but which
# would cut or garble the name shown
_ALTNAME_BAD = frozenset(b'/ \x7f') | frozenset(range(0x20))
#: the longest alternative name, in bytes (the kernel's ALTIFNAMSIZ, 128, with its NUL)
ALTNAME_MAX = 127


def altname_ok(name):
    """Whether ``name`` (a str) is an alternative name (``ip link property add dev X altname NAME``) to give a device:
    1 to :data:`ALTNAME_MAX` bytes of UTF-8, not ``.`` or ``..``, none of :data:`_ALTNAME_BAD` (':' is fine)."""
    raw = name.encode('utf-8', 'surrogatepass')
    return 0 < len(raw) <= ALTNAME_MAX and name not in ('.', '..') and not _ALTNAME_BAD.intersection(bytearray(raw))


def ifname_ok(name):
    """Whether ``name`` (a str) is a device name the kernel takes, as its dev_valid_name reads its UTF-8 bytes: 1 to
    15 bytes, not ``.`` or ``..``, none of :data:`_NAME_BAD` (a Unicode space such as U+2003 is fine to it)."""
    raw = name.encode('utf-8', 'surrogatepass')
    return 0 < len(raw) <= 15 and name not in ('.', '..') and not _NAME_BAD.intersection(bytearray(raw))


def _pton(text):
    """``(family, packed)`` of an address, or ValueError.  inet_pton/inet_ntop are the C library's:
    ~20x faster than ``ipaddress``, and the text is exactly what iproute2 and the kernel dumps print."""
    af = AF_INET6 if ':' in text else AF_INET
    try:
        return af, socket.inet_pton(af, text)
    except (OSError, ValueError):
        raise ValueError("'%s' is not an IPv%d address" % (text, 6 if af == AF_INET6 else 4))


_IPS = {}


def ip(value, field='address'):
    """A host address, canonical text (``fd42:ed6e::1``).  Memoized: gateways repeat."""
    text = _IPS.get(value)
    if text is None:
        try:
            af, raw = _pton(str(value).strip())
        except ValueError:
            raise EdgenetError("'%s' is not an IP address" % value, field=field)
        text = socket.inet_ntop(af, raw)
        if len(_IPS) > 4096:
            _IPS.clear()
        _IPS[value] = text
    return text


def _split_prefix(text):
    """``(family, packed address, prefix length)`` of ``addr/len``; ValueError when malformed."""
    addr, _sep, plen = text.partition('/')
    af, raw = _pton(addr)
    bits = 8 * len(raw)
    if not plen.isdigit() or int(plen) > bits:
        raise ValueError("'%s' is not a valid prefix length for IPv%d" % (plen, 6 if af == AF_INET6 else 4))
    return af, raw, int(plen)


def interface(value, field='address'):
    """An address with prefix length (``198.18.0.1/24``); host bits are kept."""
    text = str(value).strip()
    if '/' not in text:
        raise EdgenetError("'%s' needs a prefix length, for example 198.18.0.1/24" % value, field=field)
    try:
        af, raw, plen = _split_prefix(text)
    except ValueError:
        raise EdgenetError("'%s' is not an address with a valid prefix length" % value, field=field)
    return '%s/%d' % (socket.inet_ntop(af, raw), plen)


def prefix(value, field='dst', strict=True):
    """A network prefix (``198.18.0.0/24``).  ``default`` stays ``default``.

    With ``strict``, host bits set are an error, as ``ip route`` refuses them.
    A bare address becomes a host prefix (/32 or /128), as iproute2 does.
    (This runs for every route of a 10,000-route config: keep it lean.)
    """
    return prefix_parts(value, field, strict)[0]


def prefix_parts(value, field='dst', strict=True):
    """:func:`prefix`, with the network as numbers: ``(text, address as int, prefix length)``; for
    ``default``: ``('default', 0, 0)``. (A route's encoder needs the numbers: they come from the same parse.)"""
    text = str(value).strip()
    if text == 'default':
        return text, 0, 0
    addr, sep, plen = text.partition('/')
    af, bits, version = (AF_INET6, 128, 6) if ':' in addr else (AF_INET, 32, 4)
    try:
        raw = socket.inet_pton(af, addr)
    except (OSError, ValueError):
        raise EdgenetError("'%s' is not a valid prefix ('%s' is not an IPv%d address)" % (value, addr, version),
                           field=field)
    if not sep:
        length = bits
    elif plen.isdigit() and int(plen) <= bits:
        length = int(plen)
    elif '.' in plen and af == AF_INET:  # a dotted netmask: let ipaddress convert it
        import ipaddress  # only here: every task would pay its import otherwise

        try:
            net = ipaddress.ip_network(text, strict=strict)
        except ValueError as e:
            raise EdgenetError("'%s' is not a valid prefix (%s)" % (value, e), field=field)
        return str(net), int(net.network_address), net.prefixlen
    else:
        raise EdgenetError("'%s' is not a valid prefix ('%s' is not a prefix length for IPv%d)" % (value, plen, version),
                           field=field)
    number = int.from_bytes(raw, 'big')
    if length < bits:
        host = number & ((1 << (bits - length)) - 1)
        if host:
            if strict:
                raise EdgenetError("'%s' is not a valid prefix (it has host bits set)" % value, field=field)
            number ^= host
            raw = number.to_bytes(bits // 8, 'big')
            addr = None
    # (the C library's inet_pton takes an IPv4 address only as the dotted quad inet_ntop prints, without leading
    # zeros: its text is already the canonical one)
    if af != AF_INET or addr is None:
        addr = socket.inet_ntop(af, raw)
    return '%s/%d' % (addr, length), number, length


def addr_int(text):
    """An address as an int (for ordering and containment)."""
    return int.from_bytes(_pton(text)[1], 'big')


def prefix_int(text):
    """``(family 4/6, address as int, prefix length)`` of a canonical prefix (``default`` is /0)."""
    if text == 'default':
        return 4, 0, 0
    af, raw, plen = _split_prefix(text)
    return (6 if af == AF_INET6 else 4), int.from_bytes(raw, 'big'), plen


def family(address):
    """4 or 6 for an address or prefix text."""
    return 6 if ':' in address else 4


def lookup(value, names, field, kind):
    """Map a number or a name from ``names`` ({number: name}) to the canonical name.

    Unknown numbers are kept as numbers, like iproute2 prints them.
    """
    if isinstance(value, bool):  # (a YAML true is no number: int(True) would make it 1)
        raise EdgenetError("'%s' is not a %s (one of %s, or a number)" % (value, kind, ', '.join(sorted(names.values()))),
                           field=field)
    if isinstance(value, int) or str(value).isdigit():
        n = int(value)
        return names.get(n, n)
    v = str(value).strip().lower()
    if v in names.values():
        return v
    raise EdgenetError("unknown %s '%s' (one of %s, or a number)" % (kind, value, ', '.join(sorted(names.values()))),
                       field=field)


def lookup_byte(value, names, field, kind):
    """:func:`lookup` for a field the kernel keeps in one byte (a route's protocol, a scope): a number above
    255 is bad input, named by its field (the request could not be packed)."""
    name = lookup(value, names, field, kind)
    if isinstance(name, int) and not 0 <= name <= 255:
        raise EdgenetError('%d is out of range (0 to 255)' % name, field=field)
    return name


def number(names, value):
    """Inverse of :func:`lookup`: the number for a canonical name."""
    if isinstance(value, int):
        return value
    for n, name in names.items():
        if name == value:
            return n
    raise KeyError(value)


def int_range(value, lo, hi, field):
    # (int() would truncate 100.7 to 100 and take true for 1: both refused, not silently changed)
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise EdgenetError("'%s' is not a whole number" % (value,), field=field)
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        raise EdgenetError("'%s' is not a whole number" % (value,), field=field)
    if not lo <= n <= hi:
        raise EdgenetError('%d is out of range (%d to %d)' % (n, lo, hi), field=field)
    return n


def table(value, field='table'):
    """Routing table: ``main``/``local``/``default`` or a number 1..2^32-1, canonical as iproute2 prints."""
    if value is None:
        return None
    v = lookup(value, TABLES, field, 'table') if not str(value).isdigit() else int(value)
    if isinstance(v, int):
        if not 0 < v < 2 ** 32:
            raise EdgenetError('table %d is out of range (1 to 4294967295)' % v, field=field)
        v = TABLES.get(v, v)
    return v


def span(value, field, lo, hi, what='a number', example='10-20'):
    """``10`` or ``'10-20'`` as (first, last), within lo..hi (VLAN and VNI ranges)."""
    parts = str(value).strip().split('-')
    try:
        if len(parts) == 1:
            first = last = int(parts[0])
        elif len(parts) == 2:
            first, last = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise EdgenetError("'%s' is not %s or a range like %s" % (value, what, example), field=field)
    if not lo <= first <= last <= hi:
        raise EdgenetError("'%s' is out of range (%d to %d, first <= last)" % (value, lo, hi), field=field)
    return first, last


def span_text(first, last):
    """Inverse of :func:`span`: ``10`` or ``'10-20'``."""
    return first if first == last else '%d-%d' % (first, last)
