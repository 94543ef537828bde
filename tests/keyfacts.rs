//! Key facts of the sample article the service was specified with: a pasted article whose
//! first lines are site navigation and whose headline is the first line of the body.
//!
//! Skips with a message when `../shared` (the shared data folder) is absent.

use std::path::Path;

use chrono::NaiveDate;
use newsgist::facts::extract;
use newsgist::request::Article;
use newsgist::response::Field;

#[test]
fn kim_beijing_sample_first_fact() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if !shared.is_dir() {
        println!("skipping kim_beijing_sample_first_fact: {} not found", shared.display());
        return;
    }
    let path = shared.join("data/samples/kim-beijing-2018.txt");
    let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let published = NaiveDate::from_ymd_opt(2018, 6, 19)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let article = Article {
        body: body.clone(),
        published_at: Some(published.and_utc()),
        ..Article::default()
    };
    let facts = extract(&article, published, 5);
    let top = facts.first().expect("at least one fact");
    println!("{top:#?}");

    let who = top.who.as_ref().expect("who");
    assert_eq!(who.text, "Kim Jong-Un");
    let what = top.what.as_ref().expect("what").text.to_lowercase();
    assert!(
        (what.contains("lands") || what.contains("visit") || what.contains("arriv")) && what.contains("beijing"),
        "what: {what}"
    );
    let when = top.when.as_ref().expect("when");
    let normalized = when.normalized.as_deref().expect("normalised when");
    assert!(
        normalized == "2018-06-19" || normalized == "2018-06-19/2018-06-20",
        "when: {normalized}"
    );
    assert_eq!(top.where_.as_ref().expect("where").text, "Beijing");

    // Every slot's offsets point at its text in the field it names.
    for slot in [&top.who, &top.what, &top.when, &top.where_].into_iter().flatten() {
        assert_eq!(slot.location.field, Field::Body);
        let chars: Vec<char> = body.chars().collect();
        let span: String = chars[slot.location.start as usize..slot.location.end as usize]
            .iter()
            .collect();
        assert_eq!(span, slot.text);
    }
    assert!(top.confidence > 0.0 && top.confidence <= 1.0);
    assert!(facts.windows(2).all(|w| w[0].confidence >= w[1].confidence));
}
