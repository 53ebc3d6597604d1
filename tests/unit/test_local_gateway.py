import base64

import pytest

from logferry.local.gateway import (
    NotFound,
    Route,
    match_path,
    proxy_event,
    proxy_response,
    split_request_path,
)


def test_split_request_path_both_url_styles() -> None:
    assert split_request_path("/abc123/prod/upload/x") == ("abc123", "prod", "/upload/x")
    assert split_request_path("/restapis/abc123/dev/_user_request_/a") == ("abc123", "dev", "/a")
    with pytest.raises(NotFound, match="api"):
        split_request_path("/only-one")


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
