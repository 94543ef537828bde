#!/usr/bin/env python3
"""Interop check: a stock Python gRPC client against a running newsgist server.

Usage: interop_client.py ADDRESS [--proto-dir DIR] [--timeout SECONDS] [--ca FILE --api-key KEY]

With --ca, the client speaks TLS, trusting that CA for a server certificate issued to
"localhost"; with --api-key too, every call carries `authorization: Bearer KEY`.

ADDRESS is host:port (an http:// prefix is accepted). The client compiles
proto/newsgist/v1/*.proto with grpcio-tools into a temporary directory at run time (so
nothing generated is committed), then:

1. waits for the channel to be ready;
2. calls SummarizerService.Summarize on a short article with non-ASCII text, asking for
   extractive sentences and key facts, and checks that the response echoes the ids, has at
   least one extractive sentence, that every sentence's code point offsets slice the body
   to exactly its text, that sentences are in document order and that the summary text is
   the sentences joined by newlines; key-fact slots that carry a location must slice their
   field to their text too;
3. checks that an empty body is rejected with an error status;
4. calls grpc.health.v1.Health/Check for the whole server and expects SERVING.

Exit status: 0 when every check passes; 1 when a check fails; 2 when the protos cannot be
compiled or imported; 3 when the server cannot be reached. Messages go to stderr.
It is launched by a Rust integration test; it needs grpcio, grpcio-tools and
grpcio-health-checking (all in the project's Python venv).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

ARTICLE_BODY = (
    "Zoë Martínez, the mayor of São Paulo, announced on Tuesday that the city’s new metro "
    "line will open in March. The line cost 2.1 billion reais and took six years to build. "
    "“It is a historic day for everyone who lives here,” she told reporters at the "
    "station. Officials expect about 500,000 passengers a day once the line is running. "
    "Critics said the project had been delayed twice because of funding disputes."
)
ARTICLE_TITLE = "São Paulo’s new metro line to open in March"


class CheckFailed(Exception):
    """A response broke the API contract."""


def compile_protos(proto_dir: Path, out_dir: Path) -> None:
    """Compile every newsgist .proto under proto_dir into Python modules in out_dir."""
    from grpc_tools import protoc

    well_known = Path(protoc.__file__).resolve().parent / "_proto"
    protos = sorted(proto_dir.glob("newsgist/v1/*.proto"))
    if not protos:
        raise RuntimeError(f"no .proto files under {proto_dir}/newsgist/v1")
    args = [
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(proto_dir)) for p in protos],
    ]
    status = protoc.main(args)
    if status != 0:
        raise RuntimeError(f"protoc failed with status {status}: {' '.join(args)}")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def check_location(pb, location, text: str, body: str, title: str, what: str) -> None:
    """A TextLocation must slice its field, in code points, to exactly ``text``."""
    fields = {pb.FIELD_BODY: body, pb.FIELD_TITLE: title}
    check(location.field in fields,
          f"{what}: location.field is {location.field}, expected FIELD_BODY or FIELD_TITLE")
    source = fields[location.field]
    check(location.start <= location.end <= len(source),
          f"{what}: offsets [{location.start}, {location.end}) outside a field of "
          f"{len(source)} code points")
    sliced = source[location.start:location.end]
    check(sliced == text,
          f"{what}: [{location.start}, {location.end}) slices to {sliced!r}, text is {text!r}")


def check_summarize(pb, stub, timeout: float) -> None:
    request = pb.SummarizeRequest(
        request_id="interop-1",
        article=pb.Article(id="article-1", title=ARTICLE_TITLE, body=ARTICLE_BODY,
                           language="en"),
        options=pb.SummarizeOptions(
            outputs=[pb.OUTPUT_EXTRACTIVE, pb.OUTPUT_KEY_FACTS],
            extractive=pb.ExtractiveOptions(sentences=2),
        ),
    )
    request.article.published_at.FromJsonString("2026-03-03T09:00:00Z")
    response = stub.Summarize(request, timeout=timeout)

    check(response.request_id == "interop-1",
          f"request_id not echoed: {response.request_id!r}")
    check(response.article_id == "article-1",
          f"article_id not echoed: {response.article_id!r}")
    check(response.HasField("extractive"), "no extractive summary although it was requested")
    summary = response.extractive
    check(len(summary.sentences) >= 1, "extractive summary has no sentences")
    check(len(summary.sentences) <= 2,
          f"asked for 2 sentences, got {len(summary.sentences)}")
    previous_end = -1
    for i, sentence in enumerate(summary.sentences):
        what = f"extractive sentence {i}"
        check(sentence.HasField("location"), f"{what}: no location")
        check(sentence.location.field == pb.FIELD_BODY,
              f"{what}: location.field is {sentence.location.field}, expected FIELD_BODY")
        check_location(pb, sentence.location, sentence.text, ARTICLE_BODY, ARTICLE_TITLE,
                       what)
        check(sentence.text.strip() != "", f"{what}: empty text")
        check(sentence.location.start >= previous_end,
              f"{what}: not in document order or overlapping the previous sentence")
        previous_end = sentence.location.end
        check(sentence.index < summary.total_sentences,
              f"{what}: index {sentence.index} >= total_sentences {summary.total_sentences}")
    joined = "\n".join(s.text for s in summary.sentences)
    check(summary.text == joined,
          f"extractive text is not the sentences joined by newlines: {summary.text!r}")

    slots = ("who", "what", "when", "where", "evidence")
    for i, fact in enumerate(response.key_facts):
        check(0.0 <= fact.confidence <= 1.0, f"key fact {i}: confidence {fact.confidence}")
        for slot in slots:
            if not fact.HasField(slot):
                continue
            value = getattr(fact, slot)
            if value.HasField("location"):
                check_location(pb, value.location, value.text, ARTICLE_BODY, ARTICLE_TITLE,
                               f"key fact {i} {slot}")
    if not response.key_facts:
        print("warning: no key facts returned for the sample article", file=sys.stderr)
    print(f"Summarize: {len(summary.sentences)} extractive sentence(s) of "
          f"{summary.total_sentences}, {len(response.key_facts)} key fact(s): offsets OK",
          file=sys.stderr)


def check_empty_body_rejected(pb, stub, timeout: float) -> None:
    import grpc

    request = pb.SummarizeRequest(request_id="interop-empty", article=pb.Article(body=""))
    try:
        stub.Summarize(request, timeout=timeout)
    except grpc.RpcError as err:
        check(err.code() != grpc.StatusCode.OK, "empty body: error with status OK")
        print(f"empty body rejected with {err.code().name}", file=sys.stderr)
        return
    raise CheckFailed("an empty article body was accepted; the API requires a non-empty body")


def check_health(channel, timeout: float) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
    check(reply.status == health_pb2.HealthCheckResponse.SERVING,
          f"health Check(\"\") status is "
          f"{health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}, expected SERVING")
    print("health: SERVING", file=sys.stderr)


def main(argv: list[str]) -> int:
    default_proto = Path(__file__).resolve().parents[2] / "proto"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", help="host:port of a running newsgist server")
    parser.add_argument("--proto-dir", type=Path, default=default_proto)
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for the server and for each call")
    parser.add_argument("--ca", type=Path, help="PEM CA to trust: speak TLS")
    parser.add_argument("--api-key", help="API key sent as a bearer token (needs --ca)")
    args = parser.parse_args(argv)
    if args.api_key and not args.ca:
        parser.error("--api-key needs --ca: gRPC sends bearer tokens over TLS only")
    address = args.address.removeprefix("http://")

    try:
        import grpc
    except ImportError as err:
        print(f"error: grpcio is not installed: {err}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="newsgist-proto-") as generated:
        try:
            compile_protos(args.proto_dir, Path(generated))
            sys.path.insert(0, generated)
            pb = importlib.import_module("newsgist.v1.newsgist_pb2")
            pb_grpc = importlib.import_module("newsgist.v1.newsgist_pb2_grpc")
        except Exception as err:  # any failure here is a setup error, not a server fault
            print(f"error: cannot compile or import the protos: {err}", file=sys.stderr)
            return 2

        if args.ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=args.ca.read_bytes())
            if args.api_key:
                credentials = grpc.composite_channel_credentials(
                    credentials, grpc.access_token_call_credentials(args.api_key))
            channel = grpc.secure_channel(
                address, credentials, options=[("grpc.ssl_target_name_override", "localhost")])
        else:
            channel = grpc.insecure_channel(address)
        try:
            grpc.channel_ready_future(channel).result(timeout=args.timeout)
        except grpc.FutureTimeoutError:
            print(f"error: server at {address} not reachable within {args.timeout}s",
                  file=sys.stderr)
            return 3
        try:
            stub = pb_grpc.SummarizerServiceStub(channel)
            check_summarize(pb, stub, args.timeout)
            check_empty_body_rejected(pb, stub, args.timeout)
            check_health(channel, args.timeout)
        except CheckFailed as err:
            print(f"FAIL: {err}", file=sys.stderr)
            return 1
        except grpc.RpcError as err:
            print(f"FAIL: RPC error {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
        finally:
            channel.close()
    print("interop OK", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
