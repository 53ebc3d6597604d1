"""ALB, Classic ELB and NLB access logs: lines written from the AWS docs' examples."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logferry.formats import get_format
from logferry.formats.elb import (
    AlbFormat,
    AlbKeyMeta,
    ClassicElbFormat,
    NlbFormat,
    cloudwatch_message,
    parse_alb_key,
)
from logferry.formats.elb import base as elb_base
from logferry.model import ObjectRef, ParseContext, Record
from logferry.samples.alb import alb_key, alb_lines

ACCOUNT = "123456789012"
KEY = (
    "my-app/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/"
    "123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_"
    "20180702T2225Z_172.160.001.192_20sg8hgm.log.gz"
)
TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
CERT = "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
HEAD = "2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188"
TAIL = '"10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-"'

HTTP = (
    f"http {HEAD} 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "
    f'"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - {TG} '
    '"Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" '
    f'0 2018-07-02T22:22:48.364000Z "forward" "-" "-" {TAIL}'
)
HTTPS = (
    f"https {HEAD} 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "
    '"GET https://www.example.com:443/a/b?x=1&y=%E6%97%A5 HTTP/1.1" "curl/7.46.0" '
    f"ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 {TG} "
    f'"Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "{CERT}" '
    f'1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" {TAIL}'
)
H2_REDIRECT = (
    f"h2 {HEAD} 10.0.1.252:48160 10.0.0.66:9000 0.000 0.002 0.000 200 200 5 257 "
    '"GET https://10.0.2.105:773/ HTTP/2.0" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
    f'{TG} "Root=1-58337327-72bd00b0343d75b906739c42" "-" "-" '
    '1 2018-07-02T22:22:48.364000Z "redirect" "https://example.com:80/" "-" '
    '"10.0.0.66:9000" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-"'
)
WS = (
    f"ws {HEAD} 10.0.0.140:40914 10.0.1.192:8010 0.001 0.003 0.000 101 101 218 587 "
    f'"GET http://10.0.0.30:80/ HTTP/1.1" "-" - - {TG} '
    '"Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" '
    '1 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.1.192:8010" "101" "-" "-" TID_ab'
)
WSS = (
    f"wss {HEAD} 10.0.0.140:44244 10.0.0.171:8010 0.000 0.001 0.000 101 101 218 786 "
    '"GET https://10.0.0.30:443/ HTTP/1.1" "-" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
    f'{TG} "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" '
    '1 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.171:8010" "101" "-" "-" TID_cd'
)
LAMBDA_TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-fn/73e2d6bc24d8a067"
LAMBDA_OK = (
    f"http {HEAD} 192.168.131.39:2817 - 0.000 0.001 0.000 200 200 34 366 "
    f'"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - {LAMBDA_TG} '
    '"Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" '
    '0 2018-11-30T22:22:48.364000Z "forward" "-" "-" "-" "-" "-" "-" TID_ef "-" "-" "-"'
)
LAMBDA_FAILED = LAMBDA_OK.replace("200 200 34", "502 - 34").replace(
    '"forward" "-" "-"', '"forward" "-" "LambdaInvalidResponse"'
)
FIXED_RESPONSE = (
    f"https {HEAD} 2001:db8:85a3::8a2e:370:7334:50012 - -1 -1 -1 503 - 120 300 "
    '"POST https://[2001:db8::1]:443/maintenance HTTP/1.1" "Mozilla/5.0 (日本語)" '
    f"TLS_AES_128_GCM_SHA256 TLSv1.3 - "
    f'"Root=1-58337364-23a8c76965a2ef7629b185e3" "www.example.com" "{CERT}" '
    '5 2018-07-02T22:22:59.999000Z "fixed-response" "-" "-" "-" "-" '
    '"Ambiguous" "UndefinedContentLengthSemantics" TID_01 "-" "-" "-" '
    'future1 "future field two" -'
)


def ctx_for(key: str = KEY, **kw: Any) -> ParseContext:
    return ParseContext(ObjectRef("my-bucket", key), **kw)


def parse(line: str | bytes, name: str = "alb", ctx: ParseContext | None = None) -> dict[str, Any]:
    fmt = get_format(name)
    data = line.encode() if isinstance(line, str) else line
    docs = fmt.parse(Record(1000, data, 7), ctx or ctx_for())
    assert len(docs) == 1
    return docs[0]


def test_registry_builds_the_three_formats() -> None:
    assert isinstance(get_format("alb"), AlbFormat)
    assert isinstance(get_format("elb"), ClassicElbFormat)
    assert isinstance(get_format("nlb"), NlbFormat)
    assert [get_format(n).dataset for n in ("alb", "elb", "nlb")] == [
        "aws.alb",
        "aws.elb",
        "aws.nlb",
    ]


def test_http_entry_every_field() -> None:
    doc = parse(HTTP)
    assert doc["@timestamp"] == "2018-07-02T22:23:00.186Z"
    assert doc["message"] == HTTP
    assert doc["event"] == {
        "dataset": "aws.alb",
        "duration": 1_000_000,
        "start": "2018-07-02T22:22:48.364Z",
    }
    assert doc["log"] == {"file": {"path": f"s3://my-bucket/{KEY}"}, "offset": 1000}
    assert doc["source"] == {"ip": "192.168.131.39", "port": 2817}
    assert doc["destination"] == {"ip": "10.0.0.1", "port": 80}
    assert doc["http"] == {
        "request": {"method": "GET", "bytes": 34},
        "response": {"status_code": 200, "bytes": 366},
        "version": "1.1",
    }
    assert doc["url"] == {
        "original": "http://www.example.com:80/",
        "scheme": "http",
        "domain": "www.example.com",
        "port": 80,
        "path": "/",
    }
    assert doc["user_agent"] == {"original": "curl/7.46.0"}
    assert doc["trace"] == {"id": "1-58337262-36d228ad5d99923122bbe354"}
    assert "tls" not in doc
    assert doc["cloud"] == {"provider": "aws", "account": {"id": ACCOUNT}, "region": "us-east-2"}
    elb = doc["aws"]["elb"]
    assert elb.pop("log_file")["load_balancer_name"] == "my-loadbalancer"
    assert elb == {
        "name": "app/my-loadbalancer/50dc6c495c0c9188",
        "type": "http",
        "request_processing_time": {"sec": 0.0},
        "backend_processing_time": {"sec": 0.001},
        "response_processing_time": {"sec": 0.0},
        "backend": {"http": {"response": {"status_code": 200}}},
        "target_group": {"arn": TG},
        "trace_id": "Root=1-58337262-36d228ad5d99923122bbe354",
        "matched_rule_priority": 0,
        "action_executed": ["forward"],
        "target_port": ["10.0.0.1:80"],
        "target_status_code": ["200"],
        "connection_trace_id": "TID_1234abcd5678ef90",
    }


def test_https_entry_tls_and_url_parts() -> None:
    doc = parse(HTTPS)
    assert doc["tls"] == {
        "cipher": "ECDHE-RSA-AES128-GCM-SHA256",
        "version": "1.2",
        "version_protocol": "tls",
        "client": {"server_name": "www.example.com"},
    }
    assert doc["url"]["path"] == "/a/b"
    assert doc["url"]["query"] == "x=1&y=%E6%97%A5"
    assert doc["url"]["port"] == 443
    elb = doc["aws"]["elb"]
    assert elb["chosen_cert"] == {"arn": CERT}
    assert elb["action_executed"] == ["authenticate", "forward"]
    assert elb["matched_rule_priority"] == 1
    assert doc["event"]["duration"] == 171_000_000


def test_h2_redirect_entry() -> None:
    doc = parse(H2_REDIRECT)
    assert doc["aws"]["elb"]["type"] == "h2"
    assert doc["http"]["version"] == "2.0"
    assert doc["aws"]["elb"]["redirect_url"] == "https://example.com:80/"
    assert doc["aws"]["elb"]["action_executed"] == ["redirect"]
    assert doc["url"]["domain"] == "10.0.2.105"


@pytest.mark.parametrize(("line", "scheme"), [(WS, "http"), (WSS, "https")])
def test_websocket_entries(line: str, scheme: str) -> None:
    doc = parse(line)
    assert doc["aws"]["elb"]["type"] == line.split(" ", 1)[0]
    assert doc["http"]["response"]["status_code"] == 101
    assert doc["url"]["scheme"] == scheme
    assert "user_agent" not in doc  # "-" is null
    assert doc["aws"]["elb"]["connection_trace_id"].startswith("TID_")
    assert "transformed_host" not in doc["aws"]["elb"]  # older line without those fields


def test_lambda_target_success_and_failure() -> None:
    ok = parse(LAMBDA_OK)
    assert "destination" not in ok
    assert ok["aws"]["elb"]["target_group"]["arn"] == LAMBDA_TG
    assert "target_port" not in ok["aws"]["elb"]
    failed = parse(LAMBDA_FAILED)
    assert failed["http"]["response"]["status_code"] == 502
    assert "backend" not in failed["aws"]["elb"]
    assert failed["aws"]["elb"]["error"] == {"reason": "LambdaInvalidResponse"}


def test_fixed_response_ipv6_minus_one_classification_and_trailing_fields() -> None:
    doc = parse(FIXED_RESPONSE)
    elb = doc["aws"]["elb"]
    assert elb["request_processing_time"] == {"sec": -1.0}
    assert elb["backend_processing_time"] == {"sec": -1.0}
    assert elb["response_processing_time"] == {"sec": -1.0}
    assert "duration" not in doc["event"]  # -1 means "not dispatched", not a duration
    assert doc["source"] == {"ip": "2001:db8:85a3::8a2e:370:7334", "port": 50012}
    assert doc["url"]["domain"] == "2001:db8::1"
    assert doc["user_agent"]["original"] == "Mozilla/5.0 (日本語)"
    assert doc["tls"]["version"] == "1.3"
    assert "target_group" not in elb
    assert elb["action_executed"] == ["fixed-response"]
    assert elb["classification"] == "Ambiguous"
    assert elb["classification_reason"] == "UndefinedContentLengthSemantics"
    assert elb["extra_fields"] == ["future1", "future field two", "-"]


def test_bracketed_ipv6_and_transform_fields() -> None:
    line = HTTP.replace("192.168.131.39:2817 10.0.0.1:80", "[2001:db8::7]:443 [fd00::1]:8080")
    line = line.replace(
        'TID_1234abcd5678ef90 "-" "-" "-"', 'TID_9 "api.internal" "/v2/x" "TRANSFORMED"'
    )
    doc = parse(line)
    assert doc["source"] == {"ip": "2001:db8::7", "port": 443}
    assert doc["destination"] == {"ip": "fd00::1", "port": 8080}
    elb = doc["aws"]["elb"]
    assert (elb["transformed_host"], elb["transformed_uri"]) == ("api.internal", "/v2/x")
    assert elb["request_transform_status"] == "TRANSFORMED"


def test_address_with_an_empty_ip_keeps_the_port() -> None:
    """``:2817`` matches ``ip:port`` with an empty ip; it once raised IndexError."""
    doc = parse(HTTP.replace("192.168.131.39:2817 10.0.0.1:80", ":2817 :80"))
    assert doc["source"] == {"ip": "", "port": 2817}
    assert doc["destination"] == {"ip": "", "port": 80}
    assert "error" not in doc


def test_multiple_targets_and_malformed_request() -> None:
    line = (
        f"http {HEAD} 192.168.131.39:2817 - -1 -1 -1 400 - 0 272 "
        f'"- http://www.example.com:80- -" "-" - - - "-" "-" "-" - '
        '2018-07-02T22:22:48.364000Z "-" "-" "-" "10.0.0.1:80 10.0.0.2:80" "502 200" "-" "-" -'
    )
    doc = parse(line)
    assert "method" not in doc["http"]["request"]
    assert "version" not in doc["http"]
    assert doc["url"]["original"] == "http://www.example.com:80-"
    elb = doc["aws"]["elb"]
    assert elb["target_port"] == ["10.0.0.1:80", "10.0.0.2:80"]
    assert elb["target_status_code"] == ["502", "200"]
    for absent in ("trace_id", "matched_rule_priority", "action_executed", "connection_trace_id"):
        assert absent not in elb
    assert "trace" not in doc


@pytest.mark.parametrize("cut", ['"-" "-"', '"forward" "-" "-"', '"-" "-" "-"'])
def test_older_alb_lines_without_the_newer_fields(cut: str) -> None:
    line = HTTP[: HTTP.index(cut) + len(cut)] if cut != '"-" "-"' else HTTP[: HTTP.index(" 0 2018")]
    doc = parse(line)
    assert "error" not in doc
    assert doc["http"]["response"]["status_code"] == 200


def test_garbage_line_gives_error_document_with_file_and_line() -> None:
    doc = parse(
        "this is not an ALB line", ctx=ctx_for(extra={"object_time": "2024-03-01T00:00:00.000Z"})
    )
    assert doc["message"] == "this is not an ALB line"
    assert doc["event"]["dataset"] == "aws.alb"
    assert f"s3://my-bucket/{KEY} line 7" in doc["error"]["message"]
    assert (
        "does not match the ALB access log format (6 fields, starting 'this is')"
        in (doc["error"]["message"])
    )
    assert doc["@timestamp"] == "2024-03-01T00:00:00.000Z"
    assert doc["cloud"]["account"]["id"] == ACCOUNT  # key metadata still attached
    assert doc["aws"]["elb"]["log_file"]["load_balancer_id"] == "50dc6c495c0c9188"


def test_error_timestamp_falls_back_to_the_key_end_time() -> None:
    doc = parse("http 2018-07-02 broken")
    assert doc["@timestamp"] == "2018-07-02T22:25:00.000Z"


def test_non_utf8_bytes_are_replaced_not_fatal() -> None:
    raw = HTTP.replace("curl/7.46.0", "bad\xffagent").encode("latin-1")
    doc = parse(raw)
    assert "error" not in doc
    assert doc["user_agent"]["original"] == "bad\ufffdagent"
    assert "\ufffd" in doc["message"]


def test_classic_elb_lines() -> None:
    key = (
        "AWSLogs/123456789012/elasticloadbalancing/us-west-2/2014/02/15/"
        "123456789012_elasticloadbalancing_us-west-2_my-loadbalancer_20140215T2340Z_"
        "172.160.001.192_20sg8hgm.log"
    )
    http = (
        "2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 "
        '0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" '
        '"curl/7.38.0" - -'
    )
    doc = parse(http, "elb", ctx_for(key))
    assert doc["event"]["dataset"] == "aws.elb"
    assert doc["@timestamp"] == "2015-05-13T23:39:43.945Z"
    assert doc["aws"]["elb"]["name"] == "my-loadbalancer"
    assert doc["aws"]["elb"]["protocol"] == "http"
    assert doc["aws"]["elb"]["backend_processing_time"] == {"sec": 0.001048}
    assert doc["aws"]["elb"]["log_file"]["load_balancer_type"] == "classic"
    assert doc["cloud"]["region"] == "us-west-2"
    tcp = (
        "2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 "
        '0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -'
    )
    doc = parse(tcp, "elb", ctx_for(key))
    assert doc["aws"]["elb"]["protocol"] == "tcp"
    assert "http" not in doc
    assert doc["source"]["bytes"] == 82 and doc["destination"]["bytes"] == 305
    assert "url" not in doc
    https = http.replace("- -", "ECDHE-ECDSA-AES128-GCM-SHA256 TLSv1.2")
    assert parse(https, "elb")["tls"]["cipher"] == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert "error" in parse(HTTP, "elb")  # an ALB line is not a Classic ELB line
    assert "error" in parse(http, "alb")


NLB_KEY = (
    "AWSLogs/671290407336/elasticloadbalancing/us-east-2/2020/04/01/"
    "671290407336_elasticloadbalancing_us-east-2_net.my-network-loadbalancer.c6e77e28c25b2234_"
    "20200401T0855Z_1a2b3c4d.log.gz"
)
NLB = (
    "tls 2.0 2020-04-01T08:51:42 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd "
    "72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - "
    "arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - "
    "ECDHE-RSA-AES128-SHA tlsv12 - "
    "my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com "
    'h2 h2 "h2","http/1.1" 2020-04-01T08:51:20'
)


def test_nlb_tls_line() -> None:
    doc = parse(NLB, "nlb", ctx_for(NLB_KEY))
    assert doc["@timestamp"] == "2020-04-01T08:51:42.000Z"
    assert doc["event"] == {
        "dataset": "aws.nlb",
        "duration": 5_000_000,
        "start": "2020-04-01T08:51:20.000Z",
    }
    assert doc["source"] == {"ip": "72.21.218.154", "port": 51341, "bytes": 98}
    assert doc["destination"] == {"ip": "172.100.100.185", "port": 443, "bytes": 246}
    assert doc["tls"] == {
        "cipher": "ECDHE-RSA-AES128-SHA",
        "version": "1.2",
        "version_protocol": "tls",
        "client": {
            "server_name": "my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com"
        },
        "next_protocol": "h2",
    }
    elb = doc["aws"]["elb"]
    assert elb["listener"] == "g3d4b5e8bb8464cd"
    assert elb["connection_time"] == {"ms": 5}
    assert elb["tls_handshake_time"] == {"ms": 2}
    assert elb["alpn_client_preference_list"] == ["h2", "http/1.1"]
    assert elb["chosen_cert"]["arn"].endswith("2a108f19-aded-46b0-8493-c63eb1ef4a99")
    assert "incoming_tls_alert" not in elb and "tls_named_group" not in elb
    assert elb["log_file"]["load_balancer_type"] == "net"
    assert "node_ip" not in elb["log_file"]
    assert doc["cloud"]["account"]["id"] == "671290407336"


def test_nlb_line_without_alpn_and_with_future_fields() -> None:
    line = NLB.replace('h2 h2 "h2","http/1.1" 2020-04-01T08:51:20', "- - - - x y")
    doc = parse(line, "nlb")
    assert "next_protocol" not in doc["tls"]
    assert "event" in doc and "start" not in doc["event"]
    assert doc["aws"]["elb"]["extra_fields"] == ["-", "x", "y"]
    assert "error" in parse("tls 2.0 short", "nlb")


def test_parse_alb_key_variants() -> None:
    meta = parse_alb_key(KEY)
    assert meta == AlbKeyMeta(
        account=ACCOUNT,
        region="us-east-2",
        date="2018-07-02",
        lb_type="app",
        lb_name="my-loadbalancer",
        lb_id="50dc6c495c0c9188",
        end_time="20180702T2225Z",
        ip="172.160.001.192",
        random="20sg8hgm",
        prefix="my-app",
    )
    assert meta.end_time_iso == "2018-07-02T22:25:00.000Z"
    root = parse_alb_key(KEY.removeprefix("my-app/"))
    assert root is not None and root.prefix is None
    nlb = parse_alb_key(NLB_KEY)
    assert nlb is not None and (nlb.lb_type, nlb.ip, nlb.random) == ("net", None, "1a2b3c4d")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "alb/varied.log",
        "my-app/AWSLogs/123456789012/ELBAccessLogTestFile",
        KEY.replace("123456789012_elastic", "999999999999_elastic"),  # account mismatch
        KEY.replace("app.my-loadbalancer.50dc6c495c0c9188", "app.too.many.parts"),
        KEY.replace(".log.gz", ".txt"),
    ],
)
def test_parse_alb_key_rejects(key: str) -> None:
    assert parse_alb_key(key) is None


def test_the_keys_account_and_region_win_over_the_readers() -> None:
    """A central log bucket read from another account and region: the key names the LB's."""
    doc = parse(HTTP, ctx=ctx_for(account_id="210987654321", region="eu-west-1"))
    assert doc["cloud"] == {
        "provider": "aws",
        "account": {"id": "123456789012"},
        "region": "us-east-2",
    }
    elsewhere = parse(HTTP, ctx=ctx_for("x.log", account_id="210987654321", region="eu-west-1"))
    assert elsewhere["cloud"]["region"] == "eu-west-1"
    plain = parse(HTTP, ctx=ctx_for("some/other/key.log"))
    assert plain["cloud"] == {"provider": "aws"}
    assert "log_file" not in plain["aws"]["elb"]


def test_key_parsed_once_per_object(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = parse_alb_key

    def counting(key: str) -> AlbKeyMeta | None:
        calls.append(key)
        return real(key)

    monkeypatch.setattr(elb_base, "parse_alb_key", counting)  # where _ElbBase looks it up
    fmt, ctx = AlbFormat(), ctx_for()
    docs = [fmt.parse(Record(i, HTTP.encode(), i + 1), ctx)[0] for i in range(5)]
    assert calls == [KEY]
    assert [d["log"]["offset"] for d in docs] == [0, 1, 2, 3, 4]
    fmt.parse(Record(0, HTTP.encode(), 1), ctx_for(NLB_KEY))
    assert calls == [KEY, NLB_KEY]


def test_cloudwatch_message_has_seed_000_prefix() -> None:
    doc = parse(HTTP)
    assert cloudwatch_message(doc) == (
        "my-bucket /my-app AWSLogs 123456789012 us-east-2 2018/07/02 "
        "my-loadbalancer.50dc6c495c0c9188 20180702T2225Z 172.160.001.192 20sg8hgm " + HTTP
    )
    no_prefix = parse(HTTP, ctx=ctx_for(KEY.removeprefix("my-app/")))
    assert cloudwatch_message(no_prefix).startswith("my-bucket None AWSLogs ")
    assert cloudwatch_message(parse(HTTP, ctx=ctx_for("x.log"))) == HTTP
    assert AlbFormat().event_message(doc) == HTTP
    assert (
        get_format("alb", cloudwatch_prefix=True).event_message(doc).endswith(" 20sg8hgm " + HTTP)
    )  # type: ignore[attr-defined]


def test_sample_lines_are_deterministic_varied_and_all_parse() -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    lines = list(alb_lines(3000, start, seed=3))
    assert lines == list(alb_lines(3000, start, seed=3))
    assert lines != list(alb_lines(3000, start, seed=4))
    fmt = AlbFormat()
    ctx = ctx_for(alb_key(ACCOUNT, "ap-northeast-1", "web-prod", start))
    docs = [fmt.parse(Record(i, ln.encode(), i + 1), ctx)[0] for i, ln in enumerate(lines)]
    assert not [d for d in docs if "error" in d]
    types = {d["aws"]["elb"]["type"] for d in docs}
    assert types == {"http", "https", "h2", "grpcs", "ws", "wss"}
    statuses = {d["http"]["response"]["status_code"] // 100 for d in docs}
    assert statuses == {1, 2, 3, 4, 5}
    assert any(":" in d["source"]["ip"] for d in docs)
    assert any(d["aws"]["elb"]["request_processing_time"]["sec"] == -1 for d in docs)
    assert any("destination" not in d and d["http"]["response"]["status_code"] == 200 for d in docs)
    assert any(not d["url"]["path"].isascii() for d in docs)
    assert docs[0]["cloud"]["region"] == "ap-northeast-1"
    stamps = [d["@timestamp"] for d in docs]
    assert stamps == sorted(stamps) and stamps[0].startswith("2024-03-01T00:00:00.")


def test_sample_garbage_rate_makes_error_documents() -> None:
    lines = list(alb_lines(500, datetime(2024, 3, 1, tzinfo=UTC), garbage_rate=0.2))
    errors = sum("error" in parse(line) for line in lines)
    assert 50 < errors < 150


def test_sample_key_round_trips() -> None:
    key = alb_key(ACCOUNT, "eu-west-1", "shop", datetime(2024, 3, 1, 23, 58, 10), prefix="/logs/")
    meta = parse_alb_key(key)
    assert meta is not None
    assert (meta.prefix, meta.account, meta.region, meta.lb_name) == (
        "logs",
        ACCOUNT,
        "eu-west-1",
        "shop",
    )
    assert meta.end_time == "20240302T0000Z"
    assert meta.date == "2024-03-01"
    assert key == alb_key(
        ACCOUNT, "eu-west-1", "shop", datetime(2024, 3, 1, 23, 58, 10), prefix="/logs/"
    )


def test_minimal_parse_agrees_with_the_full_parse() -> None:
    """Same verdict, time, message and path; nothing else built (what CloudWatch Logs reads)."""
    start = datetime(2024, 3, 1, tzinfo=UTC)
    lines = [*alb_lines(300, start, seed=3, error_rate=0.1), "garbage", HTTP]
    for fmt in (AlbFormat(), ClassicElbFormat()):
        ctx = ParseContext(ObjectRef("logs-bucket", KEY))
        for n, line in enumerate(lines, 1):
            record = Record(n * 1000, line.encode(), n)
            (full,) = fmt.parse(record, ctx)
            (small,) = fmt.parse_minimal(record, ctx)
            if "error" in full:
                assert small == full
                continue
            assert small == {
                "@timestamp": full["@timestamp"],
                "message": full["message"],
                "log": {"file": {"path": full["log"]["file"]["path"]}},
            }
            assert cloudwatch_message(small) == cloudwatch_message(full)


GOLDEN = Path(__file__).resolve().parent.parent / "golden"


@pytest.mark.parametrize("single", ["alb", "elb", "nlb"])
def test_loadbalancer_reads_each_type_as_its_own_parser_does(single: str) -> None:
    """A mixed ELB bucket: every golden line of each type gives the same documents, full and
    minimal, through the ``loadbalancer`` format as through its own (broken ones: an error)."""
    family, own = get_format("loadbalancer"), get_format(single)
    data = b"".join(log.read_bytes() for log in sorted((GOLDEN / single).glob("*.log")))
    ctx = ctx_for()
    for record in own.frame([data]):
        expected = own.parse(record, ctx)
        if "error" in expected[0]:  # garbage: still an error, labelled by the guessed type
            assert "error" in family.parse(record, ctx)[0]
            continue
        assert family.parse(record, ctx) == expected
        assert family.parse_minimal(record, ctx) == own.parse_minimal(record, ctx)


def test_loadbalancer_mixed_object_has_no_error_documents() -> None:
    fmt = get_format("loadbalancer")
    lines = (GOLDEN / "loadbalancer" / "mixed.log").read_bytes().splitlines()[:-1]  # not garbage
    docs = [d for r in fmt.frame([b"\n".join(lines)]) for d in fmt.parse(r, ctx_for())]
    assert len(docs) == len(lines) and not [d for d in docs if "error" in d]
    assert {d["event"]["dataset"] for d in docs} == {"aws.alb", "aws.elb", "aws.nlb"}


def test_nlb_version_1_line_has_no_alpn_fields() -> None:
    line = (
        "tls 1.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd "
        "72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - "
        "arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - "
        "ECDHE-RSA-AES128-SHA tlsv12 - "
        "my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com"
    )
    doc = parse(line, "nlb")
    assert "error" not in doc and doc["aws"]["elb"]["log_version"] == "1.0"
    assert not {"alpn_fe_protocol", "alpn_be_protocol"} & set(doc["aws"]["elb"])
    assert doc["tls"]["client"]["server_name"].startswith("my-network-loadbalancer")
    assert "start" not in doc["event"]


SPACE_IN_URI = HTTP.replace(
    '"GET http://www.example.com:80/ HTTP/1.1"',
    '"GET http://www.example.com:80/a b/c d?q=x y HTTP/1.1"',
)
"""A request ALB classifies SpaceInUri (in the scanner/regex differential samples too)."""


@pytest.mark.parametrize("name", ["alb", "loadbalancer"])
def test_request_with_spaces_in_the_uri_keeps_method_url_and_version(name: str) -> None:
    """ALB logs a request whose URI holds spaces (classified SpaceInUri) as written."""
    doc = parse(SPACE_IN_URI, name)
    assert "error" not in doc and "request" not in doc["aws"]["elb"]
    assert doc["http"]["request"]["method"] == "GET" and doc["http"]["version"] == "1.1"
    assert doc["url"] == {
        "original": "http://www.example.com:80/a b/c d?q=x y",
        "scheme": "http",
        "domain": "www.example.com",
        "port": 80,
        "path": "/a b/c d",
        "query": "q=x y",
    }
    garbled = parse(HTTP.replace("GET http://www.example.com:80/ HTTP/1.1", "x y z w"), name)
    assert garbled["aws"]["elb"]["request"] == "x y z w" and "url" not in garbled


def test_loadbalancer_reads_an_object_by_the_type_its_key_names() -> None:
    fmt = get_format("loadbalancer")
    assert fmt.for_object(ObjectRef("b", KEY), b"").name == "alb"
    assert fmt.for_object(ObjectRef("b", NLB_KEY), b"").name == "nlb"
    classic = KEY.replace("_app.my-loadbalancer.50dc6c495c0c9188_", "_my-loadbalancer_")
    assert fmt.for_object(ObjectRef("b", classic), b"").name == "elb"
    assert fmt.for_object(ObjectRef("b", "elb/mixed.log"), b"") is fmt  # line by line
