//! A summarisation request as the engine sees it, whatever door it came in by (gRPC, CLI,
//! batch), and the validation every request passes before it reaches a worker.

use chrono::{DateTime, Datelike, Utc};

use crate::{
    config::limits,
    text::{
        language::{self, Identification, Language},
        sanitize,
    },
};

/// A news article.
#[derive(Debug, Clone, Default)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub body: String,
    pub url: String,
    /// Anchors relative dates. `None`: the time the request was received.
    pub published_at: Option<DateTime<Utc>>,
    /// BCP 47 tag: `en` or `en-*` (English is the only language summarised). Empty: the
    /// language is detected from the text, and an article reliably detected as another
    /// language is refused.
    pub language: String,
}

/// Which outputs a request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    pub extractive: bool,
    pub abstractive: bool,
    pub key_facts: bool,
}

impl Outputs {
    /// What a request that names no outputs gets: the extractive summary and key facts, which
    /// need no model download.
    pub const DEFAULT: Outputs = Outputs {
        extractive: true,
        abstractive: false,
        key_facts: true,
    };
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs::DEFAULT
    }
}

/// How long the summary should be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SummaryLength {
    /// A fixed number of sentences (capped at the document's length).
    Sentences(usize),
    /// A fraction of the document's candidate sentences, rounded, at least 1.
    Ratio(f32),
}

/// How extractive sentences are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExtractiveMode {
    /// Word statistics; no weights.
    Lexical,
    /// Sentence embeddings from the configured embedding model.
    Semantic,
    /// Word statistics and sentence embeddings together.
    Hybrid,
}

/// Abstractive generation settings; `None` takes the model profile's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AbstractiveParams {
    pub model: Option<String>,
    pub min_tokens: Option<u32>,
    pub max_tokens: Option<u32>,
    pub num_beams: Option<u32>,
}

/// A request after validation: every field is in range.
#[derive(Debug, Clone)]
pub struct SummaryRequest {
    pub request_id: String,
    pub article: Article,
    pub outputs: Outputs,
    pub extractive_length: SummaryLength,
    pub extractive_mode: ExtractiveMode,
    pub abstractive: AbstractiveParams,
    pub max_facts: usize,
}

/// Limits a request is checked against; they come from the server's configuration.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    pub max_body_bytes: usize,
    pub max_sentences: u32,
    pub max_facts: u32,
    pub max_output_tokens: u32,
    pub max_beams: u32,
    /// Abstractive profiles the server knows.
    pub abstractive_profiles: Vec<String>,
    /// Summarise an article tagged English whose text is detected as another language (with
    /// a warning in the log) instead of refusing it. Untagged articles are refused either way.
    pub allow_language_mismatch: bool,
}

/// Why a request was refused. Each message tells the caller what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidRequest {
    #[error("article.body is empty: send the article text")]
    EmptyBody,
    #[error("article.body has no text: it has no letters or digits (control characters count as spaces); send the article text")]
    NoText,
    #[error("article.body is an HTML page, not article text: send the article's text, extracted from the page, not its markup")]
    Markup,
    #[error("{field} holds a control character (line break, NUL, escape...): identifiers, URLs and language tags are one line of printable text")]
    ControlCharacter { field: &'static str },
    #[error("{field} is {len} bytes, over the limit of {max} bytes: shorten it")]
    FieldTooLarge {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("article.body is {len} bytes, over this server's limit of {max} bytes: split the article or raise --max-body-bytes")]
    BodyTooLarge { len: usize, max: usize },
    #[error("language {0:?} is not supported: only English (\"en\") is")]
    UnsupportedLanguage(String),
    #[error(
        "article.language is not set and the text is detected as {0}, not English: only English (\"en\") is supported"
    )]
    NotEnglish(Language),
    #[error("article.language is {tag:?} but the text is detected as {detected}, not English: only English (\"en\") is supported (a server started with --allow-language-mismatch summarises it anyway)")]
    LanguageMismatch { tag: String, detected: Language },
    #[error("extractive sentence count must be between 1 and {max}, got {got}")]
    SentenceCount { got: u32, max: u32 },
    #[error("extractive ratio must be in (0, 1], got {0}")]
    Ratio(f32),
    #[error("max_facts must be at most {max}, got {got}")]
    MaxFacts { got: u32, max: u32 },
    #[error("abstractive {field} must be at most {max}, got {got}")]
    TokenLimit { field: &'static str, got: u32, max: u32 },
    #[error("abstractive max_tokens must be at least 2 (it counts the decoder's start token), got {0}")]
    MaxTokensTooSmall(u32),
    #[error("abstractive min_tokens ({min}) exceeds max_tokens ({max})")]
    MinOverMax { min: u32, max: u32 },
    #[error("abstractive num_beams must be between 1 and {max}, got {got}")]
    Beams { got: u32, max: u32 },
    #[error("unknown model profile {name:?}; this server knows: {known}")]
    UnknownModel { name: String, known: String },
    #[error("unknown output value {0}: use extractive, abstractive or key facts")]
    UnknownOutput(i32),
    #[error("unknown extractive mode value {0}: use lexical, semantic or hybrid")]
    UnknownMode(i32),
    #[error("request has no article: set article, with at least article.body")]
    MissingArticle,
    #[error("article.published_at is not a valid timestamp: seconds must be a date in years 1 to 9999 and nanos within 0..1e9")]
    BadTimestamp,
    /// Input a command-line job could not read as an article (a bad JSON line, a bad date).
    #[error("{0}")]
    Unreadable(String),
}

/// Options as a caller states them, before validation. Zero/`None` means "default".
#[derive(Debug, Clone, Default)]
pub struct RawOptions {
    pub outputs: Option<Outputs>,
    pub sentences: Option<u32>,
    pub ratio: Option<f32>,
    pub mode: Option<ExtractiveMode>,
    pub abstractive: AbstractiveParams,
    pub max_facts: Option<u32>,
}

/// Server-side defaults for options a caller leaves unset.
#[derive(Debug, Clone)]
pub struct RequestDefaults {
    pub sentences: u32,
    pub mode: ExtractiveMode,
    pub max_facts: u32,
}

impl SummaryRequest {
    /// Checks an article and its options against the limits and fills in defaults.
    pub fn validate(
        request_id: String,
        article: Article,
        options: RawOptions,
        defaults: &RequestDefaults,
        limits: &RequestLimits,
    ) -> Result<SummaryRequest, InvalidRequest> {
        let mut article = article;
        check_sizes(&request_id, &article, limits)?;
        let language = article.language.to_ascii_lowercase();
        if !(language.is_empty() || language == "en" || language.starts_with("en-")) {
            return Err(InvalidRequest::UnsupportedLanguage(article.language));
        }
        if article.published_at.is_some_and(|t| !(1..=9999).contains(&t.year())) {
            return Err(InvalidRequest::BadTimestamp);
        }
        check_text(&mut article, limits)?;
        let extractive_length = match (options.sentences, options.ratio) {
            (_, Some(ratio)) => {
                if !(ratio > 0.0 && ratio <= 1.0) {
                    return Err(InvalidRequest::Ratio(ratio));
                }
                SummaryLength::Ratio(ratio)
            }
            (Some(n), None) => {
                if n == 0 || n > limits.max_sentences {
                    return Err(InvalidRequest::SentenceCount {
                        got: n,
                        max: limits.max_sentences,
                    });
                }
                SummaryLength::Sentences(n as usize)
            }
            (None, None) => SummaryLength::Sentences(defaults.sentences as usize),
        };
        let max_facts = options.max_facts.unwrap_or(defaults.max_facts);
        if max_facts > limits.max_facts {
            return Err(InvalidRequest::MaxFacts {
                got: max_facts,
                max: limits.max_facts,
            });
        }
        let abstractive = validate_abstractive(options.abstractive, limits)?;
        Ok(SummaryRequest {
            request_id,
            article,
            outputs: options.outputs.unwrap_or_default(),
            extractive_length,
            extractive_mode: options.mode.unwrap_or(defaults.mode),
            abstractive,
            max_facts: max_facts as usize,
        })
    }
}

/// Every text field against its limit, before anything reads the text.
fn check_sizes(request_id: &str, article: &Article, limits: &RequestLimits) -> Result<(), InvalidRequest> {
    let fields = [
        ("request_id", request_id.len(), limits::MAX_REQUEST_ID_BYTES),
        ("article.id", article.id.len(), limits::MAX_ID_BYTES),
        ("article.title", article.title.len(), limits::MAX_TITLE_BYTES),
        ("article.url", article.url.len(), limits::MAX_URL_BYTES),
        ("article.language", article.language.len(), limits::MAX_LANGUAGE_BYTES),
    ];
    if let Some((field, len, max)) = fields.into_iter().find(|&(_, len, max)| len > max) {
        return Err(InvalidRequest::FieldTooLarge { field, len, max });
    }
    // These are echoed back and logged as they are: a line break in one would forge log lines.
    let one_line = [
        ("request_id", request_id),
        ("article.id", article.id.as_str()),
        ("article.url", article.url.as_str()),
        ("article.language", article.language.as_str()),
    ];
    if let Some((field, _)) = one_line
        .into_iter()
        .find(|(_, text)| text.chars().any(char::is_control))
    {
        return Err(InvalidRequest::ControlCharacter { field });
    }
    if article.body.len() > limits.max_body_bytes {
        return Err(InvalidRequest::BodyTooLarge {
            len: article.body.len(),
            max: limits.max_body_bytes,
        });
    }
    Ok(())
}

/// The title and body as the pipeline will read them: control characters replaced (same
/// offsets, see [`sanitize::replace_controls`]), and the body refused when it has no text, is
/// a web page's markup, or is in another language than English (see [`language::identify`]:
/// only a long enough text, reliably detected).
fn check_text(article: &mut Article, limits: &RequestLimits) -> Result<(), InvalidRequest> {
    if article.body.trim().is_empty() {
        return Err(InvalidRequest::EmptyBody);
    }
    sanitize::replace_controls(&mut article.title);
    sanitize::replace_controls(&mut article.body);
    if !sanitize::has_text(&article.body) {
        return Err(InvalidRequest::NoText);
    }
    if sanitize::looks_like_html_page(&article.body) {
        return Err(InvalidRequest::Markup);
    }
    if let Identification::Other(detected) = language::identify(&article.title, &article.body) {
        if article.language.is_empty() {
            return Err(InvalidRequest::NotEnglish(detected));
        }
        if !limits.allow_language_mismatch {
            return Err(InvalidRequest::LanguageMismatch {
                tag: article.language.clone(),
                detected,
            });
        }
        tracing::warn!(
            tag = %article.language,
            detected = %detected,
            confidence = detected.confidence,
            "article tagged English is detected as another language; summarising it anyway (--allow-language-mismatch)"
        );
    }
    Ok(())
}

fn validate_abstractive(
    params: AbstractiveParams,
    limits: &RequestLimits,
) -> Result<AbstractiveParams, InvalidRequest> {
    for (field, value) in [("min_tokens", params.min_tokens), ("max_tokens", params.max_tokens)] {
        if let Some(got) = value.filter(|&v| v > limits.max_output_tokens) {
            return Err(InvalidRequest::TokenLimit {
                field,
                got,
                max: limits.max_output_tokens,
            });
        }
    }
    if let Some(got) = params.max_tokens.filter(|&max| max < 2) {
        return Err(InvalidRequest::MaxTokensTooSmall(got));
    }
    if let (Some(min), Some(max)) = (params.min_tokens, params.max_tokens) {
        if min > max {
            return Err(InvalidRequest::MinOverMax { min, max });
        }
    }
    if let Some(got) = params.num_beams.filter(|&b| b == 0 || b > limits.max_beams) {
        return Err(InvalidRequest::Beams {
            got,
            max: limits.max_beams,
        });
    }
    // A lean build has no profiles to check against: an abstractive request is answered by
    // the engine, which says the binary was built without models.
    if let Some(name) = params.model.as_ref().filter(|_| cfg!(feature = "torch")) {
        if !limits.abstractive_profiles.iter().any(|known| known == name) {
            let known = if limits.abstractive_profiles.is_empty() {
                "none (start the server with --model-dir DIR or --model NAME)".to_string()
            } else {
                limits.abstractive_profiles.join(", ")
            };
            return Err(InvalidRequest::UnknownModel {
                name: name.clone(),
                known,
            });
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RequestLimits {
        RequestLimits {
            max_body_bytes: 100,
            max_sentences: 50,
            max_facts: 20,
            max_output_tokens: 512,
            max_beams: 8,
            abstractive_profiles: vec!["bart".into()],
            allow_language_mismatch: false,
        }
    }

    fn defaults() -> RequestDefaults {
        RequestDefaults {
            sentences: 3,
            mode: ExtractiveMode::Lexical,
            max_facts: 5,
        }
    }

    fn article(body: &str) -> Article {
        Article {
            body: body.into(),
            ..Article::default()
        }
    }

    fn check(body: &str, options: RawOptions) -> Result<SummaryRequest, InvalidRequest> {
        SummaryRequest::validate(String::new(), article(body), options, &defaults(), &limits())
    }

    #[test]
    fn fills_defaults() {
        let req = check("Some text.", RawOptions::default()).unwrap();
        assert_eq!(req.extractive_length, SummaryLength::Sentences(3));
        assert_eq!(req.outputs, Outputs::default());
        assert_eq!(req.max_facts, 5);
    }

    #[test]
    fn refuses_bad_bodies() {
        assert_eq!(
            check("  \n", RawOptions::default()).unwrap_err(),
            InvalidRequest::EmptyBody
        );
        let long = "x".repeat(101);
        assert_eq!(
            check(&long, RawOptions::default()).unwrap_err(),
            InvalidRequest::BodyTooLarge { len: 101, max: 100 }
        );
    }

    #[test]
    fn refuses_out_of_range_options() {
        let bad = [
            RawOptions {
                sentences: Some(0),
                ..RawOptions::default()
            },
            RawOptions {
                sentences: Some(51),
                ..RawOptions::default()
            },
            RawOptions {
                ratio: Some(0.0),
                ..RawOptions::default()
            },
            RawOptions {
                ratio: Some(f32::NAN),
                ..RawOptions::default()
            },
            RawOptions {
                ratio: Some(1.5),
                ..RawOptions::default()
            },
            RawOptions {
                max_facts: Some(21),
                ..RawOptions::default()
            },
        ];
        for options in bad {
            assert!(check("Text.", options.clone()).is_err(), "{options:?} was accepted");
        }
    }

    #[test]
    fn refuses_bad_abstractive_params() {
        let with = |abstractive| RawOptions {
            abstractive,
            ..RawOptions::default()
        };
        let unknown = with(AbstractiveParams {
            model: Some("gpt".into()),
            ..Default::default()
        });
        if cfg!(feature = "torch") {
            let err = check("Text.", unknown).unwrap_err();
            assert!(err.to_string().contains("bart"), "{err}");
        } else {
            assert!(
                check("Text.", unknown).is_ok(),
                "the engine answers it: built without models"
            );
        }
        let inverted = with(AbstractiveParams {
            min_tokens: Some(10),
            max_tokens: Some(5),
            ..Default::default()
        });
        assert_eq!(
            check("Text.", inverted).unwrap_err(),
            InvalidRequest::MinOverMax { min: 10, max: 5 }
        );
        let beams = with(AbstractiveParams {
            num_beams: Some(0),
            ..Default::default()
        });
        assert!(check("Text.", beams).is_err());
        let start_token_only = with(AbstractiveParams {
            max_tokens: Some(1),
            ..Default::default()
        });
        assert_eq!(
            check("Text.", start_token_only).unwrap_err(),
            InvalidRequest::MaxTokensTooSmall(1)
        );
        let known = with(AbstractiveParams {
            model: Some("bart".into()),
            ..Default::default()
        });
        assert!(check("Text.", known).is_ok());
    }

    #[test]
    fn refuses_oversized_fields_naming_each() {
        type Set = fn(&mut Article, String);
        let cases: [(&str, usize, Set); 4] = [
            ("article.id", limits::MAX_ID_BYTES, |a, v| a.id = v),
            ("article.title", limits::MAX_TITLE_BYTES, |a, v| a.title = v),
            ("article.url", limits::MAX_URL_BYTES, |a, v| a.url = v),
            ("article.language", limits::MAX_LANGUAGE_BYTES, |a, v| a.language = v),
        ];
        for (name, max, set) in cases {
            let mut a = article("Text.");
            set(&mut a, "e".repeat(max + 1));
            let err = SummaryRequest::validate(String::new(), a, RawOptions::default(), &defaults(), &limits());
            assert_eq!(
                err.unwrap_err(),
                InvalidRequest::FieldTooLarge {
                    field: name,
                    len: max + 1,
                    max
                }
            );
            let mut a = article("Text.");
            set(&mut a, "e".repeat(max));
            a.language.clear();
            assert!(
                SummaryRequest::validate(String::new(), a, RawOptions::default(), &defaults(), &limits()).is_ok(),
                "{name} at its limit"
            );
        }
        let id = "r".repeat(limits::MAX_REQUEST_ID_BYTES + 1);
        let err = SummaryRequest::validate(id, article("Text."), RawOptions::default(), &defaults(), &limits());
        assert_eq!(
            err.unwrap_err().to_string(),
            "request_id is 1025 bytes, over the limit of 1024 bytes: shorten it"
        );
    }

    #[test]
    fn control_characters_become_spaces_and_a_body_needs_text() {
        let mut a = article("Kim\0met Xi\u{85}in Beijing.\u{7}");
        a.title = "Kim\u{1b}[31m lands".into();
        let req = SummaryRequest::validate(String::new(), a, RawOptions::default(), &defaults(), &limits()).unwrap();
        assert_eq!(req.article.body, "Kim met Xi\u{a0}in Beijing. ");
        assert_eq!(req.article.title, "Kim [31m lands");
        for body in ["\0\0\0", "🎉🎉🎉", "... !!! ---", "\u{85}\u{9f}"] {
            assert_eq!(
                check(body, RawOptions::default()).unwrap_err(),
                InvalidRequest::NoText,
                "{body:?}"
            );
        }
        assert!(InvalidRequest::NoText
            .to_string()
            .starts_with("article.body has no text"));
    }

    #[test]
    fn refuses_html_pages() {
        for body in [
            "<!DOCTYPE html><html><body><p>News.</p></body></html>",
            "  <HTML><p>Hi</p>",
        ] {
            let err = check(body, RawOptions::default()).unwrap_err();
            assert_eq!(err, InvalidRequest::Markup, "{body:?}");
            assert!(err.to_string().contains("not its markup"), "{err}");
        }
        assert!(check("Prices rose <b>sharply</b> in <i>March</i>.", RawOptions::default()).is_ok());
    }

    #[test]
    fn refuses_timestamps_outside_years_1_to_9999() {
        for (seconds, ok) in [
            (-62_135_596_800, true),
            (-62_135_596_801, false),
            (253_402_300_799, true),
            (253_402_300_800, false),
        ] {
            let mut a = article("Text.");
            a.published_at = DateTime::from_timestamp(seconds, 0);
            let result = SummaryRequest::validate(String::new(), a, RawOptions::default(), &defaults(), &limits());
            assert_eq!(result.is_ok(), ok, "{seconds}: {result:?}");
        }
    }

    #[test]
    fn refuses_text_detected_as_another_language_unless_allowed_when_tagged() {
        const GERMAN: &str = "Die Bundesregierung hat am Dienstag ein neues Gesetz zur Förderung erneuerbarer \
            Energien beschlossen. Nach Angaben des Ministeriums sollen bis zum Jahr 2030 mindestens achtzig Prozent \
            des Stroms aus Wind- und Sonnenenergie stammen.";
        let validate = |language: &str, allow: bool| {
            let mut a = article(GERMAN);
            a.language = language.into();
            let limits = RequestLimits {
                max_body_bytes: 10_000,
                allow_language_mismatch: allow,
                ..limits()
            };
            SummaryRequest::validate(String::new(), a, RawOptions::default(), &defaults(), &limits)
        };
        let untagged = validate("", true).unwrap_err();
        assert!(
            matches!(untagged, InvalidRequest::NotEnglish(l) if l.code == "deu"),
            "{untagged}"
        );
        assert!(untagged.to_string().contains("German"), "{untagged}");
        assert!(untagged.to_string().contains("\"en\""), "{untagged}");
        let tagged = validate("en-GB", false).unwrap_err();
        assert!(
            matches!(tagged, InvalidRequest::LanguageMismatch { ref tag, .. } if tag == "en-GB"),
            "{tagged}"
        );
        assert!(tagged.to_string().contains("--allow-language-mismatch"), "{tagged}");
        assert!(
            validate("en", true).is_ok(),
            "--allow-language-mismatch lets a tagged article through"
        );
    }

    #[test]
    fn identifiers_with_control_characters_are_refused() {
        let mut a = article("Text.");
        a.id = "a1\nINFO forged log line".into();
        let err = SummaryRequest::validate(String::new(), a, RawOptions::default(), &defaults(), &limits());
        assert_eq!(
            err.unwrap_err(),
            InvalidRequest::ControlCharacter { field: "article.id" }
        );
        let err = SummaryRequest::validate(
            "r\x1b[31m".into(),
            article("Text."),
            RawOptions::default(),
            &defaults(),
            &limits(),
        );
        assert_eq!(
            err.unwrap_err(),
            InvalidRequest::ControlCharacter { field: "request_id" }
        );
    }

    #[test]
    fn refuses_other_languages() {
        let mut a = article("Texte.");
        a.language = "fr".into();
        let err = SummaryRequest::validate(String::new(), a, RawOptions::default(), &defaults(), &limits());
        assert_eq!(err.unwrap_err(), InvalidRequest::UnsupportedLanguage("fr".into()));
    }
}
