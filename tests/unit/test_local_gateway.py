import base64

import pytest

from logferry.local.gateway import (
    NotFound,
    Route,
    match_path,
    proxy_event,
    proxy_event_v2,
    proxy_response,
    split_request_path,
)


def test_split_request_path_both_url_styles() -> None:
    assert split_request_path("/abc123/prod/upload/x") == ("abc123", "prod", "/upload/x")
    assert split_request_path("/restapis/abc123/dev/_user_request_/a") == ("abc123", "dev", "/a")
    assert split_request_path("/httpapi") == ("httpapi", "", "/")
    with pytest.raises(NotFound, match="does not name an API"):
        split_request_path("/")


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/", "/", {}),
        ("/upload", "/upload", {}),
        ("/upload", "/upload/", {}),
        ("/items/{id}", "/items/42", {"id": "42"}),
        ("/items/{id}", "/items/42/more", None),
        ("/{proxy+}", "/a/b/c", {"proxy": "a/b/c"}),
        ("/upload", "/download", None),
    ],
)
def test_match_path(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert match_path(template, path) == expected


def test_proxy_event_v1_shape() -> None:
    route = Route("abc", "prod", "/items/{id}", "/items/7", {"id": "7"}, "arn:fn")
    event = proxy_event(
        route, "POST", "a=1&b=2&b=3", {"User-Agent": "curl"}, b'{"x": 1}', "10.1.2.3"
    )
    assert event["httpMethod"] == "POST"
    assert event["resource"] == "/items/{id}" and event["path"] == "/items/7"
    assert event["pathParameters"] == {"id": "7"}
    assert event["queryStringParameters"] == {"a": "1", "b": "3"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1"], "b": ["2", "3"]}
    assert event["requestContext"]["identity"]["sourceIp"] == "10.1.2.3"
    assert event["requestContext"]["stage"] == "prod"
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False


def test_binary_body_is_base64() -> None:
    route = Route("abc", "prod", "/", "/", {}, "arn:fn")
    event = proxy_event(route, "PUT", "", {}, b"\xff\x00", "127.0.0.1")
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\xff\x00"
    assert event["queryStringParameters"] is None


def test_proxy_response() -> None:
    status, headers, body = proxy_response(
        {"statusCode": 201, "headers": {"X-A": "1"}, "body": "aGk=", "isBase64Encoded": True}
    )
    assert (status, headers, body) == (201, {"X-A": "1"}, b"hi")


def test_proxy_event_v2_shape() -> None:
    route = Route("h1", "$default", "GET /items/{id}", "/items/7", {"id": "7"}, "arn:fn", "2.0")
    event = proxy_event_v2(route, "GET", "a=1&a=2", {"User-Agent": "curl"}, b"", "10.9.8.7")
    assert event["version"] == "2.0" and event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/7" and event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["headers"] == {"user-agent": "curl"}
    assert event["requestContext"]["http"]["sourceIp"] == "10.9.8.7"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["pathParameters"] == {"id": "7"} and event["body"] is None


def test_v2_result_without_status_code_is_a_json_body() -> None:
    assert proxy_response(["a", 1]) == (200, {"Content-Type": "application/json"}, b'["a", 1]')
