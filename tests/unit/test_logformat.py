"""The LogFormat / log_format compiler, its presets and the per-object preset detection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from logferry.formats import get_format
from logferry.formats.access import ApacheFormat, NginxFormat
from logferry.formats.logformat import (
    APACHE_PRESETS,
    NGINX_PRESETS,
    LogFormatError,
    compile_apache,
    compile_nginx,
    pick_client,
)
from logferry.model import Document, ObjectRef, ParseContext, Record
from logferry.samples.access import access_lines

CTX = ParseContext(
    ObjectRef("logs", "web/access.log"), extra={"object_time": "2024-03-01T00:00:00.000Z"}
)

VALUES = {
    "client": "203.0.113.7",
    "user": "frank",
    "time": "10/Oct/2000:13:55:36 -0700",
    "request": "GET /a/b?c=d HTTP/1.1",
    "status": "404",
    "bytes": "2326",
    "referrer": "https://www.example.com/start.html",
    "agent": "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/125.0",
    "xff": "10.0.0.2, 10.0.0.1, 198.51.100.9",
    "vhost": "www.example.com",
    "port": "443",
    "in": "512",
    "out": "2800",
}
"""Field values; lines of each preset are built from them."""

APACHE_TEXT = {
    "%h": "client", "%l": None, "%u": "user", "%t": "time", '"%r"': "request", "%>s": "status",
    "%b": "bytes", "%O": "out", "%I": "in", '"%{Referer}i"': "referrer",
    '"%{User-agent}i"': "agent", '"%{User-Agent}i"': "agent", '"%{X-Forwarded-For}i"': "xff",
    "%{X-Forwarded-For}i": "xff", "%v": "vhost", "%p": "port", "%{Referer}i": "referrer",
    "%U": None, "%{User-agent}i": "agent",
}  # fmt: skip


def build_line(fmt: str, values: dict[str, str], nginx: bool = False) -> str:
    """A line as the server writes it for format string ``fmt``."""
    line = fmt
    if nginx:
        subs = {
            "$remote_addr": values["client"], "$remote_user": values["user"],
            "$time_local": values["time"], "$request": values["request"],
            "$status": values["status"], "$body_bytes_sent": values["bytes"],
            "$http_referer": values["referrer"], "$http_user_agent": values["agent"],
            "$http_x_forwarded_for": values["xff"], "$host": values["vhost"],
        }  # fmt: skip
        for var in sorted(subs, key=len, reverse=True):
            line = line.replace(var, subs[var])
        return line
    subs = {"%l": "-", "%U": "/a/b", "%t": f"[{values['time']}]"}
    for directive in sorted(APACHE_TEXT, key=len, reverse=True):
        key = APACHE_TEXT[directive]
        if directive in subs:
            text = subs[directive]
        else:
            assert key is not None
            text = values[key]
            text = f'"{text}"' if directive.startswith('"') else text
        line = line.replace(directive, text)
    return line


def parse(fmt: ApacheFormat, line: str) -> Document:
    docs = fmt.parse(Record(0, line.encode(), 1), CTX)
    assert len(docs) == 1
    return docs[0]


def expect(doc: Document, fmt_string: str) -> None:
    """The fields ``doc`` must hold for a line of ``fmt_string`` built from VALUES."""
    assert "error" not in doc, doc.get("error")
    assert doc["@timestamp"] == "2000-10-10T20:55:36.000Z"
    assert doc["http"]["response"]["status_code"] == 404
    if "%r" in fmt_string or "$request" in fmt_string:
        assert doc["http"]["request"]["method"] == "GET"
        assert doc["url"]["original"] == "/a/b?c=d"
        assert doc["http"]["version"] == "1.1"
    if "User" in fmt_string or "user_agent" in fmt_string:
        assert doc["user_agent"]["original"] == VALUES["agent"]
    if "Referer" in fmt_string or "referer" in fmt_string:
        assert doc["http"]["request"]["referrer"] == VALUES["referrer"]
    if "orwarded" in fmt_string or "forwarded" in fmt_string:
        dataset = doc["event"]["dataset"].split(".")
        assert doc[dataset[0]][dataset[1]]["remote_ip_list"] == VALUES["xff"].split(", ")
        assert doc["source"] == {"address": "198.51.100.9", "ip": "198.51.100.9"}
    else:
        assert doc["source"] == {"address": VALUES["client"], "ip": VALUES["client"]}
    if "%b" in fmt_string or "$body_bytes_sent" in fmt_string:
        assert doc["http"]["response"]["body"]["bytes"] == 2326
    if "%O" in fmt_string:
        assert doc["http"]["response"]["bytes"] == 2800
    if "%v" in fmt_string:
        assert doc["destination"]["domain"] == "www.example.com"
    if "%p" in fmt_string:
        assert doc["destination"]["port"] == 443
    if "$host" in fmt_string:
        assert doc["url"]["domain"] == "www.example.com"
    if "%u" in fmt_string or "$remote_user" in fmt_string:
        assert doc["user"] == {"name": "frank"}


@pytest.mark.parametrize("preset", [p for p in APACHE_PRESETS if p not in ("referer", "agent")])
def test_every_apache_preset_round_trips(preset: str) -> None:
    fmt_string = APACHE_PRESETS[preset]
    line = build_line(fmt_string, VALUES)
    expect(parse(ApacheFormat(preset=preset), line), fmt_string)
    # the detected preset reads it the same way
    chosen = ApacheFormat().for_object(CTX.ref, (line + "\n").encode() * 3)
    assert chosen.preset == preset
    expect(parse(chosen, line), fmt_string)


@pytest.mark.parametrize("preset", list(NGINX_PRESETS))
def test_every_nginx_preset_round_trips(preset: str) -> None:
    fmt_string = NGINX_PRESETS[preset]
    line = build_line(fmt_string, VALUES, nginx=True)
    expect(parse(NginxFormat(preset=preset), line), fmt_string)
    chosen = NginxFormat().for_object(CTX.ref, (line + "\n").encode() * 3)
    assert chosen.preset == preset
    expect(parse(chosen, line), fmt_string)


def test_referer_and_agent_presets() -> None:
    doc = parse(ApacheFormat(preset="referer"), "https://www.example.com/x -> /index.html")
    assert doc["http"]["request"]["referrer"] == "https://www.example.com/x"
    assert doc["url"]["path"] == "/index.html"
    doc = parse(ApacheFormat(preset="agent"), VALUES["agent"])
    assert doc["user_agent"]["original"] == VALUES["agent"]
    assert doc["@timestamp"] == "2024-03-01T00:00:00.000Z"  # no time: the object's


def test_combined_preset_equals_the_builtin_parser() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    compiled, builtin = ApacheFormat(preset="combined"), ApacheFormat()
    for line in access_lines(500, start, seed=3):
        assert parse(compiled, line) == parse(builtin, line)
    common = ApacheFormat(preset="common")
    for line in access_lines(200, start, seed=4, style="common"):
        assert parse(common, line) == parse(builtin, line)


def test_user_apache_format_string() -> None:
    fmt_string = (
        r"%a %{remote}p %A %{local}p %v %V %u %{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t \"%m %U%q %H\" "
        r"%>s %B %D %{ms}T %k %L %X %{Host}i %{UNIQUE_ID}e %{Content-Type}o %P %R %I %O %f"
    )
    line = (
        "198.51.100.4 51234 10.0.0.5 8443 www.example.com example.com alice "
        '10/Oct/2000 13:55:36.250 -0700 "POST /api/items?page=2 HTTP/2.0" 201 17 1500 1 '
        "3 Yx8Ab - example.com:8443 ZZ1 application/json 1234 proxy-server 800 950 "
        "/srv/www/api"
    )
    doc = parse(ApacheFormat(log_format=fmt_string), line)
    assert "error" not in doc
    assert doc["@timestamp"] == "2000-10-10T20:55:36.250Z"
    assert doc["source"] == {"address": "198.51.100.4", "ip": "198.51.100.4", "port": 51234}
    assert doc["destination"] == {
        "address": "10.0.0.5", "ip": "10.0.0.5", "port": 8443, "domain": "www.example.com",
    }  # fmt: skip
    assert doc["url"] == {"domain": "example.com", "path": "/api/items", "query": "page=2"}
    assert doc["http"]["request"] == {"method": "POST", "bytes": 800}
    assert doc["http"]["version"] == "2.0"
    assert doc["http"]["response"] == {"status_code": 201, "body": {"bytes": 17}, "bytes": 950}
    assert doc["event"]["duration"] == 1_500_000  # %D: microseconds (the %{ms}T is namespaced)
    assert doc["process"] == {"pid": 1234}
    assert doc["file"] == {"path": "/srv/www/api"}
    assert doc["apache"]["access"] == {
        "time_taken": 1_000_000,
        "keepalive_requests": 3,
        "log_id": "Yx8Ab",
        "host": "example.com:8443",
        "unique_id": "ZZ1",
        "sent_content_type": "application/json",
        "handler": "proxy-server",
    }


def test_user_nginx_format_string_with_braces_and_families() -> None:
    fmt_string = (
        "log_format timed '$remote_addr [$time_iso8601] \"$request\" $status $bytes_sent '\n"
        "    '${request_time}s $upstream_response_time $upstream_addr $request_id "
        "$ssl_protocol/$ssl_cipher $sent_http_x_cache $http_x_custom $scheme:$server_port $msec';"
    )
    line = (
        '2001:db8::7 [2024-01-01T08:00:00+09:00] "GET / HTTP/2.0" 200 612 0.012s '
        "0.004, 0.008 : 0.001 10.0.1.5:80, 10.0.1.6:80 7f3c2a TLSv1.3/TLS_AES_128_GCM_SHA256 "
        "HIT some-value https:443 1704063600.123"
    )
    doc = parse(NginxFormat(log_format=fmt_string), line)
    assert "error" not in doc
    assert doc["@timestamp"] == "2023-12-31T23:00:00.000Z"  # the first time wins
    assert doc["source"]["ip"] == "2001:db8::7"
    assert doc["event"]["duration"] == 12_000_000
    assert doc["http"]["request"]["id"] == "7f3c2a"
    assert doc["http"]["response"]["bytes"] == 612
    assert doc["tls"] == {"version": "1.3", "cipher": "TLS_AES_128_GCM_SHA256"}
    assert doc["url"]["scheme"] == "https" and doc["destination"]["port"] == 443
    assert doc["nginx"]["access"] == {
        "upstream_response_time": "0.004, 0.008 : 0.001",
        "upstream_addr": "10.0.1.5:80, 10.0.1.6:80",
        "sent_http_x_cache": "HIT",
        "http_x_custom": "some-value",
        "msec": "1704063600.123",
    }


def test_nginx_msec_alone_is_the_time() -> None:
    doc = parse(NginxFormat(log_format="$msec $status"), "1704063600.123 200")
    assert doc["@timestamp"] == "2023-12-31T23:00:00.123Z"


def test_xff_lists_and_client_choice() -> None:
    assert pick_client(["10.0.0.2", "10.0.0.1", "203.0.113.9"]) == "203.0.113.9"
    assert pick_client(["10.0.0.2", "192.168.1.1"]) == "10.0.0.2"
    assert pick_client(["unknown", "proxy.local"]) == "unknown"
    assert pick_client([]) is None
    line = build_line(NGINX_PRESETS["main"], VALUES | {"client": "10.0.0.1"}, nginx=True)
    doc = parse(NginxFormat(preset="main"), line)
    assert doc["source"] == {"address": "198.51.100.9", "ip": "198.51.100.9"}
    assert doc["nginx"]["access"]["remote_ip_list"] == ["10.0.0.2", "10.0.0.1", "198.51.100.9"]
    assert doc["nginx"]["access"]["remote_addr"] == "10.0.0.1"  # the peer is kept
    private = parse(NginxFormat(preset="main"), line.replace("198.51.100.9", "172.16.0.9"))
    assert private["source"]["ip"] == "10.0.0.2"  # no public IP: the first
    dash = parse(NginxFormat(preset="main"), line.replace(VALUES["xff"], "-"))
    assert dash["source"]["ip"] == "10.0.0.1" and "nginx" not in dash
    unknown = parse(NginxFormat(preset="main"), line.replace(VALUES["xff"], "unknown, 10.0.0.7"))
    assert unknown["source"]["ip"] == "10.0.0.1"  # no IP first: the peer stays


def test_non_ip_clients_go_to_address_only() -> None:
    for client in ("client.example.net", "12.34.178.90.32", "unknown"):
        line = build_line(APACHE_PRESETS["combined"], VALUES | {"client": client})
        assert parse(ApacheFormat(preset="combined"), line)["source"] == {"address": client}
        line = build_line(NGINX_PRESETS["xff_combined"], VALUES | {"xff": client}, nginx=True)
        doc = parse(NginxFormat(preset="xff_combined"), line)
        assert doc["source"] == {"address": client}
        assert doc["nginx"]["access"]["remote_ip_list"] == [client]


def test_unknown_directives_get_namespaced_names() -> None:
    doc = parse(NginxFormat(log_format="$remote_addr $geoip_country_code $my_var"), "1.2.3.4 JP x")
    assert doc["nginx"]["access"] == {"geoip_country_code": "JP", "my_var": "x"}
    doc = parse(
        ApacheFormat(log_format="%h %{X-Request-Id}i %{SSL_PROTOCOL}x"), "1.2.3.4 ab TLSv1.2"
    )
    assert doc["apache"]["access"] == {"x_request_id": "ab", "ssl_protocol": "TLSv1.2"}
    # a second directive for the same ECS field gets its own name
    doc = parse(ApacheFormat(log_format="%h %a %>s"), "host.example 1.2.3.4 200")
    assert doc["source"] == {"address": "host.example"}
    assert doc["apache"]["access"]["remote_ip"] == "1.2.3.4"


@pytest.mark.parametrize(
    ("server", "fmt_string", "named"),
    [
        ("apache", '%h %Z "%r"', "%Z"),
        ("apache", "%h %{Referer", "%{"),
        ("apache", "%h %", "%"),
        ("apache", "%{foo}T", "%{foo}T"),
        ("apache", "%{weird}p", "%{weird}p"),
        ("apache", "%i", "%i"),
        ("apache", "%{%Q}t", "%Q"),
        ("nginx", "$remote_addr ${status", "${status"),
        ("nginx", "$remote_addr $ x", "$"),
        ("nginx", "plain text", "no fields"),
    ],
)
def test_bad_format_strings_name_the_directive(server: str, fmt_string: str, named: str) -> None:
    compile_fn = compile_apache if server == "apache" else compile_nginx
    with pytest.raises(LogFormatError, match=None) as info:
        compile_fn(fmt_string)
    assert named in str(info.value)
    with pytest.raises(ValueError):
        get_format(server, log_format=fmt_string)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="not both"):
        ApacheFormat(log_format="%h", preset="common")
    with pytest.raises(ValueError, match="known: combined, common"):
        NginxFormat(preset="vhost_combined")


DEBIAN_VHOSTS = b"""\
www.example.com:80 127.0.0.1 - - [01/Jan/2024:08:00:00 +0900] "GET / HTTP/1.1" 200 3380 "-" "curl/8.5.0"
www.example.com:443 203.0.113.7 - - [01/Jan/2024:08:00:01 +0900] "GET /a HTTP/1.1" 404 437 "https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"
blog.example.org:443 2001:db8::1 - alice [01/Jan/2024:08:00:02 +0900] "POST /wp-login.php HTTP/2.0" 302 0 "-" "Mozilla/5.0"
"""  # noqa: E501
NGINX_XFF_FIRST = b"""\
10.0.0.2, 10.0.0.1, 203.0.113.9 - - [02/Dec/2016:13:58:47 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"
198.51.100.4 - - [02/Dec/2016:13:58:48 +0000] "GET /a HTTP/1.1" 404 153 "-" "Go-http-client/1.1"
192.0.2.1, 10.0.0.1 - bob [02/Dec/2016:13:58:49 +0000] "GET /b HTTP/1.1" 200 5 "-" "Mozilla/5.0"
"""  # noqa: E501


def test_detection_picks_vhost_combined_for_debian_lines(caplog: Any) -> None:
    caplog.set_level("INFO")
    fmt = get_format("apache")
    chosen = fmt.for_object(CTX.ref, DEBIAN_VHOSTS + b"www.example.com:80 127.0.0.1 - - [01/Ja")
    assert isinstance(chosen, ApacheFormat)
    assert chosen.preset == "vhost_combined" and chosen.name == "apache"
    assert fmt.preset is None  # the registry's format is not changed
    assert "apache preset vhost_combined (3 of 3 lines)" in caplog.text
    doc = parse(chosen, DEBIAN_VHOSTS.splitlines()[1].decode())
    assert doc["destination"] == {"domain": "www.example.com", "port": 443}
    assert doc["http"]["response"]["bytes"] == 437


def test_detection_picks_xff_first_for_nginx_lines() -> None:
    chosen = NginxFormat().for_object(CTX.ref, NGINX_XFF_FIRST)
    assert isinstance(chosen, NginxFormat) and chosen.preset == "xff_combined"
    docs = [parse(chosen, line.decode()) for line in NGINX_XFF_FIRST.splitlines()]
    assert [d["source"]["ip"] for d in docs] == ["203.0.113.9", "198.51.100.4", "192.0.2.1"]


def test_detection_keeps_plain_combined_and_common_on_the_builtin_parser() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    mixed = "\n".join([*access_lines(5, start), *access_lines(5, start, style="common")])
    chosen = ApacheFormat().for_object(CTX.ref, mixed.encode())
    assert chosen.preset == "common"
    assert all("error" not in parse(chosen, line) for line in mixed.splitlines())
    nothing = ApacheFormat().for_object(CTX.ref, b"not an access log\n")
    assert nothing.preset == "combined"
    given = ApacheFormat(preset="common")
    assert given.for_object(CTX.ref, DEBIAN_VHOSTS) is given


def test_undetected_lines_fall_back_per_line() -> None:
    fmt = ApacheFormat()  # no for_object: combined or common, then the other presets
    doc = parse(fmt, DEBIAN_VHOSTS.splitlines()[0].decode())
    assert doc["destination"]["domain"] == "www.example.com"
    chosen = ApacheFormat().for_object(CTX.ref, DEBIAN_VHOSTS)
    common = build_line(APACHE_PRESETS["common"], VALUES)
    assert parse(chosen, common)["source"]["ip"] == VALUES["client"]
    strict = ApacheFormat(preset="vhost_combined")
    assert (
        "does not match the apache format vhost_combined"
        in parse(strict, common)["error"]["message"]
    )
