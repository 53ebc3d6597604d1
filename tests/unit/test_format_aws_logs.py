"""The AWS logs that land in S3: CloudFront, S3 server access, VPC Flow, WAF and CloudTrail."""

from __future__ import annotations

from logferry.formats import get_format
from logferry.formats.base import LogFormat
from logferry.model import Document, ObjectRef, ParseContext


def context(key: str = "logs/object.log") -> ParseContext:
    return ParseContext(ObjectRef("logs", key), extra={"object_time": "2024-03-01T00:00:00.000Z"})


def documents(fmt: LogFormat, chunks: list[bytes], key: str = "logs/object.log") -> list[Document]:
    ctx = context(key)
    return [doc for record in fmt.frame(chunks) for doc in fmt.parse(record, ctx)]


# --- CloudFront -------------------------------------------------------------------------

CF_HEADER = b"#Version: 1.0\n#Fields: time date sc-status c-ip cs-method\n"


def test_cloudfront_field_order_comes_from_the_fields_header() -> None:
    docs = documents(
        get_format("cloudfront"), [CF_HEADER + b"21:02:31\t2019-12-04\t503\t192.0.2.1\tGET\n"]
    )
    assert len(docs) == 1
    doc = docs[0]
    assert doc["@timestamp"] == "2019-12-04T21:02:31.000Z"
    assert doc["http"]["response"]["status_code"] == 503
    assert doc["source"] == {"address": "192.0.2.1", "ip": "192.0.2.1"}
    assert doc["http"]["request"]["method"] == "GET"
    assert doc["event"]["outcome"] == "failure"


def test_cloudfront_header_lines_give_no_documents() -> None:
    assert documents(get_format("cloudfront"), [CF_HEADER]) == []


def test_cloudfront_without_header_uses_the_default_order_and_decodes() -> None:
    values = ["-"] * 33
    values[0:2] = ["2019-12-04", "21:02:31"]
    values[4] = "not-an-ip"
    values[7] = "/a%20b"
    values[10] = "curl/7.55.1%20(x)"
    values[11] = "q=a%20b"
    (doc,) = documents(get_format("cloudfront"), ["\t".join(values).encode()])
    assert doc["source"] == {"address": "not-an-ip"}
    assert doc["url"] == {"path": "/a b", "query": "q=a%20b"}
    assert doc["user_agent"]["original"] == "curl/7.55.1 (x)"
    assert "error" not in doc


def test_cloudfront_broken_lines_give_error_documents() -> None:
    lines = CF_HEADER + b"garbage\n21:02:31\tnot-a-date\t200\t192.0.2.1\tGET\n"
    docs = documents(get_format("cloudfront"), [lines])
    assert len(docs) == 2
    assert all("logs/object.log line" in d["error"]["message"] for d in docs)
    assert docs[0]["message"] == "garbage"


# --- S3 server access ---------------------------------------------------------------------

S3_LINE = (
    "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be DOC-EXAMPLE-BUCKET1 "
    "[06/Feb/2019:00:00:38 +0000] {ip} 79a59df9 3E57427F3EXAMPLE REST.GET.VERSIONING - "
    '"GET /DOC-EXAMPLE-BUCKET1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4"{rest}'
)


def test_s3access_non_ip_client_goes_to_address() -> None:
    (doc,) = documents(
        get_format("s3access"), [S3_LINE.format(ip="proxy.internal", rest="").encode()]
    )
    assert doc["client"]["address"] == "proxy.internal"
    assert "ip" not in doc["client"]
    assert doc["aws"]["s3access"]["remote_ip"] == "proxy.internal"


def test_s3access_short_old_lines_and_extra_fields() -> None:
    old = S3_LINE.format(ip="192.0.2.3", rest="")
    new = S3_LINE.format(
        ip="192.0.2.3",
        rest=" - hostid SigV4 ECDHE-RSA-AES128-SHA AuthHeader h.example TLSv1.2 - Yes new1 new2",
    )
    old_doc, new_doc = documents(get_format("s3access"), [f"{old}\n{new}\n".encode()])
    assert old_doc["http"]["response"]["status_code"] == 200
    assert "tls" not in old_doc
    assert new_doc["aws"]["s3access"]["acl_required"] == "Yes"
    assert new_doc["aws"]["s3access"]["extra"] == ["new1", "new2"]
    assert new_doc["tls"] == {
        "cipher": "ECDHE-RSA-AES128-SHA",
        "version": "1.2",
        "version_protocol": "tls",
    }


def test_s3access_broken_lines_give_error_documents() -> None:
    bad_time = S3_LINE.format(ip="192.0.2.3", rest="").replace("06/Feb/2019", "06/Foo/2019")
    docs = documents(get_format("s3access"), [f"garbage\n{bad_time}\n".encode()])
    assert len(docs) == 2
    assert all(d["error"]["message"].startswith("s3://logs/logs/object.log line") for d in docs)


# --- VPC Flow Logs ------------------------------------------------------------------------

FLOW = (
    b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 "
    b"1418530010 1418530070 ACCEPT OK\n"
)


def test_vpcflow_without_header_uses_the_version_2_order() -> None:
    (doc,) = documents(get_format("vpcflow"), [FLOW])
    assert doc["source"] == {
        "address": "172.31.16.139",
        "ip": "172.31.16.139",
        "port": 20641,
        "packets": 20,
        "bytes": 4249,
    }
    assert doc["destination"]["port"] == 22
    assert doc["network"]["transport"] == "tcp"
    assert doc["event"]["start"] == "2014-12-14T04:06:50.000Z"
    assert doc["@timestamp"] == doc["event"]["end"] == "2014-12-14T04:07:50.000Z"
    assert doc["event"]["outcome"] == "success"


def test_vpcflow_custom_header_sets_the_field_order() -> None:
    data = (
        b"dstport srcaddr action start end flow-direction pkt-srcaddr\n"
        b"443 10.0.0.5 REJECT 1566848875 1566848933 egress not-an-ip\n"
    )
    (doc,) = documents(get_format("vpcflow"), [data])
    assert doc["destination"] == {"port": 443}
    assert doc["source"] == {"address": "10.0.0.5", "ip": "10.0.0.5"}
    assert doc["event"]["outcome"] == "failure"
    assert doc["network"]["direction"] == "egress"
    assert "pkt_srcaddr" not in doc["aws"]["vpcflow"]


def test_vpcflow_nodata_is_a_document_and_non_ip_goes_to_address() -> None:
    data = b"version srcaddr dstaddr start end log-status\n2 - host.internal 1 2 NODATA\n"
    (doc,) = documents(get_format("vpcflow"), [data])
    assert doc["aws"]["vpcflow"]["log_status"] == "NODATA"
    assert doc["destination"] == {"address": "host.internal"}
    assert "source" not in doc


def test_vpcflow_broken_lines_give_error_documents() -> None:
    docs = documents(
        get_format("vpcflow"), [FLOW + b"2 1 eni-1\n" + FLOW.replace(b"1418530010", b"soon")]
    )
    assert len(docs) == 3
    assert "error" not in docs[0]
    assert all("line" in d["error"]["message"] for d in docs[1:])


# --- WAF ------------------------------------------------------------------------------------


def waf_record(ip: str, ms: int = 1576280412771) -> bytes:
    return (
        b'{"timestamp":%d,"webaclId":"arn:aws:wafv2:ap-southeast-2:111122223333:regional/webacl/'
        b'STMTest/1EX","terminatingRuleId":"Default_Action","action":"ALLOW","httpRequest":'
        b'{"clientIp":"%s","country":"AU","headers":[{"name":"user-agent","value":"curl/8"}],'
        b'"uri":"/a","args":"b=1","httpVersion":"HTTP/1.1","httpMethod":"POST","requestId":"r"}}'
    ) % (ms, ip.encode())


def test_waf_glued_records_give_one_document_each_with_its_offset() -> None:
    first, second = waf_record("192.0.2.1", 1), waf_record("192.0.2.2", 2)
    data = first + second + b"\n" + first + b"\n"
    docs = documents(get_format("waf"), [data])
    assert [d["source"]["ip"] for d in docs] == ["192.0.2.1", "192.0.2.2", "192.0.2.1"]
    assert [d["log"]["offset"] for d in docs] == [0, len(first), len(first) * 2 + 1]
    assert docs[1]["@timestamp"] == "1970-01-01T00:00:00.002Z"
    assert docs[0]["user_agent"]["original"] == "curl/8"
    assert docs[0]["url"] == {"path": "/a", "query": "b=1"}
    assert docs[0]["cloud"]["account"]["id"] == "111122223333"


def test_waf_non_ip_client_goes_to_address() -> None:
    (doc,) = documents(get_format("waf"), [waf_record("unknown")])
    assert doc["source"] == {"address": "unknown", "geo": {"country_iso_code": "AU"}}


def test_waf_broken_records_give_error_documents() -> None:
    data = waf_record("192.0.2.1") + b"{broken\n[1, 2]\n" + b'{"timestamp": "yesterday"}\n'
    docs = documents(get_format("waf"), [data])
    assert "error" not in docs[0]
    assert len(docs) == 4
    assert all("line" in d["error"]["message"] for d in docs[1:])


# --- CloudTrail -----------------------------------------------------------------------------

TRAIL = (
    b'{"Records":[{"eventVersion":"1.0","eventTime":"2014-03-06T21:22:54Z",'
    b'"eventSource":"ec2.amazonaws.com","eventName":"StartInstances","awsRegion":"us-east-2",'
    b'"sourceIPAddress":"205.251.233.176","userAgent":"x \\"y\\" }{ ] [",'
    b'"requestParameters":{"a":[1,{"b":"}"}]},"recipientAccountId":"123456789012"},\n'
    b' {"eventTime":"2014-03-06T21:22:55Z","eventName":"AssumeRole",'
    b'"sourceIPAddress":"ec2.amazonaws.com","errorCode":"AccessDenied"} ,'
    b'{"eventTime":"2014-03-06T21:22:56.123Z","eventName":"caf\xc3\xa9"}]}'
)


def test_cloudtrail_chunked_at_any_point_gives_the_same_documents() -> None:
    fmt = get_format("cloudtrail")
    whole = documents(fmt, [TRAIL])
    assert [d["event"]["action"] for d in whole] == ["StartInstances", "AssumeRole", "café"]
    assert [TRAIL[d["log"]["offset"] : d["log"]["offset"] + 1] for d in whole] == [b"{"] * 3
    for cut in range(1, len(TRAIL)):
        assert documents(fmt, [TRAIL[:cut], TRAIL[cut:]]) == whole, cut
    assert documents(fmt, [TRAIL[i : i + 1] for i in range(len(TRAIL))]) == whole
    assert documents(fmt, [TRAIL[i : i + 7] for i in range(0, len(TRAIL), 7)]) == whole


def test_cloudtrail_fields_and_non_ip_source() -> None:
    first, second, third = documents(get_format("cloudtrail"), [TRAIL])
    assert first["source"] == {"address": "205.251.233.176", "ip": "205.251.233.176"}
    assert first["cloud"] == {"account": {"id": "123456789012"}, "region": "us-east-2"}
    assert first["aws"]["cloudtrail"]["request_parameters"] == '{"a":[1,{"b":"}"}]}'
    assert first["user_agent"]["original"] == 'x "y" }{ ] ['
    assert second["source"] == {"address": "ec2.amazonaws.com"}
    assert second["event"]["outcome"] == "failure"
    assert "error" not in second
    assert third["@timestamp"] == "2014-03-06T21:22:56.123Z"


def test_cloudtrail_resumes_at_a_record_offset() -> None:
    fmt = get_format("cloudtrail")
    whole = documents(fmt, [TRAIL])
    start = whole[1]["log"]["offset"]
    ctx = context()
    resumed = [d for r in fmt.frame([TRAIL[start:]], start) for d in fmt.parse(r, ctx)]
    assert [d["log"]["offset"] for d in resumed] == [d["log"]["offset"] for d in whole[1:]]


def test_cloudtrail_digest_files_give_no_documents() -> None:
    digest = (
        b'{"awsAccountId":"111122223333","digestStartTime":"2015-08-17T14:01:31Z","logFiles":[]}'
    )
    fmt = get_format("cloudtrail")
    assert documents(fmt, [digest]) == []
    key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/x.json.gz"
    assert documents(fmt, [TRAIL], key=key) == []


def test_cloudtrail_broken_records_give_error_documents() -> None:
    fmt = get_format("cloudtrail")
    bad = b'{"Records":[{"eventTime":"soon"},{"no":"time"},"text",{"eventTime":"2014-03-06T21'
    docs = documents(fmt, [bad])
    assert len(docs) == 4
    assert all("logs/object.log line" in d["error"]["message"] for d in docs)
    (doc,) = documents(fmt, [b"not json at all"])
    assert doc["message"] == "not json at all"
    assert "error" in doc


def test_cloudtrail_an_oversized_record_is_cut_and_the_next_ones_still_come() -> None:
    from logferry.formats.cloudtrail import frame_records

    big = b'{"eventTime":"2014-03-06T21:22:54Z","pad":"' + b"x" * 500 + b'"}'
    small = b'{"eventTime":"2014-03-06T21:22:55Z"}'
    data = b'{"Records":[' + big + b"," + small + b"]}"
    records = list(frame_records([data[i : i + 64] for i in range(0, len(data), 64)], 0, 100))
    assert len(records) == 2
    assert len(records[0].data) == 100
    assert records[1].data == small
    assert data[records[1].offset :].startswith(small)
