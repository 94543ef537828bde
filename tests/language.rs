//! Language detection: news in French, German and Spanish is refused, untagged and tagged
//! `en`; English news full of foreign names and quotes is not; and no article of the English
//! development sets is refused.

mod common;

use std::{
    io::BufRead,
    path::Path,
    time::{Duration, Instant},
};

use clap::Parser;
use common::*;
use newsgist::{
    config::{Cli, Command, EngineConfig},
    request::{Article, InvalidRequest, RawOptions, SummaryRequest},
    text::language::{self, Identification},
};
use tonic::Code;

const FRENCH: &str = "Le gouvernement a annoncé mardi un plan de relance de douze milliards d'euros destiné \
aux petites et moyennes entreprises touchées par la hausse des prix de l'énergie. Selon le ministre de \
l'Économie, les premières aides seront versées dès le mois prochain aux sociétés qui en feront la demande. \
Les organisations patronales ont salué une mesure « nécessaire mais tardive », tandis que l'opposition \
dénonce un dispositif trop complexe. Le texte doit être examiné par l'Assemblée nationale avant la fin de \
l'année.";

const GERMAN: &str = "Die Bundesregierung hat am Dienstag ein neues Gesetz zur Förderung erneuerbarer \
Energien beschlossen. Nach Angaben des Wirtschaftsministeriums sollen bis zum Jahr 2030 mindestens achtzig \
Prozent des Stroms aus Wind- und Sonnenenergie stammen. Die Opposition kritisierte, dass die Finanzierung \
der Netze weiterhin ungeklärt sei. Der Bundestag wird sich voraussichtlich im kommenden Monat mit dem \
Entwurf befassen, teilte ein Sprecher in Berlin mit.";

const SPANISH: &str = "El Gobierno aprobó este martes una reforma de las pensiones que elevará de forma \
gradual la edad de jubilación hasta los sesenta y siete años. Según el Ministerio de Trabajo, la medida \
permitirá ahorrar cerca de diez mil millones de euros durante la próxima década. Los sindicatos han \
convocado una huelga general para el mes que viene y acusan al Ejecutivo de no haber negociado el texto. \
La oposición anunció que recurrirá la ley ante el Tribunal Constitucional.";

/// (title, body, detected language's English name)
const FOREIGN: [(&str, &str, &str); 3] = [
    ("Douze milliards d'euros pour les PME", FRENCH, "French"),
    ("Bundesregierung beschließt Energiegesetz", GERMAN, "German"),
    ("El Gobierno aprueba la reforma de las pensiones", SPANISH, "Spanish"),
];

/// English news whose names, accents and quotes are French, German and Spanish.
const ENGLISH_WITH_FOREIGN_NAMES: [(&str, &str); 3] = [
    (
        "Mélenchon vows to fight the budget",
        "French opposition leader Jean-Luc Mélenchon told reporters in Paris on Tuesday that his party \
would vote against the budget. \"Nous ne voterons pas ce budget, qui sacrifie les services publics,\" he \
said, meaning that his group would not back a plan that sacrifices public services. Élisabeth Borne's \
government is expected to force the text through parliament without a vote later this week.",
    ),
    (
        "Scholz calls for a European answer to energy prices",
        "German Chancellor Olaf Scholz said in Berlin on Wednesday that Europe needed a common answer to \
rising energy prices. \"Wir werden das gemeinsam schaffen,\" Mr Scholz told the Bundestag, promising that \
Germany would get through the winter together. Friedrich Merz, the leader of the Christlich Demokratische \
Union, accused the government of acting too late, and the Süddeutsche Zeitung called the plan a gamble.",
    ),
    (
        "López Obrador dismisses criticism of energy reform",
        "Mexican President Andrés Manuel López Obrador dismissed criticism of his energy reform on Thursday, \
calling it \"pura propaganda de los conservadores\" at his morning news conference in Mexico City. The \
reform would give the state-owned Comisión Federal de Electricidad at least 54% of the electricity market. \
Business groups in Monterrey and Guadalajara have warned that it could scare away foreign investors, \
while Petróleos Mexicanos is expected to report another loss next month.",
    ),
];

fn engine(flags: &[&str]) -> EngineConfig {
    let mut args = vec!["newsgist", "serve"];
    args.extend_from_slice(flags);
    let Command::Serve(serve) = Cli::parse_from(args).command else {
        unreachable!()
    };
    serve.engine.validate().expect("valid test configuration")
}

fn validate(config: &EngineConfig, title: &str, body: &str, language: &str) -> Result<SummaryRequest, InvalidRequest> {
    let article = Article {
        title: title.into(),
        body: body.into(),
        language: language.into(),
        ..Article::default()
    };
    SummaryRequest::validate(
        String::new(),
        article,
        RawOptions::default(),
        &config.defaults,
        &config.limits,
    )
}

#[test]
fn french_german_and_spanish_news_is_refused_untagged_and_tagged_english() {
    let strict = engine(&[]);
    let lenient = engine(&["--allow-language-mismatch"]);
    for (title, body, name) in FOREIGN {
        let untagged = validate(&strict, title, body, "").unwrap_err();
        assert!(matches!(untagged, InvalidRequest::NotEnglish(_)), "{name}: {untagged}");
        let message = untagged.to_string();
        assert!(
            message.contains(name) && message.contains("only English (\"en\")"),
            "{message}"
        );
        // Without its title, too: the body alone decides.
        assert!(validate(&strict, "", body, "").is_err(), "{name} body alone");

        for tag in ["en", "en-GB", "EN-us"] {
            let tagged = validate(&strict, title, body, tag).unwrap_err();
            assert!(
                matches!(tagged, InvalidRequest::LanguageMismatch { .. }),
                "{name} {tag}: {tagged}"
            );
            let message = tagged.to_string();
            assert!(
                message.contains(name) && message.contains(&format!("{tag:?}")),
                "{message}"
            );
            assert!(message.contains("--allow-language-mismatch"), "{message}");
            assert!(
                validate(&lenient, title, body, tag).is_ok(),
                "{name} {tag} with the flag"
            );
        }
        // The flag trusts an English tag, not the absence of one.
        assert!(
            validate(&lenient, title, body, "").is_err(),
            "{name} untagged with the flag"
        );
    }
}

#[test]
fn english_news_with_foreign_names_and_quotes_is_accepted() {
    let strict = engine(&[]);
    for (title, body) in ENGLISH_WITH_FOREIGN_NAMES {
        for tag in ["", "en", "en-US"] {
            let result = validate(&strict, title, body, tag);
            assert!(result.is_ok(), "{title} ({tag:?}): {result:?}");
        }
        assert_eq!(language::identify(title, body), Identification::English, "{title}");
    }
}

#[test]
fn short_or_ambiguous_text_passes() {
    let strict = engine(&[]);
    for body in [
        "Grève générale.",
        "Die Regierung tritt zurück.",
        "Huelga general en Madrid, dicen los sindicatos.",
        "Merkel. Macron. Sánchez. Draghi. Zelensky.",
    ] {
        assert!(validate(&strict, "", body, "").is_ok(), "{body}");
        assert!(validate(&strict, "", body, "en").is_ok(), "{body}");
    }
}

#[tokio::test]
async fn the_server_answers_invalid_argument_and_honours_the_flag() {
    let strict = TestServer::start(&[]).await;
    let mut untagged = request("fr", FRENCH, &[]);
    untagged.article.as_mut().unwrap().language.clear();
    let status = strict.client().await.summarize(untagged.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("French"), "{}", status.message());
    let tagged = request("fr", FRENCH, &[]);
    let status = strict.client().await.summarize(tagged.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("\"en\""), "{}", status.message());
    drop(strict);

    let lenient = TestServer::start(&["--allow-language-mismatch"]).await;
    assert!(lenient.client().await.summarize(tagged).await.is_ok());
    let status = lenient.client().await.summarize(untagged).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

/// (title, body) of every row of a JSON Lines file.
fn articles(path: &Path) -> Vec<(String, String)> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::io::BufReader::new(file)
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            let text = |key: &str| row[key].as_str().unwrap_or_default().to_string();
            (text("title"), text("body"))
        })
        .collect()
}

#[test]
fn no_article_of_the_english_development_sets_is_refused() {
    let data = repo_path("../shared/data");
    if !data.is_dir() {
        println!("skipped: {} is absent", data.display());
        return;
    }
    let config = engine(&[]);
    let mut total = 0;
    for (set, least) in [
        ("summarization/dev.jsonl", 299),
        ("keyfacts/dev.jsonl", 47),
        ("archive/bbc-2225.jsonl", 2225),
    ] {
        let rows = articles(&data.join(set));
        assert!(rows.len() >= least, "{set}: {} rows", rows.len());
        let mut refused = Vec::new();
        let mut detection = Duration::ZERO;
        let mut slowest = Duration::ZERO;
        for (title, body) in &rows {
            for tag in ["", "en"] {
                if let Err(err) = validate(&config, title, body, tag) {
                    refused.push(format!("{tag:?} {title:?}: {err}"));
                }
            }
            let started = Instant::now();
            let verdict = language::identify(title, body);
            let took = started.elapsed();
            detection += took;
            slowest = slowest.max(took);
            assert!(!matches!(verdict, Identification::Other(_)), "{title:?}: {verdict:?}");
        }
        println!(
            "{set}: {} bodies checked (untagged and tagged \"en\"), {} refused; language detection {:.1} µs per \
             article on average, slowest {:.1} µs",
            rows.len(),
            refused.len(),
            detection.as_secs_f64() * 1e6 / rows.len() as f64,
            slowest.as_secs_f64() * 1e6
        );
        assert!(refused.is_empty(), "{set}: {refused:#?}");
        total += rows.len();
    }
    println!("{total} bodies checked in all, none refused");
}
