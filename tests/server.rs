//! The real server on 127.0.0.1:0 driven through the generated client: every RPC, health,
//! reflection, each error, overload, deadlines, streams and graceful shutdown.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use newsgist::proto as pb;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn health_reports_serving_for_each_service() {
    let server = TestServer::start(&[]).await;
    for service in ["", "newsgist.v1.SummarizerService", "newsgist.v1.ModelService"] {
        assert_eq!(server.health(service).await, ServingStatus::Serving, "{service:?}");
    }
}

#[tokio::test]
async fn summarize_returns_extractive_sentences_with_offsets_and_key_facts_by_default() {
    let server = TestServer::start(&[]).await;
    let mut request = request("r-1", ARTICLE_BODY, &[]);
    request.options = None;
    let response = server.client().await.summarize(request).await.unwrap().into_inner();
    assert_eq!(response.request_id, "r-1");
    assert_eq!(response.article_id, "r-1");
    assert!(response.abstractive.is_none(), "abstractive is not a default output");

    let extractive = response.extractive.expect("extractive is a default output");
    assert_eq!(
        extractive.sentences.len(),
        3,
        "the server's default length is 3 sentences"
    );
    assert_eq!(extractive.total_sentences, 7);
    let mut previous_end = 0;
    for sentence in &extractive.sentences {
        let location = sentence.location.as_ref().unwrap();
        assert_eq!(location.field, pb::Field::Body as i32);
        assert_eq!(char_slice(ARTICLE_BODY, location.start, location.end), sentence.text);
        assert!(location.start >= previous_end, "sentences come in document order");
        previous_end = location.end;
    }
    let joined: Vec<&str> = extractive.sentences.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(extractive.text, joined.join("\n"));

    assert!(!response.key_facts.is_empty(), "key facts are a default output");
    let timings = response.timings.unwrap();
    assert!(timings.total_ms >= timings.extractive_ms);
}

#[tokio::test]
async fn extractive_length_follows_count_and_ratio() {
    let server = TestServer::start(&[]).await;
    let mut client = server.client().await;
    for (length, expected) in [
        (pb::extractive_options::Length::Sentences(1), 1),
        (pb::extractive_options::Length::Sentences(5), 5),
        (pb::extractive_options::Length::Ratio(0.3), 2),
        (pb::extractive_options::Length::Ratio(1.0), 7),
    ] {
        let mut request = request("len", ARTICLE_BODY, &[pb::Output::Extractive]);
        request.options.as_mut().unwrap().extractive = Some(pb::ExtractiveOptions {
            length: Some(length),
            mode: 0,
        });
        let response = client.summarize(request).await.unwrap().into_inner();
        assert_eq!(response.extractive.unwrap().sentences.len(), expected, "{length:?}");
        assert!(response.key_facts.is_empty(), "only extractive was asked for");
    }
}

/// A normal request still succeeds (after bad input, overload or a deadline).
async fn assert_still_serves(server: &TestServer) {
    let ok = server.client().await.summarize(request("ok", ARTICLE_BODY, &[])).await;
    assert!(ok.is_ok(), "the server still serves: {ok:?}");
}

async fn expect_error(server: &TestServer, request: pb::SummarizeRequest, code: Code, message_part: &str) {
    let status = server.client().await.summarize(request).await.unwrap_err();
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(message_part),
        "{:?} lacks {message_part:?}",
        status.message()
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_the_server_keeps_serving() {
    let server = TestServer::start(&["--max-body-bytes", "4096"]).await;
    expect_error(
        &server,
        request("e", "   ", &[]),
        Code::InvalidArgument,
        "body is empty",
    )
    .await;
    let huge = "word ".repeat(2000);
    expect_error(
        &server,
        request("e", &huge, &[]),
        Code::InvalidArgument,
        "limit of 4096 bytes",
    )
    .await;

    let mut missing = request("e", ARTICLE_BODY, &[]);
    missing.article = None;
    expect_error(&server, missing, Code::InvalidArgument, "no article").await;

    let mut ratio = request("e", ARTICLE_BODY, &[pb::Output::Extractive]);
    ratio.options.as_mut().unwrap().extractive = Some(pb::ExtractiveOptions {
        length: Some(pb::extractive_options::Length::Ratio(1.5)),
        mode: 0,
    });
    expect_error(&server, ratio, Code::InvalidArgument, "ratio").await;

    let mut unknown_model = request("e", ARTICLE_BODY, &[pb::Output::Abstractive]);
    unknown_model.options.as_mut().unwrap().abstractive = Some(pb::AbstractiveOptions {
        model: "no-such-model".into(),
        ..Default::default()
    });
    if cfg!(feature = "torch") {
        expect_error(&server, unknown_model, Code::InvalidArgument, "unknown model profile").await;
    } else {
        let built_without = "without the `torch` feature";
        expect_error(&server, unknown_model, Code::FailedPrecondition, built_without).await;
    }

    let mut bad_output = request("e", ARTICLE_BODY, &[]);
    bad_output.options.as_mut().unwrap().outputs = vec![42];
    expect_error(&server, bad_output, Code::InvalidArgument, "unknown output").await;

    let mut french = request("e", ARTICLE_BODY, &[]);
    french.article.as_mut().unwrap().language = "fr".into();
    expect_error(&server, french, Code::InvalidArgument, "not supported").await;

    // What is missing: a model flag, or in a lean build the `torch` feature itself.
    let (no_model, no_embeddings) = if cfg!(feature = "torch") {
        ("--model-dir", "--embedding-model-dir")
    } else {
        ("without the `torch` feature", "without the `torch` feature")
    };
    expect_error(
        &server,
        request("e", ARTICLE_BODY, &[pb::Output::Abstractive]),
        Code::FailedPrecondition,
        no_model,
    )
    .await;
    let mut semantic = request("e", ARTICLE_BODY, &[pb::Output::Extractive]);
    semantic.options.as_mut().unwrap().extractive = Some(pb::ExtractiveOptions {
        length: None,
        mode: pb::ExtractiveMode::Semantic as i32,
    });
    expect_error(&server, semantic, Code::FailedPrecondition, no_embeddings).await;

    let ok = server.client().await.summarize(request("ok", ARTICLE_BODY, &[])).await;
    assert!(ok.is_ok(), "the server still serves after bad input");
}

#[tokio::test]
async fn oversized_messages_are_refused_by_the_transport_limit() {
    let server = TestServer::start(&["--max-body-bytes", "4096"]).await;
    let body = "x".repeat(200 * 1024);
    let status = server
        .client()
        .await
        .summarize(request("big", &body, &[]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_still_serves(&server).await;
}

#[tokio::test]
async fn a_deadline_that_cannot_be_met_is_reported_as_such() {
    let server = TestServer::start(&["--workers", "1"]).await;
    // The one worker is busy with a long article while the short requests below wait.
    let long_body = ARTICLE_BODY.repeat(1000);
    let busy = server.spawn_summarize(request("busy", &long_body, &[]));
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The grpc-timeout header alone (no client-side timer), as any gRPC client sends it: a
    // budget below the server's 20 ms margin is refused before any work (15 ms leaves room
    // for a loaded machine to answer before tonic's own timer), 80 ms runs out in the queue.
    for timeout in ["15m", "80m"] {
        let mut request = tonic::Request::new(request("late", ARTICLE_BODY, &[]));
        request.metadata_mut().insert("grpc-timeout", timeout.parse().unwrap());
        let status = server.client().await.summarize(request).await.unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{timeout}: {status:?}");
    }
    assert!(busy.await.unwrap().is_ok());
    assert_still_serves(&server).await;
}

#[tokio::test]
async fn a_full_server_answers_resource_exhausted_at_once() {
    let server = TestServer::start(&["--workers", "1", "--max-pending", "1"]).await;
    let long_body = ARTICLE_BODY.repeat(300);
    let calls: Vec<_> = (0..12)
        .map(|i| server.spawn_summarize(request(&format!("c{i}"), &long_body, &[])))
        .collect();
    let mut codes = Vec::new();
    for call in calls {
        codes.push(match call.await.unwrap() {
            Ok(_) => Code::Ok,
            Err(status) => {
                if status.code() == Code::ResourceExhausted {
                    let pushback = status.metadata().get("grpc-retry-pushback-ms");
                    assert!(pushback.is_some(), "a retry hint: {status:?}");
                }
                status.code()
            }
        });
    }
    assert!(codes.contains(&Code::Ok), "{codes:?}");
    assert!(codes.contains(&Code::ResourceExhausted), "{codes:?}");
    assert!(
        codes.iter().all(|c| matches!(c, Code::Ok | Code::ResourceExhausted)),
        "{codes:?}"
    );
}

#[tokio::test]
async fn a_stream_answers_every_item_and_survives_a_bad_one() {
    let server = TestServer::start(&[]).await;
    let requests = vec![
        request("s-1", ARTICLE_BODY, &[]),
        request("s-bad", "", &[]),
        request("s-3", ARTICLE_BODY, &[pb::Output::Extractive]),
    ];
    let response = server
        .client()
        .await
        .summarize_stream(futures::stream::iter(requests))
        .await
        .unwrap();
    let items: Vec<pb::SummarizeStreamResponse> = response.into_inner().map(|item| item.unwrap()).collect().await;
    assert_eq!(items.len(), 3);
    for item in &items {
        match (&item.request_id[..], item.result.as_ref().unwrap()) {
            ("s-bad", pb::summarize_stream_response::Result::Error(error)) => {
                assert_eq!(error.code, Code::InvalidArgument as i32);
                assert!(error.message.contains("body is empty"));
            }
            ("s-1" | "s-3", pb::summarize_stream_response::Result::Response(response)) => {
                assert_eq!(response.request_id, item.request_id);
                assert!(response.extractive.is_some());
            }
            other => panic!("unexpected item {other:?}"),
        }
    }
}

#[cfg(feature = "torch")]
#[tokio::test]
async fn model_service_lists_models_and_limits() {
    let bart = fixture("bart-tiny");
    let server = TestServer::start(&["--model-dir", &bart, "--max-body-bytes", "5000"]).await;
    let list = server.list_models().await;
    let abstractive = list
        .iter()
        .find(|m| m.name == "bart-tiny")
        .expect("the configured profile is listed");
    assert_eq!(abstractive.kind, pb::ModelKind::Abstractive as i32);
    assert_eq!(abstractive.architecture, "bart");
    assert!(abstractive.loaded && abstractive.default);
    assert!(list.iter().any(|m| m.kind == pb::ModelKind::Extractive as i32));
    let info = pb::model_service_client::ModelServiceClient::new(server.channel().await)
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.max_body_bytes, 5000);
    assert_eq!(info.workers, 1);
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn server_info_reports_defaults_and_limits_from_the_configuration() {
    let server = TestServer::start(&["--max-body-bytes", "5000", "--workers", "2", "--max-pending", "9"]).await;
    let info = pb::model_service_client::ModelServiceClient::new(server.channel().await)
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((info.max_body_bytes, info.workers, info.max_pending), (5000, 2, 9));
    assert_eq!(
        info.default_outputs,
        [pb::Output::Extractive as i32, pb::Output::KeyFacts as i32]
    );
    let list = server.list_models().await;
    let names: Vec<&str> = list.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["lexical", "key-facts"],
        "the embedded models, and nothing else unasked"
    );
    assert!(list.iter().all(|m| m.loaded && m.default));
}

#[tokio::test]
async fn reflection_answers_in_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let server = TestServer::start(&[]).await;

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) = reply.message_response
    else {
        panic!("no service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "newsgist.v1.SummarizerService",
        "newsgist.v1.ModelService",
        "newsgist.v1.DigestService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }

    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "newsgist.v1.SummarizerService".into(),
            ),
        ),
    };
    let mut replies = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    assert!(
        matches!(
            reply.message_response,
            Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()
        ),
        "{reply:?}"
    );
}

#[tokio::test]
async fn shutdown_drains_in_flight_work_then_closes_the_listener() {
    let mut server = TestServer::start(&[]).await;
    let long_body = ARTICLE_BODY.repeat(300);
    let in_flight = server.spawn_summarize(request("drain", &long_body, &[]));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopped = server.begin_shutdown();
    let response = in_flight.await.unwrap();
    assert!(
        response.is_ok(),
        "in-flight work completes during shutdown: {response:?}"
    );
    stopped.await.unwrap().unwrap();
    assert!(
        tonic::transport::Channel::from_shared(server.url())
            .unwrap()
            .connect()
            .await
            .is_err(),
        "the listener is closed"
    );
}

#[cfg(feature = "torch")]
#[tokio::test]
async fn abstractive_runs_on_the_tiny_bart_fixture_and_chunks_long_articles() {
    let bart = fixture("bart-tiny");
    let server = TestServer::start(&["--model-dir", &bart]).await;
    let mut client = server.client().await;
    let mut short = request(
        "a-1",
        "The council approved the budget. Spending will rise.",
        &[pb::Output::Abstractive],
    );
    short.options.as_mut().unwrap().abstractive = Some(pb::AbstractiveOptions {
        max_tokens: 12,
        min_tokens: 4,
        num_beams: 1,
        ..Default::default()
    });
    let response = client.summarize(short.clone()).await.unwrap().into_inner();
    let abstractive = response.abstractive.expect("abstractive was asked for");
    assert_eq!(abstractive.model_id, "bart-tiny");
    assert!(!abstractive.text.is_empty());
    assert!(!abstractive.chunked);
    assert_eq!(abstractive.chunks, 1);

    let long = ARTICLE_BODY.repeat(6);
    short.article.as_mut().unwrap().body = long;
    let response = client.summarize(short).await.unwrap().into_inner();
    let abstractive = response.abstractive.unwrap();
    assert!(
        abstractive.chunked,
        "an article several times the 128-token window is chunked"
    );
    assert!(abstractive.chunks >= 3, "{} chunks", abstractive.chunks);
    assert!(abstractive.input_tokens > 128 * 3);

    // Longer than the model's 128 decoder positions: the caller's mistake, said so.
    let mut too_long = request("a-2", "The council approved the budget.", &[pb::Output::Abstractive]);
    too_long.options.as_mut().unwrap().abstractive = Some(pb::AbstractiveOptions {
        max_tokens: 200,
        num_beams: 1,
        ..Default::default()
    });
    expect_error(&server, too_long, Code::InvalidArgument, "at most 128").await;
    let mut again = request("a-3", "The council approved the budget.", &[pb::Output::Abstractive]);
    again.options.as_mut().unwrap().abstractive = Some(pb::AbstractiveOptions {
        max_tokens: 128,
        num_beams: 1,
        ..Default::default()
    });
    assert!(
        client.summarize(again).await.is_ok(),
        "the longest output the model can give is served"
    );
}

/// Two workers, each with its own copy of the model in oneDNN's packed layout, under
/// concurrent calls that the workers also batch together: every answer is the one the same
/// request gets alone.
#[cfg(feature = "torch")]
#[tokio::test]
async fn concurrent_abstractive_calls_on_two_workers_match_the_same_calls_alone() {
    let bart = fixture("bart-tiny");
    let server = TestServer::start(&["--model-dir", &bart, "--workers", "2", "--max-batch", "4"]).await;
    let bodies = [
        "The council approved the budget. Spending will rise.",
        "Storms closed the coastal road on Tuesday. Crews cleared it by night.",
        "The museum reopened after a year of repairs. Visitors queued for hours.",
        "Rail workers agreed a new contract. Strikes planned for May were called off.",
        "A local team won the regional final. Fans filled the square to celebrate.",
        "The hospital opened a new wing. It adds forty beds for children.",
    ];
    let call = |i: usize, body: &str| {
        let mut call = request(&format!("c-{i}"), body, &[pb::Output::Abstractive]);
        call.options.as_mut().unwrap().abstractive = Some(pb::AbstractiveOptions {
            max_tokens: 16,
            min_tokens: 4,
            num_beams: 2,
            ..Default::default()
        });
        call
    };
    let mut client = server.client().await;
    let mut alone = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let response = client.summarize(call(i, body)).await.unwrap().into_inner();
        alone.push(response.abstractive.unwrap().text);
    }
    let together = futures::future::join_all((0..3).flat_map(|_| bodies.iter().enumerate()).map(|(i, body)| {
        let mut client = client.clone();
        let call = call(i, body);
        async move { (i, client.summarize(call).await.unwrap().into_inner()) }
    }))
    .await;
    for (i, response) in together {
        assert_eq!(response.abstractive.unwrap().text, alone[i], "request {i}");
    }
}

#[cfg(feature = "torch")]
#[tokio::test]
async fn semantic_and_hybrid_modes_use_the_bundled_minilm() {
    let minilm = minilm_dir();
    let server = TestServer::start(&["--embedding-model-dir", &minilm]).await;
    let mut client = server.client().await;
    for mode in [pb::ExtractiveMode::Semantic, pb::ExtractiveMode::Hybrid] {
        let mut request = request("m", ARTICLE_BODY, &[pb::Output::Extractive]);
        request.options.as_mut().unwrap().extractive = Some(pb::ExtractiveOptions {
            length: Some(pb::extractive_options::Length::Sentences(2)),
            mode: mode as i32,
        });
        let extractive = client
            .summarize(request)
            .await
            .unwrap()
            .into_inner()
            .extractive
            .unwrap();
        assert_eq!(extractive.mode, mode as i32);
        assert_eq!(extractive.sentences.len(), 2);
    }
}

#[cfg(feature = "torch")]
#[tokio::test]
async fn key_facts_take_names_from_a_configured_ner_model() {
    let ner = fixture("bert-ner-tiny");
    let server = TestServer::start(&["--ner-model-dir", &ner]).await;
    let list = server.list_models().await;
    assert!(list
        .iter()
        .any(|m| m.name == "named-entities" && m.architecture == "bert" && m.loaded));
    let response = server
        .client()
        .await
        .summarize(request("ner", ARTICLE_BODY, &[pb::Output::KeyFacts]))
        .await
        .unwrap()
        .into_inner();
    for fact in &response.key_facts {
        for field in [&fact.who, &fact.what, &fact.when, &fact.r#where, &fact.evidence]
            .into_iter()
            .flatten()
        {
            let location = field.location.as_ref().unwrap();
            let source = if location.field == pb::Field::Title as i32 {
                ARTICLE_TITLE
            } else {
                ARTICLE_BODY
            };
            assert_eq!(char_slice(source, location.start, location.end), field.text);
        }
    }
}

#[tokio::test]
async fn a_stock_python_grpcio_client_interoperates() {
    let server = TestServer::start(&[]).await;
    let python = std::env::var("NEWSGIST_PYTHON").expect("NEWSGIST_PYTHON is set by scripts/setup.sh");
    let script = repo_path("tests/python/interop_client.py");
    let addr = server.addr.to_string();
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(addr)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "python client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Sends `bytes` as the message of a unary call to `path`, as a buggy or hostile client would.
async fn raw_call(server: &TestServer, path: &'static str, bytes: Vec<u8>) -> tonic::Status {
    use prost::bytes::{Buf, BufMut};
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

    #[derive(Default)]
    struct RawCodec;
    struct RawEncoder;
    struct RawDecoder;
    impl Encoder for RawEncoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }
    impl Decoder for RawDecoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
            let bytes = src.copy_to_bytes(src.remaining());
            Ok(Some(bytes.to_vec()))
        }
    }
    impl Codec for RawCodec {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = RawEncoder;
        type Decoder = RawDecoder;
        fn encoder(&mut self) -> RawEncoder {
            RawEncoder
        }
        fn decoder(&mut self) -> RawDecoder {
            RawDecoder
        }
    }
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
    grpc.unary(tonic::Request::new(bytes), path, RawCodec)
        .await
        .expect_err("not a valid message")
}

#[tokio::test]
async fn malformed_messages_are_invalid_argument_and_the_server_keeps_serving() {
    let server = TestServer::start(&[]).await;
    let summarize = "/newsgist.v1.SummarizerService/Summarize";
    let valid = prost::Message::encode_to_vec(&request("m", ARTICLE_BODY, &[]));
    let mut bad_utf8 = prost::Message::encode_to_vec(&pb::SummarizeRequest {
        request_id: "abc".into(),
        ..Default::default()
    });
    let at = bad_utf8.len() - 3;
    bad_utf8[at] = 0xff; // inside the string field: not UTF-8
    for (what, bytes) in [
        ("random bytes", vec![0xff, 0x13, 0x07, 0x99, 0x42, 0x00, 0xfe]),
        ("a truncated message", valid[..valid.len() / 2].to_vec()),
        ("invalid UTF-8 in a string field", bad_utf8),
    ] {
        let status = raw_call(&server, summarize, bytes).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        assert!(
            status.message().contains("not a valid SummarizeRequest"),
            "{what}: {status:?}"
        );
    }
    assert_still_serves(&server).await;
}

#[tokio::test]
async fn gzip_compressed_requests_are_accepted() {
    let server = TestServer::start(&[]).await;
    let mut client = server
        .client()
        .await
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let response = client
        .summarize(request("gz", ARTICLE_BODY, &[]))
        .await
        .unwrap()
        .into_inner();
    assert!(response.extractive.is_some());
}
