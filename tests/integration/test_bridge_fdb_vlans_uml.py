# -*- coding: utf-8 -*-
"""test_bridge_fdb.py's tests of entries in a bridge's table, run again under user-mode Linux: a kernel with bridge
VLANs (CONFIG_BRIDGE_VLAN_FILTERING, as distribution kernels have; the lab host's kernel has not). There the kernel
writes every entry of a bridge's table without a VLAN once more per VLAN of the port (VLAN 1 by default, with
vlan_filtering off too); the same tests expect those entries (test_bridge_fdb.with_copies), from iproute2."""

import pytest

# pytest collects these tests here again, marked uml (ns is their fixture)
from test_bridge_fdb import (  # noqa: F401 pylint: disable=unused-import
    ns, test_deleted_by_match_and_all, test_an_entry_that_moves_to_another_port_is_reported_and_restored,
    test_gathered_feeds_back_and_rendered_commands_work, test_merged_check_apply_idempotent,
    test_merged_replaced_change_in_place, test_overridden_keeps_kernel_and_learned_entries)

pytestmark = pytest.mark.uml
