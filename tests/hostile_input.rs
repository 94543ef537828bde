//! Input a careless or hostile caller sends, through the real server: oversized fields,
//! control characters, bodies without text, web pages, dates at the calendar's ends, and a
//! body limit no server should start with.

mod common;

use clap::Parser;
use common::*;
use newsgist::{
    config::{limits, Cli, Command, ConfigError},
    proto as pb,
};
use tonic::Code;

async fn refused(server: &TestServer, request: pb::SummarizeRequest) -> tonic::Status {
    server
        .client()
        .await
        .summarize(request)
        .await
        .expect_err("the request should be refused")
}

#[tokio::test]
async fn every_text_field_has_a_limit_named_in_the_refusal() {
    let server = TestServer::start(&[]).await;
    type Set = fn(&mut pb::SummarizeRequest, String);
    let fields: [(&str, usize, Set); 5] = [
        ("article.title", limits::MAX_TITLE_BYTES, |r, v| {
            r.article.as_mut().unwrap().title = v
        }),
        ("article.url", limits::MAX_URL_BYTES, |r, v| {
            r.article.as_mut().unwrap().url = v
        }),
        ("article.id", limits::MAX_ID_BYTES, |r, v| {
            r.article.as_mut().unwrap().id = v
        }),
        ("request_id", limits::MAX_REQUEST_ID_BYTES, |r, v| r.request_id = v),
        ("article.language", limits::MAX_LANGUAGE_BYTES, |r, v| {
            r.article.as_mut().unwrap().language = format!("en-{}", &v[3..])
        }),
    ];
    for (field, max, set) in fields {
        let mut over = request("limits", ARTICLE_BODY, &[]);
        set(&mut over, "a".repeat(max + 1));
        let status = refused(&server, over).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        let expected = format!("{field} is {} bytes, over the limit of {max} bytes", max + 1);
        assert!(status.message().contains(&expected), "{field}: {:?}", status.message());

        let mut at_limit = request("limits", ARTICLE_BODY, &[]);
        set(&mut at_limit, "a".repeat(max));
        let answer = server.client().await.summarize(at_limit).await;
        assert!(answer.is_ok(), "{field} at its limit: {answer:?}");
    }
}

#[tokio::test]
async fn a_huge_title_is_refused_at_once_instead_of_slowing_key_facts() {
    let server = TestServer::start(&[]).await;
    let mut huge = request("title", ARTICLE_BODY, &[pb::Output::KeyFacts]);
    huge.article.as_mut().unwrap().title = "Council approves tram line. ".repeat(400 * 1024 / 28);
    // Refused by validation, before any worker sees it (`make bench-hostile` times it).
    let status = refused(&server, huge).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("article.title is 409584 bytes"),
        "{}",
        status.message()
    );
}

#[test]
fn a_body_limit_over_the_cap_is_refused_at_start_up() {
    // The error, if any, of a server configured with this body limit.
    let refusal = |value: &str| {
        let Command::Serve(serve) = Cli::parse_from(["newsgist", "serve", "--max-body-bytes", value]).command else {
            unreachable!()
        };
        serve.server_config().err()
    };
    let err = refusal("100000000000").expect("refused");
    assert!(matches!(err, ConfigError::BodyLimitOverCap(100_000_000_000)), "{err}");
    assert!(
        err.to_string().contains(&limits::MAX_BODY_BYTES_CAP.to_string()),
        "{err}"
    );
    assert!(refusal(&limits::MAX_BODY_BYTES_CAP.to_string()).is_none());
}

fn is_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

#[tokio::test]
async fn control_characters_never_reach_the_output_and_offsets_stay_valid() {
    let server = TestServer::start(&[]).await;
    // NUL, BEL, ESC, DEL and the C1 controls NEL (U+0085) and CSI (U+009B), in every sentence.
    let body = "The city council of Riverside\0approved a new tram line on Tuesday.\u{7} \
        Mayor Jane Okafor\u{85}said the project would cut traffic by a third.\u{1b}[0m \
        Construction is due to begin in March,\u{9b} the council said\u{7f} in a statement.";
    let mut hostile = request("ctl", body, &[pb::Output::Extractive, pb::Output::KeyFacts]);
    hostile.article.as_mut().unwrap().title = "Tram\0line\u{9c}approved".into();
    hostile.options.as_mut().unwrap().extractive = Some(pb::ExtractiveOptions {
        length: Some(pb::extractive_options::Length::Sentences(3)),
        mode: 0,
    });
    let response = server.client().await.summarize(hostile).await.unwrap().into_inner();
    let extractive = response.extractive.unwrap();
    assert_eq!(extractive.sentences.len(), 3);
    assert!(!extractive.text.chars().any(is_control), "{:?}", extractive.text);
    for sentence in &extractive.sentences {
        assert!(!sentence.text.chars().any(is_control), "{:?}", sentence.text);
        let location = sentence.location.as_ref().unwrap();
        // Code point offsets into the caller's own body still point at the same text.
        let original = char_slice(body, location.start, location.end);
        let cleaned: String = original
            .chars()
            .map(|c| match c {
                '\u{80}'..='\u{9f}' => '\u{a0}',
                c if is_control(c) => ' ',
                c => c,
            })
            .collect();
        assert_eq!(cleaned, sentence.text);
    }
    assert!(!response.key_facts.is_empty());
    for fact in &response.key_facts {
        for field in [&fact.who, &fact.what, &fact.when, &fact.r#where, &fact.evidence]
            .into_iter()
            .flatten()
        {
            assert!(!field.text.chars().any(is_control), "{field:?}");
        }
    }
}

#[tokio::test]
async fn bodies_without_text_and_web_pages_are_refused() {
    let server = TestServer::start(&[]).await;
    for body in [
        "\0\0\0\0",
        "\u{85}\u{9f}",
        "🎉🔥🎉 👍",
        "... !!! --- ???",
        "\0 \u{7} \u{1b}",
    ] {
        let status = refused(&server, request("empty", body, &[])).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{body:?}: {status:?}");
        assert!(
            status.message().contains("article.body has no text"),
            "{body:?}: {}",
            status.message()
        );
    }
    let page = format!(
        "\n  <!doctype html>\n<html lang=\"en\"><head><title>Tram</title></head><body><p>{ARTICLE_BODY}</p></body></html>"
    );
    let nav = "<div id=\"nav\"><ul><li><a href=\"/\">Home</a></li><li><a href=\"/news\">News</a></li>\
        <li><a href=\"/sport\">Sport</a></li></ul></div><div class=\"ad\"><img src=\"/ad.png\"></div>";
    for body in [page.as_str(), "<HTML><BODY>Breaking news</BODY></HTML>", nav] {
        let status = refused(&server, request("page", body, &[])).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{body:?}: {status:?}");
        assert!(status.message().contains("not its markup"), "{}", status.message());
    }
    let inline = format!("<p>{ARTICLE_BODY}</p>");
    let answer = server.client().await.summarize(request("inline", &inline, &[])).await;
    assert!(answer.is_ok(), "a few tags in real text are not a page: {answer:?}");
}

/// Every `when.normalized` of the answer, which must name years 1 to 9999.
fn assert_normalized_years_in_range(response: &pb::SummarizeResponse) -> Vec<String> {
    let normalized: Vec<String> = response
        .key_facts
        .iter()
        .filter_map(|f| f.when.as_ref())
        .map(|w| w.normalized.clone())
        .filter(|n| !n.is_empty())
        .collect();
    for value in &normalized {
        for part in value.split('/') {
            let year: i32 = part
                .get(..4)
                .and_then(|y| y.parse().ok())
                .unwrap_or_else(|| panic!("{value}"));
            assert!((1..=9999).contains(&year), "{value}");
            assert!(!part.as_bytes().get(4).is_some_and(u8::is_ascii_digit), "{value}");
        }
    }
    normalized
}

#[tokio::test]
async fn dates_at_the_ends_of_the_calendar_stay_in_years_1_to_9999() {
    let server = TestServer::start(&[]).await;
    let body = "The company said profits fell last year. The board met on June 12 last year to review the plan. \
        Sales will rise next month, the chief executive said on Tuesday. The board will meet again on \
        January 4 next year.";
    let mut all = Vec::new();
    for (y, m, d) in [(1, 1, 3), (9999, 12, 30)] {
        let published = chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc();
        let mut r = request("dates", body, &[pb::Output::KeyFacts]);
        r.article.as_mut().unwrap().published_at = Some(prost_types::Timestamp {
            seconds: published.timestamp(),
            nanos: 0,
        });
        r.options.as_mut().unwrap().key_facts = Some(pb::KeyFactOptions { max_facts: 10 });
        let response = server.client().await.summarize(r).await.unwrap().into_inner();
        assert!(!response.key_facts.is_empty(), "{y}-{m}-{d}");
        all.extend(assert_normalized_years_in_range(&response));
    }
    assert!(
        !all.is_empty(),
        "some when is still normalised (Tuesday, this year's dates)"
    );
}
