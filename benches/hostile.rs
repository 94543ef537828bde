//! Hostile input against a real `newsgist serve` process (release build) on 127.0.0.1: each
//! input sent with extractive summary and key facts, timed from send to answer, with the code
//! it got. Prints a table, slowest first, and the slowest input's time.
//! `cargo bench --no-default-features --bench hostile` (`make bench-hostile`).

use std::time::Instant;

#[path = "common/process.rs"]
mod process;

use newsgist::proto::{self as pb, summarizer_service_client::SummarizerServiceClient};

/// The body limit the server runs with: room for the largest input below.
const MAX_BODY_BYTES: usize = 2 << 20;

/// A deterministic stream of pseudo-random numbers (xorshift), so every run sends the same.
fn numbers(mut state: u64) -> impl Iterator<Item = u64> {
    std::iter::from_fn(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Some(state)
    })
}

/// `bytes` bytes of random code points from every plane in use (no surrogates).
fn random_unicode(bytes: usize, seed: u64) -> String {
    let mut text = String::new();
    for n in numbers(seed) {
        if text.len() >= bytes {
            break;
        }
        if let Some(c) = char::from_u32((n % 0x3_0000) as u32) {
            text.push(c);
        }
    }
    text
}

/// What the hostile callers send: (name, title, body).
fn inputs() -> Vec<(&'static str, String, String)> {
    let sentence = "The council met to discuss the tram line and the budget for next year ";
    let html = format!(
        "<!DOCTYPE html><html><head><title>News</title><script>var x = 1;</script><style>p {{color: red}}</style></head><body>{}</body></html>",
        "<div class=\"nav\"><a href=\"/\">Home</a></div><p>The mayor said on Monday that the line would open in 2027.</p>".repeat(3000)
    );
    let mixed =
        "Reuters — 北京市政府周一表示，Mayor Okafor said «très bien» ў Мінску، وقال المتحدث 東京で. ".repeat(4000);
    vec![
        (
            "one 500 KB sentence",
            "Long".into(),
            sentence.repeat(500_000 / sentence.len()),
        ),
        ("200,000 one-word sentences", "Words".into(), "Word. ".repeat(200_000)),
        ("whole HTML page", "Page".into(), html),
        (
            "control characters",
            "Ctl\0title".into(),
            "Council\0approved\u{7}the\u{1b}[0m line\u{85}on Monday.\u{9b} ".repeat(12_000),
        ),
        ("mixed scripts", "Mixed".into(), mixed),
        (
            "CJK without spaces",
            "中文".into(),
            "北京市政府周一宣布新的地铁线路将于明年开通".repeat(12_000),
        ),
        ("random Unicode, 1.5 MB", "Random".into(), random_unicode(1_500_000, 7)),
        (
            "title at its limit",
            "Council approves tram line as mayor hails plan ".repeat(2000 / 48),
            sentence.repeat(40) + ".",
        ),
        (
            "digits and punctuation",
            "123".into(),
            "12.5, 3.4; 7 - 9 / 11 % 2. ".repeat(40_000),
        ),
        (
            "one name repeated",
            "Okafor".into(),
            "Mayor Jane Okafor of Riverside said ".repeat(30_000) + ".",
        ),
    ]
}

#[tokio::main]
async fn main() {
    let limit = MAX_BODY_BYTES.to_string();
    // Tagged English and let through, so that every input reaches the text pipeline instead
    // of being refused by language detection.
    let (mut child, url) = process::serve_ready(&[
        "--workers",
        "1",
        "--max-body-bytes",
        &limit,
        "--allow-language-mismatch",
    ])
    .await;
    let mut client = SummarizerServiceClient::connect(url)
        .await
        .unwrap()
        .max_decoding_message_size(8 * MAX_BODY_BYTES)
        .max_encoding_message_size(8 * MAX_BODY_BYTES);
    let mut rows = Vec::new();
    for (name, title, body) in inputs() {
        let request = pb::SummarizeRequest {
            request_id: name.into(),
            article: Some(pb::Article {
                title,
                body: body.clone(),
                language: "en".into(),
                ..Default::default()
            }),
            options: Some(pb::SummarizeOptions {
                outputs: vec![pb::Output::Extractive as i32, pb::Output::KeyFacts as i32],
                ..Default::default()
            }),
        };
        let sent = Instant::now();
        let answer = client.summarize(request).await;
        let took = sent.elapsed();
        let outcome = match &answer {
            Ok(response) => {
                let r = response.get_ref();
                let summary = r.extractive.as_ref().map_or(0, |e| e.text.len());
                format!("OK, summary {summary} bytes, {} key facts", r.key_facts.len())
            }
            Err(status) => format!(
                "{:?}: {}",
                status.code(),
                status.message().chars().take(80).collect::<String>()
            ),
        };
        rows.push((took, name, body.len(), outcome));
    }
    // Still serving after all of it.
    let after = client
        .summarize(pb::SummarizeRequest {
            request_id: "after".into(),
            article: Some(pb::Article {
                body: "The council approved the tram line on Monday. It opens in 2027.".into(),
                ..Default::default()
            }),
            options: None,
        })
        .await;
    // Stopped as Kubernetes stops it; it drains within its default 30 s grace period.
    process::terminate(&child);
    process::exit_status(
        &mut child,
        std::time::Instant::now(),
        std::time::Duration::from_secs(35),
    )
    .await;
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    println!("| input | body bytes | ms | answer |\n|---|---|---|---|");
    for (took, name, bytes, outcome) in &rows {
        println!("| {name} | {bytes} | {:.1} | {outcome} |", took.as_secs_f64() * 1000.0);
    }
    let (slowest, name, ..) = &rows[0];
    println!(
        "slowest: {name} in {:.1} ms; a normal request afterwards: {}",
        slowest.as_secs_f64() * 1000.0,
        if after.is_ok() { "OK" } else { "FAILED" }
    );
}
