//! The digest's HTML in a real browser (Debian's headless Chromium, which `make setup`
//! installs): at 600 px wide nothing scrolls sideways and every story is on the page. The
//! screenshot stays in `target/digest-browser/` (the README's `docs/digest.png` is a copy).

mod common;

use std::{path::Path, process::Command};

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    let profile = format!("--user-data-dir={}", profile.display());
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            &profile,
        ])
        .args(args)
        .output()
        .expect("running chromium")
}

#[test]
fn the_email_fits_600_px_and_shows_every_story() {
    let feed = common::repo_path("../shared/data/digest/dev-stream.jsonl");
    if !feed.is_file() {
        eprintln!("skipped: {} is absent", feed.display());
        return;
    }
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: `make setup` installs Debian's chromium"
    );
    let out = common::repo_path("target/digest-browser");
    std::fs::create_dir_all(&out).unwrap();
    let html = out.join("digest.html");
    let run = Command::new(env!("CARGO_BIN_EXE_newsgist"))
        .args([
            "digest",
            "--input",
            feed.to_str().unwrap(),
            "--output",
            html.to_str().unwrap(),
        ])
        .args([
            "--format",
            "html",
            "--title",
            "Morning brief: dev stream",
            "--max-stories",
            "20",
        ])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    let stories = page.matches("id=\"story-").count();
    assert_eq!(stories, 20);

    // A copy with a probe script (the digest itself has none) reports the layout into the
    // title, which --dump-dom prints once the page has loaded.
    let probe = r#"<script>
      const ids = [...document.querySelectorAll('[id^="story-"]')];
      const seen = ids.filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.right <= window.innerWidth + 0.5; });
      document.title = 'probe ' + document.documentElement.scrollWidth + ' ' + window.innerWidth + ' ' + seen.length;
    </script></body>"#;
    let probed = out.join("probe.html");
    std::fs::write(&probed, page.replace("</body>", probe)).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", probed.display());
    let dom = chromium(profile.path(), &["--window-size=600,1000", "--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let title = dom
        .split("<title>probe ")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_else(|| panic!("no probe result in the DOM: {dom:.400}"));
    let numbers: Vec<f64> = title.split(' ').map(|n| n.parse().unwrap()).collect();
    let (scroll_width, width, visible) = (numbers[0], numbers[1], numbers[2] as usize);
    assert_eq!(width, 600.0, "the window is 600 px wide");
    assert!(
        scroll_width <= width,
        "no horizontal scroll: content is {scroll_width} px wide"
    );
    assert_eq!(visible, stories, "every story is laid out within the 600 px");

    let screenshot = out.join("digest.png");
    let _ = std::fs::remove_file(&screenshot);
    let profile = tempfile::tempdir().unwrap();
    let shot = format!("--screenshot={}", screenshot.display());
    let url = format!("file://{}", html.display());
    let run = chromium(profile.path(), &["--window-size=600,1400", &shot, &url]);
    assert!(
        screenshot.is_file() && std::fs::metadata(&screenshot).unwrap().len() > 10_000,
        "no screenshot: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    println!("screenshot: {}", screenshot.display());
}
