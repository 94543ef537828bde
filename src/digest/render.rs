//! Rendering a [`Digest`]: JSON (the API's shape), email-safe HTML (one table at most 600 px
//! wide, every style inlined by `css-inline`, no scripts), Markdown and plain text, all from
//! the same data through minijinja templates. A user template gets the same context: the
//! digest's JSON form (README "Digest" documents it) and a `date` filter.

use minijinja::{AutoEscape, Environment};

use super::Digest;

/// Output formats of a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Html,
    #[value(name = "md", alias = "markdown")]
    Markdown,
    Text,
}

impl Format {
    fn default_template(self) -> &'static str {
        match self {
            Format::Json => "",
            Format::Html => include_str!("templates/digest.html.j2"),
            Format::Markdown => include_str!("templates/digest.md.j2"),
            Format::Text => include_str!("templates/digest.txt.j2"),
        }
    }
}

/// Why a digest could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the template cannot be rendered: {0:#}")]
    Template(#[from] minijinja::Error),
    #[error("the rendered HTML cannot be inlined: {0}")]
    Inline(#[from] css_inline::InlineError),
    #[error("a JSON template makes no sense: JSON is rendered without one")]
    JsonTemplate,
}

/// Renders `digest` as `format`, through `template` (minijinja source) instead of the
/// built-in one when given. HTML is escaped and has its CSS inlined either way.
pub fn render(digest: &Digest, format: Format, template: Option<&str>) -> Result<String, RenderError> {
    if format == Format::Json {
        if template.is_some() {
            return Err(RenderError::JsonTemplate);
        }
        return Ok(serde_json::to_string_pretty(digest).expect("a digest serialises") + "\n");
    }
    let mut env = Environment::new();
    env.set_auto_escape_callback(move |_| {
        if format == Format::Html {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("date", date);
    let source = template.unwrap_or_else(|| format.default_template());
    let rendered = env.render_str(source, minijinja::Value::from_serialize(digest))?;
    match format {
        Format::Html => Ok(css_inline::inline(&rendered)?),
        _ => Ok(rendered),
    }
}

/// `2016-11-06T09:30:00Z` -> `2016-11-06 09:30 UTC`; other text unchanged.
fn date(value: String) -> String {
    match (value.get(..10), value.get(11..16)) {
        (Some(day), Some(time)) if value.as_bytes().get(10) == Some(&b'T') => format!("{day} {time} UTC"),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Digest {
        Digest {
            title: "Morning <brief>".into(),
            first_published: None,
            last_published: None,
            articles: 0,
            stories_total: 0,
            near_copies: 0,
            stories: Vec::new(),
            rejected: Vec::new(),
        }
    }

    #[test]
    fn html_is_escaped_and_inlined_without_a_style_block() {
        let html = render(&empty(), Format::Html, None).unwrap();
        assert!(html.contains("Morning &lt;brief&gt;"), "{html}");
        assert!(!html.contains("<style") && !html.contains("<script"));
        assert!(html.contains("max-width: 600px"), "styles are inlined: {html}");
    }

    #[test]
    fn a_user_template_gets_the_digest_and_a_bad_one_is_an_error() {
        let text = render(&empty(), Format::Text, Some("{{ title }}: {{ stories|length }}")).unwrap();
        assert_eq!(text, "Morning <brief>: 0");
        assert!(matches!(
            render(&empty(), Format::Markdown, Some("{% for %}")),
            Err(RenderError::Template(_))
        ));
        assert!(matches!(
            render(&empty(), Format::Json, Some("x")),
            Err(RenderError::JsonTemplate)
        ));
        assert_eq!(date("2016-11-06T09:30:00Z".into()), "2016-11-06 09:30 UTC");
    }
}
