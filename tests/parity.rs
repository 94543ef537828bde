//! Parity with the reference implementation: on the tiny fixtures, newsgist's tokenisation
//! and generated token ids equal those of Hugging Face transformers 4.44 on torch 2.4.0,
//! recorded in models/golden/*.json by models/make_golden.py.

mod common;

use newsgist::{
    models::{ModelProfile, Placement},
    request::AbstractiveParams,
    summarize::abstractive::AbstractiveModel,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    text: String,
    input_ids: Vec<i64>,
    settings: Settings,
    output_ids: Vec<i64>,
}

#[derive(Deserialize)]
struct Settings {
    max_length: u32,
    min_length: u32,
    #[serde(default = "one")]
    num_beams: u32,
    #[serde(default)]
    no_repeat_ngram_size: u32,
    early_stopping: bool,
    length_penalty: f64,
}

fn one() -> u32 {
    1
}

fn check_fixture(name: &str) {
    let dir = common::fixture(name);
    let golden: Golden = serde_json::from_str(
        &std::fs::read_to_string(common::repo_path(&format!("models/golden/{name}.json"))).unwrap(),
    )
    .unwrap();
    assert!(!golden.cases.is_empty(), "{name}: the golden file has no cases");
    let mut failures = Vec::new();
    for case in &golden.cases {
        let mut profile = ModelProfile::from_dir(name, std::path::Path::new(&dir)).unwrap();
        profile.generation.no_repeat_ngram_size = case.settings.no_repeat_ngram_size;
        profile.generation.early_stopping = case.settings.early_stopping;
        profile.generation.length_penalty = case.settings.length_penalty;
        profile.generation.prefix = String::new();
        let model = AbstractiveModel::load(&profile, Placement::CPU).unwrap();

        let ids = model.encode(&case.text);
        if ids != case.input_ids {
            failures.push(format!(
                "{}: input ids differ\n  ours {ids:?}\n  hf   {:?}",
                case.name, case.input_ids
            ));
        }
        let params = AbstractiveParams {
            min_tokens: Some(case.settings.min_length),
            max_tokens: Some(case.settings.max_length),
            num_beams: Some(case.settings.num_beams),
            model: None,
        };
        let output = model.generate_ids(&case.input_ids, &params).unwrap();
        if output != case.output_ids {
            failures.push(format!(
                "{}: output ids differ\n  ours {output:?}\n  hf   {:?}",
                case.name, case.output_ids
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} checks differ:\n{}",
        failures.len(),
        golden.cases.len() * 2,
        failures.join("\n")
    );
}

#[test]
fn bart_matches_transformers() {
    check_fixture("bart-tiny");
}

#[test]
fn t5_matches_transformers() {
    check_fixture("t5-tiny");
}

/// T5 v1.1's layout (flan-t5 too): gated-GELU feed-forward, untied output layer.
#[test]
fn gated_t5_matches_transformers() {
    check_fixture("t5-gated-tiny");
}

#[test]
fn pegasus_matches_transformers() {
    check_fixture("pegasus-tiny");
}

/// Generating several inputs together (padded, beams grouped per input) gives each the
/// tokens it gets alone.
fn check_batched_equals_single(name: &str) {
    let dir = common::fixture(name);
    let golden: Golden = serde_json::from_str(
        &std::fs::read_to_string(common::repo_path(&format!("models/golden/{name}.json"))).unwrap(),
    )
    .unwrap();
    let profile = ModelProfile::from_dir(name, std::path::Path::new(&dir)).unwrap();
    let model = AbstractiveModel::load(&profile, Placement::CPU).unwrap();
    let mut inputs: Vec<Vec<i64>> = golden.cases.iter().map(|c| c.input_ids.clone()).collect();
    inputs.dedup();
    assert!(inputs.len() >= 3, "{name}: inputs of different lengths");
    assert!(
        inputs.windows(2).any(|w| w[0].len() != w[1].len()),
        "{name}: padding is exercised"
    );
    for beams in [1, 3] {
        let params = AbstractiveParams {
            min_tokens: Some(5),
            max_tokens: Some(30),
            num_beams: Some(beams),
            model: None,
        };
        let alone: Vec<Vec<i64>> = inputs
            .iter()
            .map(|ids| model.generate_ids(ids, &params).unwrap())
            .collect();
        let together = model.generate_ids_batch(&inputs, &params).unwrap();
        assert_eq!(together, alone, "{name}, {beams} beams");
    }
}

#[test]
fn batched_generation_equals_one_at_a_time() {
    for name in ["bart-tiny", "t5-tiny", "t5-gated-tiny", "pegasus-tiny"] {
        check_batched_equals_single(name);
    }
}

#[derive(Deserialize)]
struct NerGolden {
    cases: Vec<NerCase>,
}

#[derive(Deserialize)]
struct NerCase {
    text: String,
    tokens: Vec<String>,
    labels: Vec<String>,
}

/// The token-classification tagger labels each word as transformers labels its first
/// word piece, so the entity spans agree.
#[test]
fn ner_tagger_matches_transformers() {
    use newsgist::{
        facts::NamedEntities,
        models::ner::{spans_from_labels, NerTagger},
    };
    let dir = common::fixture("bert-ner-tiny");
    let golden: NerGolden =
        serde_json::from_str(&std::fs::read_to_string(common::repo_path("models/golden/bert-ner-tiny.json")).unwrap())
            .unwrap();
    assert!(!golden.cases.is_empty());
    let tagger = NerTagger::load(std::path::Path::new(&dir), Placement::CPU).unwrap();
    for case in &golden.cases {
        // Words are the pieces that do not continue a word; each takes its first piece's label.
        let mut words: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
        let mut cursor = 0;
        for (piece, label) in case.tokens.iter().zip(&case.labels) {
            if piece.starts_with("##") || piece.starts_with('[') {
                continue;
            }
            let start = cursor + case.text[cursor..].find(piece.as_str()).expect("piece in text");
            let end = case.text[start..]
                .find(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && !piece.starts_with(c)))
                .map_or(case.text.len(), |e| start + e.max(piece.len()));
            words.push((label.as_str(), start..end));
            cursor = end;
        }
        let expected = spans_from_labels(words);
        assert!(!expected.is_empty(), "the fixture labels some names in {:?}", case.text);
        let got = tagger.named_entities(&case.text, 0..case.text.len());
        assert_eq!(got, expected, "{:?}", case.text);
    }
}
