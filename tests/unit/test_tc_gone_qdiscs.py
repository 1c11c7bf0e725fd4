# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_tc.gone_qdiscs: the qdiscs that check mode of tc_class and tc_filter takes to be gone (option gone_qdiscs: an
earlier task of the play deletes them), with those the kernel deletes along (the qos role's use:
tests/integration/test_role_qos.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils import _tc


class _Nl(object):
    @staticmethod
    def ifname(index):
        return 'e%d' % (index - 2)


class _Ctx(object):
    def __init__(self, gone, check_mode=True):
        self.params = {'gone_qdiscs': gone}
        self.check_mode = check_mode
        self.nl = _Nl()


# the host's qdiscs, as a qdisc dump parses them (e0 is index 2, e1 index 3)
HOST = [dict(index=index, handle=handle, parent=parent) for index, handle, parent in (
    (2, 0x10000, _tc.TC_H_ROOT),          # 1: root
    (2, 0x100000, 0x10010),               # 10: in class 1:10
    (2, 0x1000000, 0x100001),             # 100: in class 10:1
    (2, 0x200000, 0x10020),               # 20: in class 1:20
    (2, 0xFFFF0000, _tc.TC_H_INGRESS),    # ingress
    (3, 0x10000, _tc.TC_H_ROOT),          # 1: of another device
    (3, 0x100000, 0x10010))]              # 10: in its class 1:10


def test_a_gone_qdisc_takes_the_qdiscs_of_its_classes_at_any_depth():
    assert _tc.gone_qdiscs(_Ctx([{'dev': 'e0', 'handle': '1:'}]), HOST) == {
        ('e0', '1:'), ('e0', '10:'), ('e0', '100:'), ('e0', '20:')}
    assert _tc.gone_qdiscs(_Ctx([{'dev': 'e0', 'handle': '10:'}]), HOST) == {('e0', '10:'), ('e0', '100:')}
    assert _tc.gone_qdiscs(_Ctx([{'dev': 'e0', 'handle': 'ffff:'}]), HOST) == {('e0', 'ingress')}
    assert _tc.gone_qdiscs(_Ctx([{'dev': 'e1', 'handle': '1:'}]), HOST) == {('e1', '1:'), ('e1', '10:')}


def test_nothing_is_gone_in_a_real_run_or_without_the_option():
    assert _tc.gone_qdiscs(_Ctx([{'dev': 'e0', 'handle': '1:'}], check_mode=False), HOST) == frozenset()
    assert _tc.gone_qdiscs(_Ctx(None), HOST) == frozenset()
    assert _tc.gone_qdiscs(_Ctx([]), HOST) == frozenset()
