# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # netns and the attributes shared by every netlink module.
    DOCUMENTATION = r'''
options:
  netns:
    description:
      - The named network namespace (as listed by C(ip netns list)) to act in, or the absolute path of a
        namespace file (such as C(/proc/1234/ns/net)). A name has no C(/).
      - Default is the namespace the module runs in. The namespace must exist; it is never created.
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Check mode gathers and plans but sends no netlink write; RV(after) is the state the plan produces.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: >-
      The diff is a list with one entry for each object that changes (changed, added, removed), in table
      order: the object's YAML as RV(before) and RV(after) have it (nothing on the side where it does not
      exist), under a header that names it, such as C(edgenet.linux.route: route 198.18.1.0/24 table main
      metric 0) (with the namespace after the module's name when O(netns) is set), so that every hunk
      Ansible prints says which object it is about. Unchanged objects are left out, so the diff of a large
      table stays small. When only the order of the same objects changes, the diff is one entry with the
      whole lists. RV(before) and RV(after) also hold the unchanged objects the task is about.
  platform:
    description: Target OS/families that can be operated against.
    platforms: linux
    support: full
requirements:
  - Python 3.9 or later on the managed host; nothing else (the module speaks rtnetlink with the standard library)
notes:
  - Every successful run returns RV(before), RV(after) and RV(commands) (the iproute2 command lines equivalent to the
    change).
  - RV(before) and RV(after) hold the objects the task is about. With O(state=merged) and O(state=replaced), these
    are the objects O(config) names, and any other the change touches; with O(state=deleted), the objects an element
    of O(config) matches; with O(state=overridden), with O(state=deleted) and no O(config), and with
    O(state=gathered), every object in scope. So a task that adds one route to a full routing table reports that
    route, not the table. O(state=gathered) reads every object in scope.
  - If one operation fails, the operations this task already made are undone in reverse order, and the task
    fails naming the object, the field and the kernel's error text.
  - A failed run returns, instead of RV(before), RV(after) and RV(commands), C(msg) and, where they apply, C(object)
    and C(field) (what the failure is about), C(errno) (the kernel's error number), C(failed_command) (the refused
    request as iproute2 command lines), C(rolled_back) (the command lines that undid what the task had changed, in the
    order sent) and C(rollback_failed) (the undo steps that could not be done; the message then says
    C(ROLLBACK INCOMPLETE)).
  - An option given null (C(~), or a template that renders to null) is taken as not given, whether or not it has a
    list of choices, at the top and in the elements of O(config) alike; it then has its default.
'''

    # The modules whose options and config fields name devices: a device's alternative name names it too. (A note
    # alone: ansible-core takes a fragment only with options or attributes, so an empty options.)
    DEVICE_NAMES = r'''
options: {}
notes:
  - A device may be named by one of its alternative names (altnames, which C(ip link property add dev eth0 altname
    uplink0) or M(edgenet.linux.link) gives it and C(ip link show) lists) wherever an option or a field of O(config)
    names a device, as the kernel takes one wherever it takes a device's name (for example C(dev=uplink0)). The
    module takes it as the name of that device - its elements are matched, changed and deleted as the device's,
    and RV(before), RV(after), RV(commands) and the diff show the device's name. A name that one device has as its
    name is never taken as another's altname.
'''

    # The state option of resource modules without state=parsed.
    GONE_QDISCS = r'''
options:
  gone_qdiscs:
    description:
      - Check mode only - the qdiscs (O(gone_qdiscs[].dev) and O(gone_qdiscs[].handle)) that an earlier task of the
        same play deletes, as that task's check mode shows (in its RV(before), not in its RV(after)). The kernel
        deletes their classes and filters with them, and the qdiscs attached to their classes, so this task's real
        run does not find them; its check mode, which reads the host as it is, leaves them out too, and shows what
        the real run shows. The C(edgenet.linux.qos) role passes the qdiscs its qdisc calls delete.
      - A real run ignores it (it reads the host after the earlier task).
    type: list
    elements: dict
    suboptions:
      dev:
        description:
          - The device of the qdisc.
        type: str
        required: true
      handle:
        description:
          - The handle of the qdisc (V(1:)); V(ffff:) is the device's ingress or clsact qdisc.
        type: str
        required: true
'''

    STATE = r'''
options:
  state:
    description:
      - C(merged) adds the objects in O(config) and updates the attributes given; nothing else changes.
      - C(replaced) makes each object in O(config) exactly as given; attributes left out return to their
        defaults.
      - C(overridden) is C(replaced), and also deletes every other object of this kind in scope (the
        namespace, narrowed by the scope options). Objects the kernel owns are never deleted.
      - C(deleted) deletes the objects whose fields match every field given in an element of O(config),
        or every object in scope when O(config) is empty. A nested option (such as a link's C(vxlan)) matches
        on the fields it gives. An element that names an object by its whole key while another of its fields
        differs keeps that object, with a warning that names the field.
      - C(gathered) returns the objects in scope, in the shape of O(config), as RV(gathered).
      - C(rendered) returns the iproute2 commands that would create O(config), without touching the host.
    type: str
    default: merged
    choices: [merged, replaced, overridden, deleted, gathered, rendered]
'''

    # The state option of resource modules with state=parsed, and running_config: STATE with one more choice.
    # A literal copy on purpose: ansible-test's yamllint sanity test needs every doc fragment attribute to be a
    # string literal (it crashes on an expression). tests/unit/plugins/doc_fragments/test_netlink_fragment.py keeps
    # the two in step.
    STATE_PARSED = r'''
options:
  state:
    description:
      - C(merged) adds the objects in O(config) and updates the attributes given; nothing else changes.
      - C(replaced) makes each object in O(config) exactly as given; attributes left out return to their
        defaults.
      - C(overridden) is C(replaced), and also deletes every other object of this kind in scope (the
        namespace, narrowed by the scope options). Objects the kernel owns are never deleted.
      - C(deleted) deletes the objects whose fields match every field given in an element of O(config),
        or every object in scope when O(config) is empty. A nested option (such as a link's C(vxlan)) matches
        on the fields it gives. An element that names an object by its whole key while another of its fields
        differs keeps that object, with a warning that names the field.
      - C(gathered) returns the objects in scope, in the shape of O(config), as RV(gathered).
      - C(rendered) returns the iproute2 commands that would create O(config), without touching the host.
      - C(parsed) reads the JSON output of C(ip -j) given in O(running_config) and returns it as RV(parsed), in
        the shape of O(config), without touching the host.
    type: str
    default: merged
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
  running_config:
    description:
      - With O(state=parsed), the JSON output of the matching C(ip -j ... show) command.
    type: str
'''
