"""The README's configuration tables, generated from the options each part declares.

``python -m logferry.configdoc`` prints them; ``--write README.md`` replaces the block between
the ``config:begin`` / ``config:end`` markers (a unit test keeps the README current).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from logferry import formats
from logferry.alerts.options import AlertOptions
from logferry.composition import FUNCTIONS, SINKS
from logferry.config import KINDS, options_of
from logferry.settings import RuntimeOptions
from logferry.sinks.options import CloudWatchOptions, CsvOptions, QuarantineOptions, SearchOptions
from logferry.upload import Settings as UploadOptions

BEGIN, END = (
    "<!-- config:begin (generated: python -m logferry.configdoc) -->",
    "<!-- config:end -->",
)


def sections() -> list[tuple[str, type]]:
    """``(used by, options class)`` for every part that reads the environment."""
    parts: list[tuple[str, type]] = [
        ("every shipping function", RuntimeOptions),
        ("every shipping function (quarantine)", QuarantineOptions),
        ("sink `cloudwatch`", CloudWatchOptions),
        ("sinks `search`, `status_counts`; `log_alert`", SearchOptions),
        ("sink `csv`", CsvOptions),
    ]
    seen: set[type] = set()
    for name in formats.names():
        options = formats.format_class(name).Options
        if options is not None and options not in seen:
            seen.add(options)
            users = [n for n in formats.names() if formats.format_class(n).Options is options]
            parts.append((f"format {', '.join(f'`{n}`' for n in users)}", options))
    parts += [("`upload_url`", UploadOptions), ("`log_alert`", AlertOptions)]
    return parts


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The tables as Markdown: functions and their default sinks, sinks, then every option."""
    lines = [
        "| Function | Default `LOG_FORMAT` | Default `SINKS` | What |",
        "|---|---|---|---|",
    ]
    for name, fn in FUNCTIONS.items():
        lines.append(f"| `{name}` | `{fn.log_format}` | `{','.join(fn.sinks)}` | {fn.doc} |")
    lines += ["", "| Sink | What | Replayed through |", "|---|---|---|"]
    for name, sink in SINKS.items():
        through = f"`{sink.replay_through}`" if sink.replay_through else "not replayable"
        lines.append(f"| `{name}` | {sink.doc} | {through} |")
    lines += ["", "| Variable | Used by | Kind | Default | Meaning |", "|---|---|---|---|---|"]
    for used_by, cls in sections():
        for _, opt in options_of(cls):
            default = (
                "required"
                if opt.required
                else "–"
                if opt.default in (None, "")
                else f"`{opt.default}`"
            )
            kind = KINDS[opt.kind][1]
            if opt.choices:
                kind += f" ({' / '.join(opt.choices)})"
            lines.append(
                f"| `{opt.env}` | {used_by} | {kind} | {_cell(default)} | {_cell(opt.doc)} |"
            )
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str) -> str:
    """``text`` with the generated block between the markers replaced by ``block``."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + block + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="replace the block in this Markdown file")
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(render())
        return 0
    args.write.write_text(replace_block(args.write.read_text(), render()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
