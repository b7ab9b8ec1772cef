"""Command line: ``minimax-parser parse`` turns raw MiniMax-M2 or MiniMax-M3 output (``--dialect
m3``) into an OpenAI message, ``minimax-parser demo`` replays a bundled response token by token,
``minimax-parser proxy`` serves the parsing proxy."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from typing import Any

from . import StreamParser, parse
from .proxy_checks import shorten

#: The exit status when the reader of standard output went away (``... | head``): that of a
#: process killed by SIGPIPE (128 + 13), as a shell reports it for ``cat``, ``yes`` and the like.
EXIT_BROKEN_PIPE = 141

#: The dialects of ``--dialect``: MiniMax-M2 (M2, M2.1, M2.5, M2.7) and MiniMax-M3.
DIALECTS = ("m2", "m3")
#: The bundled example response of each dialect (``minimax_parser/examples/``), for ``demo``.
EXAMPLES = {"m2": "weather.json", "m3": "weather_m3.json"}

# Roughly how a BPE tokenizer cuts text: each dialect's special tokens whole, then words with
# their leading space, runs of punctuation, and whitespace.
_SPECIAL = {
    "m2": re.compile(r"(<think>|</think>|<minimax:tool_call>|</minimax:tool_call>)"),
    "m3": re.compile(r"(<mm:think>|</mm:think>|\]<\]minimax\[>\[)"),
}
_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]{1,3}|\s+")


def tokenize(text: str, dialect: str = "m2") -> list[str]:
    """Splits ``text`` into token-sized pieces (their concatenation is ``text``), keeping the
    special tokens of ``dialect`` whole."""
    tokens: list[str] = []
    for i, part in enumerate(_SPECIAL[dialect].split(text)):
        if i % 2:
            tokens.append(part)
        else:
            tokens.extend(_TOKEN.findall(part))
    return tokens


def _chunks(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


class UsageError(ValueError):
    """A bad argument or input file: reported as one line on stderr, exit status 2."""


def _read_text(path: str) -> str:
    """The raw model output in ``path`` (``-``: standard input). Model output never fails to
    parse, so bytes that are not UTF-8 become U+FFFD instead of an error."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    return data.decode("utf-8", errors="replace")


def _load_tools(path: str | None) -> list[dict[str, Any]] | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be a tools list") from None
    except ValueError as e:
        raise UsageError(f"{path}: not valid JSON: {e}") from None
    if isinstance(data, dict) and "tools" in data:
        data = data["tools"]
    if not isinstance(data, list):
        raise UsageError(f"{path}: expected a JSON list of tools or an object with a 'tools' list")
    return data


def _check_tools(path: str | None, tools: list[dict[str, Any]] | None) -> None:
    """Fails early, as a usage error, on tools the parser refuses (a tool without a name, a
    schema nested too deeply, ...)."""
    try:
        StreamParser(tools=tools)
    except (ValueError, TypeError, RecursionError) as e:
        raise UsageError(f"{path}: invalid tools: {e}") from None


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "dialect": args.dialect,
        "reasoning": args.reasoning,
        "start_in_reasoning": args.start_in_reasoning,
        "tool_calls_in_reasoning": args.tool_calls_in_reasoning,
    }


def _dump(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _cmd_parse(args: argparse.Namespace) -> int:
    if args.chunk_size is not None and args.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1")
    tools = _load_tools(args.tools)
    _check_tools(args.tools, tools)
    text = _read_text(args.file)
    if not args.stream:
        print(
            json.dumps(
                parse(text, tools=tools, **_options(args)).to_openai(), ensure_ascii=False, indent=2
            )
        )
        return 0
    parser = StreamParser(tools=tools, **_options(args))
    if args.chunk_size is None:
        pieces: Iterable[str] = tokenize(text, args.dialect)
    else:
        pieces = _chunks(text, args.chunk_size)
    for piece in pieces:
        for event in parser.feed(piece):
            delta = event.to_openai_delta()
            if delta:
                print(_dump(delta))
    for event in parser.finish():
        delta = event.to_openai_delta()
        if delta:
            print(_dump(delta))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    examples = resources.files("minimax_parser.examples")
    example = json.loads(examples.joinpath(EXAMPLES[args.dialect]).read_text("utf-8"))
    text: str = example["response"]
    tools: list[dict[str, Any]] = example["tools"]
    dialect = args.dialect
    print(f"# {example['description']}")
    print(f"# Raw model output ({len(text)} characters):")
    print(text)
    tokens = tokenize(text, dialect)
    print(f"\n# Streaming it token by token ({len(tokens)} tokens); each line is an OpenAI delta:")
    parser = StreamParser(tools=tools, dialect=dialect)
    for token in tokens:
        for event in parser.feed(token):
            delta = event.to_openai_delta()
            if delta:
                print(_dump(delta))
        if args.delay:
            time.sleep(args.delay)
    for event in parser.finish():
        delta = event.to_openai_delta()
        if delta:
            print(_dump(delta))
    print("\n# The final message (the same as minimax-parser parse gives in one shot):")
    final = parser.message()
    assert final == parse(
        text, tools=tools, dialect=dialect, id_generator=lambda i: final.tool_calls[i].id
    )
    print(json.dumps(final.to_openai(), ensure_ascii=False, indent=2))
    return 0


def _cmd_proxy(args: argparse.Namespace) -> int:
    import logging

    from . import proxy

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        proxy.run(
            args.upstream,
            args.host,
            args.port,
            args.timeout,
            max_connections=args.max_connections,
            max_body_bytes=args.max_body_bytes,
            restore_reasoning=args.restore_reasoning,
            reasoning_store=args.reasoning_store,
            reasoning_store_entries=args.reasoning_store_entries,
            reasoning_store_bytes=args.reasoning_store_bytes,
            reasoning_store_ttl=args.reasoning_store_ttl,
            **_options(args),
        )
    except ImportError as e:
        raise UsageError(str(e)) from None
    return 0


def _add_dialect(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dialect",
        choices=DIALECTS,
        default="m2",
        help="the model's output format: m2 (MiniMax-M2, M2.1, M2.5, M2.7) or m3 (MiniMax-M3); "
        "default m2",
    )


def _add_parser_options(p: argparse.ArgumentParser) -> None:
    """The parser options of SPEC §5, as flags."""
    _add_dialect(p)
    p.add_argument("--reasoning", choices=["separate", "inline"], default="separate")
    p.add_argument(
        "--start-in-reasoning",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether the response starts inside reasoning (the prompt ends inside the think "
        "tag); default: the dialect's (m2: yes; m3: no, use --start-in-reasoning for M3's "
        'thinking_mode "enabled"; the proxy with m3 follows a request\'s '
        "chat_template_kwargs.thinking_mode when it has one)",
    )
    p.add_argument("--tool-calls-in-reasoning", choices=["extract", "ignore"], default="extract")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``minimax-parser`` command."""
    from . import proxy as proxy_defaults  # its defaults; aiohttp is imported only to serve
    from . import reasoning_store as store_defaults

    ap = argparse.ArgumentParser(
        prog="minimax-parser",
        description="Parse raw MiniMax-M2 or MiniMax-M3 output into OpenAI reasoning_content, "
        "content and tool_calls.",
    )
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="parse a raw response (file or - for stdin)")
    p.add_argument("file", help="file with the raw model output, or - for standard input")
    p.add_argument("--tools", help="JSON file: the request's tools list (or a request body)")
    p.add_argument("--stream", action="store_true", help="print one JSON delta per line")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="with --stream: feed N characters at a time (default: token-sized pieces)",
    )
    _add_parser_options(p)
    p.set_defaults(func=_cmd_parse)
    d = sub.add_parser("demo", help="replay a bundled example token by token")
    d.add_argument("--delay", type=float, default=0.0, help="seconds to wait between tokens")
    _add_dialect(d)
    d.set_defaults(func=_cmd_demo)
    x = sub.add_parser(
        "proxy", help="serve an OpenAI-compatible API that parses an upstream server's responses"
    )
    x.add_argument(
        "--upstream",
        required=True,
        help="the upstream base URL, including /v1 (e.g. http://127.0.0.1:11434/v1)",
    )
    x.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    x.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    x.add_argument(
        "--timeout",
        type=float,
        default=proxy_defaults.DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="total time allowed per upstream request, from when it is sent; also the longest "
        f"wait for a free upstream connection (default {proxy_defaults.DEFAULT_TIMEOUT:g})",
    )
    x.add_argument(
        "--max-connections",
        type=int,
        default=proxy_defaults.DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="upstream requests in flight at once; more wait for a free one "
        f"(default {proxy_defaults.DEFAULT_MAX_CONNECTIONS})",
    )
    x.add_argument(
        "--max-body-bytes",
        type=int,
        default=proxy_defaults.DEFAULT_MAX_BODY_BYTES,
        metavar="N",
        help="largest request body accepted, 413 beyond "
        f"(default {proxy_defaults.DEFAULT_MAX_BODY_BYTES}, 32 MiB)",
    )
    x.add_argument(
        "--restore-reasoning",
        choices=proxy_defaults.RESTORE_MODES,
        default=proxy_defaults.DEFAULT_RESTORE,
        help="when a request's history holds an assistant turn the proxy served, without its "
        "reasoning: put the think block back into its content (inline), set its "
        "reasoning_content (field), or leave it (off: nothing is stored either); "
        f"default {proxy_defaults.DEFAULT_RESTORE}",
    )
    x.add_argument(
        "--reasoning-store",
        default="memory",
        metavar="memory|redis://HOST:PORT/DB",
        help="where served turns' reasoning is kept: in the proxy (memory, the default) or in "
        "Redis, shared by several proxies (pip install 'minimax-parser[redis]')",
    )
    x.add_argument(
        "--reasoning-store-entries",
        type=int,
        default=store_defaults.DEFAULT_MAX_ENTRIES,
        metavar="N",
        help="keys the memory store holds (one per tool call, or one per turn without calls), "
        f"least recently used out (default {store_defaults.DEFAULT_MAX_ENTRIES})",
    )
    x.add_argument(
        "--reasoning-store-bytes",
        type=int,
        default=store_defaults.DEFAULT_MAX_BYTES,
        metavar="N",
        help="bytes of keys and reasoning the memory store holds, least recently used out "
        f"(default {store_defaults.DEFAULT_MAX_BYTES}, 64 MiB)",
    )
    x.add_argument(
        "--reasoning-store-ttl",
        type=float,
        default=store_defaults.DEFAULT_TTL,
        metavar="SECONDS",
        help="seconds a stored reasoning is kept after it was last stored or restored "
        f"(default {store_defaults.DEFAULT_TTL:g})",
    )
    _add_parser_options(x)
    x.set_defaults(func=_cmd_proxy)
    # Listed for --help only: main() hands "conformance ..." to minimax_parser.conformance
    # before this parser sees it.
    sub.add_parser(
        "conformance",
        help="run the golden fixtures through every installed MiniMax-M2 parser",
        add_help=False,
    )
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["conformance"]:
        # Its options belong to minimax_parser.conformance (argparse's REMAINDER would refuse
        # a leading "--option").
        from . import conformance

        return conformance.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except BrokenPipeError:
        return _stdout_gone()
    except (OSError, ValueError, TypeError, RecursionError) as e:
        # One line, its middle elided (the parser names the path of a bad schema node, which
        # can be long).
        message = shorten(" ".join((str(e) or type(e).__name__).split()), 400)
        print(f"minimax-parser: error: {message}", file=sys.stderr)
        return 2
    return status


def _stdout_gone() -> int:
    """The reader of standard output left: say nothing, and point standard output at
    ``/dev/null`` so that flushing it at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind sys.stdout: nothing to flush
        pass
    return EXIT_BROKEN_PIPE
