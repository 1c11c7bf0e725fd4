# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalizers: every comparison goes through them, so a wrong one means a false ``changed``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _norm
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError


def error_of(func, *args, **kwargs):
    with pytest.raises(EdgenetError) as e:
        func(*args, **kwargs)
    return e.value


@pytest.mark.parametrize('value, canonical', [
    ('02:00:00:AA:bb:0C', '02:00:00:aa:bb:0c'),
    ('02-00-00-aa-bb-0c', '02:00:00:aa:bb:0c'),
    ('2:0:0:a:b:c', '02:00:00:0a:0b:0c'),
    (' 02:00:00:aa:bb:0c ', '02:00:00:aa:bb:0c'),
])
def test_mac(value, canonical):
    assert _norm.mac(value) == canonical


@pytest.mark.parametrize('value', ['02:00:00:aa:bb', '02:00:00:aa:bb:0c:0d', 'zz:00:00:aa:bb:0c', '', '0200.00aa.bb0c'])
def test_mac_rejects(value):
    e = error_of(_norm.mac, value, field='address')
    assert e.field == 'address'
    assert "is not a MAC address" in str(e)


@pytest.mark.parametrize('value, canonical', [
    ('198.18.0.1', '198.18.0.1'),
    ('FD42:ED6E:0000:0000::0001', 'fd42:ed6e::1'),
    (' fd42:ed6e::1 ', 'fd42:ed6e::1'),
])
def test_ip(value, canonical):
    assert _norm.ip(value) == canonical


@pytest.mark.parametrize('value', ['198.18.0.256', '198.18.0.1/24', 'fd42::ed6e::1', 'host'])
def test_ip_rejects(value):
    e = error_of(_norm.ip, value, field='gateway')
    assert e.field == 'gateway' and 'is not an IP address' in e.msg


@pytest.mark.parametrize('value, canonical', [
    ('198.18.0.1/24', '198.18.0.1/24'),
    ('198.18.0.0/15', '198.18.0.0/15'),
    ('FD42:ED6E::0001/64', 'fd42:ed6e::1/64'),
])
def test_interface_keeps_host_bits(value, canonical):
    assert _norm.interface(value) == canonical


def test_interface_needs_a_prefix_length():
    e = error_of(_norm.interface, '198.18.0.1')
    assert e.field == 'address' and 'needs a prefix length' in e.msg


@pytest.mark.parametrize('value', ['198.18.0.1/33', 'fd42:ed6e::1/129', 'x/24'])
def test_interface_rejects(value):
    assert 'valid prefix length' in error_of(_norm.interface, value).msg


@pytest.mark.parametrize('value, canonical', [
    ('198.18.1.0/24', '198.18.1.0/24'),
    ('198.18.1.1', '198.18.1.1/32'),
    ('fd42:ed6e:1::/48', 'fd42:ed6e:1::/48'),
    ('FD42:ED6E::1', 'fd42:ed6e::1/128'),
    ('default', 'default'),
])
def test_prefix(value, canonical):
    assert _norm.prefix(value) == canonical


def test_prefix_text_is_the_c_librarys_for_every_ipv4_spelling_it_takes():
    # (an IPv4 address the C library takes is kept as given: only the dotted quad inet_ntop prints is taken)
    import socket

    for text in ('198.18.1.1', '198.18.1.1/32', '198.18.1.0/024', '0.0.0.0/1', '255.255.255.255', '198.18.1.0/24'):
        addr, _sep, plen = text.partition('/')
        canonical = socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, addr))
        assert _norm.prefix(text) == '%s/%d' % (canonical, int(plen or 32))
    for text in ('198.18.01.1', '198.018.1.1/32', '0x1.2.3.4', '1.2.3', '198.18.1.1 /32'):
        assert 'not a valid prefix' in error_of(_norm.prefix, text).msg, text


def test_prefix_strict_refuses_host_bits_like_ip_route():
    e = error_of(_norm.prefix, '198.18.1.1/24', field='dst')
    assert e.field == 'dst' and 'not a valid prefix' in e.msg
    assert _norm.prefix('198.18.1.1/24', strict=False) == '198.18.1.0/24'


def test_family():
    assert _norm.family('198.18.0.1/24') == 4
    assert _norm.family('fd42:ed6e::/32') == 6


def test_lookup_names_numbers_and_errors():
    assert _norm.lookup('Static', _norm.PROTOCOLS, 'protocol', 'protocol') == 'static'
    assert _norm.lookup(4, _norm.PROTOCOLS, 'protocol', 'protocol') == 'static'
    assert _norm.lookup('4', _norm.PROTOCOLS, 'protocol', 'protocol') == 'static'
    assert _norm.lookup(77, _norm.PROTOCOLS, 'protocol', 'protocol') == 77, 'unknown numbers stay numbers'
    e = error_of(_norm.lookup, 'galactic', _norm.SCOPES, 'scope', 'scope')
    assert e.field == 'scope'
    assert "unknown scope 'galactic'" in e.msg and 'global, host, link, nowhere, site' in e.msg


def test_number_is_the_inverse_of_lookup():
    for n, name in _norm.SCOPES.items():
        assert _norm.number(_norm.SCOPES, name) == n
    assert _norm.number(_norm.SCOPES, 42) == 42
    with pytest.raises(KeyError):
        _norm.number(_norm.SCOPES, 'galactic')


def test_int_range():
    assert _norm.int_range('7', 0, 10, 'weight') == 7
    assert _norm.int_range(0, 0, 10, 'weight') == 0
    assert _norm.int_range(10, 0, 10, 'weight') == 10
    e = error_of(_norm.int_range, 11, 0, 10, 'weight')
    assert e.field == 'weight' and e.msg == '11 is out of range (0 to 10)'
    e = error_of(_norm.int_range, 'seven', 0, 10, 'weight')
    assert e.field == 'weight' and "'seven' is not a whole number" in e.msg
    assert error_of(_norm.int_range, None, 0, 10, 'weight').field == 'weight'

    # a fraction was cut off silently (7.5 became 7), and true was 1
    assert _norm.int_range(7.0, 0, 10, 'weight') == 7
    for value in (7.5, True, float('inf'), float('nan')):
        e = error_of(_norm.int_range, value, 0, 10, 'weight')
        assert e.field == 'weight' and 'is not a whole number' in e.msg, value


@pytest.mark.parametrize('value, canonical', [
    ('main', 'main'), (254, 'main'), ('254', 'main'), ('local', 'local'), (253, 'default'),
    (100, 100), ('100', 100), (4294967295, 4294967295), (None, None),
])
def test_table(value, canonical):
    assert _norm.table(value) == canonical


@pytest.mark.parametrize('value, text', [
    (0, 'out of range'), (4294967296, 'out of range'), ('blue', "unknown table 'blue'"),
])
def test_table_rejects(value, text):
    e = error_of(_norm.table, value)
    assert e.field == 'table' and text in e.msg


@pytest.mark.parametrize('name, ok', [
    ('eth0', True), ('a\u2003b', True), ('\u00e9t\u00e9', True), ('x' * 15, True), ('\u00e4' * 7 + 'x', True),
    ('', False), ('.', False), ('..', False), ('...', True), ('x' * 16, False), ('\u00e4' * 8, False),
    ('a b', False), ('a\tb', False), ('a/b', False), ('a:b', False), ('a\u00a0b', False), ('\u00e0x', False),
    ('a\x00b', False), ('a\x1bb', False), ('a\x7fb', False)])
def test_ifname_ok_reads_the_bytes_as_the_kernel_does(name, ok):
    assert _norm.ifname_ok(name) is ok
