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
  - Each role of the collection runs it as its own first task (its C(tasks/main.yml)), so that a role run on its own
    refuses a bad item before any of its module calls changes anything. A play that called it for the role already
    enters the role at C(tasks/run.yml) (C(tasks_from=run)), the role's tasks without that check.
  - Then, for each role whose variables pass, a preflight of its module calls, so that a value the argument
    specification accepts but a module refuses (a rate such as V(fast), a ceil below the rate, a VTEP address that is
    not an address, a VLAN ID or VNI out of range) also fails the host before the first role runs, not after the
    roles before it have changed the host.
  - The preflight follows the role's tasks (C(tasks/main.yml) for O(entry_point=main), and the files of the role
    that they import or include, such as C(tasks/run.yml)) as the run does. A task whose C(when) is false is not checked; nor is anything
    after a C(meta) C(end_role) whose C(when) is true. A task that calls one of this collection's resource modules
    (C(edgenet.linux.link), C(edgenet.linux.tc_class) and the like) has its arguments rendered with the host's
    variables and the role's defaults and vars (a value of C(omit) leaves the argument out) and validated as the
    module validates them - its argument specification, then the normalization of each O(edgenet.linux.link#module:config)
    item, which is pure Python and never reads the kernel. The first refusal in a role is reported (the run would
    stop the role there), in the module's own words, prefixed with the task and the module.
  - Where a task's O(edgenet.linux.link#module:config) is a role variable given whole (C({{ name }})) and the role
    has a variable C(name_origin), a list that says where each item of that list comes from, the refusal names the
    item so instead of as C(config[N]) (for the qos role C(qos_trees[1].classes[1]), not the index into its combined
    list of classes).
  - Values that only the kernel can judge (a device that does not exist, a parent qdisc that is not there) are
    left to the module. A task that needs a fact the role sets as it runs (C(set_fact), C(register)), or whose
    template fails for a reason that is not the input's (a filter that is not installed), is not checked or is
    checked with that fact taken as null, and is listed in RV(preflight_skipped); a failure of the preflight itself
    is a warning, never a refusal.
  - Every role must be a role of this collection (V(qos) or V(edgenet.linux.qos)). A role that the collection does
    not have fails the task, naming it. A role without C(meta/argument_specs.yml) has no variables to check; its
    module calls are still checked.
  - The specifications, the roles' task files, defaults and vars, and the argument specifications of the modules
    their tasks call are read once per run, in the controller's main process.
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
      - A role that has no such entry point (its C(meta/argument_specs.yml) does not name it and it has no
        C(tasks/<entry_point>.yml)) fails the task, naming the role and the entry point.
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
  - The preflight does not see C(module_defaults) of the play, nor extra variables that override a role's own
    vars (Ansible gives C(-e) precedence over them); the module still checks what it is given.
'''

EXAMPLES = r'''
# The roles' variables, and the values of the roles' module calls (qos_trees with a class rate "fast" fails here,
# naming the qos role, its task "Classes" and the field, not after the interfaces role has run)
- name: Check every role's input before the first one changes anything
  edgenet.linux.validate_roles:
    roles: [interfaces, l2_fabric, qos]

- name: Then the roles, without their own check (tasks/run.yml, the role's tasks after its validate_roles task)
  ansible.builtin.import_role:
    name: edgenet.linux.interfaces
    tasks_from: run
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
    tasks_from: run
    rolespec_validate: false
  loop: "{{ site_roles.hooks }}"

# Before the first role: what the hooks read from every host of the play (l2_fabric: every VTEP address), so that
# another host's bad address stops the play before the interfaces role changes anything
- name: Inputs of the hooks read from every host
  ansible.builtin.include_role:
    name: "edgenet.linux.{{ item }}"
    tasks_from: play_inputs.yml
    rolespec_validate: false
  loop: "{{ site_roles.play_inputs }}"
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
play_inputs:
  description:
    - The roles of RV(hooks) that read inputs from every host of the play (a C(tasks/play_inputs.yml) of theirs,
      such as the VTEP addresses of every fabric for V(l2_fabric)). A play that runs several roles includes that
      file of each (C(tasks_from)) before the first role, so that a bad input of another host stops the play before
      any role changes anything; the role reads it again as it runs.
  returned: always
  type: list
  elements: str
  sample: [l2_fabric]
argument_errors:
  description:
    - For each role that failed, the validation error messages, or the first refusal of its preflight (the task, the
      module, and the module's message).
  returned: failure
  type: dict
  sample: {edgenet.linux.qos: ["task \"Classes\" (edgenet.linux.tc_class): qos_trees[0].classes[0]: field 'rate': 'fast' is not a rate"]}
preflight_skipped:
  description:
    - The module calls that the preflight could not check before the role runs, each prefixed with the role and
      named by its task, with the reason; the module checks them when it runs.
  returned: always
  type: list
  elements: str
  sample: ["edgenet.linux.l2_fabric: task \"Head-end replication\": its arguments need a fact the role sets at run time"]
msg:
  description: A summary, or on failure every error, one line each, prefixed with the role.
  returned: always
  type: str
'''
