# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EdgenetError: the one message format users see on failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError


def test_message_names_the_object_and_the_field():
    e = EdgenetError('is not a MAC address', obj='config[2]', field='address')
    assert str(e) == "config[2]: field 'address': is not a MAC address"


def test_message_without_object_or_field_is_the_bare_message():
    assert str(EdgenetError('pyroute2 is not installed')) == 'pyroute2 is not installed'
    assert str(EdgenetError('bad', field='mtu')) == "field 'mtu': bad"


def test_kernel_error_with_extack():
    e = EdgenetError('the kernel refused the change', obj='link v0', field='mtu', code=22,
                     extack='MTU greater than device maximum')
    assert str(e) == ("link v0: field 'mtu': the kernel refused the change "
                      "(kernel: MTU greater than device maximum; errno 22 EINVAL)")


def test_kernel_error_without_extack_uses_strerror():
    e = EdgenetError('cannot add', obj='address 198.18.0.1/24 dev v0', code=17)
    assert str(e) == 'address 198.18.0.1/24 dev v0: cannot add (kernel: File exists; errno 17 EEXIST)'


def test_unknown_errno_is_printed_as_a_number():
    assert '(kernel: boom; errno 4242 4242)' in str(EdgenetError('x', code=4242, extack='boom'))


def test_result_for_fail_json():
    e = EdgenetError('refused', obj='link v0', field='mtu', code=22, extack='too big', failed_command=['ip x'])
    assert e.result() == {
        'msg': "link v0: field 'mtu': refused (kernel: too big; errno 22 EINVAL)",
        'object': 'link v0', 'field': 'mtu', 'errno': 22, 'extack': 'too big', 'failed_command': ['ip x'],
    }
    assert EdgenetError('plain').result() == {'msg': 'plain'}


def test_msg_can_be_extended_after_creation():
    e = EdgenetError('refused', obj='link v0')
    e.msg += '; rolled back'
    assert str(e) == 'link v0: refused; rolled back'
