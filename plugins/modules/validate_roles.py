#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation of the validate_roles action (plugins/action/validate_roles.py), which runs on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: validate_roles
short_description: Check the variables of several of this collection's roles in one task, before any of them runs
version_added: 0.1.0
description:
  - Validates the variables of each role in O(roles) against that role's C(meta/argument_specs.yml), exactly as the
    check that Ansible puts at the start of a role does (types, choices, required options, the elements of lists),
    with the values the roles would get (the task's variables).
  - A play that runs several roles one after the other, such as C(playbooks/site.yml), calls it once before the
    first role, with C(rolespec_validate=false) on the roles themselves. A bad input for a later role then fails the
    host before the first role has changed anything, and the host pays for one controller task instead of one
    per role.
  - Every role must be a role of this collection (V(qos) or V(edgenet.linux.qos)). A role that the collection does
    not have fails the task, naming it. A role without C(meta/argument_specs.yml) has nothing to check.
  - The specifications are read once per run, in the controller's main process.
  - Runs on the controller only; it never connects to the host.
author:
  - edgenet.linux maintainers (@edgenet)
options:
  roles:
    description:
      - The roles whose variables to check, in any order. An empty list checks nothing.
    type: list
    elements: str
    required: true
  hooks:
    description:
      - Roles that the host runs only when it sets one of their variables, in the order they run. A hook joins when
        a variable named after it and an underscore is set (any C(qos_*) variable for V(qos)), in the inventory,
        group_vars or the play. RV(hooks) lists those that join, and they are checked as O(roles) are. A hook that
        does not join is not checked, and need not be installed.
      - The role's own defaults do not count; they are not among the task's variables before the role is included.
      - A play includes the roles in RV(hooks) after this task (C(register), then C(loop) over C(hooks)).
    type: list
    elements: str
    default: []
  entry_point:
    description:
      - The entry point of each role's argument specification.
    type: str
    default: main
attributes:
  check_mode:
    support: full
    description: Checks the same way in check mode; it never changes anything.
  diff_mode:
    support: none
    description: Reports no diff; it never changes anything.
notes:
  - The error message and RV(argument_errors) name the role and the variable, as Ansible's own role check does.
'''

EXAMPLES = r'''
- name: Check every role's input before the first one changes anything
  edgenet.linux.validate_roles:
    roles: [interfaces, l2_fabric, qos]

- name: Then the roles, without their own check
  ansible.builtin.import_role:
    name: edgenet.linux.interfaces
    rolespec_validate: false

# Hooks: l2_fabric and qos run for the hosts that set one of their variables (l2_fabric_*, qos_*).
- name: Check interfaces and the hooks that join, and list those
  edgenet.linux.validate_roles:
    roles: [interfaces]
    hooks: [l2_fabric, qos]
  register: site_roles

- name: The hooks, in order
  ansible.builtin.include_role:
    name: "edgenet.linux.{{ item }}"
    rolespec_validate: false
  loop: "{{ site_roles.hooks }}"
'''

RETURN = r'''
validated:
  description: The roles whose variables passed (fully qualified names).
  returned: always
  type: list
  elements: str
  sample: [edgenet.linux.interfaces, edgenet.linux.qos]
hooks:
  description: The roles of O(hooks) that join for this host (as given, in order); the others are left out.
  returned: always
  type: list
  elements: str
  sample: [l2_fabric, qos]
argument_errors:
  description: For each role that failed, the validation error messages.
  returned: failure
  type: dict
  sample: {edgenet.linux.qos: ["value of qos_state must be one of: merged, replaced, overridden, deleted, got: bogus"]}
msg:
  description: A summary, or on failure every error, one line each, prefixed with the role.
  returned: always
  type: str
'''
