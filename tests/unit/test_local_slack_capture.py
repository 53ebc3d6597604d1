from pathlib import Path

from logferry.local.slack_capture import Capture


def test_capture_records_json_and_text(tmp_path: Path) -> None:
    capture = Capture(tmp_path / "slack.jsonl")
    capture.record("/hooks/a", b'{"text": "hi"}', {"content-type": "application/json"})
    capture.record("/hooks/b", b"plain words", {})
    messages = capture.messages()
    assert [m["payload"] for m in messages] == [{"text": "hi"}, "plain words"]
    assert messages[0]["hook"] == "/hooks/a"
    assert Capture(tmp_path / "slack.jsonl").messages() == messages, "kept on disk"
    capture.clear()
    assert capture.messages() == []


def test_forced_failures_are_counted_down(tmp_path: Path) -> None:
    capture = Capture(tmp_path / "slack.jsonl")
    capture.fail_count, capture.fail_status = 2, 429
    assert [capture.take_failure() for _ in range(3)] == [429, 429, None]
