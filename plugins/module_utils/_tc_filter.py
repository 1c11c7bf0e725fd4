# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wire format of tc filters (RTM_NEWTFILTER / RTM_DELTFILTER / RTM_GETTFILTER), as pure functions.

Everything here turns canonical values into bytes and bytes back into canonical values; nothing
touches a socket.  The layouts are the kernel's UAPI (``linux/rtnetlink.h``, ``linux/pkt_cls.h``,
``linux/tc_act/*.h``); how ``tc`` packs u32 matches is iproute2's ``tc/f_u32.c``.

Why not pyroute2's tcmsg: pyroute2 0.9 decodes ``TCA_U32_SEL`` keys 4 bytes off, repacks keys on
encode, and a u32 filter with a mirred action sent through it was refused (ENOSPC).  Messages are
therefore built and parsed here, byte for byte.

u32 selector (``struct tc_u32_sel``, 16 bytes, then ``nkeys`` x ``struct tc_u32_key``, 16 bytes)::

    u8 flags, u8 offshift, u8 nkeys, pad, be16 offmask, u16 off, s16 offoff, s16 hoff, be32 hmask
    key: be32 mask, be32 val, s32 off, s32 offmask

A key matches ``(packet[off:off+4] & mask) == val`` with ``off`` counted from the network header and
4-byte aligned; ``tc`` shifts byte and half-word matches into place and merges keys at the same offset
(``match ip dport 80 0xffff`` is ``00000050/0000ffff at 20``, exactly what ``tc -d filter show``
prints).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct

from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils import _tc

# -- netlink -----------------------------------------------------------------------------------
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLA_F_NESTED = 0x8000
RTM_NEWQDISC, RTM_GETQDISC = 36, 38
RTM_NEWTCLASS, RTM_GETTCLASS = 40, 42
RTM_NEWTFILTER, RTM_DELTFILTER, RTM_GETTFILTER = 44, 45, 46

TCA_KIND, TCA_OPTIONS, TCA_CHAIN = 1, 2, 11

#: request verb: (message type, flags); the flags are what ``tc filter add|replace|del`` sends
VERBS = {
    'add': (RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL),
    'replace': (RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE),
    'del': (RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK),
}

# -- handles and protocols ---------------------------------------------------------------------
TC_H_ROOT = 0xFFFFFFFF
TC_H_CLSACT = 0xFFFFFFF1
PARENTS = {'ingress': 0xFFFFFFF2, 'egress': 0xFFFFFFF3}
ETH_P = {'all': 0x0003, 'ip': 0x0800, 'ipv6': 0x86DD, 'arp': 0x0806, '802.1q': 0x8100, '802.1ad': 0x88A8,
         'mpls_uc': 0x8847, 'mpls_mc': 0x8848}
ETH_P_NAMES = dict((v, k) for k, v in ETH_P.items())
IP_PROTO = {'icmp': 1, 'igmp': 2, 'tcp': 6, 'udp': 17, 'gre': 47, 'esp': 50, 'ah': 51, 'ipv6-icmp': 58,
            'sctp': 132}
IP_PROTO_NAMES = dict((v, k) for k, v in IP_PROTO.items())


def protocol_number(text):
    return ETH_P[text] if text in ETH_P else int(text, 16)


def protocol_text(number):
    return ETH_P_NAMES.get(number, '0x%04x' % number)


def parse_protocol(value, field='protocol'):
    text = str(value).strip().lower()
    if text in ETH_P:
        return text
    try:
        n = int(text, 0)
    except ValueError:
        raise EdgenetError("'%s' is not a protocol (%s, or a hex EtherType such as 0x88cc)"
                           % (value, ', '.join(sorted(ETH_P))), field=field)
    if not 0 < n < 0x10000:
        raise EdgenetError("protocol '%s' is out of range" % value, field=field)
    return protocol_text(n)


def major_minor(n):
    return n >> 16, n & 0xFFFF


def parent_text(n):
    """The canonical parent: ``1:``, ``1:10``, ``ingress``, ``egress``."""
    for name, value in PARENTS.items():
        if n == value:
            return name
    if n == TC_H_CLSACT or n == 0xFFFF0000:
        return 'ingress'
    major, minor = major_minor(n)
    return '%x:%s' % (major, '%x' % minor if minor else '')


def parent_int(text):
    if text in PARENTS:
        return PARENTS[text]
    major, minor = text.split(':')
    return (int(major or '0', 16) << 16) | int(minor or '0', 16)


# u32 handles: 12-bit hash table id, 8-bit bucket, 12-bit node
def u32_handle_text(n):
    """As tc prints it: ``800::801``, ``800:``."""
    htid, bucket, node = n >> 20, (n >> 12) & 0xFF, n & 0xFFF
    if not node and not bucket:
        return '%x:' % htid
    return '%x:%s:%s' % (htid, '%x' % bucket if bucket else '', '%x' % node)


def u32_node(value, field='handle'):
    """The node number of a u32 handle given as ``::800``, ``800::800`` or ``800`` (hex)."""
    text = str(value).strip().lower()
    parts = text.split(':')
    try:
        if len(parts) == 1:
            node, bucket = int(parts[0], 16), 0
        elif len(parts) == 3:
            node, bucket = int(parts[2] or '0', 16), int(parts[1] or '0', 16)
            if parts[0]:
                int(parts[0], 16)
        else:
            raise ValueError(text)
    except ValueError:
        raise EdgenetError("'%s' is not a u32 filter handle (::NODE or HT::NODE in hex, for example ::800 or "
                           "800::10)" % (value,), field=field)
    if bucket:
        raise EdgenetError("'%s' names hash bucket %x: only filters in the root table (bucket 0) are managed"
                           % (value, bucket), field=field)
    if not 0 < node <= 0xFFF:
        raise EdgenetError("u32 node '%s' is out of range (1 to fff)" % (value,), field=field)
    return node


# -- netlink attributes ------------------------------------------------------------------------
def _pad(n):
    return (n + 3) & ~3


_NLA = struct.Struct('=HH')
_PADDING = (b'', b'\0\0\0', b'\0\0', b'\0')


def nla(kind, payload):
    """One attribute: u16 len, u16 type, payload, padding to 4 bytes."""
    length = 4 + len(payload)
    return _NLA.pack(length, kind) + payload + _PADDING[length & 3]


def nest(kind, parts):
    return nla(kind | NLA_F_NESTED, b''.join(parts))


def nla_u8(kind, v):
    return nla(kind, struct.pack('=B', v))


def nla_u16(kind, v):
    return nla(kind, struct.pack('=H', v))


def nla_be16(kind, v):
    return nla(kind, struct.pack('>H', v))


_NLA_U32 = struct.Struct('=HHI')


def nla_u32(kind, v):
    return _NLA_U32.pack(8, kind, v)


def nla_str(kind, text):
    return nla(kind, text.encode() + b'\0')


def attrs(buf, offset=0, end=None):
    """``{type: payload}`` (the last one wins) and the ordered list of (type, payload)."""
    end = len(buf) if end is None else end
    out = []
    unpack = _NLA.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(buf, offset)
        if length < 4:
            break
        out.append((kind & 0x3FFF, buf[offset + 4:offset + length]))
        offset += (length + 3) & ~3
    return out


#: ``attr_map(buf, offset=0)``: ``{type: payload}`` (the last one wins), in one pass (every message of a dump)
attr_map = _tc.nlas


_U32 = struct.Struct('=I')


def u32_of(b):
    return _U32.unpack(b[:4])[0]


def string_of(b):
    return b.split(b'\0', 1)[0].decode('utf-8', 'replace')


# -- messages ----------------------------------------------------------------------------------
TCMSG = struct.Struct('=B3xiIII')


def tcmsg(ifindex, handle, parent, info=0, family=0):
    """``struct tcmsg``: u8 family, 3 pad, s32 ifindex, u32 handle, u32 parent, u32 info."""
    return TCMSG.pack(family, ifindex, handle, parent, info)


def parse_tcmsg(body):
    family, ifindex, handle, parent, info = TCMSG.unpack_from(body, 0)
    return {'family': family, 'index': ifindex, 'handle': handle, 'parent': parent, 'info': info,
            'attrs': dict(attrs(body, 20))}


def filter_info(prio, protocol):
    """tcm_info of a filter: prio in the upper 16 bits, the protocol (network order) in the lower."""
    return (prio << 16) | socket.htons(protocol_number(protocol))


def info_prio_protocol(info):
    return info >> 16, protocol_text(socket.ntohs(info & 0xFFFF))


def header(length, kind, flags, seq=0, pid=0):
    return struct.pack('=IHHII', length, kind, flags, seq, pid)


def message(kind, flags, payload, seq=0):
    return header(16 + len(payload), kind, flags, seq) + payload


SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
NLMSGERR_ATTR_MSG = 1


def parse_ack(body):
    """(errno, extended ACK text or None) of an NLMSG_ERROR body (the request echoed as its header only:
    NETLINK_CAP_ACK)."""
    code = -struct.unpack_from('=i', body, 0)[0]
    text = None
    if code and len(body) > 20:
        found = attr_map(body[20:])
        if NLMSGERR_ATTR_MSG in found:
            text = string_of(found[NLMSGERR_ATTR_MSG]) or None
    return code, text


def split_messages(data):
    """(type, flags, seq, body) for each netlink message in a receive buffer."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind, flags, seq, _pid = struct.unpack_from('=IHHII', data, offset)
        if length < 16:
            break
        yield kind, flags, seq, data[offset + 16:offset + length]
        offset += _pad(length)


# -- u32 selector codec ------------------------------------------------------------------------
TC_U32_TERMINAL = 1
TCA_U32_CLASSID, TCA_U32_HASH, TCA_U32_LINK, TCA_U32_DIVISOR, TCA_U32_SEL = 1, 2, 3, 4, 5
TCA_U32_POLICE, TCA_U32_ACT, TCA_U32_INDEV, TCA_U32_PCNT, TCA_U32_MARK, TCA_U32_FLAGS, TCA_U32_PAD = (
    6, 7, 8, 9, 10, 11, 12)
SEL = struct.Struct('=BBBxHHhhI')
#: the most keys one selector holds: the kernel reads nkeys as a u8 (u32_change takes any count that the attribute
#: holds); tc makes at most TC_MAX_KEYS (f_u32.c pack_key, SEL_MAX_KEYS)
U32_MAX_KEYS, TC_MAX_KEYS = 255, 128
KEY = struct.Struct('>IIii')  # mask and val big-endian; off and offmask are host order (little here)
_MASK_VAL, _OFF = struct.Struct('>II'), struct.Struct('=ii')  # a key's halves: big-endian, host order


_SEL_PACK = {}  # number of keys: the struct of a selector with them (mask and val given in network order)


def pack_sel(keys, flags=0):
    """``keys``: [(val, mask, off)] with val/mask as the 32-bit numbers tc prints."""
    n = len(keys)
    st = _SEL_PACK.get(n)
    if st is None:
        st = _SEL_PACK[n] = struct.Struct('=BBBxHHhhI' + 'IIii' * n)
    args = [flags, 0, n, 0, 0, 0, 0, 0]
    htonl = socket.htonl  # (mask and val are big-endian in the kernel's struct, off is in host order)
    for val, mask, off in keys:
        args += (htonl(mask), htonl(val), off, 0)
    return st.pack(*args)


_SEL_KEYS = {}  # number of keys: (their mask and val, big-endian; their off and offmask, host order)


def unpack_sel(data):
    """(flags, [(val, mask, off, offmask)]) from a ``TCA_U32_SEL`` payload."""
    flags, _offshift, nkeys, _offmask, _off, _offoff, _hoff, _hmask = SEL.unpack_from(data, 0)
    if SEL.size + 16 * nkeys <= len(data):  # (one unpack of each half for all the keys)
        halves = _SEL_KEYS.get(nkeys) or _sel_halves(nkeys)
        mv, oo = halves[0].unpack_from(data, SEL.size), halves[1].unpack_from(data, SEL.size)
        return flags, list(zip(mv[1::2], mv[0::2], oo[0::2], oo[1::2]))
    keys = []
    for i in range(nkeys):
        base = SEL.size + 16 * i
        if base + 16 > len(data):
            break
        mask, val = _MASK_VAL.unpack_from(data, base)
        off, offmask = _OFF.unpack_from(data, base + 8)
        keys.append((val, mask, off, offmask))
    return flags, keys


def u32_unmodelled(a, sel):
    """What the u32 node of the attribute map ``a`` (``sel``: its TCA_U32_SEL payload) has that a filter object
    cannot show: ``skip_hw``/``skip_sw``, a ``link`` to a hash table, ``police`` (the old form) or ``indev``, and a
    selector's ``offset``, ``hashkey`` or ``nexthdr`` keys (names, for an error; :func:`sel_unmodelled`). A change
    would drop them (the kernel makes the node again from the request alone)."""
    out = []
    flags = u32_of(a[TCA_U32_FLAGS]) if TCA_U32_FLAGS in a else 0
    out += ['skip_hw'] if flags & 1 else []
    out += ['skip_sw'] if flags & 2 else []
    for attr, name in ((TCA_U32_LINK, 'link'), (TCA_U32_POLICE, 'police'), (TCA_U32_INDEV, 'indev')):
        if attr in a:
            out.append(name)
    return out + sel_unmodelled(sel)


def sel_unmodelled(sel):
    """The selector fields of a u32 node that a filter object cannot show: a variable ``offset`` (``offset at
    ... eat``), a ``hashkey``, keys at ``nexthdr+`` (a key's offmask). Empty for what tc makes of ``match`` alone."""
    if len(sel) < SEL.size:
        return []
    flags, offshift, nkeys, offmask, off, offoff, hoff, hmask = SEL.unpack_from(sel, 0)
    out = []
    if flags & ~TC_U32_TERMINAL or offshift or offmask or off or offoff:
        out.append('offset')
    if hoff or hmask:
        out.append('hashkey')
    if nkeys and SEL.size + 16 * nkeys <= len(sel):
        halves = _SEL_KEYS.get(nkeys) or _sel_halves(nkeys)
        if any(halves[1].unpack_from(sel, SEL.size)[1::2]):
            out.append('nexthdr')
    return out


def sel_terminal(sel):
    """Whether a u32 selector has tc's terminal flag (without it the kernel runs none of the node's actions)."""
    return bool(sel[:1]) and bool(sel[0] & TC_U32_TERMINAL)


def _sel_halves(nkeys):
    """The structs of a selector's keys (:data:`_SEL_KEYS`): (mask, val) of each, big-endian; (off, offmask) of
    each, host order."""
    halves = _SEL_KEYS[nkeys] = (struct.Struct('>' + 'II8x' * nkeys), struct.Struct('=' + '8xii' * nkeys))
    return halves


def sel_match(data, family):
    """``u32_match(unpack_sel(data)[1], family)``. An IPv4 selector of the keys :func:`_u32_match4` takes (what a
    large u32 set dumps) is read without making the list of keys; any other, by those two."""
    if family == 4 and len(data) >= SEL.size:
        nkeys = data[2]  # (SEL: flags, offshift, nkeys)
        if SEL.size + 16 * nkeys <= len(data):
            halves = _SEL_KEYS.get(nkeys) or _sel_halves(nkeys)
            words = _words4(halves[0].unpack_from(data, SEL.size), halves[1].unpack_from(data, SEL.size))
            out = None if words is None else _match4(*words)
            if out is not None:
                return out
    return u32_match(unpack_sel(data)[1], family)


def pack_key(keys, val, mask, off, field='match'):
    """tc's pack_key: merge into an existing key at the same offset, or append one."""
    val &= mask
    for i, (v, m, o) in enumerate(keys):
        if o == off:
            if (v ^ val) & (m & mask):
                raise EdgenetError('conflicting matches at offset %d' % off, field=field)
            keys[i] = (v | val, m | mask, o)
            return
    keys.append((val, mask, off))


def pack_byte(keys, val, mask, off, field='match'):
    shift = 24 - 8 * (off & 3)
    pack_key(keys, val << shift, mask << shift, off & ~3, field)


def pack_half(keys, val, mask, off, field='match'):
    shift = 16 - 8 * (off & 3)
    pack_key(keys, val << shift, mask << shift, off & ~3, field)


def prefix_int(text):
    """(bits, address as int, prefix length) of a canonical prefix text, without ipaddress (hot path)."""
    addr, plen = text.split('/')
    family = socket.AF_INET6 if ':' in addr else socket.AF_INET
    raw = socket.inet_pton(family, addr)
    return len(raw) * 8, int.from_bytes(raw, 'big'), int(plen)


def prefix_text(bits, addr, plen):
    family = socket.AF_INET6 if bits == 128 else socket.AF_INET
    return '%s/%d' % (socket.inet_ntop(family, addr.to_bytes(bits // 8, 'big')), plen)


def pack_prefix(keys, text, base, field):
    """tc's parse_ip_addr / parse_ip6_addr: one key per 32-bit word whose mask is not zero."""
    bits, addr, plen = prefix_int(text)
    mask = ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
    words = bits // 32
    for i in range(words):
        shift = 32 * (words - 1 - i)
        m = (mask >> shift) & 0xFFFFFFFF
        if m:
            pack_key(keys, (addr >> shift) & 0xFFFFFFFF, m, base + 4 * i, field)


#: where tc puts IPv4 / IPv6 matches (offsets from the network header; ports assume no options)
U32_LAYOUT = {
    4: {'src': 12, 'dst': 16, 'proto': 9, 'ports': 20},
    6: {'src': 8, 'dst': 24, 'proto': 6, 'ports': 40},
}


def u32_keys(match, family):
    """The keys of a canonical u32 ``match`` (see :func:`u32_match` for the fields), in tc's order."""
    if family == 4 and _FAST4_FIELDS.issuperset(match):
        keys = _u32_keys4(match)
        if keys is not None:
            return keys
    return _u32_keys_general(match, family)


#: the fields :func:`_u32_keys4` packs
_FAST4_FIELDS = frozenset(('src', 'dst', 'ip_proto', 'sport', 'dport'))
#: a 32-bit prefix mask, by its length
_MASKS_32 = [((1 << 32) - 1) ^ ((1 << (32 - n)) - 1) for n in range(33)]


def _u32_keys4(match):
    """:func:`u32_keys` of an IPv4 match of prefixes, a protocol and ports (a 1,000-filter tree's), each field
    at its own word (the ports share one); None for a value to leave to the general code (its errors)."""
    keys = []
    for field, off in (('src', 12), ('dst', 16)):
        text = match.get(field)
        if text is not None:
            addr, _sep, plen = text.partition('/')
            if not plen.isdigit() or int(plen) > 32:
                return None
            mask = _MASKS_32[int(plen)]
            try:
                value = int.from_bytes(socket.inet_pton(socket.AF_INET, addr), 'big')
            except (OSError, ValueError):
                return None
            if mask:
                keys.append((value & mask, mask, off))
    proto = match.get('ip_proto')
    if proto is not None:
        number = IP_PROTO.get(proto)
        if number is None:
            return None
        keys.append((number << 16, 0xFF0000, 8))
    sport, dport = match.get('sport'), match.get('dport')
    if sport is not None or dport is not None:
        val = mask = 0
        for port, shift in ((sport, 16), (dport, 0)):
            if port is not None:
                if port.__class__ is not int or not 0 <= port <= 0xFFFF:
                    return None
                val |= port << shift
                mask |= 0xFFFF << shift
        keys.append((val, mask, 20))
    return keys or None


def _u32_keys_general(match, family):
    lay = U32_LAYOUT[family]
    keys = []
    for field in ('src', 'dst'):
        if field in match:
            pack_prefix(keys, match[field], lay[field], 'match.' + field)
    if 'ip_proto' in match:
        pack_byte(keys, ip_proto_number(match['ip_proto']), 0xFF, lay['proto'], 'match.ip_proto')
    for field, off in (('sport', lay['ports']), ('dport', lay['ports'] + 2)):
        if field in match:
            pack_half(keys, match[field], 0xFFFF, off, 'match.' + field)
    if 'dscp' in match or 'tos' in match:
        val, mask = (match['dscp'] << 2, 0xFC) if 'dscp' in match else split_mask(match['tos'])
        if family == 4:
            pack_byte(keys, val, mask, 1, 'match.tos')
        else:  # the traffic class straddles the first two bytes (tc parse_ip6_class)
            pack_key(keys, val << 20, mask << 20, 0, 'match.tos')
    for text in match.get('keys', []):
        val, mask, off = parse_raw_key(text)
        pack_key(keys, val, mask, off, 'match.keys')
    return keys or [(0, 0, 0)]  # no match: tc's `match u32 0 0`, one key that matches every packet


#: a 32-bit prefix mask: its length
_PREFIX_LENGTHS_32 = dict((((1 << 32) - 1) ^ ((1 << (32 - n)) - 1), n) for n in range(33))


def _u32_match4(keys):
    """:func:`u32_match` of the IPv4 keys tc makes of addresses, a protocol and ports (a 1,000-filter tree's):
    each key at its own word, with a prefix, the whole protocol byte, or whole ports; None for anything else,
    which the general decoder takes (the same result for these keys: tested against it)."""
    words = _words4([x for val, mask, _off, _offmask in keys for x in (mask, val)],
                    [x for _val, _mask, off, offmask in keys for x in (off, offmask)])
    return None if words is None else _match4(*words)


def _words4(mv, oo):
    """(src, dst, protocol, ports) of IPv4 keys given as a selector's halves (``mv``: mask, val of each key; ``oo``:
    off, offmask), each a word of its own (see :func:`_u32_match4`); None for any other key."""
    src = dst = proto = ports = None
    for i in range(0, len(oo), 2):
        mask, off = mv[i], oo[i]
        if oo[i + 1] or not mask:
            return None
        if off == 16 and dst is None:
            dst = (mv[i + 1], mask)
        elif off == 12 and src is None:
            src = (mv[i + 1], mask)
        elif off == 8 and proto is None and mask == 0xFF0000:
            proto = (mv[i + 1] >> 16) & 0xFF
        elif off == 20 and ports is None and mask in _PORT_MASKS:
            ports = (mv[i + 1], mask)
        else:
            return None
    return src, dst, proto, ports


def _match4(src, dst, proto, ports):
    """The match of :func:`_u32_match4`'s words: src and dst (val, mask), the protocol number, the ports' (val,
    mask); None when a mask is not a prefix's or an address has bits outside it."""
    out = {}
    for field, word in (('src', src), ('dst', dst)):
        if word is not None:
            addr, mask = word
            plen = _PREFIX_LENGTHS_32.get(mask)
            if plen is None or addr & ~mask:
                return None
            out[field] = '%s/%d' % (socket.inet_ntop(socket.AF_INET, addr.to_bytes(4, 'big')), plen)
    if proto is not None:
        out['ip_proto'] = ip_proto_text(proto)
    if ports is not None:
        val, mask = ports
        if mask & 0xFFFF0000:
            out['sport'] = val >> 16
        if mask & 0xFFFF:
            out['dport'] = val & 0xFFFF
    return out


_PORT_MASKS = (0xFFFFFFFF, 0xFFFF0000, 0x0000FFFF)


def u32_match(keys, family):
    """Decode keys into a canonical ``match``: src, dst (prefixes), ip_proto, sport, dport, dscp or tos;
    anything else stays a raw key ``'VVVVVVVV/MMMMMMMM at OFF'`` (as ``tc -d`` prints it) in ``keys``."""
    if family == 4:
        out = _u32_match4(keys)
        if out is not None:
            return out
    return _u32_match_general(keys, family)


def _u32_match_general(keys, family):
    lay = U32_LAYOUT[family]
    words = {}
    raw = []
    for val, mask, off, offmask in keys:
        if offmask or off % 4 or off < 0:
            raw.append(raw_key(val, mask, off))
            continue
        if off in words:  # a second key at one offset: keep it raw rather than merge meaning
            raw.append(raw_key(val, mask, off))
            continue
        words[off] = (val, mask)
    out = {}
    if family == 4:  # one word per address
        for field in ('src', 'dst'):
            base = lay[field]
            word = words.get(base)
            if word is None or not word[1]:
                continue
            addr, mask = word
            plen = _PREFIX_LENGTHS_32.get(mask)
            if plen is None or addr & ~mask:
                continue  # not a prefix: left raw below
            out[field] = '%s/%d' % (socket.inet_ntop(socket.AF_INET, addr.to_bytes(4, 'big')), plen)
            del words[base]
    else:
        for field in ('src', 'dst'):
            base = lay[field]
            parts = [words.get(base + 4 * i, (0, 0)) for i in range(4)]
            if not any(m for _v, m in parts):
                continue
            addr = mask = 0
            for v, m in parts:
                addr = (addr << 32) | v
                mask = (mask << 32) | m
            plen = bin(mask).count('1')
            if mask != ((1 << 128) - 1) ^ ((1 << (128 - plen)) - 1) or addr & ~mask:
                continue  # not a prefix: left raw below
            out[field] = prefix_text(128, addr, plen)
            for i in range(4):
                words.pop(base + 4 * i, None)
    # protocol byte
    poff, pshift = lay['proto'] & ~3, 24 - 8 * (lay['proto'] & 3)
    if poff in words:
        v, m = words[poff]
        if m & (0xFF << pshift) == 0xFF << pshift:
            out['ip_proto'] = ip_proto_text((v >> pshift) & 0xFF)
            m &= ~(0xFF << pshift)
            v &= m
            words[poff] = (v, m)
    # ports
    if lay['ports'] in words:
        v, m = words[lay['ports']]
        if m & 0xFFFF0000 == 0xFFFF0000:
            out['sport'] = v >> 16
            m &= 0xFFFF
        if m & 0xFFFF == 0xFFFF:
            out['dport'] = v & 0xFFFF
            m &= 0xFFFF0000
        words[lay['ports']] = (v & m, m)
    # tos / traffic class
    if 0 in words:
        v, m = words[0]
        shift, span = (16, 0xFF << 16) if family == 4 else (20, 0xFF << 20)
        if m and m & ~span == 0:
            tv, tm = (v >> shift) & 0xFF, (m >> shift) & 0xFF
            if tm == 0xFC:
                out['dscp'] = tv >> 2
            else:
                out['tos'] = '0x%02x/0x%02x' % (tv, tm)
            words[0] = (0, 0)
    for off in sorted(words):
        v, m = words[off]
        if m:
            raw.append(raw_key(v, m, off))
    if raw:
        out['keys'] = sorted(raw, key=raw_sort)
    return out


def raw_key(val, mask, off):
    return '%08x/%08x at %d' % (val & mask, mask, off)


def raw_sort(text):
    return int(text.rsplit(' ', 1)[1]), text


def parse_raw_key(text, field='match.keys'):
    """``'c6120000/ffffff00 at 12'`` (tc -d's form, hex val/mask, decimal offset) to (val, mask, off)."""
    try:
        vm, at, off = str(text).split()
        val, mask = vm.split('/')
        if at != 'at':
            raise ValueError(text)
        val, mask, off = int(val, 16), int(mask, 16), int(off, 0)
    except ValueError:
        raise EdgenetError("'%s' is not a raw u32 key (VALUE/MASK at OFFSET, as tc -d prints it, for example "
                           "'c6120000/ffffff00 at 12')" % (text,), field=field)
    if off % 4 or not -0x10000 < off < 0x10000:
        raise EdgenetError("raw u32 key '%s' needs a 4-byte aligned offset between -65532 and 65532 (bytes from "
                           "the network header; negative: into the link layer header)" % (text,), field=field)
    if not 0 <= mask < 2 ** 32 or not 0 <= val < 2 ** 32:
        raise EdgenetError("raw u32 key '%s' needs a 32-bit value and mask" % (text,), field=field)
    return val & mask, mask, off


def normalize_raw_key(text, field='match.keys'):
    return raw_key(*parse_raw_key(text, field))


def split_mask(text, bits=8, field='match.tos'):
    """``'0x10/0xff'`` or ``16`` to (value, mask)."""
    full = (1 << bits) - 1
    parts = str(text).strip().lower().split('/')
    try:
        val = int(parts[0], 0)
        mask = int(parts[1], 0) if len(parts) == 2 else full
        if len(parts) > 2:
            raise ValueError(text)
    except ValueError:
        raise EdgenetError("'%s' is not VALUE or VALUE/MASK (for example 0x10/0xff)" % (text,), field=field)
    if not 0 <= val <= full or not 0 < mask <= full:
        raise EdgenetError("'%s' is out of range (%d bits)" % (text, bits), field=field)
    return val & mask, mask


def ip_proto_number(text):
    return IP_PROTO[text] if text in IP_PROTO else int(text)


def ip_proto_text(n):
    return IP_PROTO_NAMES.get(n, str(n))


def parse_ip_proto(value, field='match.ip_proto'):
    text = str(value).strip().lower()
    if text == 'icmpv6':
        text = 'ipv6-icmp'
    if text in IP_PROTO:
        return text
    try:
        n = int(text, 0)
    except ValueError:
        raise EdgenetError("'%s' is not an IP protocol (%s or a number)" % (value, ', '.join(sorted(IP_PROTO))),
                           field=field)
    if not 0 <= n < 256:
        raise EdgenetError("IP protocol '%s' is out of range (0 to 255)" % (value,), field=field)
    return ip_proto_text(n)


def u32_options(match, family, classid=None, actions=b'', mark=None):
    """The ``TCA_OPTIONS`` payload of a u32 filter."""
    parts = []
    if classid is not None:
        parts.append(nla_u32(TCA_U32_CLASSID, classid))
    # (tc's terminal flag, with a classid or actions: the kernel runs a node's actions, and classifies with it,
    # only when its selector has it)
    terminal = TC_U32_TERMINAL if classid is not None or actions else 0
    parts.append(nla(TCA_U32_SEL, pack_sel(u32_keys(match, family), terminal)))
    if mark is not None:
        parts.append(nla(TCA_U32_MARK, struct.pack('=III', mark[0], mark[1], 0)))
    if actions:
        parts.append(nla(TCA_U32_ACT | NLA_F_NESTED, actions))
    return b''.join(parts)


def u32_add_template(body, handle, classid, dst, nth):
    """The template of ``body``, a u32 add's request body (:func:`filter_payload` with :func:`u32_options`, no actions
    or mark), for adds that differ from it in handle, classid and the value of their dst key alone (a big tree's
    filters: TcFilter.encode): the body's bytes before the handle, between it and the classid, between that and the
    dst key's value (None without a classid), after that, and the dst's mask. ``handle``, ``classid`` (None: none):
    the numbers the body holds; ``dst``: (address, prefix length) of its dst key, the ``nth`` key of the selector
    (tc's order: src, then dst). None when the body is not laid out so (never: checked all the same, as a slot at a
    wrong place would send every other filter wrong)."""
    addr, plen = dst
    if not 0 < plen <= 32:
        return None
    mask = _MASKS_32[plen]
    at = TCMSG.size + 8  # (the tcmsg and TCA_KIND "u32\0"): TCA_OPTIONS, nested
    if _NLA.unpack_from(body, at)[1] != TCA_OPTIONS | NLA_F_NESTED:
        return None
    at += 4
    slot = None
    if classid is not None:  # TCA_U32_CLASSID comes first
        if body[at:at + 8] != nla_u32(TCA_U32_CLASSID, classid):
            return None
        slot = at + 4
        at += 8
    if _NLA.unpack_from(body, at)[1] != TCA_U32_SEL:
        return None
    key = at + 4 + SEL.size + 16 * nth
    if body[8:12] != _U32.pack(handle) or body[key:key + 16] != _MASK_VAL.pack(mask, addr & mask) + _OFF.pack(16, 0):
        return None
    if slot is None:
        return body[:8], body[12:key + 4], None, body[key + 8:], mask
    return body[:8], body[12:slot], body[slot + 4:key + 4], body[key + 8:], mask


def u32_add_body(template, handle, classid, addr):
    """The request body of a u32 add from its :func:`u32_add_template`: ``handle``, ``classid`` (None when the template
    has none) and the dst's ``addr`` (an int) put in."""
    head, mid, rest, tail, mask = template
    if rest is None:
        return b''.join((head, _U32.pack(handle), mid, (addr & mask).to_bytes(4, 'big'), tail))
    return b''.join((head, _U32.pack(handle), mid, _U32.pack(classid), rest, (addr & mask).to_bytes(4, 'big'), tail))


# -- flower ------------------------------------------------------------------------------------
FL = {
    'classid': 1, 'indev': 2, 'act': 3, 'eth_dst': 4, 'eth_dst_mask': 5, 'eth_src': 6, 'eth_src_mask': 7,
    'eth_type': 8, 'ip_proto': 9, 'ipv4_src': 10, 'ipv4_src_mask': 11, 'ipv4_dst': 12, 'ipv4_dst_mask': 13,
    'ipv6_src': 14, 'ipv6_src_mask': 15, 'ipv6_dst': 16, 'ipv6_dst_mask': 17, 'tcp_src': 18, 'tcp_dst': 19,
    'udp_src': 20, 'udp_dst': 21, 'flags': 22, 'vlan_id': 23, 'vlan_prio': 24, 'vlan_eth_type': 25,
    'tcp_src_mask': 35, 'tcp_dst_mask': 36, 'udp_src_mask': 37, 'udp_dst_mask': 38, 'sctp_src_mask': 39,
    'sctp_dst_mask': 40, 'sctp_src': 41, 'sctp_dst': 42, 'ip_tos': 73, 'ip_tos_mask': 74,
}
TCA_CLS_FLAGS_SKIP_HW = 1
TCA_CLS_FLAGS_NOT_IN_HW = 8
PORT_ATTRS = {'tcp': ('tcp_src', 'tcp_dst'), 'udp': ('udp_src', 'udp_dst'), 'sctp': ('sctp_src', 'sctp_dst')}


def mac_bytes(text):
    return bytes(int(p, 16) for p in text.split(':'))


def mac_text(b):
    return ':'.join('%02x' % c for c in bytearray(b))


def flower_options(match, protocol, classid=None, actions=b''):
    parts = []
    if classid is not None:
        parts.append(nla_u32(FL['classid'], classid))
    if actions:
        parts.append(nla(FL['act'] | NLA_F_NESTED, actions))
    if protocol != 'all':
        parts.append(nla_be16(FL['eth_type'], protocol_number(protocol)))
    for field in ('dst_mac', 'src_mac'):
        if field in match:
            name = 'eth_' + field[:3]
            parts.append(nla(FL[name], mac_bytes(match[field])))
            parts.append(nla(FL[name + '_mask'], b'\xff' * 6))
    if 'vlan_id' in match:
        parts.append(nla_u16(FL['vlan_id'], match['vlan_id']))
    if 'vlan_prio' in match:
        parts.append(nla_u8(FL['vlan_prio'], match['vlan_prio']))
    if 'vlan_ethtype' in match:
        parts.append(nla_be16(FL['vlan_eth_type'], protocol_number(match['vlan_ethtype'])))
    if 'ip_proto' in match:
        parts.append(nla_u8(FL['ip_proto'], ip_proto_number(match['ip_proto'])))
    import ipaddress  # (flower only: a u32 tree's task does not pay its import)

    for field in ('src', 'dst'):
        if field in match:
            net = ipaddress.ip_network(match[field])
            name = 'ipv%d_%s' % (net.version, field)
            parts.append(nla(FL[name], net.network_address.packed))
            parts.append(nla(FL[name + '_mask'], net.netmask.packed))
    names = PORT_ATTRS.get(match.get('ip_proto'))
    for i, field in enumerate(('sport', 'dport')):
        if field in match and names:
            parts.append(nla_be16(FL[names[i]], match[field]))
            parts.append(nla_be16(FL[names[i] + '_mask'], 0xFFFF))
    if 'dscp' in match or 'tos' in match:
        val, mask = (match['dscp'] << 2, 0xFC) if 'dscp' in match else split_mask(match['tos'])
        parts.append(nla_u8(FL['ip_tos'], val))
        parts.append(nla_u8(FL['ip_tos_mask'], mask))
    parts.append(nla_u32(FL['flags'], 0))
    return b''.join(parts)


#: what a flower dump holds that flower_match reads, or the kernel reports (flags, its hardware count)
_FLOWER_READ = frozenset(FL.values()) - frozenset((FL['indev'],)) | frozenset((86,))  # 86: TCA_FLOWER_IN_HW_COUNT
_FLOWER_NAMES = dict((v, k) for k, v in FL.items())
#: tc's words for some of the other flower keys (linux/pkt_cls.h), for an error that names them
_FLOWER_NAMES.update({26: 'enc_key_id', 47: 'ip_flags', 48: 'ip_flags', 71: 'tcp_flags', 72: 'tcp_flags',
                      75: 'ip_ttl', 76: 'ip_ttl', 87: 'src_port range', 88: 'src_port range', 89: 'dst_port range',
                      90: 'dst_port range', 91: 'ct_state', 92: 'ct_state'})


def flower_unmodelled(a):
    """What the flower filter of the attribute map ``a`` matches on that :func:`flower_match` cannot show (a key of
    another kind, such as ``enc_key_id`` or ``ct_state``, a MAC or port under a partial mask, an address under a mask
    that is not a prefix, ``skip_hw``/``skip_sw``): names, for an error. A change would drop them (the kernel makes a
    replaced flower filter from the request alone)."""
    out = []
    for t in sorted(set(a) - _FLOWER_READ):
        name = _FLOWER_NAMES.get(t, 'attribute %d' % t)
        if name not in out:
            out.append(name)
    for name in ('eth_dst', 'eth_src'):
        if FL[name] in a and a.get(FL[name + '_mask'], b'\xff' * 6) != b'\xff' * 6:
            out.append(name + ' under a mask')
    for names in PORT_ATTRS.values():
        for name in names:
            if FL[name] in a and a.get(FL[name + '_mask'], b'\xff\xff')[:2] != b'\xff\xff':
                out.append(name + ' under a mask')
    for version in (4, 6):
        for field in ('src', 'dst'):
            mask = a.get(FL['ipv%d_%s_mask' % (version, field)])
            if mask:
                bits = int.from_bytes(mask, 'big')
                ones = bin(bits).count('1')
                if bits != ((1 << ones) - 1) << (len(mask) * 8 - ones):
                    out.append('ipv%d_%s under a mask that is not a prefix' % (version, field))
    if FL['flags'] in a and u32_of(a[FL['flags']]) & 3:
        out.append('skip_hw' if u32_of(a[FL['flags']]) & 1 else 'skip_sw')
    return out


def flower_match(a):
    """Decode a flower ``TCA_OPTIONS`` attribute map into a canonical ``match``."""
    import ipaddress  # (flower only: a u32 tree's task does not pay its import)

    out = {}
    for field in ('dst', 'src'):
        name = 'eth_' + field
        if FL[name] in a:
            mask = a.get(FL[name + '_mask'], b'\xff' * 6)
            if mask == b'\xff' * 6:
                out[field + '_mac'] = mac_text(a[FL[name]])
    if FL['vlan_id'] in a:
        out['vlan_id'] = struct.unpack('=H', a[FL['vlan_id']][:2])[0]
    if FL['vlan_prio'] in a:
        out['vlan_prio'] = bytearray(a[FL['vlan_prio']])[0]
    if FL['vlan_eth_type'] in a:
        out['vlan_ethtype'] = protocol_text(struct.unpack('>H', a[FL['vlan_eth_type']][:2])[0])
    if FL['ip_proto'] in a:
        out['ip_proto'] = ip_proto_text(bytearray(a[FL['ip_proto']])[0])
    for version in (4, 6):
        for field in ('src', 'dst'):
            name = 'ipv%d_%s' % (version, field)
            if FL[name] in a:
                addr = ipaddress.ip_address(a[FL[name]])
                mask = a.get(FL[name + '_mask'])
                plen = bin(int.from_bytes(mask, 'big')).count('1') if mask else addr.max_prefixlen
                out[field] = str(ipaddress.ip_network((addr, plen), strict=False))
    names = PORT_ATTRS.get(out.get('ip_proto'))
    if names:
        for i, field in enumerate(('sport', 'dport')):
            if FL[names[i]] in a:
                out[field] = struct.unpack('>H', a[FL[names[i]]][:2])[0]
    if FL['ip_tos'] in a:
        val = bytearray(a[FL['ip_tos']])[0]
        mask = bytearray(a.get(FL['ip_tos_mask'], b'\xff'))[0]
        if mask == 0xFC:
            out['dscp'] = val >> 2
        else:
            out['tos'] = '0x%02x/0x%02x' % (val, mask)
    return out


# -- matchall, fw, basic, bpf ------------------------------------------------------------------
TCA_MATCHALL_CLASSID, TCA_MATCHALL_ACT, TCA_MATCHALL_FLAGS = 1, 2, 3
TCA_FW_CLASSID, TCA_FW_ACT, TCA_FW_MASK = 1, 4, 5
TCA_BASIC_CLASSID, TCA_BASIC_ACT = 1, 3
TCA_BPF_ACT, TCA_BPF_CLASSID, TCA_BPF_FD, TCA_BPF_NAME, TCA_BPF_FLAGS, TCA_BPF_TAG, TCA_BPF_ID = 1, 3, 6, 7, 8, 10, 11
TCA_BPF_FLAG_ACT_DIRECT = 1

#: per classifier: (classid attribute, actions attribute)
CLS_ATTRS = {
    'u32': (TCA_U32_CLASSID, TCA_U32_ACT),
    'flower': (FL['classid'], FL['act']),
    'matchall': (TCA_MATCHALL_CLASSID, TCA_MATCHALL_ACT),
    'fw': (TCA_FW_CLASSID, TCA_FW_ACT),
    'basic': (TCA_BASIC_CLASSID, TCA_BASIC_ACT),
    'bpf': (TCA_BPF_CLASSID, TCA_BPF_ACT),
}


def simple_options(kind, classid=None, actions=b'', extra=b''):
    cls_attr, act_attr = CLS_ATTRS[kind]
    parts = []
    if classid is not None:
        parts.append(nla_u32(cls_attr, classid))
    if actions:
        parts.append(nla(act_attr | NLA_F_NESTED, actions))
    return b''.join(parts) + extra


# -- actions -----------------------------------------------------------------------------------
TCA_ACT_KIND, TCA_ACT_OPTIONS = 1, 2
TC_ACT = {'continue': -1, 'pass': 0, 'reclassify': 1, 'drop': 2, 'pipe': 3, 'stolen': 4, 'queued': 5,
          'repeat': 6, 'redirect': 7, 'trap': 8}
TC_ACT_NAMES = dict((v, k) for k, v in TC_ACT.items())
TC_ACT_ALIASES = {'ok': 'pass', 'shot': 'drop', 'unspec': 'continue'}
TC_GEN = struct.Struct('=IIiii')  # index, capab, action, refcnt, bindcnt
MIRRED = {('egress', 'redirect'): 1, ('egress', 'mirror'): 2, ('ingress', 'redirect'): 3, ('ingress', 'mirror'): 4}
MIRRED_NAMES = dict((v, k) for k, v in MIRRED.items())
TCA_GACT_PARMS = 2
TCA_MIRRED_PARMS = 2
TCA_POLICE_TBF, TCA_POLICE_RATE, TCA_POLICE_RESULT, TCA_POLICE_RATE64 = 1, 2, 5, 8
TCA_SKBEDIT_PARMS, TCA_SKBEDIT_PRIORITY, TCA_SKBEDIT_QUEUE_MAPPING, TCA_SKBEDIT_MARK = 2, 3, 4, 5
TCA_VLAN_PARMS, TCA_VLAN_PUSH_VLAN_ID, TCA_VLAN_PUSH_VLAN_PROTOCOL, TCA_VLAN_PUSH_VLAN_PRIORITY = 2, 3, 4, 6
VLAN_ACTIONS = {'pop': 1, 'push': 2, 'modify': 3}
VLAN_NAMES = dict((v, k) for k, v in VLAN_ACTIONS.items())
RATESPEC = struct.Struct('=BBHhHI')  # cell_log, linklayer, overhead, cell_align, mpu, rate
POLICE = struct.Struct('=IiIII12s12siiI')
TC_LINKLAYER_ETHERNET = 1


def act_name(n):
    return TC_ACT_NAMES.get(n, str(n))


def rtab(rate_bytes, mtu=2047):
    """tc_calc_rtable (tc_core.c): cell_log and the 256-slot transmit-time table for ``rate_bytes``."""
    cell_log = 0
    while (mtu >> cell_log) > 255:
        cell_log += 1
    table = []
    for i in range(256):
        size = (i + 1) << cell_log
        table.append(_tc.xmittime(rate_bytes, size))
    return cell_log, struct.pack('=256I', *table)


def police_parms(act, ticks=None):
    """(TCA_OPTIONS parts) of a police action: rate (bit/s), burst (bytes), exceed, conform. ``ticks``: the bucket to
    send instead of the one tc makes of the burst (the kernel's own, which a size read back from it does not make
    again: that is cut to whole microseconds)."""
    rate_bytes = act['rate'] // 8
    cell_log, table = rtab(min(rate_bytes, 0xFFFFFFFF))
    rate = RATESPEC.pack(cell_log, TC_LINKLAYER_ETHERNET, 0, -1, 0, min(rate_bytes, 0xFFFFFFFF))
    burst = _tc.xmittime(rate_bytes, act['burst']) if ticks is None else ticks
    parms = POLICE.pack(0, TC_ACT[act['exceed']], 0, burst, 0, rate, b'\0' * 12, 0, 0, 0)
    parts = [nla(TCA_POLICE_TBF, parms), nla(TCA_POLICE_RATE, table),
             nla(TCA_POLICE_RESULT, struct.pack('=i', TC_ACT[act['conform']]))]
    if rate_bytes >= 2 ** 32:
        parts.append(nla(TCA_POLICE_RATE64, struct.pack('=Q', rate_bytes)))
    return parts


def encode_action(act, ifindex=None, ticks=None):
    """One canonical action as (kind, [option attributes]).  ``ifindex``: mirred's target device; ``ticks``: a police
    action's bucket (:func:`police_parms`)."""
    kind = act['kind']
    if kind == 'gact':
        return kind, [nla(TCA_GACT_PARMS, TC_GEN.pack(0, 0, TC_ACT[act['action']], 0, 0))]
    if kind == 'mirred':
        verb = act['action']
        control = TC_ACT['stolen'] if verb == 'redirect' else TC_ACT['pipe']
        parms = TC_GEN.pack(0, 0, control, 0, 0) + struct.pack('=iI', MIRRED[(act['direction'], verb)], ifindex)
        return kind, [nla(TCA_MIRRED_PARMS, parms)]
    if kind == 'police':
        return kind, police_parms(act, ticks)
    if kind == 'skbedit':
        parts = [nla(TCA_SKBEDIT_PARMS, TC_GEN.pack(0, 0, TC_ACT['pipe'], 0, 0))]
        if 'priority' in act:
            parts.append(nla_u32(TCA_SKBEDIT_PRIORITY, parent_int(act['priority'])))
        if 'queue_mapping' in act:
            parts.append(nla_u16(TCA_SKBEDIT_QUEUE_MAPPING, act['queue_mapping']))
        if 'mark' in act:
            parts.append(nla_u32(TCA_SKBEDIT_MARK, act['mark']))
        return kind, parts
    if kind == 'vlan':
        parts = [nla(TCA_VLAN_PARMS, TC_GEN.pack(0, 0, TC_ACT['pipe'], 0, 0) +
                     struct.pack('=i', VLAN_ACTIONS[act['action']]))]
        if act['action'] != 'pop':
            parts.append(nla_u16(TCA_VLAN_PUSH_VLAN_ID, act['id']))
            parts.append(nla_be16(TCA_VLAN_PUSH_VLAN_PROTOCOL, protocol_number(act['protocol'])))
            parts.append(nla_u8(TCA_VLAN_PUSH_VLAN_PRIORITY, act['priority']))
        return kind, parts
    raise EdgenetError("unknown action kind '%s'" % kind, field='actions')


def encode_actions(actions, ifindex_of=None, ticks=None):
    """The nested action list (one nested attribute per action, numbered from 1). ``ticks``: {index of a police
    action: its bucket to send} (:func:`police_parms`), or None."""
    out = []
    for order, act in enumerate(actions, 1):
        ifindex = ifindex_of(act['dev']) if act.get('kind') == 'mirred' else None
        kind, opts = encode_action(act, ifindex, ticks.get(order - 1) if ticks else None)
        out.append(nest(order, [nla_str(TCA_ACT_KIND, kind), nest(TCA_ACT_OPTIONS, opts)]))
    return b''.join(out)


#: per action kind, the TCA_<KIND>_* option types decode_actions reads or the kernel reports (tm, parms, pad...)
_ACT_READ = {
    'gact': frozenset((1, 2, 4)),  # tm, parms, pad (not 3: prob, a random action)
    'mirred': frozenset((1, 2, 3)),  # tm, parms, pad (not 4: blockid)
    'police': frozenset((1, 2, 5, 6, 7, 8)),  # tbf, rate, result, tm, pad, rate64 (not peakrate, avrate, pkt rates)
    'skbedit': frozenset((1, 2, 3, 4, 5, 6)),  # tm, parms, priority, queue_mapping, mark, pad (not ptype, mask...)
    'vlan': frozenset((1, 2, 3, 4, 5, 6)),  # tm, parms, id, protocol, pad, priority (not push_eth)
}
_ACT_NAMES = {
    ('gact', 3): 'random', ('mirred', 4): 'blockid', ('police', 3): 'peakrate', ('police', 4): 'avrate',
    ('police', 9): 'peakrate', ('police', 10): 'pkts_rate', ('police', 11): 'pkts_burst', ('skbedit', 7): 'ptype',
    ('skbedit', 8): 'mark mask', ('skbedit', 9): 'inheritdsfield', ('skbedit', 10): 'queue_mapping range',
    ('vlan', 7): 'push_eth dst', ('vlan', 8): 'push_eth src',
}


def actions_unmodelled(payload):
    """What the actions of a nested action list hold that :func:`decode_actions` cannot show (a cookie, a random
    gact, a police peak rate...): names, for an error. A change of the filter would drop them (its actions are made
    from the request). Actions of other kinds are not named here: the module cannot send them at all."""
    out = []
    for order, body in sorted(attrs(payload), key=lambda x: x[0]):
        a = attr_map(body)
        kind = string_of(a.get(TCA_ACT_KIND, b''))
        read = _ACT_READ.get(kind)
        if read is None:
            continue
        where = 'action %d (%s)' % (order, kind)
        if 6 in a:
            out.append(where + ' cookie')
        for t in sorted(set(attr_map(a.get(TCA_ACT_OPTIONS, b''))) - read):
            out.append('%s %s' % (where, _ACT_NAMES.get((kind, t), 'attribute %d' % t)))
        if kind == 'police' and TCA_POLICE_TBF in attr_map(a.get(TCA_ACT_OPTIONS, b'')):
            p = POLICE.unpack_from(attr_map(a[TCA_ACT_OPTIONS])[TCA_POLICE_TBF])
            if RATESPEC.unpack(p[6])[5] and (where + ' peakrate') not in out:
                out.append(where + ' peakrate')
    return out


def decode_actions(payload, ifname_of=None):
    """Canonical actions from a nested action list (as the kernel dumps it)."""
    out = []
    for _order, body in sorted(attrs(payload), key=lambda x: x[0]):
        a = attr_map(body)
        kind = string_of(a.get(TCA_ACT_KIND, b''))
        o = attr_map(a.get(TCA_ACT_OPTIONS, b''))
        act = {'kind': kind}
        if kind == 'gact' and TCA_GACT_PARMS in o:
            act['action'] = act_name(TC_GEN.unpack_from(o[TCA_GACT_PARMS])[2])
        elif kind == 'mirred' and TCA_MIRRED_PARMS in o:
            eaction, ifindex = struct.unpack_from('=iI', o[TCA_MIRRED_PARMS], TC_GEN.size)
            direction, verb = MIRRED_NAMES.get(eaction, ('egress', str(eaction)))
            act.update(action=verb, direction=direction,
                       dev=ifname_of(ifindex) if ifname_of else 'if%d' % ifindex)
        elif kind == 'police' and TCA_POLICE_TBF in o:
            p = POLICE.unpack_from(o[TCA_POLICE_TBF])
            rate_bytes = RATESPEC.unpack(p[5])[5]
            if TCA_POLICE_RATE64 in o:
                rate_bytes = struct.unpack('=Q', o[TCA_POLICE_RATE64][:8])[0]
            act['rate'] = rate_bytes * 8
            act['burst'] = _tc.xmitsize(rate_bytes, p[3]) if rate_bytes else 0
            act['exceed'] = act_name(p[1])
            act['conform'] = act_name(struct.unpack('=i', o[TCA_POLICE_RESULT][:4])[0]) \
                if TCA_POLICE_RESULT in o else 'pass'
            act['_ticks'] = p[3]
        elif kind == 'skbedit':
            if TCA_SKBEDIT_PRIORITY in o:
                act['priority'] = parent_text(u32_of(o[TCA_SKBEDIT_PRIORITY]))
            if TCA_SKBEDIT_QUEUE_MAPPING in o:
                act['queue_mapping'] = struct.unpack('=H', o[TCA_SKBEDIT_QUEUE_MAPPING][:2])[0]
            if TCA_SKBEDIT_MARK in o:
                act['mark'] = u32_of(o[TCA_SKBEDIT_MARK])
        elif kind == 'vlan' and TCA_VLAN_PARMS in o:
            v_action = struct.unpack_from('=i', o[TCA_VLAN_PARMS], TC_GEN.size)[0]
            act['action'] = VLAN_NAMES.get(v_action, str(v_action))
            if TCA_VLAN_PUSH_VLAN_ID in o:
                act['id'] = struct.unpack('=H', o[TCA_VLAN_PUSH_VLAN_ID][:2])[0]
            if TCA_VLAN_PUSH_VLAN_PROTOCOL in o:
                act['protocol'] = protocol_text(struct.unpack('>H', o[TCA_VLAN_PUSH_VLAN_PROTOCOL][:2])[0])
            if TCA_VLAN_PUSH_VLAN_PRIORITY in o:
                act['priority'] = bytearray(o[TCA_VLAN_PUSH_VLAN_PRIORITY])[0]
        out.append(act)
    return out


# -- whole filters -----------------------------------------------------------------------------
def decode_filter(body):
    """A filter message body to a flat dict: ifindex, parent, prio, protocol, handle (int), kind,
    classid (int or None), opts (attribute map of TCA_OPTIONS), chain.  None for non-filters."""
    _family, index, handle, parent, info = TCMSG.unpack_from(body, 0)
    a = attr_map(body, 20)
    kind = a.get(TCA_KIND)
    if kind is None:
        return None
    text = _KIND_TEXT.get(kind)
    if text is None:
        text = _KIND_TEXT[kind] = string_of(kind)
    protocol = protocol_of(info)
    chain = a.get(TCA_CHAIN)
    opts = a.get(TCA_OPTIONS)
    return {'index': index, 'parent': parent, 'prio': info >> 16, 'protocol': protocol,
            'handle': handle, 'kind': text, 'chain': u32_of(chain) if chain is not None else 0,
            'opts': attr_map(opts) if opts else {}}


_KIND_TEXT = {}  # TCA_KIND payload: the kind's name (a dump repeats a few)
_PROTOCOL_TEXT = {}  # the protocol half of tcm_info (network order): its name


def protocol_of(info):
    """The protocol name of a filter's tcm_info (memoized: a dump repeats a few)."""
    protocol = _PROTOCOL_TEXT.get(info & 0xFFFF)
    if protocol is None:
        protocol = _PROTOCOL_TEXT[info & 0xFFFF] = protocol_text(socket.ntohs(info & 0xFFFF))
    return protocol


#: how a u32 filter of chain 0 begins after its tcmsg: TCA_KIND "u32", TCA_CHAIN 0
_U32_HEAD = _NLA.pack(8, TCA_KIND) + b'u32\0' + _NLA.pack(8, TCA_CHAIN) + b'\0\0\0\0'
#: the options of a u32 node that u32_plain_node takes: what decode_filter's reader uses of it (classid,
#: selector) and what it leaves alone (the node's hash table, flags, counters and their padding); with anything
#: else (actions, a mark, a link, police, indev, a divisor; skip_hw or skip_sw in the flags) the message goes to
#: decode_filter
_U32_PLAIN = frozenset((TCA_U32_CLASSID, TCA_U32_HASH, TCA_U32_SEL, TCA_U32_FLAGS, TCA_U32_PCNT, TCA_U32_PAD))


def u32_plain_node(body):
    """(handle, tcm_info, classid or None, TCA_U32_SEL payload) of a u32 filter message of chain 0 whose options
    are only those of :data:`_U32_PLAIN`, with a selector: what most of a large u32 set dumps, read without
    decode_filter's attribute maps. None for any other message (decode_filter reads it): the result is the same
    either way."""
    if body[20:36] != _U32_HEAD or len(body) < 40:
        return None
    length, kind = _NLA.unpack_from(body, 36)
    end = 36 + length
    if kind & 0x3FFF != TCA_OPTIONS or length < 4 or ((end + 3) & ~3) < len(body) or end > len(body):
        return None  # (not the options, something after them, or options longer than the message)
    offset, classid, sel = 40, None, None
    unpack = _NLA.unpack_from
    while offset + 4 <= end:
        n, t = unpack(body, offset)
        if n < 4 or offset + n > end:
            return None
        t &= 0x3FFF
        if t not in _U32_PLAIN:
            return None
        if t == TCA_U32_SEL:
            sel = body[offset + 4:offset + n]
        elif t == TCA_U32_CLASSID:
            if n < 8:
                return None
            classid = _U32.unpack_from(body, offset + 4)[0]
        elif t == TCA_U32_FLAGS and (n < 8 or _U32.unpack_from(body, offset + 4)[0] & 3):
            return None  # (skip_hw or skip_sw: decode_filter names them)
        offset += (n + 3) & ~3
    if sel is None:
        return None
    _family, _index, handle, _parent, info = TCMSG.unpack_from(body, 0)
    return handle, info, classid, sel


_KIND_ATTRS = {}  # kind: its TCA_KIND attribute


def filter_payload(ifindex, parent, prio, protocol, handle, kind=None, options=None):
    """A filter request body: tcmsg, TCA_KIND, TCA_OPTIONS (all given ones)."""
    body = TCMSG.pack(0, ifindex, handle, parent, filter_info(prio, protocol))
    if kind is not None:
        kind_attr = _KIND_ATTRS.get(kind)
        if kind_attr is None:
            kind_attr = _KIND_ATTRS[kind] = nla_str(TCA_KIND, kind)
        body += kind_attr
    if options is not None:
        body += nla(TCA_OPTIONS | NLA_F_NESTED, options)
    return body


# -- bpf objects -------------------------------------------------------------------------------
ELF_SHDR = struct.Struct('<IIQQQQIIQQ')
ELF_SYM = struct.Struct('<IBBHQQ')  # Elf64_Sym: name, info, other, shndx, value, size
ELF_REL = struct.Struct('<QQ')  # Elf64_Rel: offset, info (symbol << 32 | type)
SHT_SYMTAB = 2
SHT_RELA = 4
SHT_REL = 9
EM_BPF = 247
STB_GLOBAL = 1
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION = 0, 1, 2, 3
R_BPF_64_64 = 1
BPF_LD_IMM64 = 0x18
BPF_PSEUDO_MAP_FD = 1
# struct bpf_elf_map (iproute2 include/bpf_elf.h); an object may declare a shorter one (at least 4 fields)
BPF_ELF_MAP = ('type', 'size_key', 'size_value', 'max_elem', 'flags', 'id', 'pinning', 'inner_id', 'inner_idx')
BPF_ELF_MAP_MIN = 4
BPF_MAX_MAPS = 64  # what tc's loader accepts in one maps section
PIN_NONE, PIN_OBJECT_NS, PIN_GLOBAL_NS = 0, 1, 2
BPF_MAP_TYPES = ('unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array',
                 'stack_trace', 'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps',
                 'hash_of_maps', 'devmap', 'sockmap', 'cpumap', 'xskmap', 'sockhash', 'cgroup_storage',
                 'reuseport_sockarray', 'percpu_cgroup_storage', 'queue', 'stack', 'sk_storage', 'devmap_hash',
                 'struct_ops', 'ringbuf', 'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf',
                 'cgrp_storage', 'arena')
BPF_MAP_OF_MAPS = (12, 13)  # they need an inner map (inner_id / inner_idx): not supported


def _elf(data):
    """[(name, type, bytes, link, info)] of the sections of a little-endian ELF64 BPF object."""
    if data[:4] != b'\x7fELF' or data[4:6] != b'\x02\x01':
        raise ValueError('not a little-endian 64-bit ELF file')
    machine = struct.unpack_from('<H', data, 0x12)[0]
    if machine != EM_BPF:
        raise ValueError('not a BPF object (ELF machine %d)' % machine)
    shoff = struct.unpack_from('<Q', data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3A)
    headers = [ELF_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = []
    for h in headers:
        name = names[h[0]:names.index(b'\0', h[0])].decode('utf-8', 'replace')
        body = data[h[4]:h[4] + h[5]] if h[1] != 8 else b''  # SHT_NOBITS (.bss) has no bytes in the file
        out.append((name, h[1], body, h[6], h[7]))
    return out


def elf_sections(data):
    """{name: (index, type, bytes, info)} of a little-endian ELF64 BPF object."""
    return dict((s[0], (i, s[1], s[2], s[4])) for i, s in enumerate(_elf(data)))


def _symbols(secs, index):
    """[(name, bind, type, shndx, value)] of the symbol table at section ``index``."""
    _name, stype, body, link, _info = secs[index]
    if stype != SHT_SYMTAB or not 0 < link < len(secs):
        raise ValueError('relocations refer to section %d, which is not a symbol table' % index)
    strings = secs[link][2]
    out = []
    for off in range(0, len(body) - ELF_SYM.size + 1, ELF_SYM.size):
        name, info, _other, shndx, value, _size = ELF_SYM.unpack_from(body, off)
        end = strings.find(b'\0', name)
        out.append((strings[name:end if end >= 0 else len(strings)].decode('utf-8', 'replace'), info >> 4,
                    info & 0xF, shndx, value))
    return out


def bpf_maps(secs, symbols):
    """The maps declared in the ``maps`` section the way tc reads them: one struct bpf_elf_map per global
    object symbol of the section, all of one size (the section's size / the number of symbols).
    Returns (index of the section, entry size, {offset: map}) - a map is a dict of BPF_ELF_MAP plus name."""
    index = [i for i, s in enumerate(secs) if s[0] == 'maps']
    if not index:
        return None, 0, {}
    index = index[0]
    body = secs[index][2]
    names = dict((s[4], s[0]) for s in symbols
                 if s[1] == STB_GLOBAL and s[2] in (STT_NOTYPE, STT_OBJECT) and s[3] == index)
    count = sum(1 for s in symbols if s[1] == STB_GLOBAL and s[2] in (STT_NOTYPE, STT_OBJECT) and s[3] == index)
    if not count or count > BPF_MAX_MAPS:
        raise ValueError('section maps declares %d maps (global symbols), tc reads 1 to %d' % (count, BPF_MAX_MAPS))
    size = len(body) // count
    if len(body) % count or size % 4:
        raise ValueError('section maps (%d bytes) is not %d struct bpf_elf_map of one size' % (len(body), count))
    if size < 4 * BPF_ELF_MAP_MIN or size > 4 * len(BPF_ELF_MAP):
        raise ValueError('section maps holds %d-byte map entries; struct bpf_elf_map has %d to %d bytes' % (
            size, 4 * BPF_ELF_MAP_MIN, 4 * len(BPF_ELF_MAP)))
    maps = {}
    for off in range(0, len(body), size):
        if off not in names:
            raise ValueError('section maps has no map symbol at offset %d (entries of %d bytes)' % (off, size))
        words = struct.unpack_from('<%dI' % (size // 4), body, off)
        m = dict(zip(BPF_ELF_MAP, words + (0,) * (len(BPF_ELF_MAP) - len(words))))
        m['name'] = names[off]
        maps[off] = m
    return index, size, maps


def _map_check(m):
    name = m['name']
    if not 0 < m['type'] < len(BPF_MAP_TYPES):
        raise ValueError('map %s has an unknown type %d' % (name, m['type']))
    if m['type'] in BPF_MAP_OF_MAPS:
        raise ValueError('map %s is a map of maps (%s): not supported' % (name, BPF_MAP_TYPES[m['type']]))
    if m['pinning'] != PIN_NONE:
        what = {PIN_OBJECT_NS: 'PIN_OBJECT_NS', PIN_GLOBAL_NS: 'PIN_GLOBAL_NS'}.get(m['pinning'], m['pinning'])
        raise ValueError('map %s has pinning %s: only PIN_NONE (0, a new map for each load) is supported' % (
            name, what))


def _relocation_text(secs, sym, rtype):
    name, _bind, stype, shndx, _value = sym
    target = secs[shndx][0] if 0 < shndx < len(secs) else ''
    if stype == STT_FUNC or (stype == STT_SECTION and target in ('.text',)) or rtype == 10:
        return 'a call to function %s (bpf-to-bpf calls)' % (name or target)
    if target.startswith(('.data', '.bss', '.rodata')):
        return 'a reference to the global variable %s in section %s' % (name or target, target)
    if not 0 < shndx < len(secs):
        return 'a reference to the undefined symbol %s' % name
    return 'a relocation (type %d) against %s in section %s' % (rtype, name or target, target)


def bpf_object(data, section):
    """(instructions, license, maps) of ``section`` of a BPF object, the way tc's ELF loader reads it.

    Only relocations of map references are supported: an ld_imm64 with an R_BPF_64_64 relocation against a
    symbol of the ``maps`` section.  The instructions come back relocated (src_reg BPF_PSEUDO_MAP_FD, imm 0 -
    the kernel's tag is computed with map fds zeroed); maps is a list of the maps used, each a dict of the
    struct bpf_elf_map fields plus name and ``insns`` (the byte offsets of the ld_imm64 that take its fd)."""
    secs = _elf(data)
    index = [i for i, s in enumerate(secs) if s[0] == section]
    if not index:
        raise KeyError(section)
    index = index[0]
    insns = bytearray(secs[index][2])
    if not insns or len(insns) % 8:
        raise ValueError('section %s holds no BPF instructions' % section)
    used = {}
    maps_index, size, maps = None, 0, None
    for name, stype, body, link, info in secs:
        if stype not in (SHT_REL, SHT_RELA) or info != index or not body:
            continue
        if stype == SHT_RELA:
            raise ValueError('section %s has RELA relocations (%s): not supported' % (section, name))
        symbols = _symbols(secs, link)
        if maps is None:
            maps_index, size, maps = bpf_maps(secs, symbols)
        for off in range(0, len(body) - ELF_REL.size + 1, ELF_REL.size):
            at, rinfo = ELF_REL.unpack_from(body, off)
            sym_index, rtype = rinfo >> 32, rinfo & 0xFFFFFFFF
            if sym_index >= len(symbols):
                raise ValueError('a relocation of section %s names symbol %d, beyond the symbol table' % (
                    section, sym_index))
            sym = symbols[sym_index]
            if maps_index is None or sym[3] != maps_index or rtype != R_BPF_64_64:
                raise ValueError('section %s has %s: only references to maps (section maps) are supported' % (
                    section, _relocation_text(secs, sym, rtype)))
            if at % 8 or at + 16 > len(insns) or insns[at] != BPF_LD_IMM64:
                raise ValueError('section %s refers to map %s from instruction %d, which is not a 64-bit load' % (
                    section, sym[0], at // 8))
            where = sym[4] + struct.unpack_from('<i', insns, at + 4)[0]  # REL: the addend is in the immediate
            if where not in maps:
                raise ValueError('section %s refers to symbol %s at offset %d of section maps, where no map '
                                 'begins (entries of %d bytes)' % (section, sym[0], where, size))
            m = maps[where]
            _map_check(m)
            insns[at + 1] = (insns[at + 1] & 0x0F) | (BPF_PSEUDO_MAP_FD << 4)
            insns[at + 4:at + 8] = b'\0\0\0\0'
            insns[at + 12:at + 16] = b'\0\0\0\0'
            used.setdefault(where, dict(m, insns=[]))['insns'].append(at)
    lic = [s[2] for s in secs if s[0] == 'license']
    return bytes(insns), string_of(lic[0]) if lic and lic[0] else '', [used[k] for k in sorted(used)]


def bpf_program(data, section):
    """(instructions, license) of ``section`` of a BPF object; the instructions relocated as :func:`bpf_object`
    does (map references marked, their fds zeroed)."""
    insns, lic, _maps = bpf_object(data, section)
    return insns, lic


def bpf_tags(insns):
    """The tags the kernel may give the program (bpf_prog_calc_tag): the first 8 bytes of a digest of the
    instructions (map fds zeroed): SHA-1 on older kernels (6.1), SHA-256 on newer ones (6.18)."""
    import hashlib

    raw = bytearray(insns)
    for off in range(0, len(raw) - 15, 8):
        if raw[off] == 0x18 and (raw[off + 1] >> 4) == BPF_PSEUDO_MAP_FD:  # ld_imm64 of a map fd
            raw[off + 4:off + 8] = b'\0\0\0\0'
            raw[off + 12:off + 16] = b'\0\0\0\0'
    return [hashlib.sha256(bytes(raw)).hexdigest()[:16], hashlib.sha1(bytes(raw)).hexdigest()[:16]]


def bpf_options(name, fd, direct_action, classid=None, actions=b''):
    parts = [nla_u32(TCA_BPF_FD, fd), nla_str(TCA_BPF_NAME, name)]
    if direct_action:
        parts.append(nla_u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT))
    return simple_options('bpf', classid, actions, b''.join(parts))
