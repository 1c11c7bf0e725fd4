# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traffic control filters (RTM_NEWTFILTER / RTM_DELTFILTER): u32, flower, matchall, fw, basic, bpf.

Identity: ``(dev, parent, protocol, prio, handle)``.

* ``prio`` is required: the kernel picks one (49152, 49151...) when none is given, which no later run
  could find again.
* ``handle`` may be given; when it is not, it is derived from the filter's position in ``config``
  among the filters of the same ``dev``, ``parent`` and ``prio`` - the handle the kernel itself assigns
  when the filters are added in that order to an empty prio:

  - u32: ``::800``, ``::801``, ... The kernel's full handle is ``HT::NODE`` where ``HT`` is the hash table
    the kernel made for the prio (``800:`` for the first prio on a qdisc, then ``801:``..., cyclically,
    so it depends on history).  The module manages the filters of each prio's own table and names them
    by node only (``::800``); ``800::10`` is accepted and means ``::10``.  u32 tries the nodes of a prio
    in handle order, so the order of ``config`` is the order of matching.
  - flower, matchall, basic, bpf: ``0x1``, ``0x2``, ... (matchall holds one filter per prio).
  - fw: the handle is the firewall mark (``match.mark``).

Messages are built by :mod:`_tc_filter` (pyroute2 0.9 mis-encodes u32 selectors) and sent on the engine's
bulk path (``encode`` is the one function that builds an op's request; the engine sends a whole plan
pipelined and rolls back what the kernel applied when it refuses one); dumps, on the same raw socket,
decode only what the resource uses.

bpf: the program is loaded here (BPF_MAP_CREATE of each map of the ``maps`` section it uses - struct
bpf_elf_map, PIN_NONE - its ld_imm64 map references patched with the fds, then BPF_PROG_LOAD of the ELF
section's instructions; other relocations are refused) and its fd sent as TCA_BPF_FD.  The kernel reports
the name tc gives (``file.o:[section]``) and the program's tag, a digest of the instructions (SHA-1 on 6.1,
SHA-256 on 6.18; map references zeroed), so "the same program" is: the same file name, section and tag -
computed from the object without loading it, so check mode predicts it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _tc
from ansible_collections.edgenet.linux.plugins.module_utils import _tc_filter as codec
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

KINDS = ('u32', 'flower', 'matchall', 'fw', 'basic', 'bpf')
#: qdiscs whose classes take filters of their own (the others refuse a classid as parent)
CLASS_FILTERS = ('htb', 'hfsc')
#: qdiscs without a classifier of their own (no tcf_block): the kernel refuses a filter on them
NO_FILTERS = ('tbf', 'pfifo', 'bfifo', 'pfifo_fast', 'pfifo_head_drop', 'netem', 'fq', 'codel', 'pie', 'red', 'mq',
              'mqprio', 'noqueue', 'plug', 'cbs', 'etf', 'taprio', 'skbprio')
ACTION_KINDS = ('gact', 'mirred', 'police', 'skbedit', 'vlan')
#: match fields each classifier takes
MATCH_FIELDS = {
    'u32': ('src', 'dst', 'ip_proto', 'sport', 'dport', 'dscp', 'tos', 'mark', 'keys'),
    'flower': ('src', 'dst', 'ip_proto', 'sport', 'dport', 'dscp', 'tos', 'dst_mac', 'src_mac', 'vlan_id',
               'vlan_prio', 'vlan_ethtype'),
    'matchall': (),
    'fw': ('mark',),
    'basic': (),
    'bpf': (),
}
_MATCH_SETS = dict((kind, frozenset(fields)) for kind, fields in MATCH_FIELDS.items())
#: the protocol names that parse_protocol returns as they are (given so, nothing to parse)
_PROTOCOL_NAMES = frozenset(p for p in codec.ETH_P if codec.parse_protocol(p) == p)
_HANDLE_NUMBERS = {}  # a handle's text: the number sort_key orders by (a tree repeats them, in want and have)
#: the fields each action takes (besides kind) and their defaults (what the kernel reports)
ACTION_FIELDS = {
    'gact': {'action': None},
    'mirred': {'action': None, 'direction': 'egress', 'dev': None},
    'police': {'rate': None, 'burst': None, 'exceed': 'reclassify', 'conform': 'pass'},
    'skbedit': {'priority': None, 'mark': None, 'queue_mapping': None},
    'vlan': {'action': None, 'id': None, 'protocol': '802.1q', 'priority': 0},
}
CONTROLS = ('pass', 'drop', 'reclassify', 'pipe', 'continue', 'stolen', 'trap')
FIELD_ORDER = ('dev', 'parent', 'protocol', 'prio', 'handle', 'kind', 'classid', 'match', 'bpf', 'actions')
#: what TcFilter.match_have compares with a gathered u32 filter: the element's fields and its match fields
_FAST_FIELDS = frozenset(('dev', 'parent', 'protocol', 'prio', 'kind', 'classid', 'match'))
_FAST_MATCH = frozenset(('src', 'dst', 'ip_proto', 'sport', 'dport', 'dscp'))
_ADDRESS_MATCH = frozenset(('src', 'dst', 'ip_proto', 'sport', 'dport'))  # (_match: what it has read at that point)
#: a u32 add of these fields alone, protocol ip, whose match has dst and no other fields than _ADDRESS_MATCH, is the
#: request and the command of the first add alike in all its fields but handle, classid and dst's address, with those
#: three put in (_templated: the filters of a big tree)
_TEMPLATE_FIELDS = frozenset(('dev', 'parent', 'protocol', 'prio', 'handle', 'kind', 'classid', 'match'))
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_MAP_CREATE = 0
BPF_PROG_LOAD = 5
BPF_PROG_GET_FD_BY_ID = 13
SYS_BPF = {'x86_64': 321, 'aarch64': 280, 'i686': 357, 'armv7l': 386, 'ppc64le': 361, 's390x': 351}


class TcFilter(Resource):
    name = 'tc_filter'
    keys = ('dev', 'parent', 'protocol', 'prio', 'handle')
    duplicate_field = 'prio'  # (the field a duplicate key error names)
    required = ('dev', 'parent', 'prio', 'kind')
    device_fields = ('dev', 'actions[].dev')  # (by an altname too)
    device_options = ('dev',)
    options = {
        'dev': {'type': 'str'},
        'parent': {'type': 'str'},
        'protocol': {'type': 'str'},
        'prio': {'type': 'int'},
        'handle': {'type': 'str'},
        'kind': {'type': 'str', 'choices': list(KINDS)},
        'classid': {'type': 'str', 'aliases': ['flowid']},
        'match': {'type': 'dict', 'options': {
            'src': {'type': 'str'},
            'dst': {'type': 'str'},
            'ip_proto': {'type': 'str'},
            'sport': {'type': 'int'},
            'dport': {'type': 'int'},
            'dscp': {'type': 'int'},
            'tos': {'type': 'str'},
            'mark': {'type': 'str'},
            'keys': {'type': 'list', 'elements': 'str', 'no_log': False},
            'dst_mac': {'type': 'str'},
            'src_mac': {'type': 'str'},
            'vlan_id': {'type': 'int'},
            'vlan_prio': {'type': 'int'},
            'vlan_ethtype': {'type': 'str'},
        }},
        'bpf': {'type': 'dict', 'options': {
            'object': {'type': 'path'},
            'section': {'type': 'str'},
            'direct_action': {'type': 'bool'},
            'tag': {'type': 'str'},
        }},
        'actions': {'type': 'list', 'elements': 'dict', 'options': {
            'kind': {'type': 'str', 'choices': list(ACTION_KINDS)},
            'action': {'type': 'str'},
            'direction': {'type': 'str', 'choices': ['egress', 'ingress']},
            'dev': {'type': 'str'},
            'rate': {'type': 'str'},
            'burst': {'type': 'str'},
            'exceed': {'type': 'str'},
            'conform': {'type': 'str'},
            'priority': {'type': 'raw'},
            'mark': {'type': 'int'},
            'queue_mapping': {'type': 'int'},
            'id': {'type': 'int'},
            'protocol': {'type': 'str'},
        }},
    }
    scope_options = {'dev': {'type': 'str'}}
    scope_fields = ('dev',)
    immutable = ('kind',)
    #: what settle reads of a config element: the other elements' filters are left as gathered
    settle_fields = ('bpf', 'actions')
    default_keys = ('protocol',)  # the one key field defaults() fills
    module_options = _tc.GONE_OPTION

    def __init__(self):
        self._position = {}  # (dev, parent, prio): filters seen without a handle (normalize, config order)
        self._taken = {}  # (dev, parent, prio): the handles config elements before gave (normalize, config order)
        self._full = {}  # key: the kernel's handle (u32: with its hash table)
        self._ticks = {}  # (key, action index): (rate, police bucket in ticks) of the kernel's police action
        self._unmodelled = {}  # key: what the kernel's filter has that its object cannot show (validate refuses a change)
        self._odd_keys = set()  # key: the gathered flower filters that match on what their object cannot show
        self._qdiscs = None  # {(dev, 'X:'): kind} from the kernel
        self._classes = {}  # (dev, qdisc major): set of classids
        self._prio_deletes = set()  # id(op) of u32 deletes that remove the whole prio (its last node)
        self._u32_prios = set()  # (dev, parent, prio) of the u32 prios the last gather found (empty ones too)
        self._u32_protocols = {}  # their protocols
        #: {(dev, qdisc major): hash tables of its u32 prios that are no gathered parent's root table}: those that
        #: ``tc filter add ... handle 5: u32 divisor 256`` made (their nodes are not managed here), or the root table
        #: of a parent the gather did not read. The qdisc's parents share its hash tables, and its last u32 prio
        #: takes them all with it.
        self._other_tables = {}
        self._tables_seen = {}  # {(dev, qdisc major): (hash tables its prios' dumps listed, the parents' roots)}
        self._filled = set()  # (dev, parent, prio) of the filters the last gather found
        #: id(object) of each u32 add into a prio the kernel does not have before the plan: the adds into that prio,
        #: in plan order (a rollback deletes the prio with the last of them it removes)
        self._new_prios = {}
        self._fds = []  # bpf programs loaded for the requests being sent (closed at the next gather)
        self._prog_ids = {}  # key: the id of a gathered bpf filter's program
        #: id(a gathered bpf filter the plan deletes or changes): a file descriptor of its program, taken before
        #: anything is sent, which its rollback gives the kernel again (closed with the module)
        self._held = {}
        self._tags = {}  # key: the tags the wanted bpf program may have (SHA-1 or SHA-256, by kernel)
        #: (dev, class) parents the gather after a real run reads: those that held filters before or that the plan
        #: touches (None: every class, as the first gather does)
        self._class_scope = None
        self._seen = set()  # (dev, parent) of the filters the last gather found
        self._parents_ok = {}  # (dev, parent) that _check_parent found (qdisc, and class): the qdisc's major
        self._gathered = []  # the filters the last gather found
        self._templates = (None, {}, {})  # (ctx, requests, commands: _templated)

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        flowid = obj.pop('flowid', None)  # the argspec alias of classid: Ansible keeps both keys
        if flowid is not None:
            obj.setdefault('classid', flowid)
        kind = obj.get('kind')
        if 'parent' in obj:
            obj['parent'] = _parent(obj['parent'])
        if 'protocol' in obj:
            protocol = obj['protocol']
            obj['protocol'] = protocol if protocol.__class__ is str and protocol in _PROTOCOL_NAMES else \
                codec.parse_protocol(protocol)
        if 'prio' in obj and not 0 < obj['prio'] < 0x10000:
            raise EdgenetError('prio %d is out of range (1 to 65535)' % obj['prio'], field='prio')
        if 'classid' in obj:
            obj['classid'] = _tc.parse_handle(obj['classid'], 'classid')
        if 'match' in obj:
            match = obj['match'] or {}
            match = {k: v for k, v in match.items() if v is not None} if kind is None or None in match.values() \
                else match  # (_match reads it and makes its own)
            if kind is not None:
                match = self._match(match, kind, obj.get('protocol', 'all'))
            if match:
                obj['match'] = match
            else:
                obj.pop('match')
        if 'actions' in obj:
            gone = ctx.params.get('state') in ('merged', 'replaced', 'overridden')  # (states whose writes validate)
            acts = [self._action(a, i, gone) for i, a in enumerate(obj['actions'] or [])]
            if acts:
                obj['actions'] = acts
            else:
                obj.pop('actions')
        if kind is None:  # state=deleted selects by any subset of fields
            if 'handle' in obj:
                obj['handle'] = _any_handle(obj['handle'])
            if isinstance(obj.get('bpf'), dict):  # (Ansible gives every suboption; gather shows the file's name)
                b = dict((k, v) for k, v in obj['bpf'].items() if v is not None)
                if b.get('object') is not None:
                    b['object'] = _basename(b['object'])
                if b:
                    obj['bpf'] = b
                else:
                    obj.pop('bpf')
            return obj
        tags = None
        if 'bpf' in obj:  # a bpf filter without it is refused in validate (a state=deleted selector may omit it)
            obj['bpf'] = _bpf(obj['bpf'], kind)
            tags = obj['bpf'].pop('_tags', None)
        if kind == 'matchall' and obj.get('match'):
            raise EdgenetError('a matchall filter has no match fields', field='match')
        if 'handle' in obj:
            obj['handle'] = _handle(kind, obj['handle'])
            if 'dev' in obj and 'parent' in obj and 'prio' in obj:
                self._taken.setdefault((obj['dev'], obj['parent'], obj['prio']), set()).add(obj['handle'])
        if kind == 'fw':
            mark = obj.get('match', {}).get('mark')
            if mark is None:  # refused in validate (a state=deleted selector may omit it)
                return obj
            derived = '0x%x' % codec.split_mask(mark, 32, 'match.mark')[0]
            if obj.setdefault('handle', derived) != derived:
                raise EdgenetError('a fw filter\'s handle is its mark (%s)' % derived, field='handle')
        elif 'handle' not in obj and 'dev' in obj and 'parent' in obj and 'prio' in obj:
            group = (obj['dev'], obj['parent'], obj['prio'])
            n = self._next(group, kind == 'u32')
            self._position[group] = n + 1
            obj['handle'] = '::%x' % (0x800 + n) if kind == 'u32' else '0x%x' % (n + 1)
            if kind == 'u32' and 0x800 + n > 0xFFF:
                raise EdgenetError('more than 2048 u32 filters in one prio need explicit handles', field='handle')
        if tags:
            self._tags[self.key(dict(self.defaults(obj), **obj))] = tags
        return obj

    def match_index(self, have):
        return dict((self.key(h), h) for h in have)

    def match_have(self, item, index, ctx):
        # A u32 filter without a handle (normalize numbers it by its position in its prio, as the kernel does)
        # whose fields are the kernel's canonical text and numbers (normalize returns them unchanged and raises
        # nothing: they are a kernel filter's), with a match of addresses, protocol, ports or DSCP equal to the
        # filter's whole match. The element takes its position here, as normalize would; anything else, or a
        # value spelled otherwise, takes the normal path.
        if item.get('kind') != 'u32' or not _FAST_FIELDS.issuperset(item):
            return None
        match = item.get('match')
        if not match or match.__class__ is not dict:
            return None
        if None in match.values():  # (Ansible gives every match field)
            match = dict((k, v) for k, v in match.items() if v is not None)
        if not _FAST_MATCH.issuperset(match):
            return None
        group = (item['dev'], item['parent'], item['prio'])
        try:
            n = self._next(group, True)
            h = index.get((item['dev'], item['parent'], item.get('protocol', 'all'), item['prio'],
                           '::%x' % (0x800 + n))) if n <= 0x7FF else None
        except TypeError:  # (a value Ansible's argument spec would have refused)
            return None
        if h is None or h['kind'] != 'u32' or h.get('match') != match or item['prio'].__class__ is not int:
            return None
        for k, v in match.items():
            if v.__class__ is not h['match'][k].__class__:
                return None
        classid = item.get('classid')
        if classid is not None and (classid != h.get('classid') or classid.__class__ is not str):
            return None
        self._position[group] = n + 1
        return h

    def _next(self, group, u32):
        """The position of the next filter without a handle in ``group``: the kernel gives it the lowest handle that
        no filter before it has (from 800 for u32, 1 for the others), so one that an element before gave is skipped."""
        n = self._position.get(group, 0)
        taken = self._taken.get(group) if self._taken else None
        if taken:
            while ('::%x' % (0x800 + n) if u32 else '0x%x' % (n + 1)) in taken:
                n += 1
        return n

    @staticmethod
    def _match(match, kind, protocol):
        allowed = MATCH_FIELDS[kind]
        if not _MATCH_SETS[kind].issuperset(match):
            field = min(f for f in match if f not in allowed)
            raise EdgenetError("a %s filter cannot match on '%s' (it takes: %s)"
                               % (kind, field, ', '.join(allowed) or 'nothing'), field='match.' + field)
        out = {}
        family = 6 if protocol == 'ipv6' else 4
        for field in ('src', 'dst'):
            if field in match:
                net = _norm.prefix(match[field], 'match.' + field, strict=False)
                if net == 'default':
                    raise EdgenetError("'%s' is not an IP prefix" % match[field], field='match.' + field)
                version = 6 if ':' in net else 4
                if kind == 'u32' and version != family:
                    raise EdgenetError('an IPv%d prefix needs protocol %s (the filter is protocol %s)'
                                       % (version, 'ipv6' if version == 6 else 'ip', protocol),
                                       field='match.' + field)
                if kind == 'flower' and protocol not in ('ip' if version == 4 else 'ipv6',):
                    raise EdgenetError('flower matches IPv%d addresses only with protocol %s'
                                       % (version, 'ip' if version == 4 else 'ipv6'), field='match.' + field)
                if not net.endswith('/0'):
                    out[field] = net
        if 'ip_proto' in match:
            out['ip_proto'] = codec.parse_ip_proto(match['ip_proto'])
            if kind == 'flower' and protocol not in ('ip', 'ipv6'):
                raise EdgenetError('flower matches ip_proto only with protocol ip or ipv6', field='match.ip_proto')
        for field in ('sport', 'dport'):
            if field in match:
                if not 0 <= match[field] <= 0xFFFF:
                    raise EdgenetError('port %d is out of range (0 to 65535)' % match[field], field='match.' + field)
                if kind == 'flower' and out.get('ip_proto') not in codec.PORT_ATTRS:
                    raise EdgenetError('flower matches ports only with ip_proto tcp, udp or sctp',
                                       field='match.' + field)
                out[field] = match[field]
        if _ADDRESS_MATCH.issuperset(match):  # (a large tree's usual match: none of the checks below applies)
            return out
        if 'dscp' in match and 'tos' in match:
            raise EdgenetError('give dscp or tos, not both', field='match.tos')
        if 'dscp' in match:
            if not 0 <= match['dscp'] < 64:
                raise EdgenetError('dscp %d is out of range (0 to 63)' % match['dscp'], field='match.dscp')
            out['dscp'] = match['dscp']
        if 'tos' in match:
            val, mask = codec.split_mask(match['tos'], 8, 'match.tos')
            if mask == 0xFC:
                out['dscp'] = val >> 2
            else:
                out['tos'] = '0x%02x/0x%02x' % (val, mask)
        if 'mark' in match:
            val, mask = codec.split_mask(match['mark'], 32, 'match.mark')
            out['mark'] = '0x%x' % val if mask == 0xFFFFFFFF else '0x%x/0x%x' % (val, mask)
        if 'keys' in match:
            # a key with an empty mask matches every packet: the same as no key
            keys = sorted(set(k for k in (codec.normalize_raw_key(k) for k in match['keys'])
                              if not k.startswith('00000000/00000000')), key=codec.raw_sort)
            if keys:
                out['keys'] = keys
        for field in ('dst_mac', 'src_mac'):
            if field in match:
                out[field] = _norm.mac(match[field], 'match.' + field)
        if 'vlan_id' in match:
            if not 0 <= match['vlan_id'] < 4096:
                raise EdgenetError('vlan_id %d is out of range (0 to 4095)' % match['vlan_id'], field='match.vlan_id')
            out['vlan_id'] = match['vlan_id']
        if 'vlan_prio' in match:
            if not 0 <= match['vlan_prio'] < 8:
                raise EdgenetError('vlan_prio is out of range (0 to 7)', field='match.vlan_prio')
            out['vlan_prio'] = match['vlan_prio']
        if 'vlan_ethtype' in match:
            out['vlan_ethtype'] = codec.parse_protocol(match['vlan_ethtype'], 'match.vlan_ethtype')
        if kind == 'flower' and any(f in out for f in ('vlan_id', 'vlan_prio', 'vlan_ethtype')) and \
                protocol not in ('802.1q', '802.1ad'):
            raise EdgenetError('flower matches VLAN fields only with protocol 802.1q or 802.1ad', field='match.vlan_id')
        if kind == 'u32' and 'keys' in out:
            # raw keys that conflict with the fields are an error now, not in the kernel; and the match is what
            # gather decodes the kernel's keys to (a raw key that spells a prefix, the protocol, a port or DSCP is
            # that field, keys at one offset are one key), else a filter given by raw keys never reads back equal
            mark = out.pop('mark', None)
            keys = codec.u32_keys(out, family)
            if len(keys) > codec.U32_MAX_KEYS:
                raise EdgenetError('the match makes %d u32 keys (keys at one offset are one); the kernel takes at most '
                                   '%d in one filter' % (len(keys), codec.U32_MAX_KEYS), field='match.keys')
            out = codec.u32_match([k + (0,) for k in keys], family)
            if mark is not None:  # (not a key: TCA_U32_MARK, which gather adds after the keys' fields)
                out['mark'] = mark
        return out

    @staticmethod
    def _action(act, index, gone=False):
        act = dict((k, v) for k, v in act.items() if v is not None)
        where = 'actions[%d]' % index
        kind = act.get('kind')
        if kind is None:
            raise EdgenetError('every action needs a kind (%s)' % ', '.join(ACTION_KINDS), field=where + '.kind')
        allowed = ACTION_FIELDS[kind]
        for field in sorted(act):
            if field != 'kind' and field not in allowed:
                raise EdgenetError("a %s action has no field '%s' (it takes: %s)" % (kind, field, ', '.join(allowed)),
                                   field='%s.%s' % (where, field))
        out = {'kind': kind}
        for field, default in allowed.items():
            if field in act:
                out[field] = act[field]
            elif default is not None:
                out[field] = default
        if kind == 'gact':
            out['action'] = _control(out.get('action'), where + '.action', required=True)
        elif kind == 'mirred':
            if out.get('action') not in ('redirect', 'mirror'):
                raise EdgenetError("a mirred action is 'redirect' or 'mirror'", field=where + '.action')
            if 'dev' not in out and not gone:
                raise EdgenetError('a mirred action needs dev (the target device)', field=where + '.dev')
            # (with ``gone``, none is the kernel's action whose target device is gone, as gather shows it: validate
            # refuses it in a write, so that gathered filters fed back are no change)
            out.setdefault('dev', None)
        elif kind == 'police':
            for field in ('rate', 'burst'):
                if field not in out:
                    raise EdgenetError('a police action needs rate and burst', field='%s.%s' % (where, field))
            out['rate'] = _tc.rate(out['rate'], where + '.rate')
            out['burst'] = _tc.size(out['burst'], where + '.burst')
            if out['burst'] <= 0:
                raise EdgenetError('burst must be more than 0 bytes', field=where + '.burst')
            for field in ('exceed', 'conform'):
                out[field] = _control(out[field], '%s.%s' % (where, field), required=True)
        elif kind == 'skbedit':
            if not any(f in out for f in ('priority', 'mark', 'queue_mapping')):
                raise EdgenetError('a skbedit action needs priority, mark or queue_mapping', field=where)
            if 'priority' in out:
                out['priority'] = _tc.parse_handle(out['priority'], where + '.priority') \
                    if ':' in str(out['priority']) else _tc.handle_text(_int(out['priority'], where + '.priority'))
            if 'mark' in out and not 0 <= out['mark'] < 2 ** 32:
                raise EdgenetError('mark is out of range', field=where + '.mark')
            if 'queue_mapping' in out and not 0 <= out['queue_mapping'] < 0x10000:
                raise EdgenetError('queue_mapping is out of range', field=where + '.queue_mapping')
        elif kind == 'vlan':
            if out.get('action') not in codec.VLAN_ACTIONS:
                raise EdgenetError("a vlan action is 'push', 'pop' or 'modify'", field=where + '.action')
            if out['action'] == 'pop':
                for field in ('id', 'protocol', 'priority'):
                    if field in act:
                        raise EdgenetError('vlan pop takes no %s' % field, field='%s.%s' % (where, field))
                    out.pop(field, None)
            else:
                if 'id' not in out:
                    raise EdgenetError('vlan %s needs id (0 to 4094)' % out['action'], field=where + '.id')
                if not 0 <= out['id'] < 4095:
                    # (act_vlan refuses a push or modify id of VLAN_VID_MASK, 4095, or more: ERANGE)
                    raise EdgenetError('vlan id %d is out of range (0 to 4094; the kernel refuses 4095, which is '
                                       'reserved)' % out['id'], field=where + '.id')
                out['protocol'] = codec.parse_protocol(out['protocol'], where + '.protocol')
                if out['protocol'] not in ('802.1q', '802.1ad'):
                    raise EdgenetError('vlan protocol is 802.1q or 802.1ad', field=where + '.protocol')
                out['priority'] = _int(out['priority'], where + '.priority')
                if not 0 <= out['priority'] < 8:
                    raise EdgenetError('vlan priority is out of range (0 to 7)', field=where + '.priority')
        return out

    def defaults(self, obj):
        return {'protocol': 'all'}

    def label(self, obj):
        return 'filter %s prio %s handle %s dev %s parent %s' % (
            obj.get('kind', ''), obj.get('prio', '?'), obj.get('handle', '?'), obj.get('dev', '?'),
            obj.get('parent', '?'))

    field_order = FIELD_ORDER  # (the engine's shape: an object in this order, as gather makes them, is kept)

    def sort_key(self, obj):
        h = obj.get('handle', '')
        n = _HANDLE_NUMBERS.get(h)
        if n is None:
            n = int(h.split(':')[-1] or '0', 16) if h else 0
            if len(_HANDLE_NUMBERS) < 65536:
                _HANDLE_NUMBERS[h] = n
        return (obj.get('dev', ''), obj.get('parent', ''), obj.get('prio', 0), obj.get('protocol', ''), n)

    def in_scope(self, obj, ctx):
        dev = ctx.params.get('dev')
        return dev is None or obj['dev'] == dev

    def settle(self, want, obj):
        # a bpf program is the same when its code (the kernel's tag) and section are; the kernel keeps the
        # object's file name only
        wb, hb = want.get('bpf'), obj.get('bpf')
        same_code = wb and hb and hb.get('tag') in self._tags.get(self.key(want), ())
        if same_code and hb.get('object') == _basename(wb['object']) and \
                dict(hb, object=None, tag=None) == dict(wb, object=None, tag=None):
            obj['bpf'] = dict(wb)
        # a police bucket the kernel keeps in ticks reads back as a slightly smaller size
        wacts, hacts = want.get('actions', []), obj.get('actions', [])
        for i, (w, h) in enumerate(zip(wacts, hacts)):
            kept = self._ticks.get((self.key(obj), i))
            if (w.get('kind') == h.get('kind') == 'police' and kept is not None and w.get('rate') == h.get('rate')
                    and isinstance(w.get('burst'), int) and _tc.same_bucket(h['rate'], w['burst'], kept[1])):
                h['burst'] = w['burst']
        return obj

    def _kernel_ticks(self, obj):
        """{index: ticks} of the police actions of ``obj`` that are the kernel's own bucket (the one its filter of the
        same key has at that index, at the same rate; :meth:`settle` counts them as the same), or None: they are sent
        as those ticks. The size gathered for a bucket is cut to whole microseconds: sent as a size again (the rollback
        of a change or delete, a filter tc_qdisc makes again, a change of another field of the filter), it made a
        smaller bucket, which the next run found changed."""
        key, out = self.key(obj), None
        for i, act in enumerate(obj['actions']):
            if act['kind'] != 'police':
                continue
            kept = self._ticks.get((key, i))
            if kept is not None and kept[0] == act['rate'] and _tc.same_bucket(act['rate'], act['burst'], kept[1]):
                out = out or {}
                out[i] = kept[1]
        return out

    def plan_change(self, have, target, ctx):
        kind = target.get('kind')
        if have.get('kind') != kind or kind == 'matchall' or (
                kind == 'u32' and (have.get('match') != target.get('match') or _terminal(have) != _terminal(target))) or (
                kind == 'flower' and _flower_mask(have.get('match', {})) != _flower_mask(target.get('match', {}))) or (
                kind == 'fw' and _fw_mask(have) != _fw_mask(target)):
            # u32 keeps a node's selector on replace, its keys and its terminal flag (which a classid or actions
            # need, and which a node without them must not have: see _terminal_only); matchall has no replace;
            # flower refuses a replace that changes the filter's mask (fl_check_assign_mask), fw one that changes
            # its mark mask (fw_set_parms): EINVAL
            return [Op('delete', have, None), Op('add', None, target)]
        return [Op('change', have, target)]

    def validate(self, ctx, plan, after):
        self._class_scope = self._seen | {(o['dev'], o['parent']) for op in plan for o in (op.before, op.obj) if o}
        prios = {}
        for o in after:
            group = (o['dev'], o['parent'], o['prio'])
            seen = prios.get(group)
            if seen is None:
                prios[group] = (o['kind'], o['protocol'], o)
                continue
            if seen[0] != o['kind'] or seen[1] != o['protocol']:
                raise EdgenetError('prio %d on %s parent %s would hold %s %s and %s %s filters; the kernel keeps one '
                                   'classifier and one protocol per prio' % (
                                       o['prio'], o['dev'], o['parent'], seen[0], seen[1], o['kind'], o['protocol']),
                                   obj=self.label(o), field='prio')
            if o['kind'] == 'matchall' and seen[2] is not o:
                raise EdgenetError('a prio holds one matchall filter', obj=self.label(o), field='handle')
        # (checked for the prios the plan adds u32 filters to: both sides' prios that tc made are left as they are)
        # (in the plan's order, each prio once: a set's order changes from process to process, and the first clash
        # found is the filter the error names, which check mode and the real run must name alike)
        added = dict(((op.after['dev'], op.after['parent'], op.after['prio']), None) for op in plan
                     if op.action == 'add' and op.after['kind'] == 'u32' and op.after['parent'] in ('ingress', 'egress'))
        for (dev, parent, prio) in added:
            kind, _p, o = prios[(dev, parent, prio)]
            other = {'ingress': 'egress', 'egress': 'ingress'}.get(parent)
            if kind == 'u32' and other and prios.get((dev, other, prio), ('',))[0] == 'u32':
                raise EdgenetError('u32 filters of one clsact qdisc share their hash tables between ingress and '
                                   'egress; use different prios on the two sides', obj=self.label(o), field='prio')
        readded = dict((self.key(op.before), op.before) for op in plan if op.action == 'delete') \
            if self._unmodelled else {}
        links = ctx.nl.links()[0]
        #: (dev, parent): what _check_parent found of it: the classids of its qdisc (a filter that gives one of them,
        #: or none, is as fine as the filter before; any other is checked), or True (a parent it says no more of)
        parents = {}
        for op in plan:
            if op.action == 'delete':
                continue
            obj = op.obj
            lost = self._unmodelled.get(self.key(obj)) if self._unmodelled else None
            if lost and (op.action == 'change' or readded.get(self.key(obj), {}).get('kind') == obj['kind']):
                # (a change is a replace; a u32 match or a matchall change, a delete and an add: either way the
                # kernel makes the filter from the request alone)
                raise EdgenetError(
                    'the filter has what this module does not model (%s); a change makes the whole filter again in '
                    'the kernel from what the module sends, and would drop it: change it with tc, or delete it first '
                    '(state deleted) and make it again as the config gives it' % ', '.join(lost),
                    obj=self.label(obj),
                    field=','.join(Op('change', op.before or readded[self.key(obj)], obj).changed_fields()))
            if obj['kind'] == 'bpf' and 'bpf' not in obj:
                raise EdgenetError('a bpf filter needs bpf.object (the compiled program, an ELF file)',
                                   obj=self.label(obj), field='bpf.object')
            if obj['kind'] == 'bpf' and ctx.check_mode:
                # the verifier's verdict, so that check mode does not show what the real run's kernel refuses: the
                # program is loaded and closed at once (it lives only while its file descriptor is open; nothing of
                # it stays in the kernel)
                import os  # pylint: disable=import-outside-toplevel

                os.close(_bpf_load(obj['bpf'], self.label(obj)))
            if obj['kind'] == 'fw' and 'mark' not in obj.get('match', {}):
                raise EdgenetError('a fw filter needs match.mark (the firewall mark it selects)',
                                   obj=self.label(obj), field='match.mark')
            # (labels are made only for an error: 1,000 of them cost a 1,000-filter tree ~1 ms)
            if obj['dev'] not in links:
                ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
            where = (obj['dev'], obj['parent'])
            fine, classid = parents.get(where), obj.get('classid')
            if fine is not True and (fine is None or (classid is not None and classid not in fine)):
                self._check_parent(ctx, obj)
                major = self._parents_ok.get(where)
                if major is not None:  # (a major, such as 1:; or a hook, ingress or egress; or '': warned about)
                    parents[where] = self._classes.get((obj['dev'], major), ()) if major[-1:] == ':' else True
            self._check_empty_prio(ctx, obj)
            for i, act in enumerate(obj.get('actions', [])):
                if act['kind'] == 'mirred':
                    if act.get('dev') is None:
                        raise EdgenetError('a mirred action needs dev (the target device)', obj=self.label(obj),
                                           field='actions[%d].dev' % i)
                    ctx.nl.ifindex(act['dev'], obj=self.label(obj), field='actions[%d].dev' % i)
        self._check_fw_masks(ctx, plan, after)
        self._check_flower_keys(ctx, plan, after)
        if self._prog_ids and not ctx.check_mode:
            self._hold_programs(plan)
        if any(op.action != 'delete' for op in plan):  # (classifiers, actions this kernel lacks; imported only then)
            from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig  # pylint: disable=import-outside-toplevel

            _kconfig.refuse(plan, 'filter', self.label, present=self._gathered)
        # a u32 delete that empties its prio removes the prio: the kernel keeps an empty prio's hash table. So does
        # one whose prio the plan fills with filters of another protocol or classifier: the kernel refuses them
        # while the old prio is there, empty or not
        left = set((o['dev'], o['parent'], o['prio'], o['protocol']) for o in after if o['kind'] == 'u32')
        last = {}
        for op in plan:
            if op.action == 'delete' and op.before.get('kind') == 'u32':
                last[(op.before['dev'], op.before['parent'], op.before['prio'], op.before['protocol'])] = op
        # (not a prio with other hash tables: deleting the qdisc's last u32 prio deletes every hash table of the
        # qdisc, those tc made with their nodes, which this module neither shows nor manages; its node alone goes)
        emptied = set(g[:3] for g in last if g not in left)
        alive = set((g[0], _qdisc_of(g[1])) for g in self._u32_prios if g not in emptied)
        self._prio_deletes = set(id(op) for g, op in last.items() if g not in left and (
            (g[0], _qdisc_of(g[1])) in alive or not self._other_tables.get((g[0], _qdisc_of(g[1])))))
        # the u32 adds into a prio the kernel does not have (or that the plan deletes first) create it: the rollback
        # of the last of them must delete the prio too (see _removes_prio)
        self._new_prios = {}
        if any(op.action == 'add' and op.after['kind'] == 'u32' for op in plan):
            gone = set(g[:3] for g, op in last.items() if id(op) in self._prio_deletes)
            created = {}
            scope = ctx.params.get('dev')
            for op in plan:
                o = op.after
                # (a device outside the task's dev was not gathered: its prios are unknown, and left alone)
                if op.action == 'add' and o['kind'] == 'u32' and (scope is None or o['dev'] == scope):
                    group = (o['dev'], o['parent'], o['prio'])
                    if group in gone or group not in self._u32_prios:
                        adds = created.setdefault(group, [])
                        adds.append(o)
                        self._new_prios[id(o)] = adds

    def _check_fw_masks(self, ctx, plan, after):
        """Refuse a plan that would leave fw filters with different mark masks in one prio.

        The kernel keeps one mask per fw prio: the mask of the filter that made the prio (fw_change keeps it in the
        prio's head), and it refuses (EINVAL) a filter with another, a new one or a replaced one. The prio goes with
        its last filter. The plan deletes first (Engine.order) and changes a filter's mask by a delete and an add
        (plan_change): so when the fw filters ``after`` has in a prio share one mask, each add and change the
        kernel gets has the mask of the prio it lands in - the filters it keeps, or the first add into a prio whose
        filters the plan all deleted."""
        written = [op.after for op in plan if op.action != 'delete' and op.after['kind'] == 'fw']
        if not written:
            return
        keys = set(self.key(o) for o in written)
        groups = set((o['dev'], o['parent'], o['prio']) for o in written)
        masks = {}  # (dev, parent, prio): (mask, the filter that has it)
        for o in sorted((o for o in after if o['kind'] == 'fw' and self.key(o) not in keys
                         and (o['dev'], o['parent'], o['prio']) in groups), key=self.sort_key):
            masks.setdefault((o['dev'], o['parent'], o['prio']), (_fw_mask(o), o))  # (the kernel's: they share it)
        for o in written:  # (in plan order: check mode and the real run name the same filter)
            mask = _fw_mask(o)
            if mask is None:  # (refused below: a fw filter needs match.mark)
                continue
            first = masks.setdefault((o['dev'], o['parent'], o['prio']), (mask, o))
            if first[0] == mask:
                continue
            other = first[1]
            kept = self.key(other) not in keys
            where = 'parent %s' % o['parent'] if ':' in o['parent'] else o['parent']
            raise EdgenetError(
                '%s would have mark mask 0x%x, but %s, at the same prio (%d on %s %s), has mask 0x%x: the kernel keeps '
                'one mark mask per fw prio (the mask of the filter that made the prio) and refuses a filter with '
                'another (EINVAL). Give the fw filters of one prio the same mask, or use another prio. To change the '
                'mask of a prio\'s fw filters, change all of them in one task: each is then deleted and added again, '
                'and the prio is made anew with the new mask' % (
                    self._element(ctx, o), mask,
                    '%s (which the task keeps)' % self.label(other) if kept else self._element(ctx, other),
                    o['prio'], o['dev'], where, first[0]),
                obj=self.label(o), field='match.mark')

    def _check_flower_keys(self, ctx, plan, after):
        """Refuse a plan that would add a flower filter with the match key of another filter of its prio.

        The filters of one flower prio (one classifier instance) with equal masks share a hash table keyed by the
        masked key (fl_ht_insert_unique), and the kernel refuses a new filter whose masked key is there (EEXIST),
        whatever its handle, classid or actions. A replace of a filter by its own handle is taken even then (the old
        filter holds the key until it goes). The normal match is that key: its fields are the mask, its values are
        masked (a prefix, a TOS under its mask), and dscp is the TOS under 0xfc. The kernel's filters of the prio are
        walked in the order the plan sends its adds and changes (after its deletes); a gathered filter with keys
        this module does not model (``_odd_keys``) equals none."""
        adds = [op.after for op in plan if op.action == 'add' and op.after['kind'] == 'flower']
        if not adds:
            return
        groups = set((o['dev'], o['parent'], o['prio']) for o in adds)
        written = set(self.key(op.after) for op in plan if op.action != 'delete')
        held = {}  # (dev, parent, prio): {match key: the filter that has it}
        for o in sorted(after, key=self.sort_key):
            group = (o['dev'], o['parent'], o['prio'])
            if group in groups and self.key(o) not in written and self.key(o) not in self._odd_keys:
                held.setdefault(group, {})[_flower_key(o)] = o
        for op in plan:  # (the changed filters hold their old key until the change is sent)
            o = op.before
            if op.action == 'change' and (o['dev'], o['parent'], o['prio']) in groups and o['kind'] == 'flower' \
                    and self.key(o) not in self._odd_keys:
                held.setdefault((o['dev'], o['parent'], o['prio']), {})[_flower_key(o)] = o
        for op in plan:
            o = op.after
            group = (o['dev'], o['parent'], o['prio']) if op.action != 'delete' else None
            if group not in groups:
                continue
            keys = held.setdefault(group, {})
            if op.action == 'change':
                for k, other in list(keys.items()):
                    if other is op.before:
                        del keys[k]
                keys[_flower_key(o)] = o
                continue
            other = keys.setdefault(_flower_key(o), o)
            if other is o:
                continue
            where = 'parent %s' % o['parent'] if ':' in o['parent'] else o['parent']
            raise EdgenetError(
                '%s would match on the same key as %s, at the same prio (%d on %s %s): the kernel keeps one flower '
                'filter per match key (the same fields under the same masks, with the same values) in a prio and '
                'refuses another (EEXIST), whatever its handle, classid or actions. Give the filters different '
                'matches, or put one in another prio' % (
                    self._element(ctx, o),
                    self._element(ctx, other) if self.key(other) in written else
                    '%s (which the task keeps)' % self.label(other), o['prio'], o['dev'], where),
                obj=self.label(o), field='match')

    def _element(self, ctx, obj):
        """The config element (``config[N] (label)``) that gives the filter ``obj``; its label if none does. The
        elements are normalized again in their order by a resource of their own (a handle that an element does not
        give comes from the position of the element in its prio, as in the run)."""
        fresh, key = TcFilter(), self.key(obj)
        for i, item in enumerate(ctx.params.get('config') or ()):
            try:
                o = fresh.normalize(dict((k, v) for k, v in item.items() if v is not None), ctx)
                if fresh.key(dict(fresh.defaults(o), **o)) == key:
                    return 'config[%d] (%s)' % (i, self.label(obj))
            except (EdgenetError, AttributeError, KeyError, TypeError, ValueError):  # (an element normalize refused)
                continue
        return self.label(obj)

    def _check_empty_prio(self, ctx, obj):
        """Refuse a filter of another protocol or classifier at an empty u32 prio: a u32 prio whose last filter was
        deleted by handle (``tc filter del ... handle 800::800 u32``) while another u32 prio shares the qdisc's hash
        tables. The kernel keeps it, with its root hash table and no filter: it is no filter this module shows,
        deletes or adds to, but the kernel refuses the filter (``Protocol mismatch``), which check mode predicted to
        work. u32 filters of its protocol go into it as into an empty prio."""
        group = (obj['dev'], obj['parent'], obj['prio'])
        protocol = self._u32_protocols.get(group)
        if protocol is None or group in self._filled or (obj['kind'], obj['protocol']) == ('u32', protocol):
            return
        where = 'parent %s' % obj['parent'] if ':' in obj['parent'] else obj['parent']
        raise EdgenetError(
            'prio %d on %s %s is an empty u32 prio of protocol %s (a hash table the kernel keeps without filters, '
            'left by a delete of its last filter by handle); the kernel refuses %s %s filters there. Delete it with '
            '"%s", or use another prio' % (
                obj['prio'], obj['dev'], where, protocol, obj['kind'], obj['protocol'],
                ctx.cmd('tc', 'filter', 'del', 'dev', obj['dev'], *(where.split() + [
                    'protocol', protocol, 'prio', obj['prio'], 'u32']))), obj=self.label(obj), field='prio')

    def _removes_prio(self, op):
        """Whether the u32 delete ``op`` deletes its whole prio (no handle) rather than one node: a delete the plan
        makes of a prio's last filter (validate), or the rollback of an add into a prio the task created.

        A rollback deletes what the kernel applied of the plan's adds, in the reverse order: the last of them is
        the first add (in plan order) that the kernel has - the one whose delete would leave the prio empty.
        ``request`` has read the kernel's filters of the parent before (the handles of the added nodes)."""
        if id(op) in self._prio_deletes:
            return True
        if not self._new_prios or id(op.before) not in self._new_prios:
            return False
        for obj in self._new_prios[id(op.before)]:
            if self.key(obj) in self._full:
                return obj is op.before
        return False

    def _check_parent(self, ctx, obj):
        known = self._parents_ok.get((obj['dev'], obj['parent']))  # (1,000 filters of one parent: looked up once)
        if obj['parent'] in ('ingress', 'egress'):
            if known is None:
                self._check_hook(ctx, obj)
            return
        if known is not None:
            classid = obj.get('classid')
            if classid is not None and classid.split(':')[0] + ':' == known:
                self._need_class(ctx, obj, classid, 'classid', 'the filter would send packets nowhere')
            return
        major = obj['parent'].split(':')[0] + ':'
        qdiscs = self._qdisc_map(ctx)
        kind = qdiscs.get((obj['dev'], major))
        if kind is None:
            self.refuse_or_warn(ctx, self.label(obj), 'parent', 'device %s has no qdisc %s (create it first)'
                                % (obj['dev'], major), 'creates it')
            return
        if obj['parent'] == major and kind in NO_FILTERS:
            # (the kernel: "Class doesn't support blocks", after the filters before it were sent)
            self._refuse_or_warn(ctx, obj, 'a %s qdisc takes no filters (it has no classifier of its own); attach '
                                           'the filter to a qdisc that classifies, such as htb, prio or clsact' % kind,
                                 'replaces it')
            return
        if obj['parent'] != major:
            if kind not in CLASS_FILTERS:
                raise EdgenetError('the classes of a %s qdisc take no filters of their own (only %s classes do); '
                                   'attach the filter to the qdisc, %s' % (kind, ' and '.join(CLASS_FILTERS), major),
                                   obj=self.label(obj), field='parent')
            found = self._need_class(ctx, obj, obj['parent'], 'parent', 'create it first')
        else:
            found = True
        if found:  # (check mode: a class that is not there is warned about for each filter, as before)
            self._parents_ok[(obj['dev'], obj['parent'])] = major
        classid = obj.get('classid')
        if classid is not None and classid.split(':')[0] + ':' == major:
            self._need_class(ctx, obj, classid, 'classid', 'the filter would send packets nowhere')

    def _check_hook(self, ctx, obj):
        """A filter at ingress or egress needs an ingress or clsact qdisc, and egress a clsact one: an ingress
        qdisc has no egress hook, and the kernel puts an egress filter on its one block, where it acts on the
        packets that arrive (its after then said ingress, and a second run failed)."""
        kind = self._qdisc_map(ctx).get((obj['dev'], 'ingress'))
        if kind is None:
            self._refuse_or_warn(ctx, obj, 'device %s has no ingress or clsact qdisc, which a filter at %s needs (the '
                                           'kernel refuses it)' % (obj['dev'], obj['parent']), 'creates it')
        elif obj['parent'] == 'egress' and kind != 'clsact':
            self._refuse_or_warn(ctx, obj, 'the %s qdisc of %s has no egress hook: an egress filter needs a clsact '
                                           'qdisc (the kernel would put it on the ingress block, where it acts on '
                                           'the packets that arrive)' % (kind, obj['dev']), 'replaces it with clsact')
        else:
            self._parents_ok[(obj['dev'], obj['parent'])] = obj['parent']

    def _refuse_or_warn(self, ctx, obj, msg, assumed):
        """Refuse ``obj`` for what its parent is on the host (naming parent), or, in check mode, where an earlier
        task may change that, warn once for the parent and go on."""
        self.refuse_or_warn(ctx, self.label(obj), 'parent', msg, assumed)
        self._parents_ok[(obj['dev'], obj['parent'])] = ''  # (said once, not for every filter of the parent)

    def _need_class(self, ctx, obj, classid, field, why):
        """A class the filter needs exists; in check mode a missing one is a warning (an earlier task may make it)."""
        if classid in self._class_set(ctx, obj['dev'], classid.split(':')[0] + ':'):
            return True
        return self.refuse_or_warn(ctx, self.label(obj), field, 'class %s does not exist on %s (%s)'
                                   % (classid, obj['dev'], why), 'creates it')

    # -- kernel I/O ----------------------------------------------------------
    @staticmethod
    def _dump(ctx, kind, body):
        """A netlink dump on the bulk path's socket: [(type, body bytes)]."""
        return [(t, bytes(buf[start:end])) for t, buf, start, end in ctx.nl.rdump(kind, body, 'the tc filters')]

    def _qdisc_map(self, ctx):
        """{(dev, 'X:' or 'ingress'): kind} of the host's qdiscs; in check mode without those that an earlier task
        deletes (option gone_qdiscs: the real run finds neither them nor their filters)."""
        if self._qdiscs is None:
            self._qdiscs = {}
            msgs = [codec.parse_tcmsg(body) for _t, body in self._dump(ctx, codec.RTM_GETQDISC, codec.tcmsg(0, 0, 0))]
            gone = _tc.gone_qdiscs(ctx, msgs)
            for msg in msgs:
                if not msg['handle'] or codec.TCA_KIND not in msg['attrs']:
                    continue
                dev = ctx.nl.ifname(msg['index'])
                kind = codec.string_of(msg['attrs'][codec.TCA_KIND])
                where = 'ingress' if kind in ('ingress', 'clsact') else _tc.handle_text(msg['handle'])
                if (dev, where) not in gone:
                    self._qdiscs[(dev, where)] = kind
        return self._qdiscs

    def _class_set(self, ctx, dev, major):
        """The classids of the classes of qdisc ``major`` (``'1:'``) of ``dev``."""
        if (dev, major) not in self._classes:
            self._read_classes(ctx, [(dev, major)])
        return self._classes[(dev, major)]

    def _read_classes(self, ctx, qdiscs):
        """Read the classes of many qdiscs (``(dev, major)`` pairs) at once, for :meth:`_class_set`."""
        pairs = dict(((ctx.nl.ifindex(dev), _tc.handle_int(major)), (dev, major)) for dev, major in qdiscs)
        for pair, handles in _tc.class_handles(ctx, list(pairs), 'the tc classes').items():
            self._classes[pairs[pair]] = handles

    def gather(self, ctx):
        self._release()
        self._unmodelled = {}
        self._odd_keys = set()
        self._prog_ids = {}
        scope = ctx.params.get('dev')
        self._u32_prios = set()
        self._u32_protocols = {}
        self._other_tables = {}
        self._tables_seen = {}
        out = []
        named = self._named(ctx)
        qdiscs = sorted(item for item in self._qdisc_map(ctx).items() if (scope is None or item[0][0] == scope)
                        and (named is None or item[0][0] in named))
        if named is None:  # (else only the classes a config element names as parent are looked up)
            self._read_classes(ctx, [q for q, kind in qdiscs if kind in CLASS_FILTERS and q not in self._classes])
        for (dev, where), kind in qdiscs:
            index = ctx.nl.ifindex(dev)
            parents = ['ingress', 'egress'] if kind == 'clsact' else ['ingress'] if where == 'ingress' else [where]
            if kind in CLASS_FILTERS:
                # filters attached to the qdisc's classes: one (mostly empty) dump per class; after a real run,
                # only the classes that held filters or that the plan touched (the others are as they were)
                classes = self._class_scope
                candidates = self._class_set(ctx, dev, where) if named is None else [
                    c for c in named[dev] if c != where and c.startswith(where) and c in self._class_set(ctx, dev, where)]
                parents += sorted((c for c in candidates if c != where
                                   and (classes is None or (dev, c) in classes)), key=_tc.handle_int)
            if named is not None:
                parents = [p for p in parents if p in named[dev]]
            # one dump per parent, pipelined (most of them are empty: one round trip for many)
            bodies = [codec.tcmsg(index, 0, codec.parent_int(parent)) for parent in parents]
            dumps = ctx.nl.rdump_many(codec.RTM_GETTFILTER, bodies, 'the tc filters')
            for parent, messages in zip(parents, dumps):
                if messages:
                    out.extend(self._dump_parent(ctx, dev, index, parent, messages))
        for qdisc, (tables, roots) in self._tables_seen.items():
            if tables - roots:
                self._other_tables[qdisc] = tables - roots
        self._gathered = out
        self._seen = set((o['dev'], o['parent']) for o in out)
        self._filled = set((o['dev'], o['parent'], o['prio']) for o in out)
        return out

    def _named(self, ctx):
        """``{dev: set of parents}`` whose filters a task is about, when it is about the filters its config names
        alone (merged, replaced, or deleted with a config, every element naming its dev and parent; clsact's
        ingress and egress together, whose u32 prios validate compares); None otherwise (overridden, gathered,
        deleted without a config or by other fields, a parent that does not parse: normalize names it).

        Filters are keyed by dev and parent, so the objects such a task reports, plans and validates are all on
        these parents: the gather reads no other. On a 1,000-class HTB tree that is one dump instead of 1,001,
        and no read of the classes unless an element's parent is one."""
        params = ctx.params
        config = params.get('config')
        if params.get('state') not in ('merged', 'replaced', 'deleted') or not config:
            return None
        memo = self.__dict__.get('_named_memo')
        if memo is not None and memo[0] is config:
            return memo[1]
        named, seen = {}, set()
        for item in config:
            dev, parent = (item.get('dev'), item.get('parent')) if isinstance(item, dict) else (None, None)
            if not isinstance(dev, str) or not isinstance(parent, str):
                named = None
                break
            if (dev, parent) in seen:
                continue
            seen.add((dev, parent))
            try:
                parent = _parent(parent)
            except EdgenetError:
                named = None
                break
            named.setdefault(dev, set()).update(('ingress', 'egress') if parent in ('ingress', 'egress') else
                                                (parent,))
        self._named_memo = (config, named)
        return named

    def _dump_parent(self, ctx, dev, index, parent, messages):
        """The filters of one parent, from its dump's ``messages``; each one's kernel handle and police
        ticks are recorded."""
        found, tables = [], {}
        for _t, body in messages:
            got = self._decode(ctx, dev, parent, body, tables)
            if got is not None:
                found.append(got)
        roots = {}
        for prio, (protocol, hts) in tables.items():
            self._u32_prios.add((dev, parent, prio))  # (every u32 prio lists its hash table, filters or not)
            self._u32_protocols[(dev, parent, prio)] = protocol
            seen = self._tables_seen.setdefault((dev, _qdisc_of(parent)), (set(), set()))
            seen[0].update(hts)
            if len(hts) == 1:
                seen[1].update(hts)
            if len(hts) > 1:
                # the u32 hash tables of one qdisc are shared by all its parents (and made by `tc filter ...
                # divisor` too), and a dump lists every table of the prio: keep the nodes of this parent's own
                # root table, which a get of handle fff: names
                reply = ctx.nl.rget(codec.RTM_GETTFILTER, codec.filter_payload(
                    index, codec.parent_int(parent), prio, protocol, 0xFFF00000), 'the u32 root table')
                roots[prio] = codec.parse_tcmsg(reply)['handle'] >> 20
                seen[1].add(roots[prio])
        out = []
        for obj, handle, ticks, unmodelled in found:
            if obj['kind'] == 'u32' and roots.get(obj['prio'], handle >> 20) != handle >> 20:
                continue
            key = self.key(obj)
            if unmodelled:
                self._unmodelled[key] = unmodelled
            for i, rate, t in ticks:
                self._ticks[(key, i)] = (rate, t)
            self._full[key] = handle
            if obj['kind'] == 'bpf' and '_id' in obj.get('bpf', ()):
                self._prog_ids[key] = obj['bpf'].pop('_id')
            out.append(obj)
        return out

    def _decode(self, ctx, dev, parent, body, tables):
        """(object, kernel handle, [(action index, rate, police ticks)], [what it has that the object cannot show]) of
        one dump message; None for what is not managed here (a u32 hash table is recorded in ``tables``: prio:
        (protocol, its hash tables))."""
        node = codec.u32_plain_node(body)
        if node is not None:  # (a u32 node of a classid and a selector alone: what a large u32 set is)
            return self._u32_node(dev, parent, node, tables)
        f = codec.decode_filter(body)
        if f is None or f['chain'] or not f['opts']:
            return None
        kind, a, handle = f['kind'], f['opts'], f['handle']
        unmodelled = ()
        # (in FIELD_ORDER: the engine's shape then keeps the object as it is)
        obj = {'dev': dev, 'parent': parent, 'protocol': f['protocol'], 'prio': f['prio'], 'handle': None,
               'kind': kind}
        cls_attr, act_attr = codec.CLS_ATTRS.get(kind, (None, None))
        if cls_attr in a:
            obj['classid'] = _tc.handle_text(codec.u32_of(a[cls_attr]))
        if kind not in KINDS:
            obj['handle'] = '0x%x' % handle
        elif kind == 'u32':
            if handle and not handle & 0xFFFFF:
                tables.setdefault(f['prio'], (f['protocol'], set()))[1].add(handle >> 20)
                return None  # a hash table
            if codec.TCA_U32_SEL not in a or not handle & 0xFFF or (handle >> 12) & 0xFF:
                return None  # a node in a hash bucket (not managed here)
            obj['handle'] = '::%x' % (handle & 0xFFF)
            sel = a[codec.TCA_U32_SEL]
            unmodelled = codec.u32_unmodelled(a, sel)
            _flags, keys = codec.unpack_sel(sel)
            match = codec.u32_match(keys, 6 if f['protocol'] == 'ipv6' else 4)
            if codec.TCA_U32_MARK in a:
                val, mask, _s = struct.unpack('=III', a[codec.TCA_U32_MARK][:12])
                match['mark'] = '0x%x' % val if mask == 0xFFFFFFFF else '0x%x/0x%x' % (val, mask)
            if match:
                obj['match'] = match
        elif kind == 'flower':
            obj['handle'] = '0x%x' % handle
            match = codec.flower_match(a)
            if match:
                obj['match'] = match
            unmodelled = codec.flower_unmodelled(a)
            if any(n not in ('skip_hw', 'skip_sw') for n in unmodelled):  # (flags, not keys)
                self._odd_keys.add(self.key(obj))
        elif kind == 'fw':
            obj['handle'] = '0x%x' % handle
            mask = codec.u32_of(a[codec.TCA_FW_MASK]) if codec.TCA_FW_MASK in a else 0xFFFFFFFF
            obj['match'] = {'mark': '0x%x' % handle if mask == 0xFFFFFFFF else '0x%x/0x%x' % (handle, mask)}
        elif kind == 'bpf':
            obj['handle'] = '0x%x' % handle
            name = codec.string_of(a.get(codec.TCA_BPF_NAME, b''))
            obj_name, _sep, sec = name.rpartition(':[')
            obj['bpf'] = {'object': obj_name or name, 'section': sec.rstrip(']') if obj_name else '',
                          'direct_action': bool(codec.u32_of(a[codec.TCA_BPF_FLAGS]) & codec.TCA_BPF_FLAG_ACT_DIRECT)
                          if codec.TCA_BPF_FLAGS in a else False,
                          'tag': a.get(codec.TCA_BPF_TAG, b'').hex()}
            if codec.TCA_BPF_ID in a:
                obj['bpf']['_id'] = codec.u32_of(a[codec.TCA_BPF_ID])  # (_dump_parent keeps it by the key)
        else:
            obj['handle'] = '0x%x' % handle
        ticks = []
        if act_attr in a:
            acts = codec.decode_actions(a[act_attr], ctx.nl.ifname)
            unmodelled = list(unmodelled) + codec.actions_unmodelled(a[act_attr])
            for i, act in enumerate(acts):
                t = act.pop('_ticks', None)
                if t is not None:
                    ticks.append((i, act['rate'], t))
            if acts and (kind != 'u32' or codec.sel_terminal(a[codec.TCA_U32_SEL])):
                # (a u32 node without tc's terminal flag never runs its actions: reported without them, so that a
                # config that gives them changes the filter, and the kernel then runs them)
                obj['actions'] = acts
        if kind == 'u32':
            unmodelled = self._terminal_only(obj, a, unmodelled)
        return obj, handle, ticks, unmodelled

    @staticmethod
    def _terminal_only(obj, a, unmodelled):
        """A u32 node's classid is shown only with tc's terminal flag, as its actions are: the kernel classifies with
        a node (and runs its actions) only when its selector has the flag, which tc sets when it is given a classid or
        actions, and which a replace keeps from the node it replaces (the flag is part of the selector, which the
        kernel keeps; :meth:`plan_change`). A node with the flag and neither ends classification without a class:
        what no config makes (``terminal``, in what the module does not model)."""
        terminal = codec.sel_terminal(a[codec.TCA_U32_SEL])
        if not terminal:
            obj.pop('classid', None)
        elif 'classid' not in obj and 'actions' not in obj and codec.TCA_U32_LINK not in a:
            unmodelled = list(unmodelled) + ['terminal']
        return unmodelled

    @staticmethod
    def _u32_node(dev, parent, node, tables):
        """What :meth:`_decode` makes of a message that :func:`_tc_filter.u32_plain_node` read (its u32 branch,
        for a message of a classid and a selector alone)."""
        handle, info, classid, sel = node
        protocol, prio = codec.protocol_of(info), info >> 16
        if handle and not handle & 0xFFFFF:
            tables.setdefault(prio, (protocol, set()))[1].add(handle >> 20)
            return None  # a hash table
        if not handle & 0xFFF or (handle >> 12) & 0xFF:
            return None  # a node in a hash bucket (not managed here)
        obj = {'dev': dev, 'parent': parent, 'protocol': protocol, 'prio': prio, 'handle': '::%x' % (handle & 0xFFF),
               'kind': 'u32'}
        terminal = codec.sel_terminal(sel)
        if classid is not None and terminal:  # (see _terminal_only)
            obj['classid'] = _tc.handle_text(classid)
        match = codec.sel_match(sel, 6 if protocol == 'ipv6' else 4)
        if match:
            obj['match'] = match
        unmodelled = codec.sel_unmodelled(sel)
        if terminal and classid is None:
            unmodelled.append('terminal')
        return obj, handle, (), unmodelled

    def request(self, ctx, op):
        """The one netlink request of ``op``: (message type, flags, body)."""
        obj = op.obj
        index = ctx.nl.links()[0].get(obj['dev'])  # the label of an unknown device's error only when needed
        if index is None:
            index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        parent = codec.parent_int(obj['parent'])
        kind = obj['kind']
        # (a u32 add sends the node alone, which the kernel puts in the prio's root hash table, as the render does:
        # the rollback of a delete of a whole prio re-adds its filters into a new table, which the kernel's old
        # handles do not name)
        handle = self._full.get(self.key(obj)) if self._full and (kind != 'u32' or op.action != 'add') else None
        if handle is None and kind == 'u32' and op.action != 'add':
            # a filter this task added (a rollback): its hash table is the kernel's choice, read it back (the police
            # buckets the gather found stay: a rollback sends them back as they were)
            kept = dict(self._ticks)
            self._dump_parent(ctx, obj['dev'], index, obj['parent'],
                              self._dump(ctx, codec.RTM_GETTFILTER, codec.tcmsg(index, 0, parent)))
            self._ticks.update(kept)
            handle = self._full.get(self.key(obj))
        if handle is None:
            handle = _handle_int(kind, obj['handle'])
        if op.action == 'delete':
            if self._removes_prio(op):
                handle = 0
            t, flags = codec.VERBS['del']
            return t, flags, codec.filter_payload(index, parent, obj['prio'], obj['protocol'], handle, kind)
        t, flags = codec.VERBS['add' if op.action == 'add' else 'replace']
        return t, flags, codec.filter_payload(index, parent, obj['prio'], obj['protocol'], handle, kind,
                                              self._options(ctx, obj))

    def _options(self, ctx, obj):
        kind = obj['kind']
        classid = _classid_int(obj)
        actions = b''
        if obj.get('actions'):
            label = self.label(obj)
            actions = codec.encode_actions(obj['actions'], lambda dev: ctx.nl.ifindex(dev, obj=label, field='actions'),
                                           self._kernel_ticks(obj) if self._ticks else None)
        match = obj.get('match', {})
        if kind == 'u32':
            mark = codec.split_mask(match['mark'], 32) if 'mark' in match else None
            return codec.u32_options(match, 6 if obj['protocol'] == 'ipv6' else 4, classid, actions, mark)
        if kind == 'flower':
            return codec.flower_options(match, obj['protocol'], classid, actions)
        if kind == 'fw':
            mask = codec.split_mask(match['mark'], 32)[1]
            extra = codec.nla_u32(codec.TCA_FW_MASK, mask) if mask != 0xFFFFFFFF else b''
            return codec.simple_options(kind, classid, actions, extra)
        if kind == 'matchall':
            return codec.simple_options(kind, classid, actions) + codec.nla_u32(codec.TCA_MATCHALL_FLAGS, 0)
        if kind == 'bpf':
            b = obj['bpf']
            fd = self._held.get(id(obj))  # (the rollback of a delete or change: the program the filter had)
            if fd is None:
                fd = _bpf_load(b, self.label(obj))
                self._fds.append(fd)
            return codec.bpf_options('%s:[%s]' % (_basename(b['object']), b['section']), fd, b['direct_action'],
                                     classid, actions)
        return codec.simple_options(kind, classid, actions)

    bulk = True

    def _templated(self, ctx, op, which):
        """``(template, templates, key)`` of ``op`` for :meth:`encode` (``which`` 1) or :meth:`render` (2): the
        template of its request or command (None: not made yet, to be kept in ``templates[key]``; False: the filter is
        not one of a big tree's shape, :data:`_TEMPLATE_FIELDS`, and is made field by field). ``templates``: this
        task's, which hold its device indexes and netns (a new ``ctx`` starts anew)."""
        obj = op.obj
        if op.action != 'add' or obj['kind'] != 'u32' or obj['protocol'] != 'ip' or \
                not _TEMPLATE_FIELDS.issuperset(obj):
            return False, None, None
        match = obj.get('match')
        if match is None or 'dst' not in match or not _ADDRESS_MATCH.issuperset(match):
            return False, None, None
        memo = self._templates
        if memo[0] is not ctx:
            memo = self._templates = (ctx, {}, {})
        # (with the classes of the numbers: 1 == True, and the command shows each as it is)
        prio, sport, dport = obj['prio'], match.get('sport'), match.get('dport')
        sig = (obj['dev'], obj['parent'], prio, prio.__class__, 'classid' in obj, match['dst'].partition('/')[2],
               match.get('src'), match.get('ip_proto'), sport, sport.__class__, dport, dport.__class__)
        return memo[which].get(sig), memo[which], sig

    def encode(self, ctx, op):
        """The request of ``op`` (:meth:`request`). The u32 filters of a big tree differ in handle, classid and dst
        alone: an add's request is that of the first add alike in every other field, with its handle, classid and
        the dst key's value put in (:func:`_tc_filter.u32_add_template`)."""
        template, templates, sig = self._templated(ctx, op, 1)
        if template is False:
            return self.request(ctx, op)
        obj = op.obj
        handle, classid = _handle_int('u32', obj['handle']), _classid_int(obj)
        addr, _sep, plen = obj['match']['dst'].partition('/')
        addr = int.from_bytes(socket.inet_aton(addr), 'big')
        if template is None:
            mtype, flags, body = self.request(ctx, op)
            # (normalize and gather give every prefix its length: checked all the same)
            parts = codec.u32_add_template(body, handle, classid, (addr, int(plen)), 'src' in obj['match']) \
                if plen.isdigit() else None
            templates[sig] = False if parts is None else (mtype, flags, parts)
            return mtype, flags, body
        return template[0], template[1], codec.u32_add_body(template[2], handle, classid, addr)

    def refine_error(self, op, error):
        """The kernel's text, with the kernel option a refused classifier or action needs."""
        error.msg = 'the kernel refused the filter %s' % op.action
        error.extack = _explain(error.extack, op.obj, error.code)
        return error

    def _release(self):
        """Close the bpf programs loaded for the requests sent (each filter holds its own reference)."""
        import os

        while self._fds:
            os.close(self._fds.pop())

    def render(self, ctx, op):
        """The ``tc filter`` command of ``op``. Like :meth:`encode`, the command of a u32 add alike in every field
        but handle, classid and dst to one rendered before is that one's with those put in."""
        line, lines, sig = self._templated(ctx, op, 2)
        obj = op.obj
        if line is None:
            # (rendered with words no other word can hold, a NUL on each side: the text around them is the template)
            probe = dict(obj, handle='\0handle\0', match=dict(obj['match'], dst='\0dst\0'))
            if 'classid' in obj:
                probe['classid'] = '\0classid\0'
            parts = self._render_one(ctx, Op('add', None, probe))[0].split('\0')
            line = lines[sig] = tuple(parts[0::2]) if parts[1::2] == ['handle', 'dst', 'classid'][:len(parts) // 2] \
                and len(parts) == (7 if 'classid' in obj else 5) else False
        if line is False:
            return self._render_one(ctx, op)
        if len(line) == 3:
            return [line[0] + obj['handle'] + line[1] + obj['match']['dst'] + line[2]]
        return [line[0] + obj['handle'] + line[1] + obj['match']['dst'] + line[2] + obj['classid'] + line[3]]

    def _render_one(self, ctx, op):
        """:meth:`render`, word by word."""
        obj = op.obj
        verb = {'add': 'add', 'delete': 'del', 'change': 'replace'}[op.action]
        where = ['parent', obj['parent']] if ':' in obj['parent'] else [obj['parent']]  # ingress / egress
        words = ['filter', verb, 'dev', obj['dev']] + where + ['protocol', obj['protocol'], 'prio', str(obj['prio'])]
        kind = obj['kind']
        if op.action == 'delete' and self._removes_prio(op):
            return [ctx.cmd('tc', *(words + [kind]))]
        if kind == 'u32':
            # (an add names the handle the config gives or normalize numbered; the others, the kernel's)
            handle = self._full.get(self.key(obj)) if self._full and op.action != 'add' else None
            words += ['handle', obj['handle'] if handle is None else codec.u32_handle_text(handle)]
        else:
            words += ['handle', obj['handle']]
        words.append(kind)
        if op.action == 'delete':
            return [ctx.cmd('tc', *words)]
        match = obj.get('match', {})
        if kind == 'u32':
            words += _u32_words(match, obj['protocol'])
            if 'keys' in match and len(match['keys']) > codec.TC_MAX_KEYS - 12:  # (the fields make at most 11 more)
                self._tc_takes_keys(ctx, obj)
        elif kind == 'flower':
            words += _flower_words(match)
        elif kind == 'bpf':
            words += ['obj', obj['bpf']['object'], 'sec', obj['bpf']['section']]
            if obj['bpf']['direct_action']:
                words.append('da')
        elif kind == 'fw' and '/' in match['mark']:
            words[words.index('handle') + 1] = match['mark']
        if 'classid' in obj:
            words += ['classid', obj['classid']]
        if kind == 'u32' and 'actions' not in obj and 'keys' not in match:
            return [ctx.line('tc', words)]  # (every word is text here, none empty: a 1,000-filter tree's)
        ticks = self._kernel_ticks(obj) if self._ticks and obj.get('actions') else None
        for i, act in enumerate(obj.get('actions', [])):
            words += _action_words(act, ticks.get(i) if ticks else None)
        return [ctx.cmd('tc', *words)]

    def _tc_takes_keys(self, ctx, obj):
        """Warn when the command of u32 filter ``obj`` is one tc cannot run: the kernel takes up to 255 keys in a
        filter, which the module sends, and tc makes at most 128."""
        n = len(codec.u32_keys(obj['match'], 6 if obj['protocol'] == 'ipv6' else 4))
        if n > codec.TC_MAX_KEYS:
            text = ('%s: its match makes %d u32 keys, and tc takes at most %d in one filter: the module sends it (the '
                    'kernel takes up to %d), but its command line cannot be run with tc'
                    % (self.label(obj), n, codec.TC_MAX_KEYS, codec.U32_MAX_KEYS))
            if text not in ctx.warnings:
                ctx.warn(text)

    def note_ticks(self, obj, ticks):
        """Record the police buckets (``ticks``, as :meth:`_decode` gives them) of ``obj``, a filter decoded from a dump
        that is not this task's gather (tc_qdisc's and tc_class's snapshots of what they make again), so that its
        command gives a burst that makes them (:meth:`render`)."""
        for i, rate, t in ticks:
            self._ticks[(self.key(obj), i)] = (rate, t)

    def close(self):
        import os  # pylint: disable=import-outside-toplevel

        self._release()
        while self._held:
            os.close(self._held.popitem()[1])

    def undo_loses(self, op):
        lost = self._unmodelled.get(self.key(op.before)) if op.action == 'delete' and self._unmodelled else None
        if lost:
            return 'made again without its %s, which this module does not model (make it again with tc)' % (
                ', '.join(lost))
        return None

    def _hold_programs(self, plan):
        """Take a file descriptor of the program of each gathered bpf filter that ``plan`` deletes or changes (by the
        id the dump gave), so that a rollback makes the filter again with the very program it had: the kernel keeps
        only the object file's name, which the rollback could not load again (another directory, a file rebuilt
        since). A program it cannot take (gone meanwhile) is loaded from the file, as before."""
        for op in plan:
            obj = op.before
            if op.action == 'add' or obj.get('kind') != 'bpf' or id(obj) in self._held:
                continue
            prog_id = self._prog_ids.get(self.key(obj))
            fd = _bpf_prog_by_id(prog_id) if prog_id else None
            if fd is not None:
                self._held[id(obj)] = fd


def _classid_int(obj):
    """The number of the classid of ``obj``, or None without one."""
    return _tc.handle_int(obj['classid']) if 'classid' in obj else None


def _qdisc_of(parent):
    """The major of the qdisc a parent belongs to (ingress and egress: clsact's, ffff), whose u32 prios share their
    hash tables."""
    return 'ffff' if parent in ('ingress', 'egress') else parent.split(':')[0]


def _terminal(obj):
    """Whether a u32 node of ``obj`` has tc's terminal flag: tc sets it when it is given a classid or actions."""
    return 'classid' in obj or bool(obj.get('actions'))


def _basename(path):
    return path.rstrip('/').rsplit('/', 1)[-1]


def _bpf(value, kind):
    """The canonical bpf options: object (path), section, direct_action, tag (of the program in the file)."""
    b = dict((k, v) for k, v in (value or {}).items() if v is not None)
    if kind is None:  # state=deleted selector
        return b
    if kind != 'bpf':
        raise EdgenetError('bpf options belong to a bpf filter', field='bpf')
    if 'object' not in b:
        raise EdgenetError('a bpf filter needs bpf.object (the compiled program, an ELF file)', field='bpf.object')
    b.setdefault('section', 'classifier')
    b.setdefault('direct_action', False)
    try:
        with open(b['object'], 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        raise EdgenetError("cannot read the bpf object '%s': %s" % (b['object'], e.strerror), field='bpf.object')
    try:
        insns, _license = codec.bpf_program(data, b['section'])
    except KeyError:
        raise EdgenetError("the bpf object '%s' has no section '%s'" % (b['object'], b['section']),
                           field='bpf.section')
    except (ValueError, struct.error, IndexError) as e:
        raise EdgenetError("the bpf object '%s' cannot be used: %s" % (b['object'], e), field='bpf.object')
    tags = codec.bpf_tags(insns)
    if b.get('tag', tags[0]).lower() not in tags:
        raise EdgenetError("the program in '%s' section %s has tag %s, not %s" % (
            b['object'], b['section'], ' or '.join(tags), b['tag']), field='bpf.tag')
    b.pop('tag', None)
    b['_tags'] = tags  # taken out by normalize: the tags the kernel may report for this code
    return b


def _bpf_syscall(label):
    """(libc, the bpf syscall number) of this machine."""
    import ctypes
    import platform

    nr = SYS_BPF.get(platform.machine())
    if nr is None:
        raise EdgenetError('loading bpf programs is not supported on %s' % platform.machine(), obj=label, field='bpf')
    return ctypes.CDLL(None, use_errno=True), nr


def _bpf_prog_by_id(prog_id):
    """BPF_PROG_GET_FD_BY_ID: a file descriptor of the loaded program ``prog_id``, or None."""
    import ctypes

    try:
        libc, nr = _bpf_syscall(None)
    except EdgenetError:
        return None
    attr = ctypes.create_string_buffer(struct.pack('=III', prog_id, 0, 0) + b'\0' * 4)
    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(BPF_PROG_GET_FD_BY_ID), attr, ctypes.c_uint(16))
    return fd if fd >= 0 else None


def _bpf_map_create(libc, nr, m, b, label):
    """BPF_MAP_CREATE of one struct bpf_elf_map (PIN_NONE: a new map for each load, as tc makes); its fd."""
    import ctypes
    import re

    name = m['name'][:15].encode() if re.match(r'^[A-Za-z0-9_.]+$', m['name']) else b''
    attr = ctypes.create_string_buffer(struct.pack(
        '=IIIIIII16s', m['type'], m['size_key'], m['size_value'], m['max_elem'], m['flags'], 0, 0, name) + b'\0' * 84)
    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(BPF_MAP_CREATE), attr, ctypes.c_uint(128))
    if fd >= 0:
        return fd
    err = ctypes.get_errno()
    raise EdgenetError("the kernel refused to create map %s of the bpf object '%s' (type %s, size_key %d, size_value "
                       "%d, max_elem %d, flags 0x%x)" % (
                           m['name'], b['object'], codec.BPF_MAP_TYPES[m['type']], m['size_key'], m['size_value'],
                           m['max_elem'], m['flags']), obj=label, field='bpf.object', code=err)


def _bpf_load(b, label):
    """Create the maps the program uses (BPF_MAP_CREATE), put their fds into its ld_imm64 instructions, load it
    (BPF_PROG_LOAD, type sched_cls) and return its fd; the map fds are closed (the program holds the maps)."""
    import os

    with open(b['object'], 'rb') as f:
        data = f.read()
    try:
        insns, lic, maps = codec.bpf_object(data, b['section'])
    except KeyError:  # the file changed since normalize read it
        raise EdgenetError("the bpf object '%s' has no section '%s'" % (b['object'], b['section']), obj=label,
                           field='bpf.section')
    except (ValueError, struct.error, IndexError) as e:
        raise EdgenetError("the bpf object '%s' cannot be used: %s" % (b['object'], e), obj=label, field='bpf.object')
    libc, nr = _bpf_syscall(label)
    map_fds = []
    try:
        code = bytearray(insns)
        for m in maps:
            fd = _bpf_map_create(libc, nr, m, b, label)
            map_fds.append(fd)
            for at in m['insns']:
                code[at + 4:at + 8] = struct.pack('<i', fd)
        return _bpf_prog_load(libc, nr, bytes(code), lic, b, label)
    finally:
        for fd in map_fds:
            os.close(fd)


def _bpf_prog_load(libc, nr, insns, lic, b, label):
    """BPF_PROG_LOAD of the (relocated) instructions, type sched_cls; its fd."""
    import ctypes
    import os

    code = ctypes.create_string_buffer(insns, len(insns))
    license_buf = ctypes.create_string_buffer((lic or 'GPL').encode() + b'\0')
    log = ctypes.create_string_buffer(65536)
    err, text = 0, None
    for level in (0, 1):  # a refused program is loaded again with the verifier's log, to say why
        attr = ctypes.create_string_buffer(struct.pack(
            '=IIQQIIQII16s', BPF_PROG_TYPE_SCHED_CLS, len(insns) // 8, ctypes.addressof(code),
            ctypes.addressof(license_buf), level, len(log) if level else 0, ctypes.addressof(log) if level else 0,
            0, 0, b'') + b'\0' * 56)
        fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(BPF_PROG_LOAD), attr, ctypes.c_uint(128))
        if fd >= 0 and not level:
            return fd
        if fd >= 0:
            os.close(fd)
            break
        err = err or ctypes.get_errno()
        lines = [x.strip() for x in log.value.decode('utf-8', 'replace').strip().splitlines() if x.strip()]
        # the verifier ends its log with a summary ("processed 2 insns ..."): the reason is the line before it
        tail = []
        while lines and lines[-1].startswith(('processed ', 'verification time')):
            tail.insert(0, lines.pop())
        text = '; '.join(lines[-1:] + tail) or None
    raise EdgenetError("the kernel refused the bpf program in '%s' section %s" % (b['object'], b['section']),
                       obj=label, field='bpf.object', code=err, extack=text)


def _explain(extack, obj, code):
    """The kernel's text, with the kernel option to look for when a classifier or action is missing."""
    import errno

    if code == errno.ENOENT and extack and ('unknown' in extack.lower() or 'not found' in extack.lower()):
        names = [obj.get('kind')] + [a['kind'] for a in obj.get('actions', [])]
        from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig  # pylint: disable=import-outside-toplevel

        syms = [_kconfig.symbol(w, n) for w, n in zip(['filter'] + ['action'] * (len(names) - 1), names)]
        return '%s (a kernel without %s refuses this)' % (extack, ' or '.join(s for s in syms if s))
    return extack


_PARENTS = {}  # a parent as given (a str): its canonical text (a tree's filters repeat a few)


def _parent(value):
    if value.__class__ is str:
        found = _PARENTS.get(value)
        if found is None:
            found = _parent_of(value)
            if len(_PARENTS) < 4096:
                _PARENTS[value] = found
        return found
    return _parent_of(value)


def _parent_of(value):
    text = str(value).strip().lower()
    if text in ('ingress', 'egress'):
        return text
    if text in ('ffff:', 'ffff:fff1', 'ffff:fff2'):
        return 'ingress'
    if text == 'ffff:fff3':
        return 'egress'
    if text == 'root':
        raise EdgenetError("give the qdisc's handle (for example 1:) rather than root", field='parent')
    return _tc.parse_handle(text, 'parent')


def _flower_mask(match):
    """What of a flower ``match`` makes the filter's mask (the kernel's fl_flow_mask, which a replace must keep): the
    keys it matches on, with the prefix lengths and the TOS mask (the values do not count)."""
    out = []
    for field, value in match.items():
        if field in ('src', 'dst'):
            out.append((field, value.rpartition('/')[2]))
        elif field in ('dscp', 'tos'):  # (both the ip_tos key)
            out.append(('tos', 0xFC if field == 'dscp' else codec.split_mask(value)[1]))
        elif field == 'vlan_ethtype':  # (an inner VLAN tag is a key of its own, cvlan; another EtherType is n_proto)
            out.append((field, value in ('802.1q', '802.1ad')))
        else:  # (MACs, ports, vlan_id and vlan_prio, ip_proto: under a full mask)
            out.append((field, None))
    return sorted(out, key=lambda item: item[0])


def _flower_key(obj):
    """The key a flower filter has in its prio's hash tables: its normal match (fields, masks and masked values)."""
    return tuple(sorted(obj.get('match', {}).items()))


def _fw_mask(obj):
    """The mark mask of a fw filter (0xffffffff when its mark gives none); None without a mark."""
    mark = obj.get('match', {}).get('mark')
    return None if mark is None else codec.split_mask(mark, 32)[1]


def _handle_int(kind, text):
    """The handle number of a canonical handle text (``::801`` of u32, ``0x1``)."""
    if kind == 'u32':
        if text[:2] == '::':  # what normalize and gather make: the node of the root hash table
            try:
                node = int(text[2:], 16)
            except ValueError:
                node = 0
            if 0 < node <= 0xFFF:
                return node
        return codec.u32_node(text)
    return int(text, 16)


def _any_handle(value):
    """A handle of a ``deleted`` selector without ``kind``, as gather shows it: with a colon, a u32 node (V(::801),
    V(800::801)); else a number (V(1), V(0x01)) of the other classifiers. Anything else is kept as given (it selects
    nothing)."""
    text = str(value).strip().lower()
    try:
        if ':' in text:
            return '::%x' % codec.u32_node(text)
        return _handle(None, text)
    except EdgenetError:
        return text


def _handle(kind, value):
    if kind == 'u32':
        return '::%x' % codec.u32_node(value)
    try:
        n = int(str(value).strip().lower().split('/', 1)[0], 0)
    except ValueError:
        raise EdgenetError("'%s' is not a filter handle (a number, for example 1 or 0x1)" % (value,), field='handle')
    if not 0 < n < 2 ** 32:
        raise EdgenetError('handle %s is out of range' % (value,), field='handle')
    return '0x%x' % n


def _control(value, field, required=False):
    text = str(value).strip().lower() if value is not None else None
    text = codec.TC_ACT_ALIASES.get(text, text)
    if text not in CONTROLS:
        raise EdgenetError("'%s' is not an action control (%s)" % (value, ', '.join(CONTROLS)), field=field)
    return text


def _int(value, field):
    try:
        return int(str(value), 0)
    except ValueError:
        raise EdgenetError("'%s' is not a number" % (value,), field=field)


def _u32_words(match, protocol):
    fam = 'ip6' if protocol == 'ipv6' else 'ip'
    words = []
    for field in ('src', 'dst'):
        if field in match:
            words += ['match', fam, field, match[field]]
    if 'ip_proto' in match:  # (the words as text: render then joins them with Context.line)
        words += ['match', fam, 'protocol', str(codec.ip_proto_number(match['ip_proto'])), '0xff']
    for field in ('sport', 'dport'):
        if field in match:
            words += ['match', fam, field, str(match[field]), '0xffff']
    if 'dscp' in match or 'tos' in match:
        val, mask = (match['dscp'] << 2, 0xFC) if 'dscp' in match else codec.split_mask(match['tos'])
        words += ['match', fam, 'tos' if fam == 'ip' else 'priority', '0x%02x' % val, '0x%02x' % mask]
    if 'mark' in match:
        val, mask = codec.split_mask(match['mark'], 32)
        words += ['match', 'mark', '0x%x' % val, '0x%x' % mask]
    for text in match.get('keys', []):
        val, mask, off = codec.parse_raw_key(text)
        words += ['match', 'u32', '0x%08x' % val, '0x%08x' % mask, 'at', off]
    return words or ['match', 'u32', '0', '0']


def _flower_words(match):
    words = []
    names = {'src_mac': 'src_mac', 'dst_mac': 'dst_mac', 'vlan_id': 'vlan_id', 'vlan_prio': 'vlan_prio',
             'vlan_ethtype': 'vlan_ethtype', 'ip_proto': 'ip_proto', 'src': 'src_ip', 'dst': 'dst_ip',
             'sport': 'src_port', 'dport': 'dst_port'}
    for field in ('dst_mac', 'src_mac', 'vlan_id', 'vlan_prio', 'vlan_ethtype', 'ip_proto', 'src', 'dst', 'sport',
                  'dport'):
        if field in match:
            words += [names[field], match[field]]
    if 'dscp' in match or 'tos' in match:
        val, mask = (match['dscp'] << 2, 0xFC) if 'dscp' in match else codec.split_mask(match['tos'])
        words += ['ip_tos', '0x%x/0x%x' % (val, mask)]
    return words


def _action_words(act, ticks=None):
    """The words of one action; ``ticks``: a police bucket that is the kernel's own (TcFilter._kernel_ticks), given as
    the smallest burst tc turns into it (the size the kernel reports for it is cut to whole microseconds, and tc
    makes a smaller bucket of that)."""
    kind = act['kind']
    words = ['action', kind]
    if kind == 'gact':
        words.append(act['action'])
    elif kind == 'mirred':
        words += [act['direction'], act['action'], 'dev', act['dev']]
    elif kind == 'police':
        burst = act['burst'] if ticks is None else _tc.size_for_ticks(act['rate'] // 8, ticks) or act['burst']
        words += ['rate', _tc.rate_text(act['rate']), 'burst', burst, 'conform-exceed',
                  '%s/%s' % (act['exceed'], act['conform'])]
    elif kind == 'skbedit':
        for field in ('priority', 'mark', 'queue_mapping'):
            if field in act:
                words += [field, act[field]]
    elif kind == 'vlan':
        words.append(act['action'])
        if act['action'] != 'pop':
            words += ['id', act['id'], 'protocol', act['protocol'], 'priority', act['priority']]
    return words
