//! Builds `models/digest/background-df.bin`: document frequencies of the content terms (the
//! summariser's stems) in the GUM corpus, one document per file. Story clustering adds them
//! to the feed's own counts, so that the first articles of a feed already know which words
//! are common (said, people, year) instead of weighing every word alike.
//!
//! ```sh
//! cargo run --release --example background_df -- ../shared/data/gum models/digest
//! ```

use std::path::Path;

use newsgist::{digest::background::BackgroundDf, nlp::conllu};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(gum), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: background_df GUM_DIR OUT_DIR");
        std::process::exit(2);
    };
    let mut documents = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(Path::new(gum).join("dep"))
        .expect("GUM_DIR/dep")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conllu"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let words: Vec<String> = conllu::parse(&text).into_iter().flat_map(|s| s.words).collect();
        documents.push(words.join(" "));
    }
    let df = BackgroundDf::count(documents.iter().map(String::as_str));
    std::fs::create_dir_all(out).unwrap();
    let file = Path::new(out).join("background-df.bin");
    std::fs::write(&file, df.to_bytes()).unwrap();
    println!(
        "{} documents, {} terms -> {}",
        df.documents(),
        df.terms(),
        file.display()
    );
}
