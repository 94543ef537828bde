//! DigestService on a real server with a real client, and `newsgist digest` as a process, on
//! the labelled dev stream (`../shared/data/digest/dev-stream.jsonl`; skipped with a message
//! when `../shared` is absent).

mod common;

use std::{collections::HashMap, path::PathBuf, process::Command};

use common::TestServer;
use newsgist::proto::{self as pb, digest_service_client::DigestServiceClient};
use serde_json::Value;
use tonic::Code;

fn dev_stream() -> Option<PathBuf> {
    let path = common::repo_path("../shared/data/digest/dev-stream.jsonl");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

fn rows(path: &PathBuf) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn article(row: &Value) -> pb::Article {
    let time = chrono::DateTime::parse_from_rfc3339(row["published_at"].as_str().unwrap()).unwrap();
    pb::Article {
        id: row["id"].as_str().unwrap().into(),
        title: row["title"].as_str().unwrap().into(),
        body: row["body"].as_str().unwrap().into(),
        url: row["url"].as_str().unwrap_or_default().into(),
        published_at: Some(prost_types::Timestamp {
            seconds: time.timestamp(),
            nanos: 0,
        }),
        language: String::new(),
    }
}

/// Article id -> story index, checking that no article is in two stories.
fn partition(stories: &[pb::Story]) -> HashMap<String, usize> {
    let mut of = HashMap::new();
    for (n, story) in stories.iter().enumerate() {
        for a in &story.articles {
            assert!(of.insert(a.id.clone(), n).is_none(), "{} is in two stories", a.id);
        }
    }
    of
}

fn all_stories(formats: Vec<pb::DigestFormat>) -> pb::DigestOptions {
    pb::DigestOptions {
        title: "Dev stream".into(),
        all_stories: true,
        formats: formats.into_iter().map(i32::from).collect(),
        ..pb::DigestOptions::default()
    }
}

#[tokio::test]
async fn a_feed_becomes_ranked_stories_over_unary_and_streaming_calls() {
    let Some(path) = dev_stream() else { return };
    let rows = rows(&path);
    // The first 60 articles: events, stand-alone articles and near-copies, quick to digest.
    let feed: Vec<&Value> = rows.iter().take(60).collect();
    let server = TestServer::start(&[]).await;
    assert_eq!(
        server.health("newsgist.v1.DigestService").await,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    let mut client = DigestServiceClient::new(server.channel().await);
    let mut articles: Vec<pb::Article> = feed.iter().map(|r| article(r)).collect();
    articles.push(pb::Article {
        id: "empty".into(),
        ..pb::Article::default()
    });
    let unary = client
        .build_digest(pb::BuildDigestRequest {
            options: Some(all_stories(vec![pb::DigestFormat::Html, pb::DigestFormat::Text])),
            articles: articles.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .digest
        .unwrap();
    assert_eq!(unary.articles, 60);
    let of = partition(&unary.stories);
    assert_eq!(of.len(), 60, "every article is in a story");
    assert_eq!(
        unary.rejected.len(),
        1,
        "the empty article is listed, the rest digested"
    );
    assert_eq!(
        (unary.rejected[0].id.as_str(), unary.rejected[0].code.as_str()),
        ("empty", "INVALID_ARGUMENT")
    );
    // Near-copies whose original is in the feed point at it.
    let ids: Vec<&str> = feed.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let predicted: HashMap<&str, &str> = unary
        .stories
        .iter()
        .flat_map(|s| &s.articles)
        .filter(|a| !a.duplicate_of.is_empty())
        .map(|a| (a.id.as_str(), a.duplicate_of.as_str()))
        .collect();
    for row in &feed {
        if let Some(original) = row["duplicate_of"].as_str().filter(|o| ids.contains(o)) {
            assert_eq!(predicted.get(row["id"].as_str().unwrap()), Some(&original));
        }
    }
    for (rank, story) in unary.stories.iter().enumerate() {
        assert_eq!(story.rank as usize, rank + 1);
        assert!(!story.headline.is_empty() && !story.summary.is_empty());
        let score = story.score.as_ref().unwrap();
        assert!(score.value > 0.0 && score.explanation.contains("recency"));
        for sentence in &story.summary {
            let source = feed.iter().find(|r| r["id"] == sentence.article_id.as_str()).unwrap();
            let body: Vec<char> = source["body"].as_str().unwrap().chars().collect();
            let at = sentence.location.as_ref().unwrap();
            let text: String = body[at.start as usize..at.end as usize].iter().collect();
            assert_eq!(text.trim(), sentence.text, "sentences point at their article");
        }
    }
    let values: Vec<f64> = unary.stories.iter().map(|s| s.score.as_ref().unwrap().value).collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "ranked by score: {values:?}");
    let formats: Vec<i32> = unary.renderings.iter().map(|r| r.format).collect();
    assert_eq!(formats, [pb::DigestFormat::Html as i32, pb::DigestFormat::Text as i32]);
    assert!(unary.renderings[0].text.contains("<table") && !unary.renderings[0].text.contains("<script"));

    // The same feed streamed gives the same stories.
    let mut messages = vec![pb::BuildDigestStreamRequest {
        item: Some(pb::build_digest_stream_request::Item::Options(all_stories(vec![]))),
    }];
    messages.extend(articles.into_iter().map(|a| pb::BuildDigestStreamRequest {
        item: Some(pb::build_digest_stream_request::Item::Article(a)),
    }));
    let streamed = client
        .build_digest_stream(futures::stream::iter(messages))
        .await
        .unwrap()
        .into_inner()
        .digest
        .unwrap();
    let same = partition(&streamed.stories);
    for a in &ids {
        for b in &ids {
            assert_eq!(of[*a] == of[*b], same[*a] == same[*b], "{a} {b}");
        }
    }
    assert!(streamed.renderings.is_empty());
}

#[tokio::test]
async fn bad_digests_get_clear_codes() {
    let server = TestServer::start(&["--max-digest-articles", "3"]).await;
    let mut client = DigestServiceClient::new(server.channel().await);
    let body = |i: usize| pb::Article {
        id: format!("a{i}"),
        body: format!("The council met on Monday to discuss the budget for year {i}."),
        ..pb::Article::default()
    };
    let too_many = client
        .build_digest(pb::BuildDigestRequest {
            options: None,
            articles: (0..4).map(body).collect(),
        })
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::ResourceExhausted, "{too_many:?}");
    assert!(too_many.message().contains("--max-digest-articles"));
    let bad_options = client
        .build_digest(pb::BuildDigestRequest {
            options: Some(pb::DigestOptions {
                sentences: 500,
                ..pb::DigestOptions::default()
            }),
            articles: vec![body(0)],
        })
        .await
        .unwrap_err();
    assert_eq!(bad_options.code(), Code::InvalidArgument);
    assert!(bad_options.message().contains("sentences"), "{bad_options:?}");
    let unknown = client
        .build_digest(pb::BuildDigestRequest {
            options: Some(pb::DigestOptions {
                formats: vec![99],
                ..pb::DigestOptions::default()
            }),
            articles: vec![body(0)],
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    let late_options = client
        .build_digest_stream(futures::stream::iter([
            pb::BuildDigestStreamRequest {
                item: Some(pb::build_digest_stream_request::Item::Article(body(0))),
            },
            pb::BuildDigestStreamRequest {
                item: Some(pb::build_digest_stream_request::Item::Options(
                    pb::DigestOptions::default(),
                )),
            },
        ]))
        .await
        .unwrap_err();
    assert_eq!(late_options.code(), Code::InvalidArgument);
    assert!(late_options.message().contains("first message"));
    let abstractive = client
        .build_digest(pb::BuildDigestRequest {
            options: Some(pb::DigestOptions {
                outputs: vec![pb::DigestOutput::Abstractive as i32],
                ..pb::DigestOptions::default()
            }),
            articles: vec![body(0)],
        })
        .await
        .unwrap_err();
    assert_eq!(
        abstractive.code(),
        Code::FailedPrecondition,
        "no model: {abstractive:?}"
    );
    let empty = client
        .build_digest(pb::BuildDigestRequest::default())
        .await
        .unwrap()
        .into_inner()
        .digest
        .unwrap();
    assert!(empty.stories.is_empty() && empty.articles == 0);
}

#[tokio::test]
async fn a_servers_template_directory_renders_its_formats_and_a_broken_one_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("digest.html.j2"),
        "<table class=\"ours\"><tr><td>{{ title }}</td></tr>{% for story in stories %}<tr><td>{{ story.headline }}</td></tr>{% endfor %}</table>",
    )
    .unwrap();
    let flag = dir.path().to_str().unwrap();
    let server = TestServer::start(&["--digest-templates", flag]).await;
    let mut client = DigestServiceClient::new(server.channel().await);
    let digest = client
        .build_digest(pb::BuildDigestRequest {
            options: Some(pb::DigestOptions {
                title: "Evening <edition>".into(),
                formats: vec![pb::DigestFormat::Html as i32, pb::DigestFormat::Markdown as i32],
                ..pb::DigestOptions::default()
            }),
            articles: vec![pb::Article {
                id: "a1".into(),
                title: "Council passes the budget".into(),
                body: "The city council passed the budget on Monday. The vote was seven to two.".into(),
                ..pb::Article::default()
            }],
        })
        .await
        .unwrap()
        .into_inner()
        .digest
        .unwrap();
    let html = &digest.renderings[0].text;
    assert!(
        html.contains("class=\"ours\"") && html.contains("Evening &lt;edition&gt;"),
        "{html}"
    );
    assert!(html.contains("Council passes the budget"), "{html}");
    assert!(!html.contains("max-width: 600px"), "not the built-in template: {html}");
    let markdown = &digest.renderings[1].text;
    assert!(
        markdown.starts_with("# Evening <edition>"),
        "no file, built-in: {markdown}"
    );

    std::fs::write(dir.path().join("digest.txt.j2"), "{% for story in %}").unwrap();
    let output = newsgist(&["serve", "--digest-templates", flag, "--listen", "127.0.0.1:0"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("digest.txt.j2"), "{stderr}");
}

fn newsgist(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_newsgist"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_lists_every_story_and_renders_a_small_email() {
    let Some(path) = dev_stream() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = path.to_str().unwrap();
    // The same feed gzipped, as batch reads it.
    let gz = dir.path().join("feed.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    std::io::copy(&mut std::fs::File::open(&path).unwrap(), &mut encoder).unwrap();
    encoder.finish().unwrap();
    let mut outputs = Vec::new();
    for (n, feed) in [input, gz.to_str().unwrap()].into_iter().enumerate() {
        let out = dir.path().join(format!("all-{n}.json"));
        let run = newsgist(&[
            "digest",
            "--input",
            feed,
            "--output",
            out.to_str().unwrap(),
            "--max-stories",
            "0",
            "--max-facts",
            "0",
        ]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        outputs.push(std::fs::read_to_string(out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1], "gzip or not, the same digest");
    let digest: Value = serde_json::from_str(&outputs[0]).unwrap();
    let listed: usize = digest["stories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["articles"].as_array().unwrap().len())
        .sum();
    assert_eq!(listed, rows(&path).len(), "--max-stories 0 lists every article");

    let html = dir.path().join("digest.html");
    let run = newsgist(&[
        "digest",
        "--input",
        input,
        "--output",
        html.to_str().unwrap(),
        "--format",
        "html",
        "--title",
        "Dev stream",
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let html = std::fs::read_to_string(html).unwrap();
    assert_eq!(html.matches("id=\"story-").count(), 20, "20 stories by default");
    assert!(html.len() < 100 * 1024, "a 20-story digest is {} bytes", html.len());

    let template = dir.path().join("mine.txt");
    std::fs::write(
        &template,
        "{% for s in stories %}{{ s.rank }}|{{ s.headline }}\n{% endfor %}",
    )
    .unwrap();
    let out = dir.path().join("mine.out");
    let run = newsgist(&[
        "digest",
        "--input",
        input,
        "--output",
        out.to_str().unwrap(),
        "--format",
        "text",
        "--max-stories",
        "5",
        "--template",
        template.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(std::fs::read_to_string(out).unwrap().lines().count(), 5);

    let same = newsgist(&["digest", "--input", input, "--output", input]);
    assert_eq!(same.status.code(), Some(2), "the output is the input");
    let bad = newsgist(&["digest", "--input", input, "--output", "-", "--sentences", "0"]);
    assert_eq!(bad.status.code(), Some(2), "options out of range");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sentences per story"));
    let missing = newsgist(&["digest", "--input", "/nonexistent.jsonl", "--output", "-"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.jsonl"));
}

#[cfg(feature = "torch")]
#[tokio::test]
async fn abstractive_story_summaries_come_from_the_configured_model() {
    let model = common::fixture("bart-tiny");
    let server = TestServer::start(&["--model-dir", &model]).await;
    let mut client = DigestServiceClient::new(server.channel().await);
    let article = |id: &str, title: &str, body: &str| pb::Article {
        id: id.into(),
        title: title.into(),
        body: body.into(),
        ..pb::Article::default()
    };
    let digest = client
        .build_digest(pb::BuildDigestRequest {
            options: Some(pb::DigestOptions {
                outputs: vec![pb::DigestOutput::Abstractive as i32],
                ..pb::DigestOptions::default()
            }),
            articles: vec![
                article(
                    "a",
                    "Harbour bridge to close",
                    "The council voted on Tuesday to close the harbour bridge for two years of repairs.",
                ),
                article(
                    "b",
                    "Floods in the valley",
                    "Heavy rain flooded homes in the valley overnight and schools were closed.",
                ),
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .digest
        .unwrap();
    assert_eq!(digest.stories.len(), 2);
    for story in &digest.stories {
        let abstractive = story.abstractive.as_ref().expect("an abstractive summary per story");
        assert_eq!(abstractive.model_id, "bart-tiny");
    }
}
