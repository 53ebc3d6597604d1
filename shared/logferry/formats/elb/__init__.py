"""Elastic Load Balancing access logs: ALB (``alb``), Classic ELB (``elb``), NLB TLS (``nlb``).

One precompiled regex per line, documents built directly as nested dicts (this is the
hot path of the product). The regex is the specification of the line; where the compiled
scanner ``_albscan`` is built (``pip install`` compiles it when a C compiler is there), it
gives the same fields (the regex's groups, numbers converted) several times faster and
hands the lines it cannot be sure of back to the regex (``LOGFERRY_ALB_SCANNER=regex`` turns
it off).

The modules, by concern:

- :mod:`~logferry.formats.elb.keys`: the S3 key's metadata (:func:`parse_alb_key`).
- :mod:`~logferry.formats.elb.legacy_text`: seed 000's prefixed text
  (:func:`cloudwatch_message`).
- :mod:`~logferry.formats.elb.patterns`: the line regexes (the specification) and small
  pure helpers (times, addresses, TLS versions, trailing fields).
- :mod:`~logferry.formats.elb.scanner`: the loader of the compiled scanner
  ``logferry.formats._albscan``, falling back to the regex.
- :mod:`~logferry.formats.elb.base`: the per-object state the three formats share.
- :mod:`~logferry.formats.elb.alb`, :mod:`~logferry.formats.elb.classic`,
  :mod:`~logferry.formats.elb.nlb`: the formats.

ECS fields go where Filebeat's ``aws.elb`` module puts them; everything
load-balancer-specific lives under ``aws.elb.*``:

- ``@timestamp``: the line's ``time`` (response sent; for WebSockets the close), ms, UTC;
  ``event.start``: ``request_creation_time`` (NLB: ``tls_connection_creation_time``).
- ``source.*`` client, ``destination.*`` target (absent for Lambda targets and undispatched
  requests), ``http.*``, ``url.*`` (scheme, domain, port, path, query split from the request
  line), ``user_agent.original``, ``tls.*`` (cipher, version, version_protocol,
  client.server_name), ``trace.id`` (the ``Root`` of ``X-Amzn-Trace-Id``).
- ``aws.elb.request_processing_time.sec`` / ``backend_processing_time.sec`` (ALB
  ``target_processing_time``) / ``response_processing_time.sec`` keep AWS's ``-1``
  ("not dispatched"); ``event.duration`` (ns, their sum) is set only when none is ``-1``.
- ``-`` is null: such fields are left out.
- Trailing fields AWS adds later: the documented ``transformed_host``, ``transformed_uri``,
  ``request_transform_status`` are named; anything after them is kept, in order, as
  ``aws.elb.extra_fields`` (quotes removed).
- From the S3 key (parsed once per object, see :func:`parse_alb_key`): ``cloud.account.id``
  and ``cloud.region`` (the reading function's are used only for a key that does not name
  them: a central log bucket may sit in another account or region), and ``aws.elb.log_file.*``
  (``load_balancer_type``/``_name``/``_id``, ``end_time``, ``node_ip``, ``date``, ``prefix``,
  ``random``).
- A line that does not match gives an :func:`~logferry.formats.base.error_document`.
- Classic ELB lines are the start of an ALB line without the type: the same regex parses
  them (``aws.elb.protocol`` ``http``/``tcp``). NLB TLS lines have their own regex
  (``aws.elb.listener``, ``connection_time.ms``, ``tls_handshake_time.ms``, ALPN fields).
- The ``cloud``, ``log.file``, ``tls``, ``aws.elb.log_file``, ``aws.elb.backend`` and
  ``aws.elb.action_executed`` values are shared by the documents that have the same ones
  (built once per object or per distinct value): treat documents as read-only.

Seed 000 compatibility (off by default): the seed's Lambda wrote each line to CloudWatch
Logs prefixed with its S3 metadata (``bucket prefix AWSLogs account region yyyy/mm/dd
lb-name.lb-id end-time ip random line``). :func:`cloudwatch_message` builds that text;
``get_format("alb", cloudwatch_prefix=True)`` makes :meth:`AlbFormat.event_message`
return it, so whoever turns documents into CloudWatch events can keep old Logs Insights
queries and LogStare reports working.
"""

from __future__ import annotations

from logferry.formats.elb.alb import AlbFormat
from logferry.formats.elb.classic import ClassicElbFormat
from logferry.formats.elb.keys import AlbKeyMeta, parse_alb_key
from logferry.formats.elb.legacy_text import cloudwatch_message
from logferry.formats.elb.nlb import NlbFormat

__all__ = [
    "AlbFormat",
    "AlbKeyMeta",
    "ClassicElbFormat",
    "NlbFormat",
    "cloudwatch_message",
    "parse_alb_key",
]
