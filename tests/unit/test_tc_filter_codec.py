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
