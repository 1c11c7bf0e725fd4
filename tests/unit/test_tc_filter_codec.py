# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tc filter wire codec (_tc_filter) against bytes the kernel produced.

The hex strings below are TCA_U32_SEL / TCA_U32_ACT payloads dumped from a 6.18 kernel after these iproute2 6.1
commands (and the matching `tc -d filter show` lines are quoted next to them):

    tc filter add dev e0 parent 1: protocol ip prio 10 u32 match ip src 198.18.0.0/24 match ip dport 80 0xffff \
        match ip tos 0xb8 0xfc flowid 1:10 action mirred egress redirect dev ifb0     (ifb0 is ifindex 4)
    tc filter add dev e0 parent 1: protocol ipv6 prio 20 u32 match ip6 src fd42:ed6e::/64 match ip6 dport 53 \
        0xffff match ip6 priority 0xb8 0xfc match ip6 protocol 17 0xff flowid 1:10
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _tc_filter as c
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

# fh 800::800 ... *flowid 1:10
#   match c6120000/ffffff00 at 12
#   match 00000050/0000ffff at 20
#   match 00b80000/00fc0000 at 0
SEL_V4 = ('01000300000000000000000000000000'
          'ffffff00c61200000c00000000000000'
          '0000ffff000000501400000000000000'
          '00fc000000b800000000000000000000')
ACT_MIRRED = ('a40001000b0001006d69727265640000440004001400010000000000000000000000000000000000140007000000000000000000'
              '000000000000000018000300000000000000000000000000000000000000000008000a0000000000480002002000020001000000'
              '000000000400000001000000010000000100000004000000240001000f000000000000000f0000000000000000000000000000'
              '000000000000000000')
# fh 801::800 ... *flowid 1:10
#   match fd42ed6e/ffffffff at 8
#   match 00000000/ffffffff at 12
#   match 00000035/0000ffff at 40
#   match 0b800000/0fc00000 at 0
#   match 00001100/0000ff00 at 4
SEL_V6 = ('01000500000000000000000000000000'
          'fffffffffd42ed6e0800000000000000'
          'ffffffff000000000c00000000000000'
          '0000ffff000000352800000000000000'
          '0fc000000b8000000000000000000000'
          '0000ff00000011000400000000000000')


def test_v4_selector_is_byte_identical_to_tc():
    match = {'src': '198.18.0.0/24', 'dport': 80, 'dscp': 46}
    assert c.pack_sel(c.u32_keys(match, 4), c.TC_U32_TERMINAL).hex() == SEL_V4


def test_v4_selector_decodes_from_kernel_bytes():
    flags, keys = c.unpack_sel(bytes.fromhex(SEL_V4))
    assert flags == c.TC_U32_TERMINAL
    assert keys == [(0xc6120000, 0xffffff00, 12, 0), (0x00000050, 0x0000ffff, 20, 0), (0x00b80000, 0x00fc0000, 0, 0)]
    assert c.u32_match(keys, 4) == {'src': '198.18.0.0/24', 'dport': 80, 'dscp': 46}


def test_v4_prefixes_every_length_and_what_stays_raw():
    # every prefix length decodes as the prefix u32_keys packs it from (/0 packs no key at all)
    for plen in range(1, 33):
        net = '198.18.0.0/%d' % plen if plen >= 15 else '0.0.0.0/%d' % plen
        keys = [k + (0,) for k in c.u32_keys({'dst': net}, 4)]
        assert c.u32_match(keys, 4) == {'dst': net}, plen
    # host bits set (a selector tc would not send) and a mask with a hole stay raw keys, masked as tc -d prints
    assert c.u32_match([(0xc6120001, 0xffffff00, 16, 0)], 4) == {'keys': ['c6120000/ffffff00 at 16']}
    assert c.u32_match([(0xc6120000, 0xff00ff00, 16, 0)], 4) == {'keys': ['c6000000/ff00ff00 at 16']}


def test_v6_selector_decodes_and_reencodes_to_the_same_keys():
    _flags, keys = c.unpack_sel(bytes.fromhex(SEL_V6))
    match = c.u32_match(keys, 6)
    assert match == {'src': 'fd42:ed6e::/64', 'ip_proto': 'udp', 'dport': 53, 'dscp': 46}
    assert sorted(c.u32_keys(match, 6)) == sorted(k[:3] for k in keys)


def test_merged_keys_and_raw_leftovers():
    # sport and dport share one word; a tos that is not a DSCP mask stays tos; other bits stay raw keys
    keys = c.u32_keys({'sport': 22, 'dport': 80, 'tos': '0x10/0xff', 'ip_proto': 'tcp'}, 4)
    assert (0x00160050, 0xffffffff, 20) in keys and (0x00100000, 0x00ff0000, 0) in keys
    assert (0x00060000, 0x00ff0000, 8) in keys
    assert c.u32_match([k + (0,) for k in keys], 4) == {'ip_proto': 'tcp', 'sport': 22, 'dport': 80,
                                                        'tos': '0x10/0xff'}
    odd = [(0x00400000, 0x00ff0000, 4, 0), (0xc6120001, 0xffff00ff, 12, 0), (0x00000000, 0x00000000, 0, 0)]
    assert c.u32_match(odd, 4) == {'keys': ['00400000/00ff0000 at 4', 'c6120001/ffff00ff at 12']}
    raw = c.u32_keys({'keys': ['00400000/00ff0000 at 4']}, 4)
    assert raw == [(0x00400000, 0x00ff0000, 4)]
    # no match at all: tc's `match u32 0 0` (the kernel refuses a u32 filter without a selector)
    assert c.u32_keys({}, 4) == [(0, 0, 0)] and c.u32_match([(0, 0, 0, 0)], 4) == {}


@pytest.mark.parametrize('protocol,keys,match', [
    ('ip', ['c6120000/ffffff00 at 12'], {'src': '198.18.0.0/24'}),
    ('ip', ['00000050/0000ffff at 20'], {'dport': 80}),
    ('ip', ['40060000/ffff0000 at 8', '00b80000/00fc0000 at 0'],
     {'ip_proto': 'tcp', 'dscp': 46, 'keys': ['40000000/ff000000 at 8']}),
    ('ip', ['00400000/00ff0000 at 8', '00060000/00ff0000 at 8'], None),  # one offset: one key (conflict below)
    ('ip', ['00100000/00ff0000 at 0', '00350000/ffff0000 at 20'], {'tos': '0x10/0xff', 'sport': 53}),
    ('ip', ['c6120001/ffff00ff at 12', 'c6120000/ffffff00 at 16'],
     {'dst': '198.18.0.0/24', 'keys': ['c6120001/ffff00ff at 12']}),
    ('ipv6', ['fd42ed6e/ffffffff at 8', '00001100/0000ff00 at 4'], {'src': 'fd42:ed6e::/32', 'ip_proto': 'udp'}),
    ('all', ['00000000/00000000 at 0'], {}),
])
def test_raw_keys_normalize_as_the_kernel_keys_decode(protocol, keys, match):
    """A u32 filter given by raw keys normalizes to what gather decodes from the selector the module sends (the
    first run's check mode, its real after and a second run agree); keys that conflict are refused."""
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter

    item = {'dev': 'e0', 'parent': '1:', 'protocol': protocol, 'prio': 1, 'kind': 'u32', 'match': {'keys': keys}}
    if match is None:
        with pytest.raises(EdgenetError) as e:
            TcFilter().normalize(item, None)
        assert e.value.field == 'match.keys'
        return
    obj = TcFilter().normalize(item, None)
    assert obj.get('match', {}) == match
    family = 6 if protocol == 'ipv6' else 4
    sent = c.u32_options(obj.get('match', {}), family)
    _flags, decoded = c.unpack_sel(c.attr_map(sent)[c.TCA_U32_SEL])
    assert c.u32_match(decoded, family) == match
    again = TcFilter().normalize(dict(item, match=dict(match, mark='0x10')), None)
    assert again['match'] == dict(match, mark='0x10')


def _u32(prio, node, protocol='ip'):
    return {'dev': 'e0', 'parent': '1:', 'protocol': protocol, 'prio': prio, 'handle': '::%x' % node, 'kind': 'u32'}


def test_u32_deletes_and_rollbacks_that_remove_the_prio():
    """Which u32 deletes take the whole prio (no handle): the plan's delete of a prio's last filter of its protocol,
    and in a rollback of adds into a prio the task created, the delete of the first added filter the kernel has."""
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter

    class Nl(object):
        @staticmethod
        def ifindex(*_a, **_k):
            return 1

        @staticmethod
        def links():
            return {'e0': 1}, {1: 'e0'}

    class Ctx(object):
        params = {'dev': None}
        check_mode = False
        nl = Nl()

    res = TcFilter()
    res._check_parent = lambda *a: None  # (the kernel's qdiscs and classes: not read here)
    res._u32_prios = set([('e0', '1:', 5), ('e0', '1:', 6)])  # as gathered: prio 6 holds ip filters
    old, kept = _u32(6, 0x800), _u32(5, 0x800)
    new = [_u32(6, 0x800, 'ipv6'), _u32(6, 0x801, 'ipv6'), _u32(7, 0x800), _u32(5, 0x801)]
    plan = [Op('delete', old, None)] + [Op('add', None, o) for o in new]
    res.validate(Ctx(), plan, [kept] + new)
    assert res._removes_prio(plan[0])  # prio 6 becomes an ipv6 prio: the ip prio goes whole
    # the kernel refused the add of ::800 (ipv6, prio 6) and applied the others: the rollback deletes them, the last
    # one of the new prio 6 (::801) and of the new prio 7 with their prio, the one of prio 5 alone
    res._full = dict((res.key(o), 0) for o in (kept, new[1], new[2], new[3]))
    undo = [op.inverse() for op in reversed(plan[2:])]
    assert [res._removes_prio(op) for op in undo] == [False, True, True]
    # a second add into prio 7 applied too: only the delete of the first one takes the prio
    more = _u32(7, 0x801)
    plan.append(Op('add', None, more))
    res.validate(Ctx(), plan, [kept] + new + [more])
    res._full[res.key(more)] = 0
    assert [res._removes_prio(Op('delete', o)) for o in (more, new[2])] == [False, True]


def test_conflicting_keys_are_refused():
    with pytest.raises(EdgenetError) as e:
        c.u32_keys({'dscp': 46, 'keys': ['00100000/00ff0000 at 0']}, 4)
    assert e.value.field == 'match.keys'


@pytest.mark.parametrize('text,value', [('c6120000/ffffff00 at 12', (0xc6120000, 0xffffff00, 12)),
                                        ('C6120001/FFFFFF00 at 12', (0xc6120000, 0xffffff00, 12))])
def test_raw_key_text(text, value):
    assert c.parse_raw_key(text) == value
    assert c.raw_key(*value) == 'c6120000/ffffff00 at 12'


@pytest.mark.parametrize('bad', ['c612/ff at 13', 'c612 at 12', '1/1 near 4', 'zz/ff at 0'])
def test_raw_key_errors(bad):
    with pytest.raises(EdgenetError):
        c.parse_raw_key(bad)


def test_actions_decode_from_kernel_bytes():
    acts = c.decode_actions(bytes.fromhex(ACT_MIRRED), {4: 'ifb0'}.get)
    assert acts == [{'kind': 'mirred', 'action': 'redirect', 'direction': 'egress', 'dev': 'ifb0'}]


def test_mirred_encoding_matches_the_kernel_parms():
    kind, parts = c.encode_action({'kind': 'mirred', 'action': 'redirect', 'direction': 'egress', 'dev': 'x'}, 4)
    assert kind == 'mirred'
    # struct tc_mirred: index, capab, action (TC_ACT_STOLEN), refcnt, bindcnt, eaction (egress redirect), ifindex
    assert parts == [struct.pack('=HH', 32, 2) + struct.pack('=IIiiiiI', 0, 0, 4, 0, 0, 1, 4)]


@pytest.mark.parametrize('act', [
    {'kind': 'gact', 'action': 'drop'},
    {'kind': 'gact', 'action': 'continue'},
    {'kind': 'mirred', 'action': 'mirror', 'direction': 'ingress', 'dev': 'ifb0'},
    {'kind': 'skbedit', 'priority': '1:10', 'mark': 7, 'queue_mapping': 2},
    {'kind': 'vlan', 'action': 'push', 'id': 100, 'protocol': '802.1ad', 'priority': 5},
    {'kind': 'vlan', 'action': 'pop'},
])
def test_actions_round_trip(act):
    encoded = c.encode_actions([act], {'ifb0': 9}.get)
    assert c.decode_actions(encoded, {9: 'ifb0'}.get) == [act]


def test_police_round_trip_keeps_rate_and_bucket():
    encoded = c.encode_actions([{'kind': 'police', 'rate': 1000000, 'burst': 10240, 'exceed': 'drop',
                                 'conform': 'pass'}])
    (act,) = c.decode_actions(encoded)
    ticks = act.pop('_ticks')
    assert ticks > 0 and act['rate'] == 1000000 and act['exceed'] == 'drop' and act['conform'] == 'pass'
    assert 10200 <= act['burst'] <= 10240
    # the rate table is what tc_calc_rtable makes: 256 slots, cell_log 3 for mtu 2047
    opts = c.attr_map(c.attr_map(c.attrs(encoded)[0][1])[c.TCA_ACT_OPTIONS])
    assert len(opts[c.TCA_POLICE_RATE]) == 1024 and c.RATESPEC.unpack(opts[c.TCA_POLICE_TBF][20:32])[0] == 3


@pytest.mark.parametrize('match,protocol', [
    ({'src': '198.18.0.0/24', 'dst': '198.18.1.1/32', 'ip_proto': 'tcp', 'sport': 1024, 'dport': 443, 'dscp': 10},
     'ip'),
    ({'dst': 'fd42:ed6e::/48', 'ip_proto': 'udp', 'dport': 53, 'tos': '0x10/0xff'}, 'ipv6'),
    ({'dst_mac': '02:00:00:00:00:01', 'vlan_id': 100, 'vlan_prio': 3, 'vlan_ethtype': 'ip'}, '802.1q'),
])
def test_flower_round_trip(match, protocol):
    a = c.attr_map(c.flower_options(match, protocol, 0x10010))
    assert c.flower_match(a) == match
    assert c.u32_of(a[c.FL['classid']]) == 0x10010
    if protocol != 'all':
        assert struct.unpack('>H', a[c.FL['eth_type']])[0] == c.ETH_P[protocol]


def test_filter_message_header_fields():
    body = c.filter_payload(3, 0x10000, 10, 'ip', 0x800, 'u32', b'')
    msg = c.parse_tcmsg(body)
    # tcm_info: prio in the upper half, the EtherType in network order in the lower (tc: TC_H_MAKE(prio<<16, proto))
    assert msg['info'] == (10 << 16) | 0x0008 and msg['handle'] == 0x800 and msg['parent'] == 0x10000
    assert c.info_prio_protocol(msg['info']) == (10, 'ip')
    assert c.string_of(msg['attrs'][c.TCA_KIND]) == 'u32'
    assert msg['attrs'][c.TCA_OPTIONS] == b''


def test_handles_and_names():
    assert c.u32_handle_text(0x80000800) == '800::800' and c.u32_handle_text(0x80100000) == '801:'
    assert c.u32_node('::800') == 0x800 and c.u32_node('800::10') == 0x10 and c.u32_node('fff') == 0xfff
    for bad in ('800:1:10', '::0', 'x', '::1000'):
        with pytest.raises(EdgenetError):
            c.u32_node(bad)
    assert c.parent_text(0xFFFFFFF2) == 'ingress' and c.parent_text(0xFFFFFFF3) == 'egress'
    assert c.parent_text(0x10000) == '1:' and c.parent_int('1:') == 0x10000
    assert c.parse_protocol('IPv6') == 'ipv6' and c.parse_protocol('0x88cc') == '0x88cc'
    assert c.parse_protocol('0x0800') == 'ip'
    assert c.parse_ip_proto('6') == 'tcp' and c.parse_ip_proto('icmpv6') == 'ipv6-icmp'
    assert c.split_mask('0xb8/0xfc') == (0xb8, 0xfc) and c.split_mask(16) == (16, 0xff)


def test_ack_parsing_with_extended_ack():
    # struct nlmsgerr (error, the capped request header), then NLMSGERR_ATTR_MSG
    body = struct.pack('=i', -2) + c.header(36, 44, 5) + c.nla_str(1, 'Specified filter handle not found')
    assert c.parse_ack(body) == (2, 'Specified filter handle not found')
    assert c.parse_ack(struct.pack('=i', 0) + c.header(36, 44, 5)) == (0, None)


def test_bpf_object_and_tag():
    # a minimal BPF ELF object (as `llc -march=bpf -filetype=obj` writes it): `r0 = 0; exit` in "classifier"
    insns = bytes.fromhex('b7000000000000009500000000000000')
    names = b'\0classifier\0license\0.shstrtab\0'
    body = insns + b'GPL\0'
    shoff = 64 + len(body) + len(names)
    shoff += (8 - shoff % 8) % 8

    def shdr(name, stype, offset, size):
        return c.ELF_SHDR.pack(name, stype, 0, 0, offset, size, 0, 0, 1, 0)
    fields = (1, c.EM_BPF, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 4, 3)
    header = b'\x7fELF\x02\x01\x01' + b'\0' * 9 + struct.pack('<HHIQQQIHHHHHH', *fields)
    data = header + body + names
    data += b'\0' * (shoff - len(data))
    data += shdr(0, 0, 0, 0) + shdr(1, 1, 64, 16) + shdr(12, 1, 80, 4) + shdr(20, 3, 84, len(names))
    assert c.bpf_program(data, 'classifier') == (insns, 'GPL')
    # SHA-256 is the tag 6.18 reported for this program (tc filter show); SHA-1 is what older kernels compute
    assert c.bpf_tags(insns) == ['59f4a931744dcdc6', 'a04f5eef06a7f555']
    with pytest.raises(KeyError):
        c.bpf_program(data, 'nope')
    with pytest.raises(ValueError):
        c.bpf_program(b'\x7fELF\x01\x01' + data[6:], 'classifier')


# -- bpf objects with maps: ELF bytes built here (sections, a symbol table, Elf64_Rel relocations) ------------
MAP_INSNS = bytes.fromhex(''.join((
    '18010000000000000000000000000000',  # r1 = map counts (ld_imm64, relocated)
    'bfa2000000000000',  # r2 = r10
    '07020000fcffffff',  # r2 += -4
    '620afcff00000000',  # *(u32 *)(r10 - 4) = 0
    '8500000001000000',  # call 1 (bpf_map_lookup_elem)
    'b700000000000000',  # r0 = 0
    '9500000000000000')))  # exit
TAG_WITH_MAP = 'a4be74c8985859b5'  # the tag 6.18 gave this program loaded by _bpf_load (BPF_OBJ_GET_INFO_BY_FD)


def elf_object(sections):
    """A little-endian ELF64 BPF object of ``sections`` [(name, type, bytes, link, info)] (index 1 on); the
    section name table is added last."""
    names = b'\0'
    offsets = []
    for name, _t, _b, _l, _i in sections + [('.shstrtab', 3, b'', 0, 0)]:
        offsets.append(len(names))
        names += name.encode() + b'\0'
    bodies = [s[2] for s in sections] + [names]
    data = b''
    starts = []
    for body in bodies:
        data += b'\0' * ((8 - (64 + len(data)) % 8) % 8)
        starts.append(64 + len(data))
        data += body
    data += b'\0' * ((8 - (64 + len(data)) % 8) % 8)
    shoff = 64 + len(data)
    shnum = len(bodies) + 1
    fields = (1, c.EM_BPF, 1, 0, 0, shoff, 0, 64, 0, 0, 64, shnum, shnum - 1)
    header = b'\x7fELF\x02\x01\x01' + b'\0' * 9 + struct.pack('<HHIQQQIHHHHHH', *fields)
    table = c.ELF_SHDR.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    every = sections + [('.shstrtab', 3, names, 0, 0)]
    for (_name, stype, body, link, info), off, start in zip(every, offsets, starts):
        table += c.ELF_SHDR.pack(off, stype, 0, 0, start, len(body), link, info, 8, 0)
    return header + data + table


def symtab(symbols):
    """(.symtab bytes, .strtab bytes) of [(name, bind, type, section index, value)]."""
    strings, table = b'\0', c.ELF_SYM.pack(0, 0, 0, 0, 0, 0)
    for name, bind, stype, shndx, value in symbols:
        table += c.ELF_SYM.pack(len(strings), bind << 4 | stype, 0, shndx, value, 0)
        strings += name.encode() + b'\0'
    return table, strings


def map_object(maps=None, entry=36, relocs=((0, 1, c.R_BPF_64_64),), insns=MAP_INSNS, extra_symbols=()):
    """classifier (1), .relclassifier (2), maps (3), license (4), .symtab (5), .strtab (6), .data (7)."""
    maps = maps if maps is not None else [(2, 4, 8, 4, 0, 0, 0, 0, 0), (1, 4, 4, 16, 0, 0, 0, 0, 0)]
    body = b''.join(struct.pack('<%dI' % (entry // 4), *(tuple(m) + (0,) * 10)[:entry // 4]) for m in maps)
    symbols = [('counts', c.STB_GLOBAL, c.STT_OBJECT, 3, 0), ('spare', c.STB_GLOBAL, c.STT_OBJECT, 3, entry)]
    symbols = symbols[:len(maps)] + list(extra_symbols)
    syms, strings = symtab(symbols)
    rel = b''.join(c.ELF_REL.pack(at, sym << 32 | rtype) for at, sym, rtype in relocs)
    return elf_object([('classifier', 1, insns, 0, 0), ('.relclassifier', c.SHT_REL, rel, 5, 1),
                       ('maps', 1, body, 0, 0), ('license', 1, b'GPL\0', 0, 0), ('.symtab', c.SHT_SYMTAB, syms, 6, 0),
                       ('.strtab', 3, strings, 0, 0), ('.data', 1, b'\5\0\0\0', 0, 0)])


def test_bpf_object_with_a_map():
    insns, lic, maps = c.bpf_object(map_object(), 'classifier')
    # the ld_imm64 is marked as a map fd load (src_reg 1), its immediate zeroed; the rest is unchanged
    assert insns == MAP_INSNS[:1] + b'\x11' + MAP_INSNS[2:] and lic == 'GPL'
    # only the map the program uses; a struct bpf_elf_map with its name and the instructions taking its fd
    assert maps == [{'name': 'counts', 'type': 2, 'size_key': 4, 'size_value': 8, 'max_elem': 4, 'flags': 0,
                     'id': 0, 'pinning': 0, 'inner_id': 0, 'inner_idx': 0, 'insns': [0]}]
    assert c.bpf_program(map_object(), 'classifier') == (insns, 'GPL')
    # the tag the 6.18 kernel reported for this program loaded by the module (prog info tag): SHA-256 of the
    # instructions with the map fd zeroed
    assert c.bpf_tags(insns)[0] == TAG_WITH_MAP


def test_bpf_object_map_entry_sizes():
    # the object gives the entry size (section size / map symbols): a shorter struct reads as zeros after it
    maps = c.bpf_object(map_object(entry=28), 'classifier')[2]
    assert [(m['name'], m['type'], m['max_elem'], m['inner_idx']) for m in maps] == [('counts', 2, 4, 0)]
    maps = c.bpf_object(map_object(entry=16, relocs=((0, 2, c.R_BPF_64_64),)), 'classifier')[2]
    assert [(m['name'], m['size_value'], m['max_elem'], m['pinning']) for m in maps] == [('spare', 4, 16, 0)]
    # a relocation against the section's symbol: the map is at the addend, in the instruction's immediate
    addend = MAP_INSNS[:4] + struct.pack('<i', 36) + MAP_INSNS[8:]
    insns, _lic, maps = c.bpf_object(map_object(insns=addend, relocs=((0, 3, 1),), extra_symbols=[
        ('', 0, c.STT_SECTION, 3, 0)]), 'classifier')
    assert [(m['name'], m['insns']) for m in maps] == [('spare', [0])]
    assert insns[:8] == MAP_INSNS[:1] + b'\x11' + b'\0' * 6
    # a map used by two instructions is created once
    twice = MAP_INSNS[:16] + MAP_INSNS[:16] + MAP_INSNS[16:]
    maps = c.bpf_object(map_object(insns=twice, relocs=((0, 1, 1), (16, 1, 1))), 'classifier')[2]
    assert [m['insns'] for m in maps] == [[0, 16]]


@pytest.mark.parametrize('kwargs, text', [
    ({'entry': 12}, '12-byte map entries'),
    ({'entry': 40}, '40-byte map entries'),
    ({'maps': [(2, 4, 8, 4, 0, 0, 0, 0, 0)], 'extra_symbols': [('pad', c.STB_GLOBAL, c.STT_OBJECT, 3, 18)]},
     'not 2 struct bpf_elf_map of one size'),
    ({'maps': [(99, 4, 8, 4, 0, 0, 0, 0, 0)] * 2}, 'map counts has an unknown type 99'),
    ({'maps': [(0, 4, 8, 4, 0, 0, 0, 0, 0)] * 2}, 'map counts has an unknown type 0'),
    ({'maps': [(13, 4, 4, 4, 0, 0, 0, 0, 0)] * 2}, 'map counts is a map of maps (hash_of_maps)'),
    ({'maps': [(2, 4, 8, 4, 0, 0, 2, 0, 0)] * 2}, 'map counts has pinning PIN_GLOBAL_NS'),
    ({'maps': [(2, 4, 8, 4, 0, 0, 1, 0, 0)] * 2}, 'map counts has pinning PIN_OBJECT_NS'),
    ({'relocs': ((8, 1, 1),)}, 'from instruction 1, which is not a 64-bit load'),
    ({'relocs': ((0, 1, 10),)}, 'only references to maps'),
    ({'relocs': ((0, 3, 1),), 'extra_symbols': [('g', c.STB_GLOBAL, c.STT_OBJECT, 7, 0)]},
     'a reference to the global variable g in section .data'),
    ({'relocs': ((40, 3, 10),), 'extra_symbols': [('sub', c.STB_GLOBAL, c.STT_FUNC, 1, 56)]},
     'a call to function sub (bpf-to-bpf calls)'),
    ({'relocs': ((0, 9, 1),)}, 'beyond the symbol table'),
    ({'relocs': ((0, 3, 1),), 'extra_symbols': [('mid', 0, c.STT_OBJECT, 3, 4)]},
     'symbol mid at offset 4 of section maps, where no map begins'),
])
def test_bpf_object_refused(kwargs, text):
    with pytest.raises(ValueError) as e:
        c.bpf_object(map_object(**kwargs), 'classifier')
    assert text in str(e.value)


def _flower(**attrs):
    """A flower TCA_OPTIONS attribute map as the codec reads it, from what flower_options sends plus ``attrs``."""
    a = c.attr_map(c.flower_options({'dst': '198.18.1.0/24', 'ip_proto': 'tcp', 'dport': 443,
                                     'dst_mac': '02:00:00:00:00:01'}, 'ip', 0x10010))
    a.update(attrs)
    return a


def test_flower_what_the_match_cannot_show_is_named():
    # what the module sends, as the kernel dumps it (flags with not_in_hw, a hardware count): nothing to name
    a = _flower()
    assert c.flower_unmodelled(a) == []
    a[86] = struct.pack('=I', 0)  # TCA_FLOWER_IN_HW_COUNT
    a[c.FL['flags']] = struct.pack('=I', c.TCA_CLS_FLAGS_NOT_IN_HW)
    assert c.flower_unmodelled(a) == []
    a[26] = struct.pack('>I', 100)  # TCA_FLOWER_KEY_ENC_KEY_ID
    a[c.FL['indev']] = b'e1\0'
    a[c.FL['eth_dst_mask']] = b'\xff' * 5 + b'\x00'
    a[c.FL['tcp_dst_mask']] = struct.pack('>H', 0xfff0)
    a[c.FL['ipv4_dst_mask']] = bytes((255, 0, 255, 0))
    a[c.FL['flags']] = struct.pack('=I', c.TCA_CLS_FLAGS_SKIP_HW)
    a[47], a[48], a[99] = struct.pack('>I', 1), struct.pack('>I', 1), b'x'  # ip_flags frag, and one unnamed
    assert c.flower_unmodelled(a) == ['indev', 'enc_key_id', 'ip_flags', 'attribute 99', 'eth_dst under a mask',
                                      'tcp_dst under a mask',
                                      'ipv4_dst under a mask that is not a prefix', 'skip_hw']


def test_actions_what_the_module_cannot_show_is_named():
    plain = c.encode_actions([{'kind': 'mirred', 'action': 'mirror', 'direction': 'egress', 'dev': 'x'},
                              {'kind': 'gact', 'action': 'drop'}],
                             lambda dev: 4)
    assert c.actions_unmodelled(plain) == []
    # a cookie (TCA_ACT_COOKIE) on the first action, a random gact (TCA_GACT_PROB) on the second one
    first, second = [bytes(body) for _order, body in c.attrs(plain)]
    options = bytes(c.attr_map(second)[c.TCA_ACT_OPTIONS])
    rand = b''.join(c.nla(t, bytes(v)) for t, v in c.attrs(second) if t != c.TCA_ACT_OPTIONS) + \
        c.nla(c.TCA_ACT_OPTIONS, options + c.nla(3, b'\0' * 8))
    got = c.nla(1, first + c.nla(6, b'\xa1\xb2\xc3\0')) + c.nla(2, rand)
    assert c.actions_unmodelled(got) == ['action 1 (mirred) cookie', 'action 2 (gact) random'], got


def _old_pack_sel(keys, flags):
    """pack_sel as it was, a key at a time: the bytes the kernel got before the one-struct version."""
    return c.SEL.pack(flags, 0, len(keys), 0, 0, 0, 0, 0) + b''.join(
        c._MASK_VAL.pack(mask, val) + c._OFF.pack(off, 0) for val, mask, off in keys)


def test_the_ipv4_fast_paths_give_what_the_general_code_gives():
    """_u32_match4 and _u32_keys4 (the IPv4 prefixes, protocol and ports of a large tree) against the general
    decoder and encoder, on every case they take (seeded, so the same cases each run), in the same field order;
    and the one-struct selector packing and unpacking against a key at a time."""
    import random
    import socket

    rnd = random.Random(2026)
    masks = [0, 0xFFFFFFFF, 0xFFFFFF00, 0xFF000000, 0xFFFF0000, 0x0000FFFF, 0x00FF0000, 0x00FC0000, 0xF0F0F0F0,
             0xFFFFFFFE, 0x80000000]
    offsets = [0, 4, 8, 12, 16, 20, 24, 13, -4]
    taken = 0
    for _i in range(20000):
        keys = []
        for _k in range(rnd.randint(0, 4)):
            mask = rnd.choice(masks)
            val = rnd.getrandbits(32) & (mask if rnd.random() < 0.8 else 0xFFFFFFFF)
            keys.append((val, mask, rnd.choice(offsets), rnd.choice([0, 0, 0, 0xFF])))
        fast = c._u32_match4(keys)
        if fast is not None:
            taken += 1
            general = c._u32_match_general(keys, 4)
            assert fast == general and list(fast) == list(general), (keys, fast, general)
        assert c.u32_match(keys, 4) == c._u32_match_general(keys, 4)
        # sel_match, from the selector's bytes (whole, or cut off after its first keys), as unpack_sel + u32_match
        data = c.SEL.pack(0, 0, len(keys), 0, 0, 0, 0, 0) + b''.join(
            c._MASK_VAL.pack(mask, val) + c._OFF.pack(off, offmask) for val, mask, off, offmask in keys)
        for cut in (data, data[:c.SEL.size + 16]):
            got, want = c.sel_match(cut, 4), c.u32_match(c.unpack_sel(cut)[1], 4)
            assert got == want and list(got) == list(want), (keys, got, want)
        if fast is not None:  # (and the keys _u32_match4 takes are read without the general code)
            general_code = c.unpack_sel
            c.unpack_sel = None
            try:
                assert c.sel_match(data, 4) == fast
            finally:
                c.unpack_sel = general_code
    assert taken > 2000, taken
    taken = 0
    for _i in range(20000):
        match = {}
        for field in ('src', 'dst'):
            if rnd.random() < 0.6:
                plen = rnd.randint(0, 32)
                addr = rnd.getrandbits(32) & c._MASKS_32[plen]
                match[field] = '%s/%d' % (socket.inet_ntop(socket.AF_INET, addr.to_bytes(4, 'big')), plen)
        if rnd.random() < 0.5:
            match['ip_proto'] = rnd.choice(['tcp', 'udp', 'icmp', '99', 'gre'])
        for field in ('sport', 'dport'):
            if rnd.random() < 0.5:
                match[field] = rnd.randint(0, 65535)
        general = c._u32_keys_general(match, 4)
        assert c.u32_keys(match, 4) == general
        fast = c._u32_keys4(match)
        if fast is not None:
            taken += 1
            assert fast == general, (match, fast, general)
        for flags in (0, 1):
            packed = c.pack_sel(general, flags)
            assert packed == _old_pack_sel(general, flags)
            assert c.unpack_sel(packed) == (flags, [k + (0,) for k in general])
    assert taken > 10000, taken
    # a selector shorter than its key count says (cut off): the keys that are there
    packed = c.pack_sel([(1, 0xFF, 0), (2, 0xFF, 4)], 1)
    assert c.unpack_sel(packed[:-16]) == (1, [(1, 0xFF, 0, 0)])


def _u32_message(handle, options, chain=0, kind='u32', after=b'', protocol=0x0800, prio=10):
    """A filter dump message as the kernel builds it (tcmsg, TCA_KIND, TCA_CHAIN, TCA_OPTIONS, then ``after``)."""
    head = c.TCMSG.pack(0, 2, handle, 0x10000, (prio << 16) | struct.unpack('<H', struct.pack('>H', protocol))[0])
    chain_attr = c.nla_u32(c.TCA_CHAIN, chain) if chain is not None else b''
    return head + c.nla_str(c.TCA_KIND, kind) + chain_attr + c.nla(c.TCA_OPTIONS | c.NLA_F_NESTED,
                                                                   b''.join(options)) + after


def test_the_u32_node_short_path_decodes_as_the_general_one(monkeypatch):
    """TcFilter._decode reads a u32 node of a classid and a selector alone through u32_plain_node; any other message
    (actions, a mark, a link, another chain or kind, something after the options, a hash table) through
    decode_filter. Both give the same objects, handles and hash tables for every message here."""
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter

    sel = c.nla(c.TCA_U32_SEL, c.pack_sel(c.u32_keys({'dst': '198.18.0.7/32', 'ip_proto': 'tcp', 'dport': 443}, 4),
                                          1))
    sel6 = c.nla(c.TCA_U32_SEL, c.pack_sel(c.u32_keys({'src': 'fd42:ed6e::/64'}, 6), 1))
    classid, hash_ = c.nla_u32(c.TCA_U32_CLASSID, 0x10010), c.nla_u32(c.TCA_U32_HASH, 0x80000000)
    flags = c.nla_u32(c.TCA_U32_FLAGS, 8)
    pcnt = c.nla(c.TCA_U32_PAD, b'') + c.nla(c.TCA_U32_PCNT, b'\0' * 32)
    mark = c.nla(c.TCA_U32_MARK, struct.pack('=III', 7, 0xFF, 0))
    link = c.nla_u32(c.TCA_U32_LINK, 0x80100000)
    divisor = c.nla_u32(c.TCA_U32_DIVISOR, 1)
    sel_off = c.nla(c.TCA_U32_SEL, c.pack_sel(c.u32_keys({'dst': '198.18.0.7/32'}, 4), 1 | 2 | 8)[:2] + b'\x01\0'
                    + struct.pack('=HHhhI', 0x0f00, 0, 0, 0, 0) + struct.pack('>II', 0xFFFFFFFF, 0xC6120007)
                    + struct.pack('=ii', 16, 0))
    sel_next = c.nla(c.TCA_U32_SEL, c.pack_sel([], 1)[:2] + b'\x01\0' + struct.pack('=HHhhI', 0, 0, 0, 0, 0)
                     + struct.pack('>II', 0xFFFF, 0x50) + struct.pack('=ii', 0, 1))
    short = [  # (message, whether u32_plain_node takes it)
        (_u32_message(0x80000800, [classid, hash_, sel, flags]), True),
        (_u32_message(0x80000801, [sel, hash_]), True),  # no classid
        (_u32_message(0x80000802, [classid, sel, flags, pcnt]), True),  # counters (CONFIG_CLS_U32_PERF)
        (_u32_message(0x80000800, [classid, sel6], protocol=0x86DD), True),
        (_u32_message(0x80010803, [classid, sel]), True),  # a node in a hash bucket: not managed
        (_u32_message(0x80000000, [classid, sel]), True),  # a hash table's handle (no divisor: still recorded)
        (_u32_message(0x80000803, [classid, hash_, flags]), False),  # no selector
        (_u32_message(0x80000804, [classid, sel, mark]), False),
        (_u32_message(0x80000805, [classid, sel, link]), False),
        (_u32_message(0x80000806, [classid, sel], chain=1), False),
        (_u32_message(0x80000807, [classid, sel], chain=None), False),
        (_u32_message(0x80000808, [classid, sel], after=c.nla_u32(99, 1)), False),
        (_u32_message(0x80100000, [divisor]), False),  # a hash table
        (_u32_message(0x80000809, [classid, sel, c.nla_u32(c.TCA_U32_FLAGS, 9)]), False),  # skip_hw (unmodelled)
        (_u32_message(0x8000080a, [classid, sel_off]), True),  # offset ... eat (unmodelled, either path)
        (_u32_message(0x8000080b, [classid, sel_next]), True),  # a nexthdr key (unmodelled, either path)
        (_u32_message(0x1, [c.nla_u32(1, 0x10010)], kind='fw'), False),
    ]
    # cut off (a message no kernel sends): the short path declines, without an exception
    whole = short[0][0]
    for cut in (len(whole) - 4, len(whole) - 60, 44, 38, 30):
        assert c.u32_plain_node(whole[:cut]) is None, cut
    longer = whole[:36] + struct.pack('=HH', len(whole) - 36 + 8, c.TCA_OPTIONS | c.NLA_F_NESTED) + whole[40:]
    assert c.u32_plain_node(longer) is None

    class Nl(object):
        @staticmethod
        def ifname(index):
            return 'e%d' % index

    class Ctx(object):
        nl = Nl()

    res = TcFilter()
    for body, taken in short:
        assert (c.u32_plain_node(body) is not None) == taken, body.hex()
        ours, tables = res._decode(Ctx(), 'e0', '1:', body, {}), {}
        with monkeypatch.context() as m:
            m.setattr(c, 'u32_plain_node', lambda _body: None)
            general = res._decode(Ctx(), 'e0', '1:', body, tables)
        ours_tables = {}
        res._decode(Ctx(), 'e0', '1:', body, ours_tables)
        assert (ours is None) == (general is None) and ours_tables == tables, (body.hex(), ours, general)
        if ours is not None:  # (the object, in the same field order; the handle; no police ticks, nothing unmodelled)
            assert ours[:2] == general[:2] and list(ours[0]) == list(general[0]), (body.hex(), ours, general)
            assert tuple(ours[2]) == tuple(general[2]) and tuple(ours[3]) == tuple(general[3])
    assert res._decode(Ctx(), 'e0', '1:', short[0][0], {})[0] == {
        'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'handle': '::800', 'kind': 'u32',
        'classid': '1:10', 'match': {'dst': '198.18.0.7/32', 'ip_proto': 'tcp', 'dport': 443}}
    unmodelled = [res._decode(Ctx(), 'e0', '1:', body, {})[3] for body, _t in short[-4:-1]]
    assert unmodelled == [['skip_hw'], ['offset'], ['nexthdr']], unmodelled
    assert res._decode(Ctx(), 'e0', '1:', short[0][0], {})[3] == []
    # actions of a node without tc's terminal flag never run: the node is reported without them (a config that gives
    # them is then a change, which sets the flag); with the flag, with them
    acts = c.nla(c.TCA_U32_ACT | c.NLA_F_NESTED,
                 c.encode_actions([{'kind': 'mirred', 'action': 'mirror', 'direction': 'egress', 'dev': 'e3'}],
                                  lambda _dev: 3))
    for terminal in (0, 1):
        sel_t = c.nla(c.TCA_U32_SEL, c.pack_sel(c.u32_keys({'dst': '198.18.0.7/32'}, 4), terminal))
        obj = res._decode(Ctx(), 'e0', '1:', _u32_message(0x8000080c, [sel_t, acts]), {})[0]
        assert ('actions' in obj) == bool(terminal), obj
    assert c.u32_options({'dst': '198.18.0.7/32'}, 4, None, b'x')[4 + 0] & 1  # (sent with the flag: actions alone)
    assert not c.u32_options({'dst': '198.18.0.7/32'}, 4)[4] & 1  # (a match alone: none, as tc sends it)


def test_one_classifier_and_protocol_per_prio_and_one_matchall():
    """validate's prio check, before anything is read or sent: the first filter of a prio sets its classifier and
    protocol, and a prio holds one matchall filter."""
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter

    def flt(prio, handle, kind='u32', protocol='ip', parent='1:'):
        return {'dev': 'e0', 'parent': parent, 'protocol': protocol, 'prio': prio, 'handle': handle, 'kind': kind}

    class Ctx(object):
        params = {'dev': None}
        check_mode = True

    cases = [
        ([flt(5, '::800'), flt(5, '::801'), flt(5, '::802', protocol='ipv6')], 'prio',
         'would hold u32 ip and u32 ipv6'),
        ([flt(5, '::800'), flt(5, '0x1', kind='flower')], 'prio', 'would hold u32 ip and flower ip'),
        ([flt(6, '0x1', kind='matchall', protocol='all'), flt(6, '0x2', kind='matchall', protocol='all')], 'handle',
         'a prio holds one matchall filter'),
    ]
    for after, field, text in cases:
        plan = [Op('add', None, o) for o in after]
        with pytest.raises(EdgenetError) as e:
            TcFilter().validate(Ctx(), plan, after)
        assert e.value.field == field and text in e.value.msg, (e.value.field, e.value.msg)
    # the same prio at another parent is another prio
    after = [flt(5, '::800'), flt(5, '::800', protocol='ipv6', parent='1:10')]
    res = TcFilter()
    res._check_parent = lambda *a: None
    res._check_empty_prio = lambda *a: None

    class Nl(object):
        @staticmethod
        def links():
            return {'e0': 1}, {1: 'e0'}

    Ctx.nl = Nl()
    res.validate(Ctx(), [Op('add', None, o) for o in after], after)
